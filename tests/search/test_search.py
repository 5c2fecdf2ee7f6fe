"""Staff search: scope, Chinese substrings, numbers, filters, ranking, highlighting, paging, fixed queries."""
import pytest
import sqlalchemy as sa
from markupsafe import Markup

from grants.extensions import db as _db
from grants.search.query import parse_query
from grants.search.services import highlight, search
from tests import factories
from tests.search import world as wf


@pytest.fixture()
def world(db):
    w = wf.build()
    db.session.commit()
    return w


def _officer(unit):
    return factories.user(roles=("officer",), unit=unit)


def _find(user, text, **kwargs):
    return search(user, parse_query(text), **kwargs)


def _ids(results, kind):
    return {h.obj.id for h in results.hits if h.kind == kind}


def test_two_character_chinese_substring(world):
    r = _find(_officer(world.district_a), "楼道")
    apps = _ids(r, "application")
    # name, description, and the confirmed project of last year; never the draft nor the other district's
    assert apps == {world.app_corridor.id, world.app_desc.id, world.app_2025.id}
    assert _ids(r, "contract") == {world.contract.id}
    # organisations are platform-wide (as on the organisations list): the other district's 明月楼道 is found
    assert _ids(r, "organization") == {world.org_moon.id}
    assert r.counts == {"application": 3, "contract": 1, "organization": 1}


def test_longer_chinese_substring(world):
    r = _find(_officer(world.district_a), "楼道微更新")
    assert _ids(r, "application") == {world.app_corridor.id}
    r = _find(_officer(world.district_a), "四点半课堂")
    assert _ids(r, "application") == {world.app_desc.id}


def test_district_officer_does_not_see_another_district(world):
    officer_b = _officer(world.district_b)
    r = _find(officer_b, "楼道")
    assert _ids(r, "application") == {world.app_b.id}
    assert _ids(r, "contract") == set()
    assert _find(officer_b, "2026-002-0003").counts["application"] == 0


def test_city_sees_its_districts(world):
    r = _find(_officer(world.city), "楼道")
    assert _ids(r, "application") == {world.app_corridor.id, world.app_desc.id, world.app_2025.id, world.app_b.id}
    # 乙区楼道花园 has 楼道 in its name and in its organisation's name: found once
    assert r.counts["application"] == 4 and len(r.hits) == 6


def test_terms_found_partly_in_the_organisation_partly_in_the_project(world):
    officer = _officer(world.district_a)
    assert _ids(_find(officer, "阳光 楼道微"), "application") == {world.app_corridor.id}
    assert _ids(_find(officer, "社工 邻里"), "application") == {world.app_number.id, world.contract.application_id}
    assert _ids(_find(officer, "社工 邻里"), "contract") == set()  # the contract's name has no 邻里 now
    assert _ids(_find(officer, "阳光 照明"), "contract") == {world.contract.id}


def test_roles(world):
    finance = factories.user(roles=("finance",), unit=world.district_a)
    r = _find(finance, "楼道")
    assert r.kinds == ("contract", "organization") and not _ids(r, "application")
    applicant = factories.user_with_role("applicant")
    assert _find(applicant, "楼道").kinds == ()


def test_number_exact_first(world):
    r = _find(_officer(world.district_a), "2026-002-0003")
    assert r.hits[0].obj.id == world.app_number.id and r.hits[0].rank == 0
    r = _find(_officer(world.district_a), "2026-002")
    assert _ids(r, "application") == {world.app_number.id}


def test_ranking_name_before_description(world):
    r = _find(_officer(world.district_a), "楼道", kind="application")
    order = [h.obj.id for h in r.hits]
    assert order.index(world.app_corridor.id) < order.index(world.app_desc.id)
    assert r.hits[-1].obj.id == world.app_desc.id


def test_organisation_name_finds_its_applications(world):
    r = _find(_officer(world.district_a), "阳光社工", kind="application")
    assert world.app_number.id in _ids(r, "application")
    assert r.counts["organization"] == 1


def test_filters(world):
    officer = _officer(world.district_a)
    assert _ids(_find(officer, "楼道 year:2025"), "application") == {world.app_2025.id}
    assert _ids(_find(officer, "楼道 年度:2026"), "application") == {world.app_corridor.id, world.app_desc.id}
    assert _ids(_find(officer, "楼道 状态:已立项"), "application") == {world.app_2025.id}
    assert _find(officer, "楼道 状态:已立项").counts == {"application": 1}
    assert _ids(_find(officer, "征集:社区服务 楼道"), "application") == {world.app_corridor.id, world.app_desc.id}
    assert _ids(_find(officer, "机构:阳光 楼道微"), "application") == {world.app_corridor.id}
    assert _ids(_find(officer, "类别:为老 青春"), "application") == {world.app_desc.id}
    assert _ids(_find(officer, "category:不存在 青春"), "application") == set()
    assert _ids(_find(officer, "status:履行中"), "contract") == {world.contract.id}
    # every term must be found
    assert _ids(_find(officer, "楼道 课堂"), "application") == {world.app_desc.id}
    assert _ids(_find(officer, '"楼道 课堂"'), "application") == set()


def test_like_wildcards_are_literal(world):
    officer = _officer(world.district_a)
    assert _find(officer, "%").counts["application"] == 0
    assert _find(officer, "_").counts["application"] == 0


