"""Aggregation pinned against hand-computed figures: totals, mean, trimmed mean, weights, spread, pitch
combination, z-scores and the tie-break."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from grants.core.timeutil import UTC
from grants.reviews import scoring
from tests.reviews import factories as rf

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("points, max_points, expected", [
    # rubric 20/30/20/15/15 adds up to 100: the total is the sum of the points
    ([18, 25, 16, 12, 12], [20, 30, 20, 15, 15], D("83.00")),
    ([20, 30, 20, 15, 15], [20, 30, 20, 15, 15], D("100.00")),
    ([0, 0, 0, 0, 0], [20, 30, 20, 15, 15], D("0.00")),
    # rubric 10/20/10 adds up to 40: each criterion weighs max/40, the sum is scaled to 100
    ([8, 15, 7], [10, 20, 10], D("75.00")),          # 30 / 40 × 100
    ([10, 20, 10], [10, 20, 10], D("100.00")),
    # rubric 10/10/10: 25 / 30 × 100 = 83.333… → 83.33 ; 20 / 30 = 66.666… → 66.67 (half up)
    ([9, 8, 8], [10, 10, 10], D("83.33")),
    ([7, 7, 6], [10, 10, 10], D("66.67")),
])
def test_weighted_review_total(points, max_points, expected):
    ids = range(len(points))
    assert scoring.q2(scoring.weighted_total(dict(zip(ids, points)), dict(zip(ids, max_points)))) == expected


@pytest.mark.parametrize("totals, method, expected", [
    ([80, 90, 70], "mean", D("80.00")),
    ([80, 90, 70], "trimmed_mean", D("80.00")),              # fewer than 5: nothing dropped
    ([70, 71, 72, 90], "trimmed_mean", D("75.75")),          # 4 reviews: plain mean 303 / 4
    ([60, 75, 80, 85, 99], "mean", D("79.80")),              # 399 / 5
    ([60, 75, 80, 85, 99], "trimmed_mean", D("80.00")),      # drop 60 and 99: 240 / 3
    ([60, 60, 80, 99, 99], "trimmed_mean", D("79.67")),      # drop ONE 60 and ONE 99: 239 / 3 = 79.666…
    ([83, 84, 84], "mean", D("83.67")),                      # 251 / 3 = 83.666… rounds half up
    ([80, 81], "mean", D("80.50")),
    ([D("83.333333"), D("86.666667")], "mean", D("85.00")),  # totals are kept unrounded until the end
    ([55, 62, 70, 71, 88, 93], "trimmed_mean", D("72.75")),  # drop 55 and 93: 291 / 4
])
def test_aggregate(totals, method, expected):
    assert scoring.q2(scoring.aggregate([D(t) for t in totals], method)) == expected


def test_aggregate_of_nothing_is_none():
    assert scoring.aggregate([], "mean") is None
    assert scoring.std_dev([]) is None and scoring.spread([]) is None


@pytest.mark.parametrize("totals, sd, spread", [
    ([80, 90, 70], D("8.16"), D("20")),       # σ = √(200 / 3) = 8.1649…
    ([75, 75, 75, 75], D("0.00"), D("0")),
    ([60, 75, 80, 85, 99], D("12.73"), D("39")),   # σ² = (392.04 + 23.04 + 0.04 + 27.04 + 368.64) / 5 = 162.16
])
def test_std_dev_and_spread(totals, sd, spread):
    values = [D(t) for t in totals]
    assert scoring.q2(scoring.std_dev(values)) == sd
    assert scoring.spread(values) == spread


@pytest.mark.parametrize("written, pitch, weight, expected", [
    (D("80.00"), D("90.00"), 40, D("84.00")),    # 80 × 0.6 + 90 × 0.4
    (D("83.67"), D("70.00"), 40, D("78.20")),    # 50.202 + 28
    (D("80.00"), D("90.00"), 50, D("85.00")),
    (D("80.00"), D("90.00"), 0, D("80.00")),
    (D("75.50"), D("88.25"), 30, D("79.33")),    # 52.85 + 26.475 = 79.325 → 79.33 (half up)
    (D("80.00"), None, 40, D("80.00")),          # not pitched: the written score
    (None, D("90.00"), 40, None),
])
def test_pitch_combination(written, pitch, weight, expected):
    assert scoring.q2(scoring.combine(written, pitch, weight)) == expected


def test_z_scores_per_expert():
    zs = scoring.z_scores([(1, 10, D(70)), (1, 11, D(80)), (1, 12, D(90)), (2, 10, D(60)), (3, 10, D(75)),
                           (3, 11, D(75))])
    assert zs[(1, 10)] == pytest.approx(-1.224745, abs=1e-6)
    assert zs[(1, 11)] == pytest.approx(0.0)
    assert zs[(1, 12)] == pytest.approx(1.224745, abs=1e-6)
    assert zs[(2, 10)] == 0.0          # a single review says nothing about the expert
    assert zs[(3, 10)] == zs[(3, 11)] == 0.0  # σ = 0


# (label, final, pitch, written, submitted_at, id) in the expected order, best first.
TIE_BREAK_CASES = [
    ("higher final wins", [("a", D("90"), None, D("90"), T0, 2), ("b", D("80"), None, D("80"), T0, 1)]),
    ("same final: higher pitch", [("a", D("84.00"), D("90.00"), D("80.00"), T0, 2),
                                  ("b", D("84.00"), D("88.50"), D("81.00"), T0, 1)]),
    ("same final and pitch: higher written", [("a", D("80.01"), D("80.00"), D("80.02"), T0, 2),
                                             ("b", D("80.01"), D("80.00"), D("80.01"), T0, 1)]),
    ("same scores: earlier submission", [("a", D("85"), None, D("85"), T0, 9),
                                         ("b", D("85"), None, D("85"), T0 + dt.timedelta(minutes=1), 1)]),
    ("everything equal: smaller id", [("a", D("85"), None, D("85"), T0, 3), ("b", D("85"), None, D("85"), T0, 4)]),
    ("no score sorts last", [("a", D("10"), None, D("10"), T0, 2), ("b", None, None, None, T0, 1)]),
]


@pytest.mark.parametrize("label, expected", TIE_BREAK_CASES, ids=[c[0] for c in TIE_BREAK_CASES])
def test_tie_break_order(label, expected):
    shuffled = list(reversed(expected))
    got = sorted(shuffled, key=lambda r: scoring.rank_key(r[1], r[2], r[3], r[4], r[5]))
    assert [r[0] for r in got] == [r[0] for r in expected]


def test_pitched_rank_before_not_pitched():
    rows = [("written only", D("95"), None, D("95"), T0, 1), ("pitched", D("70"), D("60"), D("76.67"), T0, 2)]
    got = sorted(rows, key=lambda r: scoring.rank_key(r[1], r[2], r[3], r[4], r[5], pitched_first=True))
    assert [r[0] for r in got] == ["pitched", "written only"]


# --- through the database: compute_ranking -----------------------------------------------------

def _scored_call(db, aggregation="mean", pitch=False, weight=40):
    call = rf.review_call(aggregation=aggregation, pitch=pitch, pitch_weight_pct=weight)
    experts = [rf.expert() for _ in range(5)]
    return call, experts


def _review_all(app_, experts, rows, stage="written", submitted_at=T0):
    for e, pts in zip(experts, rows):
        rf.submitted_review(rf.assignment(app_, e, stage), list(pts), submitted_at=submitted_at)


def test_ranking_mean_with_categories_and_flags(db):
    from grants.reviews.services import compute_ranking

    call, ex = _scored_call(db)
    elderly, disabled = call.categories
    a1 = rf.eligible_application(call, status="scored", category=elderly)
    a2 = rf.eligible_application(call, status="scored", category=disabled)
    a3 = rf.eligible_application(call, status="scored", category=elderly)
    _review_all(a1, ex[:3], [(18, 25, 16, 12, 12), (16, 27, 18, 13, 10), (20, 28, 18, 14, 14)])  # 83, 84, 94
    _review_all(a2, ex[:3], [(20, 30, 20, 15, 15), (10, 20, 10, 5, 5), (15, 25, 15, 12, 13)])    # 100, 50, 80
    _review_all(a3, ex[:2], [(12, 20, 14, 10, 10), (14, 22, 14, 10, 10)])                       # 66, 70
    rows = {r.application.id: r for r in compute_ranking(call)}
    r1, r2, r3 = rows[a1.id], rows[a2.id], rows[a3.id]
    assert (r1.written_score, r2.written_score, r3.written_score) == (D("87.00"), D("76.67"), D("68.00"))
    assert r1.final_score == r1.written_score and r1.pitch_score is None
    assert (r1.rank_overall, r2.rank_overall, r3.rank_overall) == (1, 2, 3)
    assert (r1.rank_in_category, r3.rank_in_category, r2.rank_in_category) == (1, 2, 1)
    assert r2.spread == D("50.00") and r2.flagged and not r1.flagged   # 100 − 50 > 20 ; 94 − 83 = 11
    assert r1.std_dev == D("4.97")   # σ of 83, 84, 94 = √(74 / 3) = 4.966…
    assert r1.review_count == 3 and r3.review_count == 2


def test_ranking_trimmed_mean_drops_one_highest_and_lowest(db):
    from grants.reviews.services import compute_ranking

    call, ex = _scored_call(db, aggregation="trimmed_mean")
    a = rf.eligible_application(call, status="scored")
    b = rf.eligible_application(call, status="scored")
    # totals 60, 75, 80, 85, 99 → (75 + 80 + 85) / 3 = 80.00
    _review_all(a, ex, [(12, 18, 12, 9, 9), (15, 22, 15, 12, 11), (16, 24, 16, 12, 12), (17, 25, 17, 13, 13),
                        (20, 30, 20, 15, 14)])
    # 4 reviews only: 70, 71, 72, 90 → 75.75 (nothing dropped)
    _review_all(b, ex[:4], [(14, 21, 14, 11, 10), (14, 21, 14, 11, 11), (14, 21, 15, 11, 11), (18, 27, 18, 14, 13)])
    rows = {r.application.id: r for r in compute_ranking(call)}
    assert rows[a.id].written_score == D("80.00") and rows[a.id].review_count == 5
    assert rows[b.id].written_score == D("75.75")
    assert rows[a.id].rank_overall == 1


def test_ranking_with_pitch_combines_by_weight(db):
    from grants.reviews.services import compute_ranking

    call, ex = _scored_call(db, pitch=True, weight=40)
    a = rf.eligible_application(call, status="pitched")
    b = rf.eligible_application(call, status="pitched")
    c = rf.eligible_application(call, status="scored")      # not shortlisted, higher written score
    _review_all(a, ex[:2], [(16, 24, 16, 12, 12), (16, 24, 16, 12, 12)])   # 80
    _review_all(b, ex[:2], [(17, 25, 17, 12, 12), (16, 25, 16, 13, 12)])   # 83, 82 → 82.50
    _review_all(c, ex[:2], [(20, 30, 20, 15, 15), (20, 30, 20, 15, 15)])   # 100
    _review_all(a, ex[2:4], [(45, 45), (45, 45)], stage="pitch")           # 90
    _review_all(b, ex[2:4], [(40, 40), (42, 41)], stage="pitch")           # 80, 83 → 81.50
    rows = compute_ranking(call)
    by = {r.application.id: r for r in rows}
    assert by[a.id].final_score == D("84.00")    # 80 × 0.6 + 90 × 0.4
    assert by[b.id].final_score == D("82.10")    # 82.5 × 0.6 + 81.5 × 0.4 = 49.5 + 32.6
    assert [r.application.id for r in rows] == [a.id, b.id, c.id]   # pitched first, then the rest
    assert by[c.id].final_score == D("100.00") and by[c.id].pitch_score is None


def test_ranking_tie_break_by_submission_then_id(db):
    from grants.reviews.services import compute_ranking

    call, ex = _scored_call(db)
    late = rf.eligible_application(call, status="scored", submitted_at=T0 + dt.timedelta(hours=1))
    early = rf.eligible_application(call, status="scored", submitted_at=T0)
    same1 = rf.eligible_application(call, status="scored", submitted_at=T0 + dt.timedelta(hours=2))
    same2 = rf.eligible_application(call, status="scored", submitted_at=T0 + dt.timedelta(hours=2))
    for a in (late, early, same1, same2):
        _review_all(a, ex[:2], [(16, 24, 16, 12, 12), (16, 24, 16, 12, 12)])
    order = [r.application.id for r in compute_ranking(call)]
    assert order == [early.id, late.id, min(same1.id, same2.id), max(same1.id, same2.id)]


def test_tie_break_is_explained_on_the_ranking_page(db, client, login_as):
    call = rf.review_call()
    officer = rf.factories.user(roles=("officer",), unit=call.host_unit)
    login_as(officer)
    resp = client.get(f"/reviews/calls/{call.id}/ranking")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "同分时依次比较：路演得分、书面评审得分、申报提交时间（早者优先）" in html


@pytest.mark.parametrize("sums, max_sum, method", [
    ([83, 84, 94], 100, "mean"), ([60, 75, 80, 85, 99], 100, "trimmed_mean"), ([30, 40], 40, "mean"),
    ([25, 26, 20, 29, 30, 21], 30, "trimmed_mean"), ([7], 30, "mean"), ([55, 62, 70, 71, 88, 93], 100, "mean"),
])
def test_fast_summary_matches_the_plain_figures(sums, max_sum, method):
    totals = [scoring.review_total(s, max_sum) for s in sums]
    fast = scoring.summarise(sums, max_sum, method)
    assert fast.score == scoring.q2(scoring.aggregate(totals, method))
    assert fast.std_dev == scoring.q2(scoring.std_dev(totals))
    assert fast.spread == scoring.q2(scoring.spread(totals))
