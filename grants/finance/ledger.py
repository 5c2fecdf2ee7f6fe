"""台账: every commitment and movement of a call's money, per funding source.

Each award is charged to the call's funding sources by its allocations (AwardAllocation). A payment,
a withheld amount or a reclaim of that award is charged in the same proportions, in integer fen,
with the rounding remainder on the last source — computed here, never stored a second time.

The ledger is built with a fixed number of queries whatever the size of the call (funding sources,
allocations, released payments, reclaims, withheld tranches), and its totals are sums of its entries.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from grants.core.timeutil import to_local
from grants.extensions import db

# A tranche's withheld part counts once the assessment has set it (and stays counted once paid).
WITHHELD_TRANCHE_STATES = ("payable", "withheld", "paid")
UNALLOCATED = 0  # pseudo funding-source id for awards without allocations (shown as “未分配来源”)

ENTRY_KIND_LABELS = {
    "committed": _l("立项承诺"),
    "paid": _l("拨付"),
    "withheld": _l("评估扣减"),
    "reclaimed": _l("追回"),
}


def charge_to_sources(amount_fen: int, allocations: list[tuple[int, int]]) -> dict[int, int]:
    """Split `amount_fen` over [(funding_source_id, allocated_fen), ...] in proportion to the allocations.

    Each part is rounded down to the fen and the remainder goes to the last source (sources in id
    order), so the parts always add up exactly to the amount.
    """
    allocations = sorted((fs, a) for fs, a in allocations if a > 0)
    total = sum(a for _fs, a in allocations)
    if not allocations or total <= 0:
        return {UNALLOCATED: amount_fen}
    parts: dict[int, int] = {}
    for fs, a in allocations[:-1]:
        parts[fs] = amount_fen * a // total
    last = allocations[-1][0]
    parts[last] = amount_fen - sum(parts.values())
    return parts


@dataclass
class LedgerEntry:
    kind: str  # committed / paid / withheld / reclaimed
    on: dt.date | None
    contract_number: str
    organization_name: str
    project_name: str
    description: str
    amount_fen: int
    by_source: dict[int, int]
    payment_id: int | None = None

    @property
    def kind_label(self):
        return ENTRY_KIND_LABELS.get(self.kind, self.kind)


@dataclass
class SourceLine:
    source_id: int
    label: str
    budget_fen: int
    committed_fen: int = 0
    paid_fen: int = 0
    withheld_fen: int = 0
    reclaimed_fen: int = 0

    @property
    def remaining_fen(self) -> int:
        """待拨付: committed and neither paid nor withheld by an assessment."""
        return self.committed_fen - self.paid_fen - self.withheld_fen

    @property
    def net_paid_fen(self) -> int:
        return self.paid_fen - self.reclaimed_fen

    @property
    def balance_fen(self) -> int:
        """资金结余: the source's budget less what has left it for good (paid − reclaimed)."""
        return self.budget_fen - self.net_paid_fen


@dataclass
class Ledger:
    call: object
    sources: list[SourceLine]
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def total(self) -> SourceLine:
        t = SourceLine(source_id=-1, label=str(_l("合计")), budget_fen=sum(s.budget_fen for s in self.sources))
        for s in self.sources:
            t.committed_fen += s.committed_fen
            t.paid_fen += s.paid_fen
            t.withheld_fen += s.withheld_fen
            t.reclaimed_fen += s.reclaimed_fen
        return t


