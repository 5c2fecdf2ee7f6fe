from tests import factories
from tests.finance import factories as ff

def test_smoke(client, db, login_as):
    call = ff.funded_call()
    c = ff.active_contract(call)
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    login_as(officer)
    r = client.get("/dashboard/")
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    __import__("pathlib").Path("/tmp/dash.html").write_text(r.get_data(as_text=True))
    r = client.get("/dashboard/items?set=funded")
    assert r.status_code == 200
    __import__("pathlib").Path("/tmp/items.html").write_text(r.get_data(as_text=True))
    r = client.get("/dashboard/export.xlsx")
    assert r.status_code == 200
