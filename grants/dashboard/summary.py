"""Keeping the per-project figures (models.ProjectSummary and friends) in step with the data.

A session hook notes every award, allocation, contract, tranche, payment, reclaim, report, report output,
output target and application (status or grade) a flush writes; before the transaction commits, the
projects they belong to are recomputed from the data with `refresh`. Because it hangs on the session, no
service can forget it, and a rolled-back change never reaches the figures. Bulk loads that bypass the ORM
(imports, restores, the benchmarks) run `rebuild_all` afterwards: `flask --app wsgi dashboard rebuild`.

The money per funding source is first charged to the sources (ledger.resplit_awards writes the stored
SourceCharge rows the ledger reads too), so the dashboard's per-source figures are the ledger's to the fen.
"""
from __future__ import annotations

from collections import defaultdict
from itertools import chain

import sqlalchemy as sa
from sqlalchemy.orm import Session

from grants.applications.models import Application, OutputTarget
from grants.assessments.models import ProgressReport, ReportOutput, ReportStatus
from grants.awards.models import Award, AwardAllocation, AwardStatus
from grants.contracts.models import Contract, ContractStatus, Tranche
from grants.core.audit import lock_chain
from grants.dashboard.models import ProjectOutputSummary, ProjectSourceSummary, ProjectSummary
from grants.extensions import db
from grants.finance.ledger import UNALLOCATED, WITHHELD_TRANCHE_STATES, resplit_awards
from grants.finance.models import Payment, PaymentStatus, Reclaim, SourceCharge

CHUNK = 500
_PENDING = "project_summary_pending"


def _in_chunks(ids):
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def refresh(application_ids, session: Session | None = None) -> None:
    """Recompute the summary rows of these applications from the data (deleting rows no longer due)."""
    session = session or db.session
    for chunk in _in_chunks(application_ids):
        if session.get_bind().dialect.name == "postgresql":
            # Two transactions refreshing one project (a release and an assessment at the same moment) take
            # turns: the second waits here, then reads what the first committed and replaces its rows —
            # without the lock it would not see the first one's new rows, and its insert would collide.
            # Ids in ascending order, so two refreshes cannot deadlock. (SQLite serialises writers anyway.)
            lock_chain(session)  # the chain's lock before any row (LOCK ORDER, grants/core/audit.py)
            session.execute(sa.select(Application.id).where(Application.id.in_(chunk))
                            .order_by(Application.id).with_for_update())
        for model in (ProjectSummary, ProjectSourceSummary, ProjectOutputSummary):
            session.execute(sa.delete(model).where(model.application_id.in_(chunk)))
        # Charge the projects' money to the funding sources first: the per-source figures read the charges.
        resplit_awards(session.scalars(sa.select(Contract.award_id).where(Contract.application_id.in_(chunk))),
                       session)
        rows, sources, outputs = _compute(session, chunk)
        if rows:
            session.execute(sa.insert(ProjectSummary), rows)
        if sources:
            session.execute(sa.insert(ProjectSourceSummary), sources)
        if outputs:
            session.execute(sa.insert(ProjectOutputSummary), outputs)


def rebuild_all(session: Session | None = None) -> int:
    """Recompute every project's rows; returns how many projects have one."""
    session = session or db.session
    for model in (ProjectOutputSummary, ProjectSourceSummary, ProjectSummary, SourceCharge):
        session.execute(sa.delete(model))
    ids = set(session.scalars(sa.select(Award.application_id).where(Award.status == AwardStatus.CONFIRMED)))
    ids |= set(session.scalars(sa.select(Contract.application_id)))
    refresh(ids, session)
    return session.scalar(sa.select(sa.func.count()).select_from(ProjectSummary))


