"""The organisation record (组织履历): every application of an organisation across years with its score,
award, contract, final grade and money, so officers can weigh past performance when screening the next
call. Built with a fixed number of queries whatever the length of the history.

Staff see the calls of their own unit subtree; the organisation's members see all of their own.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from grants.accounts.models import Role
from grants.applications.models import STATUS_BADGES, STATUS_LABELS, Application, ApplicationStatus
from grants.assessments.models import ProgressReport
from grants.awards.models import AWARD_STATUS_LABELS, Award
from grants.calls.models import GRADE_LABELS, Call, RubricCriterion
from grants.contracts.models import CONTRACT_STATUS_LABELS, Contract, Tranche
from grants.extensions import db
from grants.finance.models import PAYMENT_STATUS_LABELS, Payment, PaymentStatus
from grants.organizations.models import HostUnit, Organization
from grants.organizations.services import unit_subtree_ids
from grants.reviews import scoring
from grants.reviews.models import Review, ReviewStage, ReviewStatus


@dataclass
class RecordRow:
    """One application and what became of it."""

    application_id: int
    number: str | None
    project_name: str
    status: str
    call_id: int
    call_title: str
    call_year: int
    host_unit_name: str
    score: Decimal | None = None
    award_id: int | None = None
    award_fen: int | None = None
    award_status: str | None = None
    contract_id: int | None = None
    contract_number: str = ""
    contract_status: str | None = None
    final_grade: str | None = None
    released_fen: int = 0
    withheld_fen: int = 0
    reclaimed_fen: int = 0
    # Reports handed in after their deadline (逾期提交) and the most days late among them.
    late_reports: int = 0
    max_days_late: int = 0

    @property
    def status_label(self):
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def status_badge(self) -> str:
        return STATUS_BADGES.get(self.status, "text-bg-secondary")

    @property
    def award_status_label(self):
        return AWARD_STATUS_LABELS.get(self.award_status, self.award_status or "")

    @property
    def contract_status_label(self):
        return CONTRACT_STATUS_LABELS.get(self.contract_status, self.contract_status or "")

    @property
    def grade_label(self):
        return GRADE_LABELS.get(self.final_grade, self.final_grade) if self.final_grade else ""


@dataclass
class PaymentLine:
    payment_id: int
    call_title: str
    contract_number: str
    tranche_name: str
    amount_fen: int
    status: str
    released_on: object
    reclaimed_fen: int

    @property
    def status_label(self):
        return PAYMENT_STATUS_LABELS.get(self.status, self.status)


@dataclass
class OrgRecord:
    organization: Organization
    rows: list[RecordRow] = field(default_factory=list)
    payments: list[PaymentLine] = field(default_factory=list)
    scoped: bool = False  # limited to the viewer's unit subtree

    @property
    def applications(self) -> int:
        return len(self.rows)

    @property
    def awards(self) -> int:
        return sum(1 for r in self.rows if r.award_status == "confirmed")

    @property
    def awarded_fen(self) -> int:
        return sum(r.award_fen or 0 for r in self.rows if r.award_status == "confirmed")

    @property
    def released_fen(self) -> int:
        return sum(r.released_fen for r in self.rows)

    @property
    def withheld_fen(self) -> int:
        return sum(r.withheld_fen for r in self.rows)

    @property
    def reclaimed_fen(self) -> int:
        return sum(r.reclaimed_fen for r in self.rows)

    @property
    def late_reports(self) -> int:
        return sum(r.late_reports for r in self.rows)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.rows if r.final_grade == "fail")


def _scores(rows: list[RecordRow], calls: dict[int, tuple]) -> None:
    """The call's written score (its aggregation of the experts' totals), combined with the pitch when the
    call had one — as the ranking computes it, from two queries for the whole history."""
    app_ids = [r.application_id for r in rows]
    sums: dict[tuple[int, str], list[int]] = defaultdict(list)
    for app_id, stage, points in db.session.execute(
            sa.select(Review.application_id, Review.stage, Review.points_total)
            .where(Review.application_id.in_(app_ids), Review.status == ReviewStatus.SUBMITTED)):
        sums[(app_id, stage)].append(points)
    max_points = {(call_id, stage): int(total or 0) for call_id, stage, total in db.session.execute(
        sa.select(RubricCriterion.call_id, RubricCriterion.stage, sa.func.sum(RubricCriterion.max_points))
        .where(RubricCriterion.call_id.in_(list(calls))).group_by(RubricCriterion.call_id, RubricCriterion.stage))}
    for r in rows:
        aggregation, pitch_enabled, pitch_weight = calls[r.call_id]
        written = scoring.summarise(sums.get((r.application_id, ReviewStage.WRITTEN), []),
                                    max_points.get((r.call_id, ReviewStage.WRITTEN), 0), aggregation).score
        pitch = None
        if pitch_enabled:
            pitch = scoring.summarise(sums.get((r.application_id, ReviewStage.PITCH), []),
                                      max_points.get((r.call_id, ReviewStage.PITCH), 0), aggregation).score
        r.score = scoring.q2(scoring.combine(written, pitch, pitch_weight)) if pitch_enabled else written


def organization_record(org: Organization, viewer) -> OrgRecord:
    """The organisation's history as `viewer` may see it (about eight queries, whatever its length)."""
    record = OrgRecord(organization=org)
    stmt = (sa.select(Application.id, Application.number, Application.project_name, Application.status,
                      Application.final_grade, Call.id, Call.title, Call.year, HostUnit.name, Call.aggregation,
                      Call.pitch_enabled, Call.pitch_weight_pct)
            .join(Call, Call.id == Application.call_id).join(HostUnit, HostUnit.id == Call.host_unit_id)
            .where(Application.organization_id == org.id, Application.status != ApplicationStatus.DRAFT)
            .order_by(Call.year.desc(), Call.id.desc(), Application.id))
    is_member = viewer.membership is not None and viewer.membership.organization_id == org.id
    if not is_member:
        record.scoped = True
        stmt = stmt.where(Call.host_unit_id.in_(unit_subtree_ids(viewer.host_unit_id)))
    calls: dict[int, tuple] = {}
    for (app_id, number, name, status, grade, call_id, title, year, unit_name, aggregation, pitch_enabled,
         pitch_weight) in db.session.execute(stmt):
        record.rows.append(RecordRow(application_id=app_id, number=number, project_name=name or "", status=status,
                                     call_id=call_id, call_title=title, call_year=year, host_unit_name=unit_name,
                                     final_grade=grade))
        calls[call_id] = (aggregation, pitch_enabled, pitch_weight)
    if not record.rows:
        return record
    by_app = {r.application_id: r for r in record.rows}
    app_ids = list(by_app)
    if viewer.has_role(Role.OFFICER, Role.AUDITOR):
        _scores(record.rows, calls)

    for award_id, app_id, amount, status in db.session.execute(
            sa.select(Award.id, Award.application_id, Award.amount_fen, Award.status)
            .where(Award.application_id.in_(app_ids))):
        row = by_app[app_id]
        row.award_id, row.award_fen, row.award_status = award_id, int(amount), status

    by_contract: dict[int, RecordRow] = {}
    for contract_id, app_id, number, status in db.session.execute(
            sa.select(Contract.id, Contract.application_id, Contract.number, Contract.status)
            .where(Contract.application_id.in_(app_ids))):
        row = by_app[app_id]
        row.contract_id, row.contract_number, row.contract_status = contract_id, number, status
        by_contract[contract_id] = row
    if not by_contract:
        return record

    for contract_id, withheld in db.session.execute(
            sa.select(Tranche.contract_id, sa.func.sum(Tranche.withheld_fen))
            .where(Tranche.contract_id.in_(list(by_contract)), Tranche.withheld_fen > 0,
                   Tranche.status.in_(("payable", "withheld", "paid"))).group_by(Tranche.contract_id)):
        by_contract[contract_id].withheld_fen = int(withheld or 0)

    for report in db.session.scalars(sa.select(ProgressReport).where(
            ProgressReport.contract_id.in_(list(by_contract)), ProgressReport.first_submitted_at.is_not(None))):
        if report.days_late:
            row = by_contract[report.contract_id]
            row.late_reports += 1
            row.max_days_late = max(row.max_days_late, report.days_late)

    for pid, contract_id, tranche_name, amount, status, released_on, reclaimed in db.session.execute(
            sa.select(Payment.id, Payment.contract_id, Tranche.name, Payment.amount_fen, Payment.status,
                      Payment.released_on, Payment.reclaimed_fen)
            .join(Tranche, Tranche.id == Payment.tranche_id)
            .where(Payment.contract_id.in_(list(by_contract)))
            .order_by(Payment.released_on.desc().nulls_last(), Payment.id.desc())):
        row = by_contract[contract_id]
        if status == PaymentStatus.RELEASED:
            row.released_fen += int(amount)
            row.reclaimed_fen += int(reclaimed or 0)
        record.payments.append(PaymentLine(payment_id=pid, call_title=row.call_title,
                                           contract_number=row.contract_number, tranche_name=tranche_name,
                                           amount_fen=int(amount), status=status, released_on=released_on,
                                           reclaimed_fen=int(reclaimed or 0)))
    return record