def call_ledger(call) -> Ledger:
    """The ledger of one call: per-source totals and the entries they add up from (five queries)."""
    from grants.awards.models import Award, AwardAllocation, AwardStatus
    from grants.calls.models import CallFundingSource
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment, PaymentStatus, Reclaim
    from grants.organizations.models import Organization

    sources = db.session.scalars(sa.select(CallFundingSource).where(CallFundingSource.call_id == call.id)
                                 .order_by(CallFundingSource.id)).all()
    lines = {s.id: SourceLine(source_id=s.id, label=s.label, budget_fen=s.amount_fen) for s in sources}

    alloc_rows = db.session.execute(
        sa.select(Award.id, Award.status, Award.amount_fen, Award.confirmed_at, Organization.name,
                  AwardAllocation.funding_source_id, AwardAllocation.amount_fen)
        .join(Organization, Organization.id == Award.organization_id)
        .outerjoin(AwardAllocation, AwardAllocation.award_id == Award.id)
        .where(Award.call_id == call.id).order_by(Award.id, AwardAllocation.funding_source_id)).all()
    allocations: dict[int, list[tuple[int, int]]] = defaultdict(list)
    awards: dict[int, tuple] = {}
    for award_id, status, amount, confirmed_at, org_name, fs_id, fs_amount in alloc_rows:
        awards[award_id] = (status, amount, confirmed_at, org_name)
        if fs_id is not None:
            allocations[award_id].append((fs_id, fs_amount))

    entries: list[LedgerEntry] = []
    for award_id, (status, amount, confirmed_at, org_name) in awards.items():
        if status != AwardStatus.CONFIRMED:
            continue
        parts = dict(allocations[award_id]) if allocations[award_id] else {UNALLOCATED: amount}
        entries.append(LedgerEntry("committed", to_local(confirmed_at).date() if confirmed_at else None, "", org_name, "",
                                   str(_l("立项资助")), sum(parts.values()), parts))

    contract_cols = (Contract.award_id, Contract.number, Contract.party_b_name, Contract.project_name)
    for p, award_id, number, org_name, project in db.session.execute(
            sa.select(Payment, *contract_cols).join(Contract, Contract.id == Payment.contract_id)
            .where(Payment.call_id == call.id, Payment.status == PaymentStatus.RELEASED)
            .order_by(Payment.released_on, Payment.id)).unique().all():
        entries.append(LedgerEntry("paid", p.released_on, number, org_name, project,
                                   f"{p.tranche.name} · {p.bank_reference}", p.amount_fen,
                                   charge_to_sources(p.amount_fen, allocations[award_id]), p.id))

    for payment_id, amount, reason, recorded_at, award_id, number, org_name, project in db.session.execute(
            sa.select(Reclaim.payment_id, Reclaim.amount_fen, Reclaim.reason, Reclaim.recorded_at, *contract_cols)
            .join(Payment, Payment.id == Reclaim.payment_id).join(Contract, Contract.id == Payment.contract_id)
            .where(Payment.call_id == call.id).order_by(Reclaim.recorded_at, Reclaim.id)).all():
        entries.append(LedgerEntry("reclaimed", to_local(recorded_at).date(), number, org_name, project, reason,
                                   amount, charge_to_sources(amount, allocations[award_id]), payment_id))

    for tranche_name, withheld, grade, award_id, number, org_name, project in db.session.execute(
            sa.select(Tranche.name, Tranche.withheld_fen, Tranche.grade, *contract_cols)
            .join(Contract, Contract.id == Tranche.contract_id)
            .where(Contract.call_id == call.id, Tranche.withheld_fen > 0,
                   Tranche.status.in_(WITHHELD_TRANCHE_STATES))
            .order_by(Contract.number, Tranche.seq)).all():
        entries.append(LedgerEntry("withheld", None, number, org_name, project, tranche_name, withheld,
                                   charge_to_sources(withheld, allocations[award_id])))

    for entry in entries:
        for fs_id, fen in entry.by_source.items():
            if fs_id not in lines:  # an award without allocations
                lines[fs_id] = SourceLine(source_id=fs_id, label=str(_l("未分配来源")), budget_fen=0)
            line = lines[fs_id]
            setattr(line, f"{entry.kind}_fen", getattr(line, f"{entry.kind}_fen") + fen)
    return Ledger(call=call, sources=list(lines.values()), entries=entries)


ENTRY_KINDS = ("committed", "paid", "withheld", "reclaimed")


