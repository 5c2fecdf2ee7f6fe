"""Scoring through the pages: drafts, validation beside the fields, submit locks, other scores hidden until
one's own submission (and only if the call allows), officer reopen with an audited reason, statuses."""
from __future__ import annotations

import sqlalchemy as sa

from grants.core.models import AuditLog
from grants.reviews.models import Review
from tests import factories
from tests.reviews import factories as rf


def _setup(db, *, show_other_scores=True, n_experts=2):
    call = rf.review_call(show_other_scores=show_other_scores)
    application = rf.eligible_application(call, status="under_review")
    experts = [rf.expert() for _ in range(n_experts)]
    assignments = [rf.assignment(application, e) for e in experts]
    db.session.commit()
    return call, application, experts, assignments


def _form(call, points, **extra):
    data = {f"points-{c.id}": str(p) for c, p in zip(call.criteria_for("written"), points)}
    data.update({"overall_comment": "需求清晰，设计可行。", "recommendation": "fund", "action": "submit"})
    data.update(extra)
    return data


def test_draft_keeps_valid_input_and_explains_the_rest(app, db, client, login_as):
    call, application, experts, assignments = _setup(db)
    login_as(experts[0])
    url = f"/reviews/assignments/{assignments[0].id}"
    crit = call.criteria_for("written")
    resp = client.post(url, data={f"points-{crit[0].id}": "18", f"points-{crit[1].id}": "35",
                                  "overall_comment": "初稿", "action": "save"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "项目设计 最高 30 分" in html and 'value="35"' in html   # the message beside the field, input kept
    review = db.session.scalar(sa.select(Review))
    assert review.status == "draft" and review.points_by_criterion == {crit[0].id: 18}
    assert review.overall_comment == "初稿"


def test_submit_requires_every_criterion_comment_and_recommendation(app, db, client, login_as):
    call, application, experts, assignments = _setup(db)
    login_as(experts[0])
    url = f"/reviews/assignments/{assignments[0].id}"
    resp = client.post(url, data=_form(call, [18, 25, 16], overall_comment="", recommendation=""))
    html = resp.get_data(as_text=True)
    assert "请为“预算合理性”打分" in html and "请填写总体评价" in html and "请选择推荐意见" in html
    assert db.session.scalar(sa.select(Review)).status == "draft"


def test_submit_locks_and_moves_the_application_when_all_are_in(app, db, client, login_as):
    call, application, experts, assignments = _setup(db)
    login_as(experts[0])
    url = f"/reviews/assignments/{assignments[0].id}"
    assert client.post(url, data=_form(call, [18, 25, 16, 12, 12], suggested_amount="45,000")).status_code == 302
    review = db.session.scalar(sa.select(Review))
    assert review.status == "submitted" and review.suggested_amount_fen == 4_500_000
    db.session.refresh(application)
    assert application.status == "under_review"  # one of two
    # Locked: another POST changes nothing.
    client.post(url, data=_form(call, [1, 1, 1, 1, 1]))
    db.session.refresh(review)
    assert sum(review.points_by_criterion.values()) == 83
    login_as(experts[1])
    client.post(f"/reviews/assignments/{assignments[1].id}", data=_form(call, [16, 27, 18, 13, 10]))
    db.session.refresh(application)
    assert application.status == "scored"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "application.score")) is not None


def test_other_scores_hidden_until_own_submission(app, db, client, login_as):
    call, application, experts, assignments = _setup(db, show_other_scores=True)
    login_as(experts[0])
    client.post(f"/reviews/assignments/{assignments[0].id}", data=_form(call, [18, 25, 16, 12, 12]))
    login_as(experts[1])
    page = client.get(f"/reviews/assignments/{assignments[1].id}").get_data(as_text=True)
    assert "其他专家的评分" not in page and 'id="other-scores"' not in page
    client.post(f"/reviews/assignments/{assignments[1].id}", data=_form(call, [16, 27, 18, 13, 10]))
    page = client.get(f"/reviews/assignments/{assignments[1].id}").get_data(as_text=True)
    assert 'id="other-scores"' in page and ">83<" in page
    assert experts[0].display_name not in page  # other experts stay anonymous


def test_other_scores_never_shown_when_the_call_does_not_allow(app, db, client, login_as):
    call, application, experts, assignments = _setup(db, show_other_scores=False)
    for e, t, pts in zip(experts, assignments, ([18, 25, 16, 12, 12], [16, 27, 18, 13, 10])):
        login_as(e)
        client.post(f"/reviews/assignments/{t.id}", data=_form(call, pts))
    page = client.get(f"/reviews/assignments/{assignments[1].id}").get_data(as_text=True)
    assert 'id="other-scores"' not in page


