"""Open data streamed and cached: the files equal what the old whole-in-memory code produced, byte for byte;
a conditional GET answers 304; a published change (and only that) writes a new file; anonymous clients are
rate-limited."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.applications.models import ServiceArea
from grants.disclosure import cache, services
from grants.extensions import db, limiter
from grants.organizations.models import LegalForm
from tests import factories
from tests.disclosure import legacy_open_data
from tests.finance import factories as ff

URLS = {"csv": "/disclosure/grants.csv", "json": "/disclosure/360giving.json"}

# Service areas as applicants type them: none, blank parts, spaces (also the full-width one), many.
AREAS = (
    (),
    (("崇川区", ""),),
    (("  ", "  "), ("和平桥街道", "桃坞路社区")),
    (("城东街道", "　"), ("", "文峰社区"), ("观音山街道", "新城村")),
    (("钟秀街道", "钟秀社区"), ("", ""), ("狼山镇", "五山社区"), ("港闸区", "秦灶社区")),
)


@pytest.fixture()
def published(db, world):
    """The world committed (the tests' requests share the fixture's session, so a change still pending in it
    would move the version at the next commit)."""
    db.session.commit()
    return world


@pytest.fixture()
def province(app, db, world):
    """The disclosed world plus a second disclosed call of 24 funded projects: amounts with and without
    cents, registered and filed organisations, contracts with payments on some, all kinds of service areas."""
    with app.test_request_context():
        unit = factories.host_unit(name="如皋市民政局")
        call = ff.funded_call(unit, title="2025年如皋市“益起来”公益创投", year=2025)
        officer = ff.officer(call)
        for i in range(24):
            org = factories.organization(name=f"如皋市第{i}社会工作服务社" if i % 3 else f"+如皋{i}邻里会",
                                         **({"legal_form": LegalForm.FILED_COMMUNITY} if i % 4 == 0 else {}))
            amount = 1_000_000 + i * 12_345
            if i % 3 == 0:
                contract = ff.active_contract(call, amount_fen=amount, org=org, officer=officer)
                application = contract.application
                if i % 6 == 0:
                    from grants.finance import services as finance

                    payment = ff.first_payment(contract)
                    finance.approve_payment(payment, ff.finance_user(call))
                    finance.release_payment(payment, ff.finance_user(call), f"REF-{i}", dt.date(2025, 8, 1))
            else:
                application = ff.award(call, amount_fen=amount, org=org).application
            application.project_name = f"项目{i}：“邻里守望”\n第二行" if i % 5 == 0 else f"项目{i}"
            application.summary = "" if i % 2 else f"摘要，含逗号、引号\"和换行\n{i}"
            application.service_areas = [ServiceArea(street=s, community=c, position=n)
                                         for n, (s, c) in enumerate(AREAS[i % len(AREAS)])]
        db.session.commit()
        return call


def _legacy(app, call=None):
    with app.test_request_context():
        return legacy_open_data.files(db.session.merge(call) if call is not None else None)


@pytest.mark.parametrize("chunk", [1000, 5, 1])
def test_streamed_files_equal_the_old_ones_byte_for_byte(app, client, province, world, monkeypatch, chunk):
    monkeypatch.setattr(services, "CHUNK", chunk)
    expected = _legacy(app)
    for kind, url in URLS.items():
        body = client.get(url).get_data()
        assert body == expected[kind], kind
        assert client.get(url).get_data() == expected[kind]  # and again from the cached file
    for call in (province, world.call):
        expected = _legacy(app, call)
        assert client.get(f"/disclosure/{call.id}.csv").get_data() == expected["csv"]
        assert client.get(f"/disclosure/{call.id}/360giving.json").get_data() == expected["json"]


def test_files_of_no_projects_equal_the_old_ones(app, client, db):
    expected = _legacy(app)
    assert client.get(URLS["json"]).get_data() == expected["json"] == b'{\n  "grants": []\n}'
    assert client.get(URLS["csv"]).get_data() == expected["csv"]


def test_a_conditional_get_answers_304(client, published):
    for url in (*URLS.values(), f"/disclosure/{published.call.id}.csv"):
        first = client.get(url)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert first.status_code == 200 and first.headers["Cache-Control"].startswith("public")
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200


def test_a_published_change_writes_a_new_file_and_nothing_else_does(app, client, published):
    print("FIRST", client.get(URLS["csv"]).headers["ETag"])
    old = client.get(URLS["csv"])
    old_json = client.get(URLS["json"]).headers["ETag"]
    with app.test_request_context():
        # Not published: an organisation's phone, a draft application of a call still open.
        db.session.merge(published.org_a).contact_phone = "13800000000"
        from tests.applications import factories as af

        draft = af.application(af.call(), factories.organization())
        draft.project_name = "还在填写的项目"
        draft.service_areas = [ServiceArea(street="草稿街道", community="", position=0)]
        db.session.commit()
    assert client.get(URLS["csv"], headers={"If-None-Match": old.headers["ETag"]}).status_code == 304
    with app.test_request_context():
        db.session.merge(published.org_a).name = "崇川区阳光为老服务中心（更名）"
        db.session.commit()
    new = client.get(URLS["csv"], headers={"If-None-Match": old.headers["ETag"]})
    assert new.status_code == 200 and new.headers["ETag"] != old.headers["ETag"]
    assert "（更名）" in new.get_data(as_text=True) and "（更名）" not in old.get_data(as_text=True)
    assert client.get(URLS["json"]).headers["ETag"] != old_json
    assert new.get_data() == _legacy(app)["csv"]
    # Only the current version's file stays on disk.
    with app.test_request_context():
        assert len(list(cache.cache_dir().glob("csv-all-*.csv"))) == 1


def test_a_funded_projects_service_areas_and_payments_are_published_changes(app, client, published):
    etag = client.get(URLS["json"]).headers["ETag"]
    with app.test_request_context():
        application = db.session.merge(published.award_b).application
        application.service_areas.append(ServiceArea(street="新开街道", community="", position=5))
        db.session.commit()
    body = client.get(URLS["json"])
    assert body.headers["ETag"] != etag and "新开街道" in body.get_data(as_text=True)
    etag = body.headers["ETag"]
    with app.test_request_context():
        from grants.finance.models import Payment

        payment = db.session.query(Payment).filter(Payment.contract_id == published.contract_a.id).first()
        payment.reclaimed_fen += 1
        db.session.commit()
    assert client.get(URLS["json"]).headers["ETag"] != etag


def test_a_rolled_back_change_keeps_the_version(app, client, published):
    etag = client.get(URLS["csv"]).headers["ETag"]
    with app.test_request_context():
        db.session.merge(published.org_a).name = "不会生效的名称"
        db.session.flush()
        db.session.rollback()
    assert client.get(URLS["csv"], headers={"If-None-Match": etag}).status_code == 304


@pytest.fixture()
def limits_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS", True)
    monkeypatch.setitem(app.config, "RATELIMIT_OPEN_DATA", "3 per minute")
    limiter.reset()
    yield
    limiter.reset()


def test_anonymous_downloads_are_rate_limited_per_address(client, published, limits_on, login_as):
    env = {"REMOTE_ADDR": "203.0.113.9"}
    codes = [client.get(URLS["json"], environ_base=env).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get(URLS["csv"], environ_base=env).status_code == 429
    assert client.get(URLS["csv"], environ_base={"REMOTE_ADDR": "203.0.113.10"}).status_code == 200
    login_as("officer")  # staff are not limited
    assert all(client.get(URLS["json"], environ_base=env).status_code == 200 for _ in range(5))