def ledger_totals(call) -> Ledger:
    """The per-source totals of a call's ledger aggregated in SQL (four queries), without its entries.

    Each movement (payment, reclaim, withheld amount) is charged as `charge_to_sources` charges it:
    every source gets ⌊amount × share / total⌋ and the award's last source also gets the remainder,
    so the sums are exactly those of the entries of `call_ledger`.
    """
    from grants.awards.models import Award, AwardAllocation, AwardStatus
    from grants.calls.models import CallFundingSource
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment, PaymentStatus, Reclaim

    sources = db.session.scalars(sa.select(CallFundingSource).where(CallFundingSource.call_id == call.id)
                                 .order_by(CallFundingSource.id)).all()
    lines = {s.id: SourceLine(source_id=s.id, label=s.label, budget_fen=s.amount_fen) for s in sources}

    def line(fs_id):
        if fs_id not in lines:  # awards without allocations
            lines[fs_id] = SourceLine(source_id=fs_id, label=str(_l("未分配来源")), budget_fen=0)
        return lines[fs_id]

    # 立项承诺: a confirmed award commits its allocations as they are, or its amount when it has none.
    has_alloc = sa.exists().where(AwardAllocation.award_id == Award.id)
    confirmed = sa.and_(Award.call_id == call.id, Award.status == AwardStatus.CONFIRMED)
    committed = sa.union_all(
        sa.select(AwardAllocation.funding_source_id.label("fs"), sa.func.sum(AwardAllocation.amount_fen).label("fen"))
        .join(Award, Award.id == AwardAllocation.award_id).where(confirmed)
        .group_by(AwardAllocation.funding_source_id),
        sa.select(sa.literal_column(str(UNALLOCATED)).label("fs"), sa.func.sum(Award.amount_fen).label("fen"))
        .where(confirmed, ~has_alloc).having(sa.func.count() > 0))
    for fs_id, fen in db.session.execute(committed).all():
        line(fs_id).committed_fen += int(fen or 0)

    # Movements of the call's money, each with the award it is charged to.
    movements = sa.union_all(
        sa.select(sa.literal_column("'paid'").label("kind"), Contract.award_id.label("award_id"),
                  Payment.amount_fen.label("amount"))
        .join(Contract, Contract.id == Payment.contract_id)
        .where(Payment.call_id == call.id, Payment.status == PaymentStatus.RELEASED),
        sa.select(sa.literal_column("'reclaimed'"), Contract.award_id, Reclaim.amount_fen)
        .join(Payment, Payment.id == Reclaim.payment_id).join(Contract, Contract.id == Payment.contract_id)
        .where(Payment.call_id == call.id),
        sa.select(sa.literal_column("'withheld'"), Contract.award_id, Tranche.withheld_fen)
        .join(Contract, Contract.id == Tranche.contract_id)
        .where(Contract.call_id == call.id, Tranche.withheld_fen > 0,
               Tranche.status.in_(WITHHELD_TRANCHE_STATES)),
    ).subquery("m")
    positive = sa.select(AwardAllocation.award_id, AwardAllocation.funding_source_id, AwardAllocation.amount_fen) \
        .where(AwardAllocation.amount_fen > 0).subquery("al")
    shares = sa.select(positive.c.award_id, sa.cast(sa.func.sum(positive.c.amount_fen), sa.BigInteger).label("total"),
                       sa.func.max(positive.c.funding_source_id).label("last_fs")) \
        .group_by(positive.c.award_id).subquery("sh")

    # The whole amount of every movement, to its award's last source (or unallocated) ...
    for kind, last_fs, fen in db.session.execute(
            sa.select(movements.c.kind, shares.c.last_fs, sa.func.sum(movements.c.amount))
            .select_from(movements).outerjoin(shares, shares.c.award_id == movements.c.award_id)
            .group_by(movements.c.kind, shares.c.last_fs)).all():
        acc = line(UNALLOCATED if last_fs is None else last_fs)
        setattr(acc, f"{kind}_fen", getattr(acc, f"{kind}_fen") + int(fen or 0))
    # ... then each source's rounded-down share moves from the last source to that source.
    # Integer division on both databases (PostgreSQL's sum of bigint is numeric, hence the casts).
    part = sa.cast(movements.c.amount, sa.BigInteger) * positive.c.amount_fen // shares.c.total
    for kind, fs_id, last_fs, fen in db.session.execute(
            sa.select(movements.c.kind, positive.c.funding_source_id, shares.c.last_fs, sa.func.sum(part))
            .select_from(movements).join(positive, positive.c.award_id == movements.c.award_id)
            .join(shares, shares.c.award_id == movements.c.award_id)
            .where(positive.c.funding_source_id != shares.c.last_fs)
            .group_by(movements.c.kind, positive.c.funding_source_id, shares.c.last_fs)).all():
        fen = int(fen or 0)
        to, frm = line(fs_id), line(last_fs)
        setattr(to, f"{kind}_fen", getattr(to, f"{kind}_fen") + fen)
        setattr(frm, f"{kind}_fen", getattr(frm, f"{kind}_fen") - fen)
    return Ledger(call=call, sources=list(lines.values()))


