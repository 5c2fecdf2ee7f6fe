"""对所选申报分配 / 撤销 one expert: one transaction per application, conflicts, submitted reviews and the
panel checked per item, refusals listed with reasons, audit records per item."""
from __future__ import annotations

import sqlalchemy as sa

from grants.core.models import AuditLog
from grants.reviews.models import ReviewAssignment
from tests import factories
from tests.reviews import factories as rf
from tests.reviews.test_assignment import _call_with_panel


def _assigned(db, expert):
    db.session.expire_all()
    return set(db.session.scalars(sa.select(ReviewAssignment.application_id)
                                  .where(ReviewAssignment.expert_id == expert.id)))


def test_batch_assign_and_unassign(app, db, client, login_as):
    call, experts, officer = _call_with_panel(db, status="reviewing")
    apps = [rf.eligible_application(call) for _ in range(3)]
    conflicted = apps[2]
    rf.assignment(conflicted, experts[0], declare=True)
    db.session.query(ReviewAssignment).delete()
    db.session.commit()
    login_as(officer)
    url = f"/reviews/calls/{call.id}/assignments/batch"
    r = client.post(url, data={"stage": "written", "batch_action": "assign", "expert_id": experts[0].id,
                               "ids": [a.id for a in apps]})
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "已完成 2 项" in page and "存在利益冲突" in page
    assert _assigned(db, experts[0]) == {apps[0].id, apps[1].id}
    # a submitted review is never unassigned; the other one is
    t = db.session.scalar(sa.select(ReviewAssignment).where(ReviewAssignment.application_id == apps[0].id))
    rf.submitted_review(t, [10, 10, 10, 10])
    db.session.commit()
    r = client.post(url, data={"stage": "written", "batch_action": "unassign", "expert_id": experts[0].id,
                               "ids": [a.id for a in apps]})
    page = r.get_data(as_text=True)
    assert "已完成 1 项" in page and "该评分已提交" in page and "未分配评审此申报" in page
    assert _assigned(db, experts[0]) == {apps[0].id}
    assert db.session.scalar(sa.select(sa.func.count(AuditLog.id)).where(AuditLog.action == "review.unassign")) == 1


def test_batch_assign_refusals(app, db, client, login_as):
    call, experts, officer = _call_with_panel(db, status="reviewing")
    a = rf.eligible_application(call)
    other_call, _e, _o = _call_with_panel(db, status="reviewing")
    stranger = rf.eligible_application(other_call)
    outsider = rf.expert()
    db.session.commit()
    login_as(officer)
    url = f"/reviews/calls/{call.id}/assignments/batch"
    r = client.post(url, data={"stage": "written", "batch_action": "assign", "expert_id": outsider.id, "ids": [a.id]})
    assert r.status_code == 302 and not _assigned(db, outsider)
    r = client.post(url, data={"stage": "written", "batch_action": "assign", "expert_id": experts[1].id,
                               "ids": [stranger.id, "x", a.id]})
    assert "已完成 1 项" in r.get_data(as_text=True) and _assigned(db, experts[1]) == {a.id}
    assert client.post(url, data={"stage": "nope", "batch_action": "assign", "expert_id": experts[1].id,
                                  "ids": [a.id]}).status_code == 302
    assert client.get(url).status_code == 405
    assert f'action="{url}"' in client.get(f"/reviews/calls/{call.id}/assignments").get_data(as_text=True)
    login_as(factories.user(roles=("auditor",), unit=call.host_unit))
    assert client.post(url, data={"stage": "written", "batch_action": "assign", "expert_id": experts[2].id,
                                  "ids": [a.id]}).status_code == 403


def test_expert_pool_export(app, db, client, login_as):
    import io

    from openpyxl import load_workbook

    e = rf.expert(specialties=["为老服务"], employer="=HYPERLINK(\"x\")")
    db.session.commit()
    login_as("officer")
    r = client.get("/reviews/experts.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[2]][:4] == ["姓名", "职称", "用户名", "专业领域"]
    row = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[2] == e.username)
    assert row[3] == "为老服务" and row[4].startswith("'=")
    assert "/reviews/experts.xlsx" in client.get("/reviews/experts").get_data(as_text=True)
    login_as("expert")
    assert client.get("/reviews/experts.xlsx").status_code == 403
