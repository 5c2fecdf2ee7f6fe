"""The public disclosure pages: only calls whose award list is final, amounts awarded and paid, status and
grade, filters, paging with a fixed number of queries, the finished 公示 still readable and linked."""
from __future__ import annotations

import datetime as dt
import re

from grants.disclosure import services
from grants.extensions import db
from tests.finance import factories as ff

ROW = re.compile(r'id="project-\d+"')


def test_index_lists_only_disclosed_calls_with_totals(client, world):
    html = client.get("/disclosure").get_data(as_text=True)
    assert "2025年南通市公益创投大赛" in html
    assert "草稿中的大赛" not in html and "公示中的大赛" not in html
    assert "¥153,456.78" in html  # 123,456.78 + 30,000.00 awarded
    assert "¥48,382.71" in html  # released 49,382.71 − reclaimed 1,000.00
    assert f'href="/public/notices/{world.call.id}"' in html


def test_index_leaves_out_calls_that_funded_nothing(client, world):
    from grants.calls.models import Call

    empty = ff.funded_call(db.session.get(Call, world.call.id).host_unit, title="无人获资助的大赛")
    db.session.commit()
    assert "无人获资助的大赛" not in client.get("/disclosure").get_data(as_text=True)
    assert "没有符合条件的项目" in client.get(f"/disclosure/{empty.id}").get_data(as_text=True)


def test_undisclosed_calls_and_their_projects_answer_404(client, world):
    for call in (world.draft_call, world.notice_call):
        assert client.get(f"/disclosure/{call.id}").status_code == 404
    assert client.get(f"/disclosure/projects/{world.hidden_award.id}").status_code == 404
    assert client.get("/disclosure/999999").status_code == 404
    assert client.get("/disclosure/projects/999999").status_code == 404


def test_cancelled_awards_are_not_funded_projects(client, world):
    world.award_b.status = "cancelled"
    world.award_b.cancelled_reason = "异议成立"
    db.session.commit()
    html = client.get(f"/disclosure/{world.call.id}").get_data(as_text=True)
    assert "四点半课堂" not in html
    assert client.get(f"/disclosure/projects/{world.award_b.id}").status_code == 404


def test_call_page_shows_each_project(client, world):
    html = client.get(f"/disclosure/{world.call.id}").get_data(as_text=True)
    row = html.split(f'id="project-{world.award_a.id}"')[1].split("</tr>")[0]
    for text in ("银龄互助·幸福邻里", "崇川区阳光为老服务中心", "为老服务", "¥123,456.78", "¥48,382.71", "实施中", "优秀"):
        assert text in row, text
    row_b = html.split(f'id="project-{world.award_b.id}"')[1].split("</tr>")[0]
    for text in ("和平桥街道邻里互助会", "¥30,000.00", "¥0.00", "待签约"):
        assert text in row_b, text
    assert 'id="notice-link"' in html


def test_filters(client, world):
    def titles(**args):
        html = client.get(f"/disclosure/{world.call.id}", query_string=args).get_data(as_text=True)
        return {"a" if f'id="project-{world.award_a.id}"' in html else None,
                "b" if f'id="project-{world.award_b.id}"' in html else None} - {None}

    assert titles() == {"a", "b"}
    assert titles(q="阳光") == {"a"}
    assert titles(q="四点半") == {"b"}
    assert titles(status="active") == {"a"}
    assert titles(status="signing") == {"b"}
    assert titles(status="completed") == set()
    assert titles(category=str(world.call.categories[0].id)) == {"a", "b"}
    assert titles(category="abc", status="nonsense") == {"a", "b"}  # unknown values filter nothing


def test_project_page(client, world):
    html = client.get(f"/disclosure/projects/{world.award_a.id}").get_data(as_text=True)
    for text in ("银龄互助·幸福邻里", "为社区独居老人提供探访", world.org_a.uscc, "和平桥街道 桃坞路社区", "优秀",
                 "首期款", "2025-07-15", "¥48,382.71", "中期款", "未拨付"):
        assert text in html, text
    html_b = client.get(f"/disclosure/projects/{world.award_b.id}").get_data(as_text=True)
    assert "资助协议签订后公布拨付进度" in html_b and "尚未结项" in html_b


def test_finished_notice_stays_readable(client, world, clock):
    clock.set(dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    html = client.get(f"/public/notices/{world.call.id}").get_data(as_text=True)
    assert "银龄互助·幸福邻里" in html and "公示期已满" in html
    assert f"/public/notices/{world.call.id}" in client.get("/public/notices").get_data(as_text=True)


def test_public_home_links_to_disclosure(client, world):
    html = client.get("/").get_data(as_text=True)
    assert 'id="nav-disclosure" ' in html or 'id="nav-disclosure"' in html
    section = html.split('id="public-disclosure"')[1].split("</section>")[0]
    assert f'href="/disclosure/{world.call.id}"' in section and "¥153,456.78" in section
    assert "公示中的大赛" not in section


def test_call_page_query_count_does_not_grow(app, client, world, count_queries):
    """Each request starts from an empty session, as in production (the tests share one)."""
    from grants.finance import services as finance

    url = f"/disclosure/{world.call.id}"
    client.get(url)  # warm-up (the first request loads translations)
    db.session.expunge_all()
    with count_queries() as small:
        assert client.get(url).status_code == 200
    with app.test_request_context():
        call = db.session.merge(world.call)
        users = [db.session.merge(u) for u in world.finance_users]
        for _ in range(6):
            contract = ff.active_contract(call, org=None, amount_fen=10_000_00)
            payment = ff.first_payment(contract)
            finance.approve_payment(payment, users[0])
            finance.release_payment(payment, users[1], f"REF-{contract.id}", dt.date(2025, 8, 1))
        db.session.commit()
    db.session.expunge_all()
    with count_queries() as large:
        html = client.get(url).get_data(as_text=True)
    assert len(ROW.findall(html)) == 8
    assert large.count == small.count
    db.session.expunge_all()
    with count_queries() as index:
        client.get("/disclosure")
    assert index.count <= small.count


def test_paging(client, world, monkeypatch):
    real = services.project_page
    monkeypatch.setattr(services, "project_page", lambda call, **kw: real(call, **{**kw, "per_page": 1}))
    first = client.get(f"/disclosure/{world.call.id}").get_data(as_text=True)
    second = client.get(f"/disclosure/{world.call.id}?page=2").get_data(as_text=True)
    assert len(ROW.findall(first)) == 1 and len(ROW.findall(second)) == 1
    assert ("第 1 / 2 页" in first) and ("¥153,456.78" in first)  # totals cover every page
    assert f'id="project-{world.award_a.id}"' in (first + second) and f'id="project-{world.award_b.id}"' in (first + second)
