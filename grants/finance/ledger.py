"""台账: every commitment and movement of a call's money, per funding source.

Each award is charged to the call's funding sources by its allocations (AwardAllocation). A payment or a
withheld amount of that award is charged cumulatively against what is left of each source, and a reclaim
against what its payment took from each source (split_movements), in integer fen; the charges are stored
(SourceCharge) by the session hook that keeps the dashboard's rows, so the ledger, the dashboard and the
vouchers read the same fen, and a fully settled project has paid + withheld = its allocation per source.

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


def split_against(amount_fen: int, room: list[tuple[int, int]],
                  weights: list[tuple[int, int]] | None = None) -> dict[int, int]:
    """Split `amount_fen` over [(funding_source_id, fen left), ...] in proportion to what is left of each.

    Each source gets ⌊amount × left / total left⌋ and the remaining fen go one each to the sources with the
    largest fractions (ties in source order), so no source is given more than it has left and the parts add
    up exactly to the amount. An amount beyond everything left (a contract above its allocation) is spread
    over `weights` (the allocation) the same way after every source is used up. No sources → 未分配来源.
    """
    room = [(fs, max(int(left), 0)) for fs, left in room]
    total = sum(left for _fs, left in room)
    parts: dict[int, int] = {fs: 0 for fs, _left in room}
    take = min(amount_fen, total)
    if take > 0:
        floors = []
        for i, (fs, left) in enumerate(room):
            q, r = divmod(take * left, total)
            parts[fs] = q
            floors.append((-r, i, fs))
        short = take - sum(parts.values())
        for _r, _i, fs in sorted(floors)[:short]:
            parts[fs] += 1
    over = amount_fen - take
    if over > 0:
        weights = [(fs, w) for fs, w in (weights or room) if w > 0]
        if not weights:
            parts[UNALLOCATED] = parts.get(UNALLOCATED, 0) + over
        else:
            for fs, fen in split_against(over, weights).items():
                parts[fs] = parts.get(fs, 0) + fen
    return parts


def charge_to_sources(amount_fen: int, allocations: list[tuple[int, int]]) -> dict[int, int]:
    """Split `amount_fen` over [(funding_source_id, allocated_fen), ...] in proportion to the allocations
    (largest remainders, so never more than a source's allocation); {UNALLOCATED: amount} without any."""
    allocations = sorted((fs, a) for fs, a in allocations if a > 0)
    if not allocations:
        return {UNALLOCATED: amount_fen}
    return split_against(amount_fen, allocations)


@dataclass
class Movement:
    """One movement of an award's money to be charged to its sources (input of split_movements)."""
    kind: str  # paid / withheld / reclaimed
    amount_fen: int
    at: object = None  # when it happened: the order in which movements are charged
    tranche_id: int | None = None
    payment_id: int | None = None
    reclaim_id: int | None = None


def _order(m: Movement):
    # Movements in the order they happened; with no time (or the same time) a withheld part before the
    # payment of its tranche, then reclaims, then by id — a deterministic order on both databases.
    return (m.at is not None, m.at if m.at is not None else 0, ("withheld", "paid", "reclaimed").index(m.kind),
            m.tranche_id or 0, m.payment_id or 0, m.reclaim_id or 0)


def split_movements(allocations: list[tuple[int, int]], movements: list[Movement]
                    ) -> list[tuple[Movement, dict[int, int]]]:
    """Charge an award's movements to its sources cumulatively (资金来源分摊).

    A payment or a withheld amount is split against what is left of each source (its allocation less
    what earlier payments and withheld amounts took), so once the whole award is paid or withheld every
    source has given exactly its allocation and none more. A reclaim is split against what its payment
    took from each source and earlier reclaims of it did not give back, so no source's net payment goes
    below zero.
    """
    allocations = sorted((fs, a) for fs, a in allocations if a > 0)
    left = dict(allocations)
    by_payment: dict[int, dict[int, int]] = {}
    paid_of: dict[int, dict[int, int]] = {}
    out = []
    for m in sorted(movements, key=_order):
        if m.amount_fen <= 0:
            continue
        if m.kind == "reclaimed":
            net = by_payment.get(m.payment_id)
            if net:
                parts = split_against(m.amount_fen, sorted(net.items()), sorted(paid_of[m.payment_id].items()))
                for fs, fen in parts.items():
                    net[fs] = net.get(fs, 0) - fen
            else:  # a reclaim of a payment not charged (cannot happen: reclaims need a released payment)
                parts = charge_to_sources(m.amount_fen, allocations)
        else:
            if allocations:
                parts = split_against(m.amount_fen, sorted(left.items()), allocations)
                for fs, fen in parts.items():
                    left[fs] = left.get(fs, 0) - fen
            else:
                parts = {UNALLOCATED: m.amount_fen}
            if m.kind == "paid" and m.payment_id is not None:
                by_payment[m.payment_id] = dict(parts)
                paid_of[m.payment_id] = dict(parts)
        out.append((m, {fs: fen for fs, fen in parts.items() if fen}))
    return out


def resplit_awards(award_ids, session=None) -> None:
    """Rewrite the stored charges (SourceCharge) of these awards from their movements (a few queries per
    500 awards). Called by the session hook that keeps the dashboard's rows, so every change of a payment,
    tranche, reclaim or allocation is charged again before its transaction commits."""
    from grants.awards.models import Award, AwardAllocation
    from grants.contracts.models import Contract, Tranche
    from grants.finance.models import Payment, PaymentStatus, Reclaim, SourceCharge

    session = session or db.session
    ids = sorted(set(award_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        session.execute(sa.delete(SourceCharge).where(SourceCharge.award_id.in_(chunk)))
        calls = dict(session.execute(sa.select(Award.id, Award.call_id).where(Award.id.in_(chunk))).all())
        allocations: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for award_id, fs_id, fen in session.execute(
                sa.select(AwardAllocation.award_id, AwardAllocation.funding_source_id, AwardAllocation.amount_fen)
                .where(AwardAllocation.award_id.in_(chunk))).all():
            allocations[award_id].append((fs_id, fen))
        movements: dict[int, list[Movement]] = defaultdict(list)
        for award_id, tranche_id, withheld, payable_at, settled_at in session.execute(
                sa.select(Contract.award_id, Tranche.id, Tranche.withheld_fen, Tranche.payable_at, Tranche.settled_at)
                .join(Contract, Contract.id == Tranche.contract_id)
                .where(Contract.award_id.in_(chunk), Tranche.withheld_fen > 0,
                       Tranche.status.in_(WITHHELD_TRANCHE_STATES))).all():
            movements[award_id].append(Movement("withheld", int(withheld), payable_at or settled_at,
                                                tranche_id=tranche_id))
        for award_id, payment_id, tranche_id, amount, released_at in session.execute(
                sa.select(Contract.award_id, Payment.id, Payment.tranche_id, Payment.amount_fen, Payment.released_at)
                .join(Contract, Contract.id == Payment.contract_id)
                .where(Contract.award_id.in_(chunk), Payment.status == PaymentStatus.RELEASED)).all():
            movements[award_id].append(Movement("paid", int(amount), released_at, tranche_id=tranche_id,
                                                payment_id=payment_id))
        for award_id, reclaim_id, payment_id, amount, recorded_at in session.execute(
                sa.select(Contract.award_id, Reclaim.id, Reclaim.payment_id, Reclaim.amount_fen, Reclaim.recorded_at)
                .join(Payment, Payment.id == Reclaim.payment_id).join(Contract, Contract.id == Payment.contract_id)
                .where(Contract.award_id.in_(chunk))).all():
            movements[award_id].append(Movement("reclaimed", int(amount), recorded_at, payment_id=payment_id,
                                                reclaim_id=reclaim_id))
        rows = []
        for award_id, moves in movements.items():
            for m, parts in split_movements(allocations.get(award_id, []), moves):
                for fs, fen in sorted(parts.items()):
                    rows.append(dict(call_id=calls[award_id], award_id=award_id, funding_source_id=fs or None,
                                     kind=m.kind, tranche_id=m.tranche_id, amount_fen=fen,
                                     payment_id=m.payment_id if m.kind != "withheld" else None,
                                     reclaim_id=m.reclaim_id))
        if rows:
            session.execute(sa.insert(SourceCharge), rows)


def _up_to_date() -> None:
    """The charges of this transaction's own changes written before a ledger is read."""
    from grants.dashboard.summary import bring_up_to_date

    bring_up_to_date()


def charges_of(kind: str, ids) -> dict[int, dict[int, int]]:
    """{movement id: {source id: fen}} of stored charges, movement = payment (paid), reclaim or tranche."""
    from grants.finance.models import SourceCharge

    col = {"paid": SourceCharge.payment_id, "reclaimed": SourceCharge.reclaim_id,
           "withheld": SourceCharge.tranche_id}[kind]
    out: dict[int, dict[int, int]] = defaultdict(dict)
    ids = list(set(ids))
    for start in range(0, len(ids), 500):
        for key, fs, fen in db.session.execute(
                sa.select(col, SourceCharge.funding_source_id, SourceCharge.amount_fen)
                .where(SourceCharge.kind == kind, col.in_(ids[start:start + 500]))).all():
            out[key][fs or UNALLOCATED] = out[key].get(fs or UNALLOCATED, 0) + int(fen)
    return out


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


def _call_charges(call_id: int) -> dict[str, dict[int, dict[int, int]]]:
    """{kind: {movement id: {source id: fen}}} of one call's stored charges (one query)."""
    from grants.finance.models import SourceCharge

    out: dict[str, dict[int, dict[int, int]]] = {k: defaultdict(dict) for k in ("paid", "withheld", "reclaimed")}
    for kind, tranche_id, payment_id, reclaim_id, fs, fen in db.session.execute(
            sa.select(SourceCharge.kind, SourceCharge.tranche_id, SourceCharge.payment_id, SourceCharge.reclaim_id,
                      SourceCharge.funding_source_id, SourceCharge.amount_fen)
            .where(SourceCharge.call_id == call_id)).all():
        key = {"paid": payment_id, "withheld": tranche_id, "reclaimed": reclaim_id}[kind]
        fs = fs or UNALLOCATED
        out[kind][key][fs] = out[kind][key].get(fs, 0) + int(fen)
    return out


def call_ledger(call) -> Ledger:
    """The ledger of one call: per-source totals and the entries they add up from (six queries)."""
    _up_to_date()
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

    charged = _call_charges(call.id)
    contract_cols = (Contract.award_id, Contract.number, Contract.party_b_name, Contract.project_name)
    for p, award_id, number, org_name, project in db.session.execute(
            sa.select(Payment, *contract_cols).join(Contract, Contract.id == Payment.contract_id)
            .where(Payment.call_id == call.id, Payment.status == PaymentStatus.RELEASED)
            .order_by(Payment.released_on, Payment.id)).unique().all():
        entries.append(LedgerEntry("paid", p.released_on, number, org_name, project,
                                   f"{p.tranche.name} · {p.bank_reference}", p.amount_fen,
                                   charged["paid"].get(p.id, {}), p.id))

    for payment_id, reclaim_id, amount, reason, recorded_at, award_id, number, org_name, project in db.session.execute(
            sa.select(Reclaim.payment_id, Reclaim.id, Reclaim.amount_fen, Reclaim.reason, Reclaim.recorded_at,
                      *contract_cols)
            .join(Payment, Payment.id == Reclaim.payment_id).join(Contract, Contract.id == Payment.contract_id)
            .where(Payment.call_id == call.id).order_by(Reclaim.recorded_at, Reclaim.id)).all():
        entries.append(LedgerEntry("reclaimed", to_local(recorded_at).date(), number, org_name, project, reason,
                                   amount, charged["reclaimed"].get(reclaim_id, {}), payment_id))

    for tranche_id, tranche_name, withheld, grade, award_id, number, org_name, project in db.session.execute(
            sa.select(Tranche.id, Tranche.name, Tranche.withheld_fen, Tranche.grade, *contract_cols)
            .join(Contract, Contract.id == Tranche.contract_id)
            .where(Contract.call_id == call.id, Tranche.withheld_fen > 0,
                   Tranche.status.in_(WITHHELD_TRANCHE_STATES))
            .order_by(Contract.number, Tranche.seq)).all():
        entries.append(LedgerEntry("withheld", None, number, org_name, project, tranche_name, withheld,
                                   charged["withheld"].get(tranche_id, {})))

    for entry in entries:
        for fs_id, fen in entry.by_source.items():
            if fs_id not in lines:  # an award without allocations
                lines[fs_id] = SourceLine(source_id=fs_id, label=str(_l("未分配来源")), budget_fen=0)
            line = lines[fs_id]
            setattr(line, f"{entry.kind}_fen", getattr(line, f"{entry.kind}_fen") + fen)
    return Ledger(call=call, sources=list(lines.values()), entries=entries)


ENTRY_KINDS = ("committed", "paid", "withheld", "reclaimed")


def ledger_totals(call) -> Ledger:
    """The per-source totals of a call's ledger aggregated in SQL (three queries), without its entries.

    Each movement (payment, reclaim, withheld amount) counts as it is charged to the sources (the stored
    SourceCharge rows), so the sums are exactly those of the entries of `call_ledger`.
    """
    from grants.awards.models import Award, AwardAllocation, AwardStatus
    from grants.calls.models import CallFundingSource
    from grants.finance.models import SourceCharge

    _up_to_date()

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

    # Payments, withheld amounts and reclaims as they are charged to the sources (SourceCharge).
    for kind, fs_id, fen in db.session.execute(
            sa.select(SourceCharge.kind, SourceCharge.funding_source_id, sa.func.sum(SourceCharge.amount_fen))
            .where(SourceCharge.call_id == call.id)
            .group_by(SourceCharge.kind, SourceCharge.funding_source_id)).all():
        acc = line(fs_id or UNALLOCATED)
        setattr(acc, f"{kind}_fen", getattr(acc, f"{kind}_fen") + int(fen or 0))
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
        stmt = (sa.select(Reclaim.payment_id, Reclaim.id, Reclaim.amount_fen, Reclaim.reason, Reclaim.recorded_at,
                          *contract_cols)
                .join(Payment, Payment.id == Reclaim.payment_id).join(Contract, Contract.id == Payment.contract_id)
                .where(Payment.call_id == call.id).order_by(Reclaim.recorded_at, Reclaim.id))
    elif kind == "withheld":
        stmt = (sa.select(Tranche.id, Tranche.name, Tranche.withheld_fen, *contract_cols)
                .join(Contract, Contract.id == Tranche.contract_id)
                .where(Contract.call_id == call.id, Tranche.withheld_fen > 0,
                       Tranche.status.in_(WITHHELD_TRANCHE_STATES))
                .order_by(Contract.number, Tranche.seq))
    else:
        raise ValueError(kind)
    _up_to_date()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = db.session.execute(stmt.limit(per_page).offset((max(1, page) - 1) * per_page)).all()
    award_ids = {r[0] for r in rows} if kind == "committed" else set()
    charged = charges_of(kind, [r[1] if kind == "reclaimed" else r[0] for r in rows]) if kind != "committed" else {}
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
                                       f"{tranche_name} · {bank_reference}", amount, charged.get(payment_id, {}),
                                       payment_id))
        elif kind == "reclaimed":
            payment_id, reclaim_id, amount, reason, recorded_at, award_id, number, org_name, project = r
            entries.append(LedgerEntry("reclaimed", to_local(recorded_at).date(), number, org_name, project, reason,
                                       amount, charged.get(reclaim_id, {}), payment_id))
        else:
            tranche_id, tranche_name, withheld, award_id, number, org_name, project = r
            entries.append(LedgerEntry("withheld", None, number, org_name, project, tranche_name, withheld,
                                       charged.get(tranche_id, {})))
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
