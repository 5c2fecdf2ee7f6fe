"""Deny by default over the API, proven like the pages' walk (tests/test_route_permissions.py): every API
operation × every role × two scopes (all, and one unrelated scope), with URL parameters naming another
organisation's objects in another unit, and write bodies that get past validation so the permission check
is what answers. A 2xx outside ALLOWED is a leak; so is another organisation's object in a list."""
from __future__ import annotations

import io

import pytest

from grants.accounts.models import Role
from grants.api.scopes import ALL_SCOPES
from tests import factories
from tests.test_route_permissions import url_args, world  # noqa: F401  (the same foreign objects)

ROLES = [str(r) for r in Role]
PUBLIC = {"api_calls.list_calls", "api_calls.get_call", "api_awards.list_notices", "api_awards.get_notice"}
# endpoint → roles that may get a 2xx for the foreign URL (their own, empty or unit-limited lists)
ALLOWED = {
    "api_account.me": set(ROLES),
    "api_notifications.list_notifications": set(ROLES),
    "api_applications.list_applications": {"applicant"},
    "api_contracts.list_contracts": {"applicant", "officer", "finance", "auditor"},
    "api_payments.list_payments": {"officer", "finance", "auditor"},
    "api_reports.list_assessments": {"evaluator"},
    "api_figures.get_dashboard": {"officer", "auditor"},
    # organisations are platform-wide for the staff who decide on them, as on the pages
    "api_organizations.list_organizations": {"applicant", "officer", "finance", "auditor"},
    "api_organizations.get_organization": {"officer", "finance", "auditor"},
}
# an organisation's own data must never list another organisation's objects
FOREIGN_IN_LISTS = {"api_applications.list_applications": "application_id", "api_contracts.list_contracts": "contract_id",
                    "api_payments.list_payments": "payment_id", "api_reports.list_assessments": "assessment_id",
                    "api_notifications.list_notifications": "notification_id"}


def _bodies(world) -> dict:
    return {
        "api_applications.create_application": {"json": {"call_id": world["call_id"]}},
        "api_applications.update_application": {"json": {"project_name": "越权修改"}},
        "api_applications.upload_attachment": {"data": {"file": (io.BytesIO(b"%PDF-1.4 x"), "x.pdf")},
                                               "content_type": "multipart/form-data"},
        "api_contracts.sign": {"json": {"signer_name": "越权", "signer_title": "越权"}},
        "api_payments.release": {"json": {"bank_reference": "LEAK-0001", "released_on": "2026-11-30"}},
        "api_reports.create_report": {"json": {"tranche_id": world["tranche_id"]}},
        "api_reports.update_report": {"json": {"narrative": "越权修改的报告内容"}},
        "api_reports.upload_evidence": {"data": {"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"\0" * 64), "x.png")},
                                        "content_type": "multipart/form-data"},
        "api_reports.score": {"json": {"points": [], "satisfaction_pct": 90}},
    }


def _operations(app, world):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if not rule.endpoint.startswith("api_") or rule.endpoint.startswith("api_ui") or rule.endpoint in PUBLIC:
            continue
        path = rule.build(url_args(rule, world), append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


def test_every_api_endpoint_is_public_or_needs_a_scope(app):
    """A new endpoint that forgets @scope(...) or @public fails here."""
    unscoped = {r.endpoint for r in app.url_map.iter_rules()
                if r.endpoint.startswith("api_") and not r.endpoint.startswith("api_ui")
                and not getattr(app.view_functions[r.endpoint], "_api_scope", None)} - PUBLIC - {"api_account.me"}
    assert not unscoped
    assert all(getattr(app.view_functions[e], "_api_public", False) for e in PUBLIC)


@pytest.mark.parametrize("role", ROLES)
def test_api_roles_and_scopes_get_only_what_they_may(app, db, world, make_token, role):
    user = factories.user_with_role(role)
    db.session.commit()
    tokens = {"all": make_token(user, scopes=ALL_SCOPES), "unrelated": make_token(user, scopes=["ledger:read"])}
    leaks, requests = [], 0
    for endpoint, method, path in _operations(app, world):
        for kind, secret in tokens.items():
            client = app.test_client(use_cookies=False)
            resp = client.open(path, method=method, headers={"Authorization": f"Bearer {secret}"},
                               **_bodies(world).get(endpoint, {}))
            requests += 1
            assert resp.status_code < 500, f"{method} {path} ({endpoint}) as {role}/{kind} → {resp.status_code}"
            body = resp.get_json(silent=True) or {}
            if resp.status_code >= 400:
                assert set(body) >= {"code", "message", "field"}, (endpoint, body)
                continue
            if role not in ALLOWED.get(endpoint, set()):
                leaks.append(f"{method} {path} ({endpoint}) as {role}/{kind} → {resp.status_code}")
                continue
            foreign = world.get(FOREIGN_IN_LISTS.get(endpoint, ""), None)
            if foreign is not None and any(item.get("id") == foreign for item in body.get("items", [])):
                leaks.append(f"{method} {path} ({endpoint}) as {role}/{kind} lists another's object {foreign}")
            if kind == "unrelated" and endpoint not in ("api_account.me", "api_figures.get_dashboard"):
                leaks.append(f"{method} {path} ({endpoint}) as {role} answered without its scope")
    assert requests == 2 * len(list(_operations(app, world))) >= 60
    assert leaks == [], "\n".join(leaks)
