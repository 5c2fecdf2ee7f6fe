"""The pitch stage (路演答辩): shortlist the top N overall or per category, assign the pitch panel, score with
the pitch rubric; statuses scored → shortlisted → pitched; the final score combines by the call's weight."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from grants.reviews.models import ReviewAssignment
from tests import factories
from tests.reviews import factories as rf


def _scored(call, experts, category, written_points):
    a = rf.eligible_application(call, status="scored", category=category)
    for e in experts[:2]:
        rf.submitted_review(rf.assignment(a, e), written_points)
    return a


def _setup(db):
    call = rf.review_call(pitch=True, pitch_weight_pct=40, pitch_shortlist_size=2)
    experts = [rf.expert() for _ in range(4)]
    elderly, disabled = call.categories
    apps = {
        "e1": _scored(call, experts, elderly, [20, 30, 20, 15, 15]),   # 100
        "e2": _scored(call, experts, elderly, [18, 27, 18, 13, 14]),   # 90
        "e3": _scored(call, experts, elderly, [16, 24, 16, 12, 12]),   # 80
        "d1": _scored(call, experts, disabled, [14, 21, 14, 10, 11]),  # 70
        "d2": _scored(call, experts, disabled, [12, 18, 12, 9, 9]),    # 60
    }
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    db.session.commit()
    return call, experts, apps, officer


def test_shortlist_overall_takes_the_top_n(app, db, client, login_as):
    call, experts, apps, officer = _setup(db)
    login_as(officer)
    assert client.post(f"/reviews/calls/{call.id}/shortlist", data={"size": "2"}).status_code == 302
    statuses = {k: db.session.get(type(a), a.id).status for k, a in apps.items()}
    assert statuses == {"e1": "shortlisted", "e2": "shortlisted", "e3": "scored", "d1": "scored", "d2": "scored"}


def test_shortlist_per_category(app, db, client, login_as):
    call, experts, apps, officer = _setup(db)
    login_as(officer)
    client.post(f"/reviews/calls/{call.id}/shortlist", data={"size": "1", "per_category": "y"})
    shortlisted = {k for k, a in apps.items() if db.session.get(type(a), a.id).status == "shortlisted"}
    assert shortlisted == {"e1", "d1"}


def test_pitch_round_to_final_ranking(app, db, client, login_as):
    call, experts, apps, officer = _setup(db)
    for e in experts[2:]:
        rf.panel_member(call, e, stage="pitch")
    db.session.commit()
    login_as(officer)
    client.post(f"/reviews/calls/{call.id}/shortlist", data={"size": "1", "per_category": "y"})
    resp = client.post(f"/reviews/calls/{call.id}/assignments/auto", data={"stage": "pitch"})
    assert resp.status_code == 302
    pitch = db.session.scalars(sa.select(ReviewAssignment).where(ReviewAssignment.stage == "pitch")).all()
    assert sorted((t.application_id, t.expert_id) for t in pitch) == sorted(
        (apps[k].id, e.id) for k in ("e1", "d1") for e in experts[2:])   # every pitch panel member, every pitch
    criteria = call.criteria_for("pitch")
    for t in pitch:
        login_as(db.session.get(type(experts[0]), t.expert_id))
        client.post(f"/reviews/assignments/{t.id}/declare", data={"has_conflict": "no"})
        points = (40, 40) if t.application_id == apps["e1"].id else (50, 45)
        resp = client.post(f"/reviews/assignments/{t.id}", data={
            f"points-{criteria[0].id}": str(points[0]), f"points-{criteria[1].id}": str(points[1]),
            "overall_comment": "陈述清楚", "recommendation": "fund", "action": "submit"})
        assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(type(apps["e1"]), apps["e1"].id).status == "pitched"
    from grants.reviews.services import compute_ranking

    rows = compute_ranking(call)
    by = {r.application.id: r for r in rows}
    # e1: 100 × 0.6 + 80 × 0.4 = 92.00 ; d1: 70 × 0.6 + 95 × 0.4 = 80.00 ; then the unpitched by written score
    assert by[apps["e1"].id].final_score == Decimal("92.00") and by[apps["e1"].id].pitch_score == Decimal("80.00")
    assert by[apps["d1"].id].final_score == Decimal("80.00")
    assert [r.application.id for r in rows] == [apps[k].id for k in ("e1", "d1", "e2", "e3", "d2")]
    login_as(officer)
    page = client.get(f"/reviews/calls/{call.id}/ranking").get_data(as_text=True)
    assert "92.00" in page and "路演得分" in page and "已路演的项目排在未入围路演的项目之前" in page
