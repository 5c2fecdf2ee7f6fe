"""The contract test and the end-to-end run.

The OpenAPI document validates (openapi-spec-validator), and one scenario calls every operation it
documents, each response checked against the documented schema by openapi-core: an organisation
applies and submits through the API only, signs its contract and reports; the evaluator scores; finance's
payment system lists the approved payment and marks it released, and a repeat with the same
Idempotency-Key returns the first result; the webhook receiver on 127.0.0.1 gets each event once.
"""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_spec_validator import validate

from grants.api import webhooks as wh
from grants.api.models import WebhookDelivery
from grants.core.timeutil import UTC, now
from grants.extensions import db as _db
from tests import factories
from tests.api.test_applications import DRAFT
from tests.applications import factories as app_factories
from tests.awards.factories import world_objects as award_world
from tests.contracts import factories as contract_factories
from tests.finance import factories as finance_factories


def _spec(app) -> dict:
    resp = app.test_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    return resp.get_json()


def test_the_document_is_valid_openapi_3_1(app):
    spec = _spec(app)
    assert spec["openapi"].startswith("3.1")
    validate(spec)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_docs_page_uses_local_assets_only(app):
    html = app.test_client().get("/api/v1/docs").text
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html and "/static/js/api-docs.js" in html
    assert not re.search(r"(src|href)=\"https?://", html)  # no CDN
    assert "<script>" not in html  # no inline script: a strict CSP can forbid them
    asset = app.test_client().get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert asset.status_code == 200
    asset.close()


class _Request(WerkzeugOpenAPIRequest):
    """The request as openapi-core matches it to an operation; its body (already read, multipart
    included) is not needed to check the response."""

    @property
    def body(self):
        return None


def _operations(spec) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def _template(app, path: str, method: str) -> str:
    rule, _args = app.url_map.bind("localhost").match(path, method=method, return_rule=True)
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)


class Checked:
    """Calls the API with one token and checks every answer against the document."""

    seen: set
    openapi: OpenAPI

    def __init__(self, app, secret):
        self.app = app
        self.client = app.test_client(use_cookies=False)
        self.headers = {"Authorization": f"Bearer {secret}"} if secret else {}

    def __call__(self, method, path, expect=200, headers=None, **kwargs):
        resp = self.client.open(path, method=method, headers={**self.headers, **(headers or {})}, **kwargs)
        assert resp.status_code == expect, (method, path, resp.status_code, resp.get_json())
        Checked.openapi.validate_response(_Request(resp.request), WerkzeugOpenAPIResponse(resp))
        Checked.seen.add((method, _template(self.app, path.split("?")[0], method)))
        return resp.get_json() if resp.data else None


@pytest.fixture()
def checked(app):
    spec = _spec(app)
    Checked.openapi = OpenAPI.from_dict(spec)
    Checked.seen = set()
    make = lambda secret=None: Checked(app, secret)  # noqa: E731
    make.missing = lambda: _operations(spec) - Checked.seen
    return make


