"""exact money by source (source_charge, re-split from the existing rows), officer-set allocations, host units'
credit codes, duplicate-funding decisions and the score line, history-import references

Revision ID: 0005
Revises: 0006
Create Date: 2026-12-02 13:00:00

Until now every payment, withheld amount and reclaim was split over the award's sources on its own (each
source rounded down, the remainder to the last source), so over several tranches the last source collected
every remainder and could go below zero. This revision stores the charges and re-splits every existing
movement cumulatively against what is left of each source (the rule of grants/finance/ledger.py
split_movements, copied here so that what this revision does never changes with later code), then
rewrites the dashboard's per-source rows (project_source_summary) from the new charges.
"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

import grants.core.timeutil

# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0006"
branch_labels = None
depends_on = None

UNALLOCATED = 0
WITHHELD_TRANCHE_STATES = ("payable", "withheld", "paid")


def upgrade():
    op.create_table(
        "source_charge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("award_id", sa.Integer(), nullable=False),
        sa.Column("funding_source_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("tranche_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("reclaim_id", sa.Integer(), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_source_charge_amount_positive")),
        sa.CheckConstraint("kind IN ('paid','withheld','reclaimed')", name=op.f("ck_source_charge_kind_known")),
        sa.CheckConstraint("kind <> 'paid' OR payment_id IS NOT NULL", name=op.f("ck_source_charge_paid_has_payment")),
        sa.CheckConstraint("kind <> 'withheld' OR tranche_id IS NOT NULL",
                           name=op.f("ck_source_charge_withheld_has_tranche")),
        sa.CheckConstraint("kind <> 'reclaimed' OR reclaim_id IS NOT NULL",
                           name=op.f("ck_source_charge_reclaimed_has_reclaim")),
        sa.ForeignKeyConstraint(["award_id"], ["award.id"], name=op.f("fk_source_charge_award_id_award"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["call_id"], ["call.id"], name=op.f("fk_source_charge_call_id_call")),
        sa.ForeignKeyConstraint(["funding_source_id"], ["call_funding_source.id"],
                                name=op.f("fk_source_charge_funding_source_id_call_funding_source")),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], name=op.f("fk_source_charge_payment_id_payment"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reclaim_id"], ["reclaim.id"], name=op.f("fk_source_charge_reclaim_id_reclaim"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tranche_id"], ["tranche.id"], name=op.f("fk_source_charge_tranche_id_tranche"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_charge")),
    )
    with op.batch_alter_table("source_charge", schema=None) as batch_op:
        for col in ("award_id", "call_id", "funding_source_id", "payment_id", "reclaim_id", "tranche_id"):
            batch_op.create_index(batch_op.f(f"ix_source_charge_{col}"), [col], unique=False)

    with op.batch_alter_table("award", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocation_set_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_award_allocation_set_by_id_user"), "user",
                                    ["allocation_set_by_id"], ["id"])

    with op.batch_alter_table("host_unit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uscc", sa.String(length=18), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_host_unit_uscc"), ["uscc"])

    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_ref", sa.String(length=50), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_application_import_ref"), ["import_ref"])
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_ref", sa.String(length=50), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_call_import_ref"), ["import_ref"])
        batch_op.add_column(sa.Column("min_final_score", sa.Numeric(precision=5, scale=2), nullable=True))
        batch_op.create_check_constraint(
            batch_op.f("ck_call_min_final_score_range"),
            "min_final_score IS NULL OR (min_final_score >= 0 AND min_final_score <= 100)")
    op.create_table(
        "duplicate_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", grants.core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("decision IN ('cleared','confirmed')", name=op.f("ck_duplicate_review_decision_known")),
        sa.CheckConstraint("reason <> ''", name=op.f("ck_duplicate_review_reason_given")),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"],
                                name=op.f("fk_duplicate_review_application_id_application"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_duplicate_review_decided_by_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duplicate_review")),
        sa.UniqueConstraint("application_id", name=op.f("uq_duplicate_review_application_id")),
    )

    resplit_existing_rows(op.get_bind())


def downgrade():
    op.drop_table("duplicate_review")
    with op.batch_alter_table("call", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_call_min_final_score_range"), type_="check")
        batch_op.drop_column("min_final_score")
        batch_op.drop_constraint(batch_op.f("uq_call_import_ref"), type_="unique")
        batch_op.drop_column("import_ref")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_application_import_ref"), type_="unique")
        batch_op.drop_column("import_ref")
    with op.batch_alter_table("host_unit", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_host_unit_uscc"), type_="unique")
        batch_op.drop_column("uscc")
    with op.batch_alter_table("award", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_award_allocation_set_by_id_user"), type_="foreignkey")
        batch_op.drop_column("allocation_set_by_id")
    with op.batch_alter_table("source_charge", schema=None) as batch_op:
        for col in ("tranche_id", "reclaim_id", "payment_id", "funding_source_id", "call_id", "award_id"):
            batch_op.drop_index(batch_op.f(f"ix_source_charge_{col}"))
    op.drop_table("source_charge")


# --- the data migration ----------------------------------------------------------------------------

_UTC = grants.core.timeutil.UTCDateTime(timezone=True)
award_t = sa.table("award", sa.column("id"), sa.column("call_id"), sa.column("application_id"),
                   sa.column("status"), sa.column("amount_fen"))
alloc_t = sa.table("award_allocation", sa.column("award_id"), sa.column("funding_source_id"), sa.column("amount_fen"))
contract_t = sa.table("contract", sa.column("id"), sa.column("award_id"), sa.column("application_id"))
tranche_t = sa.table("tranche", sa.column("id"), sa.column("contract_id"), sa.column("status"),
                     sa.column("withheld_fen"), sa.column("payable_at", _UTC), sa.column("settled_at", _UTC))
payment_t = sa.table("payment", sa.column("id"), sa.column("contract_id"), sa.column("tranche_id"),
                     sa.column("status"), sa.column("amount_fen"), sa.column("released_at", _UTC))
reclaim_t = sa.table("reclaim", sa.column("id"), sa.column("payment_id"), sa.column("amount_fen"),
                     sa.column("recorded_at", _UTC))
charge_t = sa.table("source_charge", sa.column("call_id"), sa.column("award_id"), sa.column("funding_source_id"),
                    sa.column("kind"), sa.column("tranche_id"), sa.column("payment_id"), sa.column("reclaim_id"),
                    sa.column("amount_fen"))
summary_t = sa.table("project_summary", sa.column("application_id"), sa.column("funded"))
source_summary_t = sa.table("project_source_summary", sa.column("application_id"), sa.column("funding_source_id"),
                            sa.column("awarded_fen"), sa.column("paid_fen"), sa.column("withheld_fen"),
                            sa.column("reclaimed_fen"))


def _split_against(amount, room, weights=None):
    room = [(fs, max(int(left), 0)) for fs, left in room]
    total = sum(left for _fs, left in room)
    parts = {fs: 0 for fs, _left in room}
    take = min(amount, total)
    if take > 0:
        floors = []
        for i, (fs, left) in enumerate(room):
            q, r = divmod(take * left, total)
            parts[fs] = q
            floors.append((-r, i, fs))
        for _r, _i, fs in sorted(floors)[:take - sum(parts.values())]:
            parts[fs] += 1
    over = amount - take
    if over > 0:
        weights = [(fs, w) for fs, w in (weights or room) if w > 0]
        if not weights:
            parts[UNALLOCATED] = parts.get(UNALLOCATED, 0) + over
        else:
            for fs, fen in _split_against(over, weights).items():
                parts[fs] = parts.get(fs, 0) + fen
    return parts


def _split_movements(allocations, movements):
    """movements: (kind, amount, at, tranche_id, payment_id, reclaim_id) → [(movement, {fs: fen})]."""
    allocations = sorted((fs, a) for fs, a in allocations if a > 0)
    left = dict(allocations)
    net_of, paid_of, out = {}, {}, []

    def order(m):
        kind, _amount, at, tranche_id, payment_id, reclaim_id = m
        return (at is not None, at if at is not None else 0, ("withheld", "paid", "reclaimed").index(kind),
                tranche_id or 0, payment_id or 0, reclaim_id or 0)

    for m in sorted(movements, key=order):
        kind, amount, _at, _tranche_id, payment_id, _reclaim_id = m
        if amount <= 0:
            continue
        if kind == "reclaimed" and net_of.get(payment_id):
            net = net_of[payment_id]
            parts = _split_against(amount, sorted(net.items()), sorted(paid_of[payment_id].items()))
            for fs, fen in parts.items():
                net[fs] = net.get(fs, 0) - fen
        elif not allocations:
            parts = {UNALLOCATED: amount}
        elif kind == "reclaimed":
            parts = _split_against(amount, allocations)
        else:
            parts = _split_against(amount, sorted(left.items()), allocations)
            for fs, fen in parts.items():
                left[fs] = left.get(fs, 0) - fen
            if kind == "paid":
                net_of[payment_id], paid_of[payment_id] = dict(parts), dict(parts)
        out.append((m, {fs: fen for fs, fen in parts.items() if fen}))
    return out


def resplit_existing_rows(conn) -> None:
    """Charge every existing payment, withheld amount and reclaim, then rewrite the per-source dashboard rows."""
    awards = {r.id: r for r in conn.execute(sa.select(award_t.c.id, award_t.c.call_id, award_t.c.application_id,
                                                         award_t.c.status, award_t.c.amount_fen))}
    allocations = defaultdict(list)
    for award_id, fs, fen in conn.execute(sa.select(alloc_t.c.award_id, alloc_t.c.funding_source_id,
                                                    alloc_t.c.amount_fen)):
        allocations[award_id].append((fs, int(fen)))
    award_of_contract = dict(conn.execute(sa.select(contract_t.c.id, contract_t.c.award_id)).all())
    movements = defaultdict(list)
    for contract_id, tranche_id, withheld, payable_at, settled_at in conn.execute(
            sa.select(tranche_t.c.contract_id, tranche_t.c.id, tranche_t.c.withheld_fen, tranche_t.c.payable_at,
                      tranche_t.c.settled_at)
            .where(tranche_t.c.withheld_fen > 0, tranche_t.c.status.in_(WITHHELD_TRANCHE_STATES))):
        movements[award_of_contract[contract_id]].append(
            ("withheld", int(withheld), payable_at or settled_at, tranche_id, None, None))
    payment_contract = {}
    for payment_id, contract_id, tranche_id, status, amount, released_at in conn.execute(
            sa.select(payment_t.c.id, payment_t.c.contract_id, payment_t.c.tranche_id, payment_t.c.status,
                      payment_t.c.amount_fen, payment_t.c.released_at)):
        payment_contract[payment_id] = contract_id
        if status == "released":
            movements[award_of_contract[contract_id]].append(
                ("paid", int(amount), released_at, tranche_id, payment_id, None))
    for reclaim_id, payment_id, amount, recorded_at in conn.execute(
            sa.select(reclaim_t.c.id, reclaim_t.c.payment_id, reclaim_t.c.amount_fen, reclaim_t.c.recorded_at)):
        movements[award_of_contract[payment_contract[payment_id]]].append(
            ("reclaimed", int(amount), recorded_at, None, payment_id, reclaim_id))

    rows = []
    charged = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))  # award → fs → kind → fen
    for award_id, moves in movements.items():
        for (kind, _amount, _at, tranche_id, payment_id, reclaim_id), parts in _split_movements(
                allocations.get(award_id, []), moves):
            for fs, fen in sorted(parts.items()):
                rows.append(dict(call_id=awards[award_id].call_id, award_id=award_id, funding_source_id=fs or None,
                                 kind=kind, tranche_id=tranche_id, payment_id=payment_id if kind != "withheld" else None,
                                 reclaim_id=reclaim_id, amount_fen=fen))
                charged[award_id][fs or UNALLOCATED][kind] += fen
    for start in range(0, len(rows), 1000):
        conn.execute(charge_t.insert(), rows[start:start + 1000])

    # The dashboard's per-source rows, as grants/dashboard/summary.py computes them: the confirmed award's
    # allocation (or its whole amount, unallocated) and the project's charges.
    award_of_app = {r.application_id: r for r in awards.values() if r.status == "confirmed"}
    contract_award = {app_id: award_id for app_id, award_id in conn.execute(
        sa.select(contract_t.c.application_id, contract_t.c.award_id))}
    new_rows = []
    app_ids = [a for (a,) in conn.execute(sa.select(summary_t.c.application_id))]
    for app_id in sorted(app_ids):
        by_source = defaultdict(lambda: dict(awarded_fen=0, paid_fen=0, withheld_fen=0, reclaimed_fen=0))
        award = award_of_app.get(app_id)
        if award is not None:
            if allocations.get(award.id):
                for fs, fen in allocations[award.id]:
                    by_source[fs]["awarded_fen"] += fen
            else:
                by_source[UNALLOCATED]["awarded_fen"] += int(award.amount_fen)
        if app_id in contract_award:
            for fs, kinds in charged.get(contract_award[app_id], {}).items():
                for kind, fen in kinds.items():
                    by_source[fs][f"{kind}_fen"] += fen
        for fs, money in sorted(by_source.items()):
            if any(money.values()):
                new_rows.append(dict(application_id=app_id, funding_source_id=fs or None, **money))
    conn.execute(source_summary_t.delete())
    for start in range(0, len(new_rows), 1000):
        conn.execute(source_summary_t.insert(), new_rows[start:start + 1000])
