"""A conflicted expert can never open, download or score the application: every URL that names an
application, its attachments, its files or the expert's assignment is walked, GET and POST."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from grants.extensions import db as _db
from grants.organizations.models import OrganizationMember
from grants.reviews.models import Conflict, ConflictSource, Review, ReviewAssignment
from tests import factories
from tests.reviews import factories as rf

SECRET = "社区 60 岁以上老人 1200 人，其中独居 180 人。"  # the need analysis of the factory application
URL_ARGS = ("application_id", "attachment_id", "assignment_id", "file_id")


def _setup(scenario: str):
    call = rf.review_call()
    org = factories.organization(name="桃坞路为老服务社")
    app_ = rf.eligible_application(call, org, status="under_review")
    kwargs = {}
    if scenario == "auto_employer":
        kwargs["employer"] = org.name
    elif scenario == "auto_affiliated":
        kwargs["affiliated_organization"] = org
    expert = rf.expert(**kwargs)
    if scenario == "member":
        _db.session.add(OrganizationMember(organization=org, user=expert, is_admin=False))
    declare = {"declared_conflict": True, "officer": False, "clean": False, "blind": False}.get(scenario)
    if scenario != "not_assigned":
        rf.assignment(app_, expert, declare=declare)
    if scenario == "officer":
        row = _db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert.id))
        row.source, row.has_conflict, row.reason = ConflictSource.OFFICER, True, "申报单位反映其为理事"
    if scenario == "blind":
        call.blind_review = True
    _db.session.commit()
    return call, app_, expert


def _urls(app, application, assignment_id):
    att = application.attachments[0]
    values = {"application_id": application.id, "attachment_id": att.id, "assignment_id": assignment_id or 999999,
              "file_id": att.stored_file_id}
    for rule in app.url_map.iter_rules():
        if not set(rule.arguments) & set(URL_ARGS):
            continue
        args = {a: values.get(a, 1) for a in rule.arguments}
        path = rule.build(args, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, path


CONFLICTED = ["auto_employer", "auto_affiliated", "member", "declared_conflict", "officer", "undeclared",
              "not_assigned"]


@pytest.mark.parametrize("scenario", CONFLICTED)
def test_conflicted_expert_is_refused_everywhere(app, client, login_as, db, scenario):
    call, application, expert = _setup(scenario)
    assignment_id = db.session.scalar(sa.select(ReviewAssignment.id).where(ReviewAssignment.expert_id == expert.id))
    login_as(expert)
    walked = 0
    for endpoint, method, path in _urls(app, application, assignment_id):
        if scenario == "member" and endpoint == "core.download":
            continue  # a member reads their own organisation's files as a member, not as an expert
        if scenario == "undeclared" and endpoint == "reviews.declare" and method == "POST":
            continue  # declaring "无利益冲突" is exactly how an expert without a conflict gets in
        data = {"points-1": "10", "overall_comment": "好", "recommendation": "fund", "action": "submit",
                "has_conflict": "no"}
        resp = client.open(path, method=method, data=data if method == "POST" else None)
        body = resp.get_data(as_text=True)
        resp.close()
        walked += 1
        if endpoint == "reviews.declare" and method == "GET" and resp.status_code == 200:
            # The declaration page names the project only; no content of the application.
            assert SECRET not in body and "项目预算" not in body, path
            continue
        refused = (302, 403, 404, 405) + ((401,) if endpoint.startswith("api_") else ())  # the API wants a token
        assert resp.status_code in refused, f"{method} {path} ({endpoint}) → {resp.status_code}"
        if resp.status_code == 302:
            target = resp.headers["Location"]
            assert "/declare" in target or "/tasks" in target or "/login" in target, f"{path} → {target}"
        assert SECRET not in body, f"{method} {path} showed the application's content"
    assert walked >= 6  # detail, pdf, attachment, file download, the review page (GET, POST), the declaration
    # Nothing was scored, and "无利益冲突" could not be declared over a recorded or detectable conflict.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0
    row = db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert.id))
    if scenario in ("auto_employer", "auto_affiliated", "member", "declared_conflict", "officer"):
        assert row is not None and row.has_conflict


def test_walk_covers_the_application_urls(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if set(r.arguments) & set(URL_ARGS)}
    assert {"applications.detail", "applications.pdf", "applications.attachment", "core.download",
            "reviews.review", "reviews.declare"} <= endpoints


def test_expert_without_conflict_opens_pdf_and_attachments(app, client, login_as, db):
    call, application, expert = _setup("clean")
    assignment_id = db.session.scalar(sa.select(ReviewAssignment.id).where(ReviewAssignment.expert_id == expert.id))
    login_as(expert)
    with client.get(f"/applications/{application.id}/pdf") as resp:
        assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    att = application.attachments[0]
    with client.get(f"/applications/{application.id}/attachments/{att.id}") as resp:
        assert resp.status_code == 200
    resp = client.get(f"/reviews/assignments/{assignment_id}")
    assert resp.status_code == 200 and SECRET in resp.get_data(as_text=True)
    assert application.organization.name in resp.get_data(as_text=True)


def test_blind_review_hides_identity_and_files(app, client, login_as, db):
    call, application, expert = _setup("blind")
    assignment_id = db.session.scalar(sa.select(ReviewAssignment.id).where(ReviewAssignment.expert_id == expert.id))
    login_as(expert)
    resp = client.get(f"/reviews/assignments/{assignment_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and SECRET in html
    assert application.organization.name not in html and "盲评" in html
    assert client.get(f"/applications/{application.id}/pdf").status_code == 403
    att = application.attachments[0]
    assert client.get(f"/applications/{application.id}/attachments/{att.id}").status_code == 403


def test_declaration_comes_before_content(app, client, login_as, db):
    call, application, expert = _setup("undeclared")
    assignment_id = db.session.scalar(sa.select(ReviewAssignment.id).where(ReviewAssignment.expert_id == expert.id))
    login_as(expert)
    resp = client.get(f"/reviews/assignments/{assignment_id}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/reviews/assignments/{assignment_id}/declare")
    page = client.get(f"/reviews/assignments/{assignment_id}/declare").get_data(as_text=True)
    assert SECRET not in page and "无利益冲突" in page
    # A conflict needs a reason; nothing is recorded without one.
    resp = client.post(f"/reviews/assignments/{assignment_id}/declare", data={"has_conflict": "yes", "reason": ""})
    assert resp.status_code == 200 and "请说明利益冲突的情况" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert.id)) is None
    resp = client.post(f"/reviews/assignments/{assignment_id}/declare", data={"has_conflict": "no"})
    assert resp.status_code == 302
    assert SECRET in client.get(f"/reviews/assignments/{assignment_id}").get_data(as_text=True)


def test_late_conflict_declaration_locks_the_expert_out_and_cannot_be_undone(app, client, login_as, db):
    call, application, expert = _setup("clean")
    assignment_id = db.session.scalar(sa.select(ReviewAssignment.id).where(ReviewAssignment.expert_id == expert.id))
    login_as(expert)
    client.post(f"/reviews/assignments/{assignment_id}/declare", data={"has_conflict": "yes", "reason": "曾参与项目设计"})
    assert client.get(f"/reviews/assignments/{assignment_id}").status_code == 403
    client.post(f"/reviews/assignments/{assignment_id}/declare", data={"has_conflict": "no"})
    row = db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert.id))
    db.session.refresh(row)
    assert row.has_conflict and row.reason == "曾参与项目设计"
    assert client.get(f"/applications/{application.id}/pdf").status_code == 403


def test_officer_conflict_cannot_be_undone_by_the_expert(app, client, login_as, db):
    from grants.reviews.services import ReviewError, declare_conflict

    call, application, expert = _setup("officer")
    assignment = db.session.scalar(sa.select(ReviewAssignment).where(ReviewAssignment.expert_id == expert.id))
    with app.test_request_context(), pytest.raises(ReviewError, match="主管设定"):
        declare_conflict(assignment, expert, has_conflict=False)


def test_detected_conflict_is_recorded_when_the_expert_tries_to_declare(app, client, login_as, db):
    call, application, expert = _setup("auto_employer")
    assignment_id = db.session.scalar(sa.select(ReviewAssignment.id).where(ReviewAssignment.expert_id == expert.id))
    login_as(expert)
    resp = client.post(f"/reviews/assignments/{assignment_id}/declare", data={"has_conflict": "no"})
    assert resp.status_code == 302
    row = db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert.id))
    assert row.source == "auto" and row.has_conflict and "工作单位" in row.reason


def test_officer_sets_a_conflict_through_the_page(app, client, login_as, db):
    call, application, expert = _setup("clean")
    rf.panel_member(call, expert)
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/calls/{call.id}/conflicts", data={
        "application_id": application.id, "expert_id": expert.id, "reason": "其配偶为该组织理事"})
    assert resp.status_code == 302
    row = db.session.scalar(sa.select(Conflict).where(Conflict.expert_id == expert.id))
    assert row.source == "officer" and row.has_conflict and row.set_by_id == officer.id
    page = client.get(f"/reviews/calls/{call.id}/conflicts").get_data(as_text=True)
    assert "其配偶为该组织理事" in page and "主管设定" in page
