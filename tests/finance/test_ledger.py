"""Ledger arithmetic: proportional charging with remainders, withheld and reclaimed sums, totals equal
to the sum of entries, and a fixed number of queries."""
from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from grants.extensions import db
from grants.finance import services
from grants.finance.ledger import (ENTRY_KINDS, UNALLOCATED, call_ledger, calls_summary, charge_to_sources,
                                   ledger_entries_page, ledger_totals)
from grants.finance.models import Payment
from tests.finance import factories as ff

TODAY = dt.date(2026, 11, 23)


# --- proportional charging ----------------------------------------------------------------

def test_charge_splits_in_proportion_with_largest_remainders():
    assert charge_to_sources(100, [(1, 1), (2, 1), (3, 1)]) == {1: 34, 2: 33, 3: 33}
    assert charge_to_sources(2_000_000, [(7, 3_000_000), (9, 2_000_000)]) == {7: 1_200_000, 9: 800_000}
    assert charge_to_sources(1, [(1, 50), (2, 50)]) == {1: 1, 2: 0}
    # The fen left over goes to the largest fraction, not to the last source.
    assert charge_to_sources(10, [(1, 1), (2, 2)]) == {1: 3, 2: 7}
    # Sources are taken in id order whatever order the allocations come in.
    assert charge_to_sources(10, [(5, 1), (2, 2)]) == {2: 7, 5: 3}


def test_charge_without_allocations_goes_to_unallocated():
    assert charge_to_sources(123, []) == {UNALLOCATED: 123}


def test_charge_always_adds_up_exactly():
    rnd = random.Random(2026)
    for _ in range(2000):
        allocations = [(i, rnd.randint(1, 10_000_000)) for i in range(1, rnd.randint(1, 5) + 1)]
        amount = rnd.randint(1, 50_000_000)
        parts = charge_to_sources(amount, allocations)
        assert sum(parts.values()) == amount
        assert all(v >= 0 for v in parts.values())
        total = sum(a for _i, a in allocations)
        for fs, a in allocations:
            assert amount * a // total <= parts[fs] <= amount * a // total + 1


# --- the ledger of a call ------------------------------------------------------------------

@pytest.fixture()
def scene(db):
    """Two projects in a call with two sources; payments released, one reduced by its assessment,
    one reclaim."""
    call = ff.funded_call(sources=(("welfare_lottery", 60_000_000), ("fiscal_matching", 40_000_000)))
    f1, f2 = ff.finance_user(call), ff.finance_user(call)
    # Project A: ¥50,000 charged 30,000.01 / 19,999.99 (odd split, so remainders show).
    a = ff.active_contract(call, amount_fen=5_000_000, shares=(3_000_001, 1_999_999))
    # Project B: ¥33,333.33 all from the first source.
    b = ff.active_contract(call, amount_fen=3_333_333, shares=(3_333_333, 0))
    for i, contract in enumerate((a, b)):
        p = ff.first_payment(contract)
        services.approve_payment(p, f1)
        services.release_payment(p, f2, f"L{i}", TODAY)
    # A's mid-term tranche assessed at 80 %: 20 % of it withheld, the rest paid.
    ff.assess_tranche(a.tranches[1], payment_pct=80, grade="pass", score=65)
    mid = db.session.scalars(sa.select(Payment).where(Payment.tranche_id == a.tranches[1].id)).one()
    services.approve_payment(mid, f1)
    services.release_payment(mid, f2, "L-mid", TODAY)
    services.record_reclaim(ff.first_payment(b), f1, 333_333, "部分活动未开展")
    db.session.flush()
    return dict(call=call, a=a, b=b, mid=mid)


def test_ledger_figures(scene):
    call, a, b, mid = scene["call"], scene["a"], scene["b"], scene["mid"]
    ledger = call_ledger(call)
    s1, s2 = ledger.sources
    # committed: the confirmed awards' allocations
    assert (s1.committed_fen, s2.committed_fen) == (3_000_001 + 3_333_333, 1_999_999)
    # paid: A first 40 % = 2,000,000 split 1,200,000.4 → 1,200,000 / 800,000;
    #       A mid 30 % × 80 % = 1,200,000 → 720,000 / 480,000; B first 40 % of 3,333,333 = 1,333,333 → all s1
    a_first = a.tranches[0].payable_fen
    assert a_first == 2_000_000 and mid.amount_fen == 1_200_000
    b_first = b.tranches[0].payable_fen
    assert b_first == 1_333_333
    assert s1.paid_fen == 1_200_000 + 720_000 + b_first
    assert s2.paid_fen == 800_000 + 480_000
    # withheld: A's mid tranche planned 1,500,000, 80 % paid, 300,000 withheld → 180,000 / 120,000
    assert a.tranches[1].withheld_fen == 300_000
    assert (s1.withheld_fen, s2.withheld_fen) == (180_000, 120_000)
    # reclaimed: 333,333 from B (all s1)
    assert (s1.reclaimed_fen, s2.reclaimed_fen) == (333_333, 0)
    assert s1.remaining_fen == s1.committed_fen - s1.paid_fen - s1.withheld_fen
    assert s2.balance_fen == 40_000_000 - (s2.paid_fen - s2.reclaimed_fen)