def test_highlight_escapes_html():
    out = highlight('<script>alert("楼道")</script>楼道', ["楼道"])
    assert isinstance(out, Markup)
    assert "<script>" not in out
    assert str(out) == ('&lt;script&gt;alert(&#34;<mark>楼道</mark>&#34;)&lt;/script&gt;<mark>楼道</mark>')
    # a term that is itself markup is escaped too, and overlapping terms are merged
    assert str(highlight("a<b>c", ["<b>"])) == "a<mark>&lt;b&gt;</mark>c"
    assert str(highlight("楼道微更新", ["楼道", "道微"])) == "<mark>楼道微</mark>更新"
    snip = str(highlight("甲" * 100 + "楼道" + "乙" * 100, ["楼道"], snippet=30))
    assert snip.startswith("…") and snip.endswith("…") and "<mark>楼道</mark>" in snip


def test_pagination(world, db):
    officer = _officer(world.district_a)
    for i in range(25):
        wf.application(world.call_2026, world.org_sun, name=f"分页测试项目{i:02d}")
    db.session.commit()
    first = _find(officer, "分页测试", page=1, per_page=10)
    third = _find(officer, "分页测试", page=3, per_page=10)
    assert first.total == 25 and first.pages == 3 and len(first.hits) == 10 and len(third.hits) == 5
    seen = {h.obj.id for p in (1, 2, 3) for h in _find(officer, "分页测试", page=p, per_page=10).hits}
    assert len(seen) == 25
    assert _find(officer, "分页测试", page=9, per_page=10).hits == []


def _count_queries(client, url):
    statements = []
    _db.session.commit()  # the test shares the app's session: start each request with nothing loaded

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(_db.engine, "before_cursor_execute", listener)
    try:
        resp = client.get(url)
    finally:
        sa.event.remove(_db.engine, "before_cursor_execute", listener)
    assert resp.status_code == 200
    return len(statements)


def test_page_has_a_fixed_number_of_queries(world, client, login_as, db):
    """Each tab costs the same at 1 and at 30 matches of its kind; the mixed page never more than a page
    showing every kind (one load query per kind on the page)."""
    officer = _officer(world.city)
    login_as(officer)
    urls = ["/search?q=楼道"] + [f"/search?q=楼道&kind={k}" for k in ("application", "contract", "organization")]
    client.get(urls[0])  # warm-up: the session's first request
    small = {url: _count_queries(client, url) for url in urls}
    from tests.contracts import factories as cf

    for i in range(30):
        org = factories.organization(name=f"楼道之家{i}", unit=world.district_a)
        wf.application(world.call_2026, org, name=f"楼道项目{i}", summary="楼道")
        if i < 25:
            cf.contract(cf.award(world.call_2025), status="draft").project_name = f"楼道协议{i}"
    db.session.commit()
    for url in urls[1:]:
        assert _count_queries(client, url) == small[url], url
        assert _count_queries(client, url + "&page=2") == small[url], url
    assert _count_queries(client, urls[0]) <= small[urls[0]]
    assert _count_queries(client, urls[0] + "&page=3") <= small[urls[0]]


def test_page_renders_highlighted_and_escaped(world, client, login_as, db):
    world.app_corridor.summary = '<img src=x onerror=alert(1)>楼道'
    db.session.commit()
    login_as(_officer(world.district_a))
    body = client.get("/search?q=楼道").get_data(as_text=True)
    assert "<mark>楼道</mark>微更新行动" in body
    assert "<img src=x" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert 'id="nav-search"' in body


@pytest.mark.parametrize("q", ["year:0001", "year:²", "楼道\x00", "\x1b", "9" * 20, "year:" + "9" * 20,
                               "%00", "status:nope", '"', "：", "org:\"", "楼" * 500])
def test_hostile_input_never_500(world, client, login_as, q):
    login_as(_officer(world.district_a))
    resp = client.get("/search", query_string={"q": q, "page": "99999999999999999999", "kind": "<x>"})
    assert resp.status_code == 200


def test_bad_query_shows_message(world, client, login_as):
    login_as(_officer(world.district_a))
    body = client.get("/search", query_string={"q": "year:0001"}).get_data(as_text=True)
    assert 'id="search-error"' in body and "2000" in body
    body = client.get("/search", query_string={"q": "status:<script>x</script>"}).get_data(as_text=True)
    assert "<script>x</script>" not in body and "&lt;script&gt;x&lt;/script&gt;" in body


def test_search_denied_to_applicants_and_experts(world, client, login_as):
    for role in ("applicant", "expert", "evaluator"):
        login_as(role)
        assert client.get("/search?q=楼道").status_code == 403


@pytest.mark.postgres_only
def test_postgresql_trigram_indexes_serve_substrings(world, db):
    """The migration made pg_trgm and its GIN indexes in the test database, and a 3-character (or longer)
    substring is read through them (the planner is told to avoid a scan, the table being tiny here)."""
    from grants.search.models import TRIGRAM_COLUMNS

    assert db.session.scalar(sa.text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")) == 1
    names = set(db.session.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'")))
    assert names == {name for name, _column in TRIGRAM_COLUMNS}
    from grants.applications.models import Application
    from grants.search.services import application_condition

    stmt = sa.select(Application.id).where(application_condition(parse_query("楼道微更新")))
    sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True})).replace("%%", "%")
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(sa.text("EXPLAIN " + sql)))
    assert "ix_application_project_name_trgm" in plan and "ix_application_summary_trgm" in plan
    assert list(db.session.scalars(stmt)) == [world.app_corridor.id]
