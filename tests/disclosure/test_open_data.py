"""Open data: the 360Giving JSON package validates against the standard's required fields and types, amounts
are exact yuan from integer fen, identifiers carry the configured prefix, and the CSV says the same."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from grants.disclosure.exports import yuan_number

# The 360Giving Data Standard (schema 1.x): what a grant must have and the type of each field we publish.
REQUIRED = ("id", "title", "description", "currency", "amountAwarded", "awardDate", "recipientOrganization",
            "fundingOrganization")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ORGANIZATION = {"required": ("id", "name"), "fields": {"id": str, "name": str}}
GRANT_FIELDS = {
    "id": str, "title": str, "description": str, "currency": str, "amountAwarded": (int, float),
    "awardDate": "date", "amountDisbursed": (int, float),
    "recipientOrganization": [ORGANIZATION], "fundingOrganization": [ORGANIZATION],
    "plannedDates": [{"required": (), "fields": {"startDate": "date", "endDate": "date"}}],
    "grantProgramme": [{"required": (), "fields": {"code": str, "title": str}}],
    "beneficiaryLocation": [{"required": (), "fields": {"name": str, "countryCode": str}}],
    "classifications": [{"required": (), "fields": {"title": str}}],
}


def _check_value(path: str, value, kind) -> list[str]:
    if kind == "date":
        return [] if isinstance(value, str) and DATE.match(value) else [f"{path}: not an ISO date: {value!r}"]
    if isinstance(kind, list):
        if not isinstance(value, list) or not value:
            return [f"{path}: must be a non-empty array"]
        return [e for i, item in enumerate(value) for e in _check_object(f"{path}[{i}]", item, kind[0])]
    if isinstance(value, bool) or not isinstance(value, kind):
        return [f"{path}: {value!r} is not {kind}"]
    if isinstance(value, str) and not value.strip():
        return [f"{path}: empty"]
    return []


def _check_object(path: str, obj, spec) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{path}: not an object"]
    errors = [f"{path}.{name}: required" for name in spec["required"] if name not in obj]
    for name, value in obj.items():
        if name in spec["fields"]:
            errors += _check_value(f"{path}.{name}", value, spec["fields"][name])
    return errors


def validate_360(package) -> list[str]:
    if not isinstance(package, dict) or not isinstance(package.get("grants"), list):
        return ["the package must be an object with a 'grants' array"]
    errors = []
    for i, grant in enumerate(package["grants"]):
        errors += _check_object(f"grants[{i}]", grant, {"required": REQUIRED, "fields": GRANT_FIELDS})
        if grant.get("currency") != "CNY":
            errors.append(f"grants[{i}].currency: {grant.get('currency')!r}")
    ids = [g.get("id") for g in package["grants"]]
    if len(ids) != len(set(ids)):
        errors.append("grant ids are not unique")
    return errors


def test_the_validator_catches_what_the_standard_forbids():
    good = {"id": "x-1", "title": "t", "description": "d", "currency": "CNY", "amountAwarded": 1,
            "awardDate": "2025-01-02", "recipientOrganization": [{"id": "r", "name": "n"}],
            "fundingOrganization": [{"id": "f", "name": "n"}]}
    assert validate_360({"grants": [good]}) == []
    assert validate_360({"grants": [{**good, "amountAwarded": "1"}]})
    assert validate_360({"grants": [{k: v for k, v in good.items() if k != "awardDate"}]})
    assert validate_360({"grants": [{**good, "recipientOrganization": [{"name": "n"}]}]})
    assert validate_360({"grants": [{**good, "awardDate": "2025-01-02T00:00"}]})
    assert validate_360({"grants": [good, good]})


@pytest.mark.parametrize("fen, expected", [(5_000_000, 50000), (123_456_78, 123456.78), (1, 0.01), (10, 0.1),
                                           (0, 0), (999_999_999_99, 999999999.99)])
def test_yuan_numbers_are_exact(fen, expected):
    value = yuan_number(fen)
    assert value == expected
    assert json.dumps(value) == json.dumps(expected)


def test_360giving_json_of_all_disclosed_calls(client, world):
    resp = client.get("/disclosure/360giving.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    package = json.loads(resp.get_data(as_text=True))
    assert validate_360(package) == []
    grants = {g["id"]: g for g in package["grants"]}
    # Only the finalized call's two projects: not the draft's, not the one on notice.
    assert set(grants) == {f"360G-grants-{world.award_a.id}", f"360G-grants-{world.award_b.id}"}
    a = grants[f"360G-grants-{world.award_a.id}"]
    assert a["amountAwarded"] == 123456.78
    assert '"amountAwarded": 123456.78' in resp.get_data(as_text=True)
    # first tranche 40 % = 49,382.71 released, 1,000.00 reclaimed
    assert a["amountDisbursed"] == 48382.71
    assert a["recipientOrganization"] == [{"id": f"CN-USCI-{world.org_a.uscc}", "name": "崇川区阳光为老服务中心"}]
    assert a["fundingOrganization"] == [{"id": f"360G-grants-UNIT-{world.unit.id}", "name": world.unit.name}]
    assert a["grantProgramme"] == [{"code": f"360G-grants-CALL-{world.call.id}", "title": "2025年南通市公益创投大赛"}]
    assert a["plannedDates"] == [{"startDate": world.contract_a.period_start_on.isoformat(),
                                  "endDate": world.contract_a.period_end_on.isoformat()}]
    assert [loc["name"] for loc in a["beneficiaryLocation"]] == ["和平桥街道 桃坞路社区", "城东街道"]
    assert a["currency"] == "CNY"
    b = grants[f"360G-grants-{world.award_b.id}"]
    assert b["recipientOrganization"][0]["id"] == f"360G-grants-ORG-{world.org_b.id}"  # filed: no credit code
    assert b["amountAwarded"] == 30000 and b["amountDisbursed"] == 0
    assert b["plannedDates"] == [{"startDate": "2025-07-01", "endDate": "2026-06-30"}]  # the call's period


def test_prefix_comes_from_configuration(app, client, world):
    app.config["GRANTS_360_PREFIX"] = "360G-nantong"
    try:
        package = client.get(f"/disclosure/{world.call.id}/360giving.json").get_json()
    finally:
        app.config["GRANTS_360_PREFIX"] = "360G-grants"
    assert validate_360(package) == []
    assert {g["id"] for g in package["grants"]} == {f"360G-nantong-{world.award_a.id}",
                                                    f"360G-nantong-{world.award_b.id}"}


def test_undisclosed_calls_have_no_open_data(client, world):
    for call in (world.draft_call, world.notice_call):
        assert client.get(f"/disclosure/{call.id}/360giving.json").status_code == 404
        assert client.get(f"/disclosure/{call.id}.csv").status_code == 404
    assert "77777.77" not in client.get("/disclosure/grants.csv").get_data(as_text=True)


def _csv_rows(resp) -> list[dict]:
    text = resp.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads the Chinese as UTF-8
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_csv_says_what_the_json_says(client, world):
    resp = client.get(f"/disclosure/{world.call.id}.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = {r["Identifier"]: r for r in _csv_rows(resp)}
    package = client.get(f"/disclosure/{world.call.id}/360giving.json").get_json()
    assert set(rows) == {g["id"] for g in package["grants"]}
    a = rows[f"360G-grants-{world.award_a.id}"]
    assert a["Amount Awarded"] == "123456.78" and a["Amount Disbursed"] == "48382.71"
    assert a["Recipient Org:Name"] == "崇川区阳光为老服务中心" and a["Funding Org:Name"] == world.unit.name
    assert a["Currency"] == "CNY" and a["Classifications:Title"] == "为老服务"
    assert a["Project Status"] == "实施中" and a["Final Grade"] == "优秀"
    # Each service area in the standard's numbered columns, with its country code.
    assert (a["Beneficiary Location:0:Name"], a["Beneficiary Location:0:Country Code"]) == ("和平桥街道 桃坞路社区", "CN")
    assert (a["Beneficiary Location:1:Name"], a["Beneficiary Location:1:Country Code"]) == ("城东街道", "CN")
    assert "Beneficiary Location:Name" not in a
    # An applicant's title that would run as a formula in Excel is defused.
    b = rows[f"360G-grants-{world.award_b.id}"]
    assert b["Title"].startswith("'=HYPERLINK") and b["Project Status"] == "待签约"
    assert len(_csv_rows(client.get("/disclosure/grants.csv"))) == 2


def _empty_cache(app):
    from grants.disclosure import cache

    with app.test_request_context():
        for path in cache.cache_dir().iterdir():
            path.unlink()


def test_open_data_query_count_does_not_grow(app, client, world, count_queries):
    """Writing a file takes a fixed number of queries (per chunk of 1,000 projects); sending the written file
    again takes one (the version; and the call for a call's file)."""
    from grants.extensions import db
    from tests.finance import factories as ff

    urls = ("/disclosure/360giving.json", "/disclosure/grants.csv", f"/disclosure/{world.call.id}/360giving.json")
    for url in urls:
        client.get(url)
    db.session.expunge_all()
    before = {}
    for url in urls:
        _empty_cache(app)
        with count_queries() as n:
            client.get(url)
        before[url] = n.count
        with count_queries() as n:
            client.get(url)
        assert n.count == (2 if url == urls[2] else 1), url  # the version (and the call)
    with app.test_request_context():
        from grants.calls.models import Call

        call = db.session.get(Call, world.call.id)
        for _ in range(4):
            ff.active_contract(call, amount_fen=10_000_00)
        db.session.commit()
    db.session.expunge_all()
    for url in urls:
        _empty_cache(app)
        with count_queries() as n:
            body = client.get(url).get_data(as_text=True)
        assert n.count == before[url], url
        assert body.count("360G-grants-") >= 6
