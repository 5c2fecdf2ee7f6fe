"""重复申报 / 重复资助: flags shown at screening and on the award draft, and the officer's recorded decision.

An application is flagged when
- its organisation is funded, or proposed for funding (an active award), in another call of the same year,
  anywhere in the host-unit tree (a city call and a district call of one year fund the same group twice);
- its project text is very similar to another application of the same year (character 3-gram Jaccard
  similarity of at least SIMILARITY; texts too short to compare are left alone).

The flags are computed from the data each time (they change as other calls award), with a fixed number of
queries for a whole batch; the officer's decision (DuplicateReview) keeps the flags it was made on. A
confirmed duplicate is not funded: the award draft skips it and refuses to approve it.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.applications.models import Application, ApplicationStatus, DuplicateDecision, DuplicateReview
from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.timeutil import now
from grants.extensions import db

SIMILARITY = 0.5
# Characters of project text (spaces and punctuation removed) worth comparing: a real proposal has hundreds;
# a few lines of shared boilerplate ("组建志愿者队伍……") must not make two short texts look alike.
MIN_TEXT = 150
NOT_RECEIVED = (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)


class DuplicateError(DomainError):
    """A duplicate-application rule refused the action."""


@dataclass
class Flag:
    kind: str  # funded_elsewhere / similar_text
    application_id: int  # the other application
    call_id: int
    call_title: str
    organization_name: str
    project_name: str
    similarity: int | None = None  # percent, for similar_text
    award_status: str | None = None  # for funded_elsewhere

    @property
    def message(self) -> str:
        if self.kind == "funded_elsewhere":
            what = _("已获资助") if self.award_status == "confirmed" else _("已列入资助方案")
            return _("同年度“%(call)s”中，本组织的“%(project)s”%(what)s", call=self.call_title,
                     project=self.project_name, what=what)
        return _("与同年度“%(call)s”中%(org)s的“%(project)s”文本相似度 %(pct)s%%", call=self.call_title,
                 org=self.organization_name, project=self.project_name, pct=self.similarity)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "application_id": self.application_id, "call_id": self.call_id,
                "similarity": self.similarity, "award_status": self.award_status}


def _text(*parts) -> str:
    return _STRIP.sub("", "".join(p or "" for p in parts))[:3000]


def _shingles(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(len(text) - 2)} if len(text) >= MIN_TEXT else set()


def duplicate_flags(applications) -> dict[int, list[Flag]]:
    """{application id: [Flag]} for a batch of applications (five queries whatever the batch's size)."""
    from grants.awards.models import ACTIVE_AWARD_STATUSES, Award
    from grants.calls.models import Call
    from grants.organizations.models import Organization

    apps = list(applications)
    out: dict[int, list[Flag]] = {a.id: [] for a in apps}
    if not apps:
        return out
    year_of_call = dict(db.session.execute(sa.select(Call.id, Call.year).where(
        Call.id.in_({a.call_id for a in apps}))).all())
    years = set(year_of_call.values())

    # 1. the organisation funded or proposed in another call of the same year
    by_org = defaultdict(list)
    for a in apps:
        by_org[a.organization_id].append(a)
    for org_id, app_id, call_id, call_title, year, project, status in db.session.execute(
            sa.select(Award.organization_id, Award.application_id, Award.call_id, Call.title, Call.year,
                      Application.project_name, Award.status)
            .join(Call, Call.id == Award.call_id).join(Application, Application.id == Award.application_id)
            .where(Award.organization_id.in_(list(by_org)), Award.status.in_(ACTIVE_AWARD_STATUSES),
                   Call.year.in_(years)).order_by(Award.id)).all():
        for a in by_org[org_id]:
            if call_id != a.call_id and year == year_of_call[a.call_id]:
                out[a.id].append(Flag("funded_elsewhere", app_id, call_id, call_title, "", project,
                                      award_status=status))

    # 2. very similar project texts in the same year (an inverted index of 3-grams finds the candidates)
    rows = db.session.execute(
        sa.select(Application.id, Application.call_id, Call.year, Call.title, Organization.name,
                  Application.project_name, Application.summary, Application.need_analysis, Application.objectives,
                  Application.activity_description)
        .join(Call, Call.id == Application.call_id).join(Organization, Organization.id == Application.organization_id)
        .where(Call.year.in_(years), Application.status.not_in(NOT_RECEIVED))).all()
    docs, info = {}, {}
    for r in rows:
        docs[r.id] = _shingles(_text(r.summary, r.need_analysis, r.objectives, r.activity_description))
        info[r.id] = r
    for a in apps:  # the batch may hold applications not received yet (a check before submission)
        if a.id not in docs:
            docs[a.id] = _shingles(_text(a.summary, a.need_analysis, a.objectives, a.activity_description))
    index = defaultdict(list)
    for doc_id, grams in docs.items():
        for g in grams:
            index[g].append(doc_id)
    common = max(20, len(docs) // 10)  # 3-grams most texts share say nothing
    for a in apps:
        mine = docs.get(a.id) or set()
        if not mine:
            continue
        hits = Counter()
        for g in mine:
            posting = index[g]
            if len(posting) <= common:
                hits.update(posting)
        for other_id, n in hits.most_common():
            if other_id == a.id or n < 3 or other_id not in info:
                continue
            other = info[other_id]
            if other.year != year_of_call[a.call_id]:
                continue
            theirs = docs[other_id]
            score = len(mine & theirs) / len(mine | theirs)
            if score >= SIMILARITY:
                out[a.id].append(Flag("similar_text", other_id, other.call_id, other.title, other.name,
                                      other.project_name, similarity=int(score * 100)))
        out[a.id].sort(key=lambda f: (f.kind != "funded_elsewhere", -(f.similarity or 0), f.application_id))
    return out


def reviews_of(application_ids) -> dict[int, DuplicateReview]:
    ids = list(set(application_ids))
    if not ids:
        return {}
    return {r.application_id: r for r in db.session.scalars(
        sa.select(DuplicateReview).where(DuplicateReview.application_id.in_(ids))).unique()}


def decide_duplicate(application: Application, decision: str, reason: str, actor) -> DuplicateReview:
    """The officer's decision on the flags of an application, with a reason (audited; may be revised)."""
    if decision not in set(DuplicateDecision):
        raise DuplicateError(_("请选择认定结果"), "decision")
    # Control characters (a NUL from a hostile form) are dropped: PostgreSQL refuses them in text.
    reason = "".join(ch for ch in (reason or "") if ch in "\n\t" or ord(ch) >= 32).strip()
    if not reason:
        raise DuplicateError(_("请填写认定理由"), "reason")
    if len(reason) > 1000:
        raise DuplicateError(_("认定理由不超过 1000 字"), "reason")
    flags = duplicate_flags([application])[application.id]
    review = db.session.scalar(sa.select(DuplicateReview).where(DuplicateReview.application_id == application.id))
    before = {"decision": review.decision, "reason": review.reason} if review else None
    if review is None:
        review = DuplicateReview(application_id=application.id)
        db.session.add(review)
    review.decision, review.reason = decision, reason
    review.flags = [f.as_dict() for f in flags]
    review.decided_by_id, review.decided_at = actor.id, now()
    db.session.flush()
    record(actor, "application.duplicate_decision", application, before=before,
           after={"decision": decision, "reason": reason, "flags": review.flags})
    return review


def confirmed_duplicate_ids(application_ids) -> set[int]:
    """Applications an officer confirmed as duplicates: they are not funded."""
    ids = list(set(application_ids))
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(DuplicateReview.application_id).where(
        DuplicateReview.application_id.in_(ids), DuplicateReview.decision == DuplicateDecision.CONFIRMED)))