def _compute(session: Session, app_ids: list[int]) -> tuple[list[dict], list[dict], list[dict]]:
    apps = {r.id: r for r in session.execute(
        sa.select(Application.id, Application.call_id, Application.final_grade).where(Application.id.in_(app_ids)))}
    awards = {r.application_id: r for r in session.execute(
        sa.select(Award.id, Award.application_id, Award.amount_fen)
        .where(Award.application_id.in_(app_ids), Award.status == AwardStatus.CONFIRMED))}
    contracts = {r.id: r for r in session.execute(
        sa.select(Contract.id, Contract.application_id, Contract.award_id, Contract.status)
        .where(Contract.application_id.in_(app_ids)))}
    award_ids = {a.id for a in awards.values()} | {c.award_id for c in contracts.values()}
    allocations: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if award_ids:
        for award_id, source_id, fen in session.execute(
                sa.select(AwardAllocation.award_id, AwardAllocation.funding_source_id, AwardAllocation.amount_fen)
                .where(AwardAllocation.award_id.in_(award_ids))):
            allocations[award_id].append((source_id, fen))
    charged: dict[int, list[tuple[str, int | None, int]]] = defaultdict(list)
    if award_ids:
        for award_id, kind, source_id, fen in session.execute(
                sa.select(SourceCharge.award_id, SourceCharge.kind, SourceCharge.funding_source_id,
                          sa.func.sum(SourceCharge.amount_fen))
                .where(SourceCharge.award_id.in_(award_ids))
                .group_by(SourceCharge.award_id, SourceCharge.kind, SourceCharge.funding_source_id)):
            charged[award_id].append((kind, source_id, int(fen or 0)))

    # Each money entry of a contract: (what, fen).
    entries: dict[int, list[tuple[str, int]]] = defaultdict(list)
    achieved: dict[int, dict[str, int]] = defaultdict(dict)
    if contracts:
        cids = list(contracts)
        for contract_id, fen in session.execute(
                sa.select(Payment.contract_id, Payment.amount_fen)
                .where(Payment.contract_id.in_(cids), Payment.status == PaymentStatus.RELEASED)):
            entries[contract_id].append(("paid", fen))
        for contract_id, fen in session.execute(
                sa.select(Payment.contract_id, Reclaim.amount_fen).join(Payment, Payment.id == Reclaim.payment_id)
                .where(Payment.contract_id.in_(cids))):
            entries[contract_id].append(("reclaimed", fen))
        for contract_id, fen in session.execute(
                sa.select(Tranche.contract_id, Tranche.withheld_fen)
                .where(Tranche.contract_id.in_(cids), Tranche.withheld_fen > 0,
                       Tranche.status.in_(WITHHELD_TRANCHE_STATES))):
            entries[contract_id].append(("withheld", fen))
        # Reports state outputs achieved so far, so only each contract's latest accepted report counts.
        latest = (sa.select(sa.func.max(ProgressReport.id))
                  .where(ProgressReport.contract_id.in_(cids), ProgressReport.status == ReportStatus.ACCEPTED)
                  .group_by(ProgressReport.contract_id))
        for contract_id, kind, n in session.execute(
                sa.select(ProgressReport.contract_id, ReportOutput.kind, sa.func.sum(ReportOutput.achieved))
                .join(ProgressReport, ProgressReport.id == ReportOutput.report_id)
                .where(ReportOutput.report_id.in_(latest)).group_by(ProgressReport.contract_id, ReportOutput.kind)):
            achieved[contract_id][kind] = int(n or 0)
    promised: dict[int, dict[str, int]] = defaultdict(dict)
    if awards:
        for app_id, kind, n in session.execute(
                sa.select(OutputTarget.application_id, OutputTarget.kind, sa.func.sum(OutputTarget.target))
                .where(OutputTarget.application_id.in_(list(awards)))
                .group_by(OutputTarget.application_id, OutputTarget.kind)):
            promised[app_id][kind] = int(n or 0)

    contract_of = {c.application_id: c for c in contracts.values()}
    rows, sources, outputs = [], [], []
    for app_id in sorted(set(awards) | set(contract_of)):
        app = apps.get(app_id)
        if app is None:
            continue
        award, contract = awards.get(app_id), contract_of.get(app_id)
        row = dict(application_id=app_id, call_id=app.call_id, funded=award is not None,
                   awarded_fen=award.amount_fen if award else 0, paid_fen=0, withheld_fen=0, reclaimed_fen=0,
                   finished=contract is not None and (contract.status == ContractStatus.COMPLETED
                                                      or app.final_grade is not None),
                   final_grade=app.final_grade)
        by_source: dict[int, dict[str, int]] = defaultdict(lambda: dict(awarded_fen=0, paid_fen=0, withheld_fen=0,
                                                                      reclaimed_fen=0))
        if award:
            if allocations.get(award.id):
                for source_id, fen in allocations[award.id]:
                    by_source[source_id]["awarded_fen"] += fen
            else:  # an award without allocations is committed in full to “未分配来源”, as in the ledger
                by_source[UNALLOCATED]["awarded_fen"] += award.amount_fen
        if contract:
            for what, fen in entries.get(contract.id, ()):
                row[f"{what}_fen"] += fen
            for what, source_id, fen in charged.get(contract.award_id, ()):
                by_source[source_id or UNALLOCATED][f"{what}_fen"] += fen
        rows.append(row)
        for source_id, money in sorted(by_source.items()):
            if any(money.values()):
                sources.append(dict(application_id=app_id, funding_source_id=source_id or None, **money))
        got = achieved.get(contract.id, {}) if contract else {}
        want = promised.get(app_id, {}) if award else {}
        for kind in sorted(set(got) | set(want)):
            outputs.append(dict(application_id=app_id, kind=kind, promised=want.get(kind, 0),
                                achieved=got.get(kind, 0)))
    return rows, sources, outputs


