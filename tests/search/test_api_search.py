"""The JSON API's application list of a call reads the same search syntax as the screening list's box."""
import pytest

from tests import factories
from tests.api.conftest import api, make_token  # noqa: F401  (fixtures)
from tests.search import world as wf


@pytest.fixture()
def world(db):
    w = wf.build()
    db.session.commit()
    return w


def test_api_q_uses_the_search_syntax(world, api, make_token):  # noqa: F811
    officer = factories.user(roles=("officer",), unit=world.district_a)
    caller = api(make_token(officer))
    url = "/api/v1/applications"
    call = {"call_id": world.call_2026.id}
    names = {a["project_name"] for a in caller.get(url, query_string={**call, "q": "楼道"}).get_json()["items"]}
    assert names == {"楼道微更新行动", "青春课堂"}
    names = {a["project_name"] for a in caller.get(url, query_string={**call, "q": "2026-002-0003"}).get_json()["items"]}
    assert names == {"邻里守望互助"}
    resp = caller.get(url, query_string={**call, "q": "year:0001"})
    assert resp.status_code == 422 and resp.get_json()["field"] == "q"
