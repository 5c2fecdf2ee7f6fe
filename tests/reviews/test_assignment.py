"""Assignment: balanced (max difference 1), deterministic, specialties preferred, conflicts never; the
application and call statuses move with it; manual assignment, reassignment and progress."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest
import sqlalchemy as sa

from grants.core.models import AuditLog
from grants.core.timeutil import UTC
from grants.reviews.models import ReviewAssignment
from grants.reviews.services import plan_assignment
from tests import factories
from tests.reviews import factories as rf


def _loads(plan, experts):
    c = Counter(e for _a, e in plan)
    return [c.get(e, 0) for e, _s in experts]


@pytest.mark.parametrize("n_apps, n_experts, n", [(10, 7, 5), (37, 9, 5), (5, 5, 5), (100, 12, 3), (1, 8, 5),
                                                  (23, 6, 1)])
def test_plan_is_balanced_and_complete(n_apps, n_experts, n):
    apps = [(i, "为老服务") for i in range(1, n_apps + 1)]
    experts = [(100 + j, []) for j in range(n_experts)]
    plan = plan_assignment(apps, experts, n, {}, set())
    loads = _loads(plan, experts)
    assert max(loads) - min(loads) <= 1
    per_app = Counter(a for a, _e in plan)
    assert all(per_app[a] == n for a, _c in apps)
    assert len(set(plan)) == len(plan)  # never the same expert twice on one application


def test_plan_is_deterministic_whatever_the_input_order():
    apps = [(i, random.choice(["为老服务", "助残服务"])) for i in range(1, 30)]
    experts = [(100 + j, ["为老服务"] if j % 2 else ["助残服务"]) for j in range(8)]
    conflicts = {(101, 3), (104, 7), (100, 12)}
    first = plan_assignment(apps, experts, 4, {}, conflicts)
    for _ in range(5):
        random.shuffle(apps)
        random.shuffle(experts)
        assert plan_assignment(list(apps), list(experts), 4, {}, set(conflicts)) == first


def test_plan_never_assigns_a_conflicted_expert_and_stays_balanced():
    apps = [(i, "") for i in range(1, 21)]
    experts = [(100 + j, []) for j in range(6)]
    conflicts = {(100, a) for a in range(1, 6)} | {(103, 10), (105, 11)}
    plan = plan_assignment(apps, experts, 3, {}, conflicts)
    assert not set(plan) & {(a, e) for e, a in conflicts}
    loads = _loads(plan, experts)
    assert max(loads) - min(loads) <= 1


def test_plan_prefers_matching_specialties_among_the_least_loaded():
    apps = [(1, "为老服务"), (2, "助残服务"), (3, "为老服务"), (4, "助残服务")]
    experts = [(10, ["助残服务"]), (11, ["为老服务"]), (12, ["为老服务", "社区治理"]), (13, ["助残服务"])]
    plan = plan_assignment(apps, experts, 2, {}, set())
    by_app = {a: sorted(e for x, e in plan if x == a) for a, _c in apps}
    assert by_app[1] == [11, 12]   # both elderly specialists
    assert by_app[2] == [10, 13]   # both disability specialists
    assert max(_loads(plan, experts)) - min(_loads(plan, experts)) <= 1


def test_plan_counts_existing_assignments():
    apps = [(1, ""), (2, "")]
    experts = [(10, []), (11, []), (12, [])]
    plan = plan_assignment(apps, experts, 2, {1: {10, 11}}, set(), load={10: 1, 11: 1})
    assert sorted(plan) == [(2, 12), (2, 10)] or sorted(plan) == [(2, 10), (2, 12)]


def test_plan_with_too_few_experts_gives_what_it_can():
    plan = plan_assignment([(1, "")], [(10, []), (11, [])], 5, {}, {(11, 1)})
    assert plan == [(1, 10)]


# --- the service and the pages -----------------------------------------------------------------

def _call_with_panel(db, n_experts=6, status="published", **kw):
    call = rf.review_call(status=status, **kw)
    experts = [rf.expert(specialties=["为老服务"] if i % 2 else ["助残服务"]) for i in range(n_experts)]
    for e in experts:
        rf.panel_member(call, e)
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    return call, experts, officer


def test_auto_assign_moves_statuses_and_is_balanced(app, db, client, login_as):
    call, experts, officer = _call_with_panel(db)
    apps = [rf.eligible_application(call) for _ in range(8)]
    ineligible = rf.eligible_application(call, status="ineligible")
    conflicted_org_app = apps[0]
    experts[0].affiliation = conflicted_org_app.organization.name  # works for that organisation
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/calls/{call.id}/assignments/auto", data={"stage": "written", "n": "5"})
    assert resp.status_code == 302
    db.session.expire_all()
    rows = db.session.scalars(sa.select(ReviewAssignment)).all()
    assert len(rows) == 8 * 5
    assert not any(r.expert_id == experts[0].id and r.application_id == conflicted_org_app.id for r in rows)
    loads = Counter(r.expert_id for r in rows)
    assert max(loads.values()) - min(loads.values()) <= 1
    assert all(a.status == "under_review" for a in apps)
    assert ineligible.status == "ineligible"
    assert call.status == "reviewing"
    # The detected conflict was recorded, and the audit log has the call's transition.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(
        AuditLog.action == "call.close")) == 1
    page = client.get(f"/reviews/calls/{call.id}/assignments").get_data(as_text=True)
    assert "专家进度" in page


def test_auto_assign_refused_before_the_deadline(app, db, client, login_as):
    future = dt.datetime(2099, 1, 1, tzinfo=UTC)
    call, experts, officer = _call_with_panel(db, close_at=future)
    rf.eligible_application(call)
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/calls/{call.id}/assignments/auto", data={"stage": "written", "n": "3"},
                       follow_redirects=True)
    assert "申报尚未截止" in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewAssignment)) == 0


def test_auto_assign_twice_adds_nothing(app, db):
    from grants.reviews.services import auto_assign

    call, experts, officer = _call_with_panel(db)
    for _ in range(4):
        rf.eligible_application(call)
    with app.test_request_context():
        first, _w = auto_assign(call, "written", officer, n=3)
        second, _w = auto_assign(call, "written", officer, n=3)
    assert (first, second) == (12, 0)


def test_manual_assignment_refuses_a_conflicted_expert(app, db, client, login_as):
    call, experts, officer = _call_with_panel(db, status="reviewing")
    a = rf.eligible_application(call)
    rf.assignment(a, experts[1], declare=True)  # declared conflict earlier (e.g. for another stage)
    db.session.query(ReviewAssignment).delete()
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/calls/{call.id}/assignments/manual",
                       data={"application_id": a.id, "expert_id": experts[1].id, "stage": "written"},
                       follow_redirects=True)
    assert "存在利益冲突，不能分配" in resp.get_data(as_text=True)
    resp = client.post(f"/reviews/calls/{call.id}/assignments/manual",
                       data={"application_id": a.id, "expert_id": experts[2].id, "stage": "written"})
    assert resp.status_code == 302
    db.session.refresh(a)
    assert a.status == "under_review"


def test_reassign_after_a_late_conflict(app, db, client, login_as):
    call, experts, officer = _call_with_panel(db, status="reviewing")
    a = rf.eligible_application(call, status="under_review")
    t = rf.assignment(a, experts[0], declare=True)
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/assignments/{t.id}/reassign", data={"expert_id": experts[3].id,
                                                                    "reason": "专家声明回避"})
    assert resp.status_code == 302
    experts_now = db.session.scalars(sa.select(ReviewAssignment.expert_id).where(
        ReviewAssignment.application_id == a.id)).all()
    assert experts_now == [experts[3].id]
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "review.unassign")).after["reason"] \
        == "专家声明回避"


def test_progress_per_expert_counts(app, db):
    from grants.reviews.services import expert_progress

    call, experts, officer = _call_with_panel(db, n_experts=2, status="reviewing")
    a1, a2, a3 = (rf.eligible_application(call, status="under_review") for _ in range(3))
    rf.submitted_review(rf.assignment(a1, experts[0]), [10, 10, 10, 10, 10])
    rf.assignment(a2, experts[0])
    rf.assignment(a3, experts[0], declare=None)
    rf.assignment(a1, experts[1], declare=True)
    progress = {p.expert.id: p for p in expert_progress(call)}
    p0, p1 = progress[experts[0].id], progress[experts[1].id]
    assert (p0.assigned, p0.submitted, p0.undeclared, p0.conflicts, p0.pct) == (3, 1, 1, 0, 33)
    assert (p1.assigned, p1.submitted, p1.conflicts) == (1, 0, 1)
    assert p0.mean_total == 50 and p0.lean == 0 and p1.mean_total is None


def test_task_list_uses_a_fixed_number_of_queries(app, db, client, login_as):
    from sqlalchemy import event

    call = rf.review_call()
    expert = rf.expert()
    db.session.commit()

    def count_for(n_apps):
        for _ in range(n_apps):
            rf.assignment(rf.eligible_application(call, status="under_review"), expert)
        db.session.commit()
        statements = []
        listener = lambda *args, **kw: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            resp = client.get("/reviews/tasks")
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert resp.status_code == 200
        return len(statements)

    login_as(expert)
    small = count_for(2)
    large = count_for(12)
    assert small == large


def test_an_extra_reviewer_on_a_scored_application_puts_it_back_under_review(app, db, client, login_as):
    call, experts, officer = _call_with_panel(db, status="reviewing")
    a = rf.eligible_application(call, status="scored")
    rf.submitted_review(rf.assignment(a, experts[0]), [10, 10, 10, 10, 10])
    db.session.commit()
    login_as(officer)
    resp = client.post(f"/reviews/calls/{call.id}/assignments/manual",
                       data={"application_id": a.id, "expert_id": experts[1].id, "stage": "written"})
    assert resp.status_code == 302
    db.session.refresh(a)
    assert a.status == "under_review"
    assert db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "application.reopen_review")) is not None


def test_reassign_list_leaves_out_experts_already_on_the_application(app, db, client, login_as):
    import re

    call, experts, officer = _call_with_panel(db, status="reviewing")
    a = rf.eligible_application(call, status="under_review")
    b = rf.eligible_application(call, status="under_review")
    t = rf.assignment(a, experts[0], declare=True)
    rf.assignment(a, experts[1])
    rf.assignment(b, experts[2])
    from grants.reviews.models import Conflict

    db.session.add(Conflict(application_id=a.id, expert_id=experts[3].id, source="officer", has_conflict=True,
                            reason="曾任该组织理事"))
    db.session.commit()
    login_as(officer)
    page = client.get(f"/reviews/calls/{call.id}/assignments").text
    row = re.search(rf'<tr data-assignment="{t.id}".*?</tr>', page, re.S).group(0)
    offered = {int(v) for v in re.findall(r'<option value="(\d+)"', row)}
    assert experts[0].id not in offered and experts[1].id not in offered  # both already review application a
    assert experts[2].id in offered  # on another application only
    assert offered == {e.id for e in experts[2:]} - {experts[3].id}  # nor one with a conflict on it