# --- the session hook -------------------------------------------------------------------------

# (model, the set it goes to, the attribute that names the thing in that set)
_TRACKED = (
    (Award, "application", "application_id"),
    (Contract, "application", "application_id"),
    (OutputTarget, "application", "application_id"),
    (AwardAllocation, "award", "award_id"),
    (Tranche, "contract", "contract_id"),
    (Payment, "contract", "contract_id"),
    (ProgressReport, "contract", "contract_id"),
    (Reclaim, "payment", "payment_id"),
    (ReportOutput, "report", "report_id"),
)


def _note_changes(session: Session, _flush_context) -> None:
    """after_flush: note which projects the flushed rows belong to (the state still shows what changed)."""
    pending = session.info.get(_PENDING)
    for obj in chain(session.dirty, session.deleted, session.new):
        if isinstance(obj, Application):
            # A new application has no award yet; of a changed one only these columns feed the figures.
            if obj in session.new or (obj in session.dirty and not any(
                    sa.inspect(obj).attrs[a].history.has_changes() for a in ("status", "final_grade", "call_id"))):
                continue
            key, value = "application", obj.id
        else:
            for model, key, attr in _TRACKED:
                if isinstance(obj, model):
                    value = getattr(obj, attr)
                    break
            else:
                continue
        if value is None:
            continue
        if pending is None:
            pending = session.info[_PENDING] = defaultdict(set)
        pending[key].add(value)


def bring_up_to_date(session: Session | None = None) -> None:
    """Flush what is left, then recompute the projects noted since the last commit, in this transaction.

    Runs before every commit (the hook below), and before the dashboard reads the figures, so that a
    transaction reads its own changes."""
    session = session or db.session
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    app_ids = set(pending["application"])
    report_ids, payment_ids = pending["report"], pending["payment"]
    contract_ids = set(pending["contract"])
    for chunk in _in_chunks(report_ids):
        contract_ids |= set(session.scalars(sa.select(ProgressReport.contract_id).where(ProgressReport.id.in_(chunk))))
    for chunk in _in_chunks(payment_ids):
        contract_ids |= set(session.scalars(sa.select(Payment.contract_id).where(Payment.id.in_(chunk))))
    for chunk in _in_chunks(contract_ids):
        app_ids |= set(session.scalars(sa.select(Contract.application_id).where(Contract.id.in_(chunk))))
    for chunk in _in_chunks(pending["award"]):
        app_ids |= set(session.scalars(sa.select(Award.application_id).where(Award.id.in_(chunk))))
    refresh(app_ids, session)


def _forget(session: Session, _previous_transaction=None) -> None:
    """A rolled-back transaction changed nothing: drop what it noted."""
    if not session.in_transaction():
        session.info.pop(_PENDING, None)


sa.event.listen(Session, "after_flush", _note_changes)
sa.event.listen(Session, "before_commit", bring_up_to_date)
sa.event.listen(Session, "after_soft_rollback", _forget)