def test_officer_reopens_with_an_audited_reason(app, db, client, login_as):
    call, application, experts, assignments = _setup(db, n_experts=1)
    login_as(experts[0])
    client.post(f"/reviews/assignments/{assignments[0].id}", data=_form(call, [18, 25, 16, 12, 12]))
    review = db.session.scalar(sa.select(Review))
    db.session.refresh(application)
    assert application.status == "scored"
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/reviews/{review.id}/reopen", data={"reason": ""}, follow_redirects=True)
    assert "请填写退回原因" in resp.get_data(as_text=True)
    assert client.post(f"/reviews/reviews/{review.id}/reopen", data={"reason": "预算合理性评分与意见不一致"}).status_code == 302
    db.session.refresh(review)
    db.session.refresh(application)
    assert review.status == "draft" and review.submitted_at is None
    assert application.status == "under_review"
    audit = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "review.reopen"))
    assert audit.actor_id == officer.id and audit.after["reason"] == "预算合理性评分与意见不一致"
    assert audit.before["status"] == "submitted" and audit.before["points"]
    from grants.reminders.models import Notification

    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == experts[0].id))
    assert note is not None and "评分被退回" in note.title
    # The expert sees why, changes and submits again.
    login_as(experts[0])
    page = client.get(f"/reviews/assignments/{assignments[0].id}").get_data(as_text=True)
    assert "预算合理性评分与意见不一致" in page
    client.post(f"/reviews/assignments/{assignments[0].id}", data=_form(call, [18, 25, 16, 10, 12]))
    db.session.refresh(review)
    assert review.status == "submitted" and sum(review.points_by_criterion.values()) == 81


def test_experts_cannot_reopen_and_auditors_cannot_either(app, db, client, login_as):
    call, application, experts, assignments = _setup(db, n_experts=1)
    rf.submitted_review(assignments[0], [10, 10, 10, 10, 10])
    db.session.commit()
    review = db.session.scalar(sa.select(Review))
    login_as(experts[0])
    assert client.post(f"/reviews/reviews/{review.id}/reopen", data={"reason": "x"}).status_code == 403
    auditor = factories.user(roles=("auditor",), unit=call.host_unit)
    db.session.commit()
    login_as(auditor)
    assert client.get(f"/reviews/reviews/{review.id}").status_code == 200
    assert client.post(f"/reviews/reviews/{review.id}/reopen", data={"reason": "x"}).status_code == 403


def test_score_sheet_export_has_every_expert_and_criterion(app, db, client, login_as):
    import io

    from openpyxl import load_workbook

    call, application, experts, assignments = _setup(db)
    call.title, call.year = "2026年南通市公益创投大赛", 2026
    rf.submitted_review(assignments[0], [18, 25, 16, 12, 12])
    rf.submitted_review(assignments[1], [16, 27, 18, 13, 10])
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    login_as(officer)
    with client.get(f"/reviews/calls/{call.id}/scores.xlsx") as resp:
        assert resp.status_code == 200
        wb = load_workbook(io.BytesIO(resp.data))
    assert wb.sheetnames == ["汇总排序", "书面评审"]
    ws = wb["书面评审"]
    # the title names the year once, as the call's title already does
    assert ws["A1"].value == "2026年南通市公益创投大赛 — 书面评审专家评分明细"
    assert wb["汇总排序"]["A1"].value.startswith("2026年南通市公益创投大赛 — 专家评审汇总")
    header = [c.value for c in ws[2]]
    assert header[5:10] == ["需求分析（20分）", "项目设计（30分）", "可行性（20分）", "预算合理性（15分）", "创新性（15分）"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=3)]
    assert sorted(r[4] for r in rows) == sorted(e.display_name for e in experts)
    assert sorted(r[5:11] for r in rows) == [[16, 27, 18, 13, 10, 84], [18, 25, 16, 12, 12, 83]]
    summary = [c.value for c in wb["汇总排序"][3]]
    assert summary[0] == 1 and summary[6] == 83.5


def test_feedback_for_applicant_has_no_expert_names(app, db):
    from decimal import Decimal

    from grants.reviews.services import feedback_for_applicant

    call, application, experts, assignments = _setup(db)
    rf.submitted_review(assignments[0], [18, 25, 16, 12, 12], comment="活动设计细致")
    rf.submitted_review(assignments[1], [16, 27, 18, 13, 10], comment="预算偏高")
    with app.test_request_context():
        fb = feedback_for_applicant(application)
    assert len(fb) == 1 and fb[0].total == Decimal("83.50")
    assert fb[0].criteria[0] == ("需求分析", 20, Decimal("17.00"))
    assert sorted(fb[0].comments) == ["活动设计细致", "预算偏高"]
    assert not any(e.display_name in " ".join(fb[0].comments) for e in experts)