def test_every_operation_end_to_end(app, db, clock, make_token, checked, receiver):
    clock.set(dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    unit = factories.host_unit(name="示范区民政局")
    admin = factories.user_with_role("admin")
    _endpoint, receiver.secret = wh.create_endpoint(url=receiver.url, description="对接", events=list(wh.EVENTS),
                                                    actor=admin)
    org = factories.organization(name="示范社工服务中心")
    member = factories.member(org)
    open_call = app_factories.call(unit)
    award_world(factories.organization(name="公示组织"), unit.id)
    db.session.commit()
    anyone = checked()
    applicant = checked(make_token(member, days=90))

    # --- public -----------------------------------------------------------------------------------
    calls = anyone("GET", "/api/v1/calls?open=true&limit=10")["items"]
    assert [c["id"] for c in calls] == [open_call.id]
    detail = anyone("GET", f"/api/v1/calls/{open_call.id}")
    anyone("GET", "/api/v1/calls/999999", expect=404)
    notice = anyone("GET", "/api/v1/notices")["items"][0]
    assert anyone("GET", f"/api/v1/notices/{notice['call_id']}")["awards"]
    anyone("GET", "/api/v1/me", expect=401)

    # --- an organisation applies through the API only ----------------------------------------------
    me = applicant("GET", "/api/v1/me")
    assert me["organization_id"] == org.id
    assert [o["id"] for o in applicant("GET", "/api/v1/organizations")["items"]] == [org.id]
    applicant("GET", f"/api/v1/organizations/{org.id}")
    draft = applicant("POST", "/api/v1/applications", json={"call_id": open_call.id}, expect=201)
    applicant("PATCH", f"/api/v1/applications/{draft['id']}",
              json={**DRAFT, "category_id": detail["categories"][0]["id"]})
    required, optional = detail["attachment_requirements"]
    applicant("POST", f"/api/v1/applications/{draft['id']}/attachments", expect=201, content_type="multipart/form-data",
              data={"file": (io.BytesIO(app_factories.PDF), "登记证书.pdf"), "requirement_id": str(required["id"])})
    extra = applicant("POST", f"/api/v1/applications/{draft['id']}/attachments", expect=201,
                      content_type="multipart/form-data",
                      data={"file": (io.BytesIO(app_factories.PDF), "预算.pdf"), "requirement_id": str(optional["id"])})
    applicant("DELETE", f"/api/v1/applications/{draft['id']}/attachments/{extra['id']}", expect=204)
    assert applicant("GET", f"/api/v1/applications/{draft['id']}/problems")["problems"] == []
    submitted = applicant("POST", f"/api/v1/applications/{draft['id']}/submit")
    assert submitted["status"] == "submitted" and submitted["screening"]["status"] == "submitted"
    assert [a["id"] for a in applicant("GET", "/api/v1/applications")["items"]] == [draft["id"]]
    applicant("GET", f"/api/v1/applications/{draft['id']}")
    second = applicant("POST", "/api/v1/applications", json={"call_id": open_call.id}, expect=201)
    applicant("POST", f"/api/v1/applications/{second['id']}/withdraw")
    refused = applicant("POST", f"/api/v1/applications/{second['id']}/submit", expect=403)
    assert refused["code"] == "forbidden" and refused["message"]

    # an unfunded application of a finished round has its feedback
    finished = app_factories.call(unit, status="finalized")
    unfunded = app_factories.application(finished, org, status="not_awarded")
    db.session.commit()
    assert applicant("GET", f"/api/v1/applications/{unfunded.id}/feedback") == {"stages": []}

    # --- contract: the organisation signs, then reports ---------------------------------------------
    funded = finance_factories.funded_call(unit)
    award = finance_factories.award(funded, org=org)
    officer = factories.user(roles=("officer",), unit=unit)
    contract = contract_factories.contract(award, status="issued", officer=officer)
    db.session.commit()
    assert [c["id"] for c in applicant("GET", "/api/v1/contracts")["items"]] == [contract.id]
    applicant("GET", f"/api/v1/contracts/{contract.id}")
    signed = applicant("POST", f"/api/v1/contracts/{contract.id}/sign", json={"signer_name": "张三", "signer_title": "理事长"})
    assert signed["status"] == "signed_by_org"
    from grants.contracts import services as contract_services

    with app.test_request_context():
        contract_services.countersign_contract(_db.session.get(type(contract), contract.id), officer)
    db.session.commit()
    midterm = _db.session.get(type(contract), contract.id).tranches[1]
    report = applicant("POST", "/api/v1/reports", json={"tranche_id": midterm.id}, expect=201)
    applicant("PATCH", f"/api/v1/reports/{report['id']}", json={
        "narrative": "完成探访 1500 人次，组建志愿者队伍 32 人。",
        "achieved": [{"kind": "service_sessions", "achieved": 1500}],
        "spent": [{"id": report["spending"][0]["id"], "spent_fen": 400_000}]})
    applicant("POST", f"/api/v1/reports/{report['id']}/evidence", expect=201, content_type="multipart/form-data",
              data={"file": (io.BytesIO(contract_factories.PNG), "活动照片.png")})
    assert applicant("POST", f"/api/v1/reports/{report['id']}/submit")["status"] == "submitted"
    assert [r["id"] for r in applicant("GET", f"/api/v1/reports?contract_id={contract.id}")["items"]] == [report["id"]]
    applicant("GET", f"/api/v1/reports/{report['id']}")

    # --- the evaluator scores ----------------------------------------------------------------------
    from grants.assessments import services as assessment_services
    from grants.assessments.models import ProgressReport

    evaluator = contract_factories.evaluator()
    with app.test_request_context():
        assessment_services.accept_report(_db.session.get(ProgressReport, report["id"]), officer, evaluator)
    db.session.commit()
    scorer = checked(make_token(evaluator, scopes=["reports:write"], days=90))
    mine = scorer("GET", "/api/v1/assessments")["items"]
    task = scorer("GET", f"/api/v1/assessments/{mine[0]['id']}")
    points = [{"criterion_id": c["id"], "points": c["max_points"] * 9 // 10} for c in task["criteria"]
              if c["kind"] == "normal"]
    done = scorer("POST", f"/api/v1/assessments/{task['id']}/submit", json={"points": points, "satisfaction_pct": 95})
    assert done["status"] == "submitted" and done["payment_pct"] == 100

    # --- finance: the payment system lists approved payments and releases one, once ------------------
    from grants.finance import services as finance_services
    from grants.finance.models import Payment

    first = finance_factories.first_payment(_db.session.get(type(contract), contract.id))
    with app.test_request_context():
        finance_services.approve_payment(first, finance_factories.finance_user(funded))
    db.session.commit()
    from grants.api.services import create_service_account

    account = create_service_account(name="财政支付系统", description="国库集中支付", roles=["finance"],
                                     host_unit_id=unit.id, actor=admin)
    db.session.commit()
    system = checked(make_token(account.user, scopes=["payments:write"], days=90))
    approved = system("GET", "/api/v1/payments?status=approved")["items"]
    assert [p["id"] for p in approved] == [first.id]
    system("GET", f"/api/v1/payments/{first.id}")
    body = {"bank_reference": "ICBC-20261201-0001", "released_on": "2026-12-01"}
    released = system("POST", f"/api/v1/payments/{first.id}/release", json=body, headers={"Idempotency-Key": "pay-1"})
    assert released["status"] == "released"
    assert system("POST", f"/api/v1/payments/{first.id}/release", json=body,
                  headers={"Idempotency-Key": "pay-1"}) == released
    system("POST", f"/api/v1/payments/{first.id}/release", json=body, expect=409)
    assert _db.session.scalar(sa.select(Payment.release_by_id).where(Payment.id == first.id)) == account.user_id

    # --- staff figures and notifications ---------------------------------------------------------------
    staff = checked(make_token(officer, days=90))
    ledger = staff("GET", f"/api/v1/ledgers/{funded.id}")
    assert ledger["total"]["paid"]["fen"] == first.amount_fen
    board = staff("GET", "/api/v1/dashboard?year=2026")
    assert board["total"]["paid"]["fen"] == first.amount_fen
    inbox = staff("GET", "/api/v1/notifications")["items"]
    assert any("已签署协议" in n["title"] for n in inbox)
    assert staff("POST", f"/api/v1/notifications/{inbox[0]['id']}/read")["read_at"]

    # --- webhooks: each event once at the receiver --------------------------------------------------------
    from grants.reminders.registry import STEPS

    with app.test_request_context():
        STEPS["webhook_deliveries"].run(now())
        STEPS["webhook_deliveries"].run(now() + dt.timedelta(hours=1))
    kinds = sorted(e["type"] for e in receiver.processed)
    assert kinds == ["application.submitted", "contract.signed", "payment.approved", "payment.released",
                     "report.submitted"]
    assert len(receiver.requests) == len(receiver.processed)  # nothing sent twice
    assert {d.status for d in _db.session.scalars(sa.select(WebhookDelivery))} == {"delivered"}

    assert not checked.missing(), f"documented but not exercised: {sorted(checked.missing())}"