def test_ledger_totals_equal_the_sum_of_entries(scene):
    ledger = call_ledger(scene["call"])
    for line in ledger.sources:
        for kind in ("committed", "paid", "withheld", "reclaimed"):
            assert getattr(line, f"{kind}_fen") == sum(
                e.by_source.get(line.source_id, 0) for e in ledger.entries if e.kind == kind)
    for e in ledger.entries:
        assert sum(e.by_source.values()) == e.amount_fen
    total = ledger.total
    released = db.session.scalar(sa.select(sa.func.sum(Payment.amount_fen)).where(Payment.status == "released"))
    assert total.paid_fen == released == sum(e.amount_fen for e in ledger.entries if e.kind == "paid")
    assert total.reclaimed_fen == 333_333
    assert total.withheld_fen == 300_000
    assert total.committed_fen == 5_000_000 + 3_333_333


def test_calls_summary_matches_the_ledger(scene):
    call = scene["call"]
    ledger = call_ledger(call)
    summary = calls_summary([call.id])[call.id]
    t = ledger.total
    assert summary == dict(committed=t.committed_fen, paid=t.paid_fen, reclaimed=t.reclaimed_fen,
                           withheld=t.withheld_fen)


def test_ledger_uses_a_fixed_number_of_queries(scene, app):
    def count_queries(call):
        db.session.commit()  # the ledger is read after the changes were committed (and charged)
        db.session.expire_all()
        n = 0

        def on_exec(*_a, **_k):
            nonlocal n
            n += 1

        sa.event.listen(db.engine, "before_cursor_execute", on_exec)
        try:
            call_ledger(db.session.get(type(call), call.id))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", on_exec)
        return n

    before = count_queries(scene["call"])
    f1, f2 = ff.finance_user(scene["call"]), ff.finance_user(scene["call"])
    for i in range(4):
        p = ff.first_payment(ff.active_contract(scene["call"], amount_fen=2_000_000))
        services.approve_payment(p, f1)
        services.release_payment(p, f2, f"Q{i}", TODAY)
        services.record_reclaim(p, f1, 100, "抽查追回")
    db.session.flush()
    assert count_queries(scene["call"]) == before <= 7  # the call itself + six


# --- the ledger page: totals in SQL, entries a page at a time --------------------------------

def _figures(ledger):
    return [(s.source_id, s.label, s.budget_fen, s.committed_fen, s.paid_fen, s.withheld_fen, s.reclaimed_fen)
            for s in ledger.sources]


def _more_projects(call, n, odd=True):
    f1, f2 = ff.finance_user(call), ff.finance_user(call)
    for i in range(n):
        shares = (1_000_003 + i, 999_998 - i) if odd else (2_000_001 + i, 0)
        contract = ff.active_contract(call, amount_fen=sum(shares), shares=shares)
        p = ff.first_payment(contract)
        services.approve_payment(p, f1)
        services.release_payment(p, f2, f"M{call.id}-{i}-{odd}", TODAY)
        services.record_reclaim(p, f1, 101 + i, "抽查追回")
    db.session.flush()


def test_sql_totals_equal_the_sum_of_entries(scene):
    _more_projects(scene["call"], 3)
    ledger = call_ledger(scene["call"])
    assert _figures(ledger_totals(scene["call"])) == _figures(ledger)


def test_sql_totals_of_awards_without_allocations(scene):
    from grants.awards.models import AwardAllocation

    _more_projects(scene["call"], 2)
    award_id = scene["b"].award_id
    db.session.execute(sa.delete(AwardAllocation).where(AwardAllocation.award_id == award_id))
    db.session.flush()
    ledger = call_ledger(scene["call"])
    assert any(s.source_id == UNALLOCATED for s in ledger.sources)
    assert _figures(ledger_totals(scene["call"])) == _figures(ledger)


def test_entry_pages_follow_the_ledger(scene):
    _more_projects(scene["call"], 3)
    full = call_ledger(scene["call"])
    for kind in ENTRY_KINDS:
        expected = [e for e in full.entries if e.kind == kind]
        got, total = [], None
        for page in (1, 2, 3, 4):
            entries, total = ledger_entries_page(scene["call"], kind, page, per_page=2)
            got += entries
        assert total == len(expected) and got == expected


def test_ledger_page_queries_do_not_grow(scene, client, login_as, app):
    call = scene["call"]
    officer = ff.officer(call)
    db.session.commit()
    login_as(officer)

    def count(url):
        n = 0

        def on_exec(*_a, **_k):
            nonlocal n
            n += 1

        sa.event.listen(db.engine, "before_cursor_execute", on_exec)
        try:
            r = client.get(url)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", on_exec)
        assert r.status_code == 200
        return n, r.get_data(as_text=True)

    count(f"/finance/ledger/{call.id}")  # warm-up: the session reloads what the commit expired
    small = {k: count(f"/finance/ledger/{call.id}?kind={k}")[0] for k in ENTRY_KINDS}
    _more_projects(call, 6)
    db.session.commit()
    count(f"/finance/ledger/{call.id}")
    large = {k: count(f"/finance/ledger/{call.id}?kind={k}")[0] for k in ENTRY_KINDS}
    assert large == small and max(small.values()) <= 12
    _n, body = count(f"/finance/ledger/{call.id}?kind=reclaimed")
    assert "抽查追回" in body and "部分活动未开展" in body
