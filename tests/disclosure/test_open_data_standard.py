"""Open data that other tools recognise: the JSON validates against the official 360Giving Data Standard schema
(1.4.3, tests/data/360giving, CC BY 4.0), recipients and funders carry org-id identifiers (CN-USCI-<credit
code>), and a production server withholds the files while the 360Giving prefix is the placeholder."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from tests import factories

SCHEMAS = Path(__file__).resolve().parent.parent / "data" / "360giving"
# The package schema refers to the grant schema by its 1.4.2 address; both are served from the local copy.
GRANT_SCHEMA_URI = "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json"


def validator() -> Draft202012Validator:
    package = json.loads((SCHEMAS / "360-giving-package-schema.json").read_text(encoding="utf-8"))
    grant = json.loads((SCHEMAS / "360-giving-schema.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources([
        (GRANT_SCHEMA_URI, Resource.from_contents(grant, default_specification=_spec())),
        (grant.get("$id", GRANT_SCHEMA_URI), Resource.from_contents(grant, default_specification=_spec())),
    ])
    return Draft202012Validator(package, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _spec():
    from referencing.jsonschema import DRAFT202012

    return DRAFT202012


def _errors(package) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator().iter_errors(package)]


def test_the_schema_catches_a_broken_grant():
    """The validator is real: a grant without its funder, or with a wrong date, is refused."""
    good = {"grants": [{"id": "360G-x-1", "title": "t", "description": "d", "currency": "CNY", "amountAwarded": 1,
                        "awardDate": "2025-06-30", "recipientOrganization": [{"id": "CN-USCI-1", "name": "a"}],
                        "fundingOrganization": [{"id": "CN-USCI-2", "name": "b"}]}]}
    assert _errors(good) == []
    bad = json.loads(json.dumps(good))
    del bad["grants"][0]["fundingOrganization"]
    bad["grants"][0]["awardDate"] = "30/06/2025"
    assert len(_errors(bad)) >= 2


def test_every_open_data_package_validates_against_the_360giving_schema(client, world):
    for url in ("/disclosure/360giving.json", f"/disclosure/{world.call.id}/360giving.json"):
        package = client.get(url).get_json()
        assert package["grants"], url
        assert _errors(package) == [], url


def test_org_id_identifiers_for_recipients_and_the_funder(app, client, db, world):
    from grants.organizations.services import set_host_unit_uscc

    package = client.get(f"/disclosure/{world.call.id}/360giving.json").get_json()
    grants = {g["id"]: g for g in package["grants"]}
    a = grants[f"360G-grants-{world.award_a.id}"]
    assert a["recipientOrganization"][0]["id"] == f"CN-USCI-{world.org_a.uscc}"
    # Without a credit code of its own the bureau is named under the publisher's prefix …
    assert a["fundingOrganization"][0]["id"] == f"360G-grants-UNIT-{world.unit.id}"
    # … and by its own code once it has one.
    code = "113206000140984788"  # a 机关 code with a valid check character
    with app.test_request_context():
        set_host_unit_uscc(db.session.get(type(world.unit), world.unit.id), code, None)
        db.session.commit()
    package = client.get(f"/disclosure/{world.call.id}/360giving.json").get_json()
    assert {g["fundingOrganization"][0]["id"] for g in package["grants"]} == {f"CN-USCI-{code}"}
    assert _errors(package) == []
    rows = client.get(f"/disclosure/{world.call.id}.csv").get_data(as_text=True)
    assert f"CN-USCI-{code}" in rows


def test_host_unit_credit_code_is_checked_and_set_from_the_admin_page(client, db, login_as, world):
    from grants.core.models import AuditLog

    login_as("admin")
    r = client.post(f"/admin/units/{world.unit.id}/uscc", data={"uscc": "113206000140984789"})
    assert r.status_code == 422 and "校验不通过" in r.get_data(as_text=True)
    r = client.post(f"/admin/units/{world.unit.id}/uscc", data={"uscc": "\x00²"})
    assert r.status_code == 422
    r = client.post(f"/admin/units/{world.unit.id}/uscc", data={"uscc": "  113206000140984788 "})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(world.unit), world.unit.id).uscc == "113206000140984788"
    assert db.session.query(AuditLog).filter_by(action="host_unit.set_uscc").count() == 1
    other = factories.host_unit(name="另一个民政局")
    db.session.commit()
    r = client.post(f"/admin/units/{other.id}/uscc", data={"uscc": "113206000140984788"})
    assert r.status_code == 422 and "另一个单位" in r.get_data(as_text=True)


@pytest.fixture()
def production(app):
    app.config["OPEN_DATA_REQUIRES_PREFIX"] = True
    yield app
    app.config["OPEN_DATA_REQUIRES_PREFIX"] = False
    app.config["GRANTS_360_PREFIX"] = "360G-grants"


def test_production_withholds_open_data_under_the_placeholder_prefix(production, client, login_as, world):
    urls = ("/disclosure/360giving.json", "/disclosure/grants.csv", f"/disclosure/{world.call.id}/360giving.json",
            f"/disclosure/{world.call.id}.csv")
    for url in urls:
        r = client.get(url)
        assert r.status_code == 503 and r.mimetype == "text/html", url
        assert "开放数据暂未提供" in r.get_data(as_text=True) and "360G-grants-" not in r.get_data(as_text=True)
    # The public pages stay; the administrators are told why the files are withheld.
    assert client.get(f"/disclosure/{world.call.id}").status_code == 200
    login_as("admin")
    assert 'id="open-data-prefix-banner"' in client.get("/workbench").get_data(as_text=True)
    # With a registered prefix the files are served again, and the banner is gone.
    production.config["GRANTS_360_PREFIX"] = "360G-nantongmzj"
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert "360G-nantongmzj-" in client.get("/disclosure/360giving.json").get_data(as_text=True)
    assert 'id="open-data-prefix-banner"' not in client.get("/workbench").get_data(as_text=True)


def test_development_serves_the_placeholder(client, login_as, world):
    assert client.get("/disclosure/360giving.json").status_code == 200
    login_as("admin")
    assert 'id="open-data-prefix-banner"' not in client.get("/workbench").get_data(as_text=True)