def ledger_entries_page(call, kind: str, page: int, per_page: int = 100) -> tuple[list[LedgerEntry], int]:
    """One page of a call's ledger entries of one kind, in ledger order, and how many there are (three queries).

    Each kind is read through its index on the call (award, payment by status, contract), so a page
    costs the same however large the call.
    """
    from grants.awards.models import Award, AwardAllocation, AwardStatus
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment, PaymentStatus, Reclaim
    from grants.organizations.models import Organization

    contract_cols = (Contract.award_id, Contract.number, Contract.party_b_name, Contract.project_name)
    if kind == "committed":
        stmt = (sa.select(Award.id, Award.amount_fen, Award.confirmed_at, Organization.name)
                .join(Organization, Organization.id == Award.organization_id)
                .where(Award.call_id == call.id, Award.status == AwardStatus.CONFIRMED).order_by(Award.id))
    elif kind == "paid":
        stmt = (sa.select(Payment.id, Payment.released_on, Payment.amount_fen, Payment.bank_reference, Tranche.name,
                          *contract_cols)
                .join(Contract, Contract.id == Payment.contract_id).join(Tranche, Tranche.id == Payment.tranche_id)
                .where(Payment.call_id == call.id, Payment.status == PaymentStatus.RELEASED)
                .order_by(Payment.released_on, Payment.id))
    elif kind == "reclaimed":
        stmt = (sa.select(Reclaim.payment_id, Reclaim.amount_fen, Reclaim.reason, Reclaim.recorded_at, *contract_cols)
                .join(Payment, Payment.id == Reclaim.payment_id).join(Contract, Contract.id == Payment.contract_id)
                .where(Payment.call_id == call.id).order_by(Reclaim.recorded_at, Reclaim.id))
    elif kind == "withheld":
        stmt = (sa.select(Tranche.name, Tranche.withheld_fen, *contract_cols)
                .join(Contract, Contract.id == Tranche.contract_id)
                .where(Contract.call_id == call.id, Tranche.withheld_fen > 0,
                       Tranche.status.in_(WITHHELD_TRANCHE_STATES))
                .order_by(Contract.number, Tranche.seq))
    else:
        raise ValueError(kind)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.execute(stmt.limit(per_page).offset((max(1, page) - 1) * per_page)).all()
    award_ids = {r[0] if kind == "committed" else r.award_id for r in rows}
    allocations: dict[int, list[tuple[int, int]]] = defaultdict(list)
    if award_ids:
        for award_id, fs_id, fen in db.session.execute(
                sa.select(AwardAllocation.award_id, AwardAllocation.funding_source_id, AwardAllocation.amount_fen)
                .where(AwardAllocation.award_id.in_(award_ids))
                .order_by(AwardAllocation.award_id, AwardAllocation.funding_source_id)).all():
            allocations[award_id].append((fs_id, fen))

    entries = []
    for r in rows:
        if kind == "committed":
            award_id, amount, confirmed_at, org_name = r
            parts = dict(allocations[award_id]) if allocations[award_id] else {UNALLOCATED: amount}
            entries.append(LedgerEntry("committed", to_local(confirmed_at).date() if confirmed_at else None, "",
                                       org_name, "", str(_l("立项资助")), sum(parts.values()), parts))
        elif kind == "paid":
            payment_id, released_on, amount, bank_reference, tranche_name, award_id, number, org_name, project = r
            entries.append(LedgerEntry("paid", released_on, number, org_name, project,
                                       f"{tranche_name} · {bank_reference}", amount,
                                       charge_to_sources(amount, allocations[award_id]), payment_id))
        elif kind == "reclaimed":
            payment_id, amount, reason, recorded_at, award_id, number, org_name, project = r
            entries.append(LedgerEntry("reclaimed", to_local(recorded_at).date(), number, org_name, project, reason,
                                       amount, charge_to_sources(amount, allocations[award_id]), payment_id))
        else:
            tranche_name, withheld, award_id, number, org_name, project = r
            entries.append(LedgerEntry("withheld", None, number, org_name, project, tranche_name, withheld,
                                       charge_to_sources(withheld, allocations[award_id])))
    return entries, total


def calls_summary(call_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per-call totals (committed, paid, reclaimed, withheld) for the ledger index: four grouped queries."""
    from grants.awards.models import Award, AwardStatus
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment, PaymentStatus, Reclaim

    out: dict[int, dict[str, int]] = {cid: dict(committed=0, paid=0, reclaimed=0, withheld=0) for cid in call_ids}
    if not call_ids:
        return out
    queries = {
        "committed": sa.select(Award.call_id, sa.func.sum(Award.amount_fen))
        .where(Award.call_id.in_(call_ids), Award.status == AwardStatus.CONFIRMED).group_by(Award.call_id),
        "paid": sa.select(Payment.call_id, sa.func.sum(Payment.amount_fen))
        .where(Payment.call_id.in_(call_ids), Payment.status == PaymentStatus.RELEASED).group_by(Payment.call_id),
        "reclaimed": sa.select(Payment.call_id, sa.func.sum(Reclaim.amount_fen))
        .join(Payment, Payment.id == Reclaim.payment_id).where(Payment.call_id.in_(call_ids))
        .group_by(Payment.call_id),
        "withheld": sa.select(Contract.call_id, sa.func.sum(Tranche.withheld_fen))
        .join(Contract, Contract.id == Tranche.contract_id)
        .where(Contract.call_id.in_(call_ids), Tranche.withheld_fen > 0,
               Tranche.status.in_(WITHHELD_TRANCHE_STATES)).group_by(Contract.call_id),
    }
    for key, stmt in queries.items():
        for call_id, total in db.session.execute(stmt).all():
            out[call_id][key] = int(total or 0)
    return out
