"""The per-list searches: the application list of a call, the organisations and the contracts lists read the
same query language through the same conditions."""
import pytest

from tests import factories
from tests.search import world as wf


@pytest.fixture()
def world(db):
    w = wf.build()
    db.session.commit()
    return w


def _body(client, url, **params):
    resp = client.get(url, query_string=params)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_application_list_finds_number_name_description_and_organisation(world, client, login_as):
    login_as(factories.user(roles=("officer",), unit=world.district_a))
    url = f"/calls/{world.call_2026.id}/applications"
    body = _body(client, url, q="2026-002-0003")
    assert "邻里守望互助" in body and "楼道微更新行动" not in body
    body = _body(client, url, q="楼道")  # 2 characters: the name of one, the description of another
    assert "楼道微更新行动" in body and "青春课堂" in body and "邻里守望互助" not in body
    assert "楼道草稿项目" not in body  # drafts stay private
    body = _body(client, url, q="四点半课堂")
    assert "青春课堂" in body and "楼道微更新行动" not in body
    body = _body(client, url, q="阳光社工")  # the organisation's name, as before
    assert "邻里守望互助" in body and "青春课堂" in body
    body = _body(client, url, q="楼道 状态:已提交")
    assert "楼道微更新行动" in body


def test_application_list_bad_query_is_explained(world, client, login_as):
    login_as(factories.user(roles=("officer",), unit=world.district_a))
    body = _body(client, f"/calls/{world.call_2026.id}/applications", q="year:0001")
    assert "2000" in body and "邻里守望互助" in body  # the message, and the list unfiltered


def test_organisation_list(world, client, login_as):
    login_as(factories.user(roles=("officer",), unit=world.district_a))
    body = _body(client, "/organizations", q="楼道")
    assert "明月楼道志愿者协会" in body and "阳光社工服务中心" not in body
    body = _body(client, "/organizations", q=world.org_sun.uscc)
    assert "阳光社工服务中心" in body and "明月楼道志愿者协会" not in body
    body = _body(client, "/organizations", q="status:nope")
    assert "没有名为" in body


def test_contract_list(world, client, login_as):
    login_as(factories.user(roles=("officer",), unit=world.district_a))
    body = _body(client, "/contracts", q="楼道")
    assert "楼道照明协议项目" in body
    body = _body(client, "/contracts", q="楼道 年度:2026")
    assert "楼道照明协议项目" not in body
    body = _body(client, "/contracts", q=world.contract.number)
    assert "楼道照明协议项目" in body
    assert "楼道照明协议项目" not in _body(client, "/contracts", q="阁楼")
    # another district's officer does not see it
    login_as(factories.user(roles=("officer",), unit=world.district_b))
    assert "楼道照明协议项目" not in _body(client, "/contracts", q="楼道")
