"""Factories for expert review: a call in review with its rubric, experts of the pool, assignments, reviews."""
from __future__ import annotations

import datetime as dt
import itertools

from grants.applications.models import ApplicationStatus
from grants.calls.models import CallStatus, RubricCriterion
from grants.core.timeutil import UTC
from grants.extensions import db
from grants.reviews.models import (
    Conflict, ConflictSource, ExpertProfile, PanelMember, Review, ReviewAssignment, ReviewScore, ReviewStatus,
)
from tests import factories
from tests.applications import factories as app_factories

_seq = itertools.count(1)
RUBRIC = [("需求分析", 20), ("项目设计", 30), ("可行性", 20), ("预算合理性", 15), ("创新性", 15)]
PITCH_RUBRIC = [("现场陈述", 50), ("答辩表现", 50)]


def review_call(unit=None, *, status: str = CallStatus.REVIEWING, pitch: bool = False, **overrides):
    """A call whose deadline has passed, with the usual 5-criterion rubric (and a pitch rubric)."""
    values = dict(status=status, open_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
                  close_at=dt.datetime(2026, 2, 1, tzinfo=UTC), pitch_enabled=pitch)
    values.update(overrides)
    call = app_factories.call(unit, **values)
    for i, (name, pts) in enumerate(RUBRIC):
        call.criteria.append(RubricCriterion(stage="written", name=name, max_points=pts, sort=i))
    if pitch:
        for i, (name, pts) in enumerate(PITCH_RUBRIC):
            call.criteria.append(RubricCriterion(stage="pitch", name=name, max_points=pts, sort=i))
    db.session.flush()
    return call


def eligible_application(call, org=None, *, status: str = ApplicationStatus.ELIGIBLE, category=None, **kw):
    a = app_factories.application(call, org, status=status, **kw)
    if category is not None:
        a.category = category
        db.session.flush()
    return a


def expert(*, specialties=(), employer: str = "", affiliated_organization=None, recruited_by=None, **kwargs):
    """An expert account; its pool profile comes with the role (recruited by `recruited_by`, a unit)."""
    from grants.reviews.services import ensure_profile

    u = factories.user(roles=("expert",), affiliation=employer or None, **kwargs)
    profile = ensure_profile(u)
    profile.specialties, profile.employer = list(specialties), employer
    profile.affiliated_organization_id = affiliated_organization.id if affiliated_organization else None
    if recruited_by is not None:
        profile.host_unit_id = recruited_by.id
    db.session.flush()
    return u


def panel_member(call, user, stage: str = "written"):
    m = PanelMember(call_id=call.id, user_id=user.id, stage=stage)
    db.session.add(m)
    db.session.flush()
    return m


def assignment(application, user, stage: str = "written", *, declare: bool | None = False):
    """An assignment; declare=False records "无利益冲突", True a declared conflict, None nothing."""
    a = ReviewAssignment(application_id=application.id, expert_id=user.id, stage=stage)
    db.session.add(a)
    if declare is not None:
        existing = db.session.query(Conflict).filter_by(application_id=application.id, expert_id=user.id).first()
        if existing is None:
            db.session.add(Conflict(application_id=application.id, expert_id=user.id, source=ConflictSource.DECLARED,
                                    has_conflict=declare, reason="亲属任职" if declare else ""))
    db.session.flush()
    return a


def submitted_review(assignment_, points: dict[str, int] | list[int], *, recommendation: str = "fund",
                     comment: str = "项目设计合理", submitted_at=None):
    """A submitted review with the given points per criterion (by name, or in rubric order)."""
    call = assignment_.application.call
    criteria = call.criteria_for(assignment_.stage)
    if isinstance(points, (list, tuple)):
        points = {c.name: p for c, p in zip(criteria, points)}
    r = Review(assignment=assignment_, application_id=assignment_.application_id, expert_id=assignment_.expert_id,
               stage=assignment_.stage, status=ReviewStatus.SUBMITTED, overall_comment=comment,
               recommendation=recommendation, submitted_at=submitted_at or dt.datetime(2026, 3, 1, tzinfo=UTC))
    r.scores = [ReviewScore(criterion_id=c.id, points=points[c.name]) for c in criteria if c.name in points]
    r.points_total = sum(s.points for s in r.scores)
    db.session.add(r)
    db.session.flush()
    return r


def world_objects(org, unit_id: int) -> dict:
    """For the route-permission walk: another expert's assignment, review, panel seat and pool profile in a call
    of another unit, on an application of an organisation none of the test users belongs to."""
    from grants.organizations.models import HostUnit

    unit = db.session.get(HostUnit, unit_id)
    call = review_call(unit)
    application = eligible_application(call, org, status=ApplicationStatus.UNDER_REVIEW)
    other_expert = expert(specialties=["为老服务"], employer="别处大学", recruited_by=unit)
    seat = panel_member(call, other_expert)
    a = assignment(application, other_expert)
    r = submitted_review(a, [15, 25, 15, 10, 10])
    profile = db.session.query(ExpertProfile).filter_by(user_id=other_expert.id).one()
    db.session.commit()
    return {"assignment_id": a.id, "review_id": r.id, "panel_member_id": seat.id, "profile_id": profile.id,
            "review_call_id": call.id}
