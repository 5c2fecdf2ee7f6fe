from decimal import Decimal

from tests.reviews import factories as rf


def test_compute_ranking_smoke(db):
    from grants.reviews.services import compute_ranking

    call = rf.review_call()
    a1 = rf.eligible_application(call, status="under_review")
    a2 = rf.eligible_application(call, status="under_review")
    e1, e2 = rf.expert(), rf.expert()
    for a, pts in ((a1, [(18, 25, 16, 12, 12), (16, 27, 18, 13, 10)]), (a2, [(20, 30, 20, 15, 15), (10, 10, 10, 5, 5)])):
        for e, p in zip((e1, e2), pts):
            rf.submitted_review(rf.assignment(a, e), list(p))
    rows = compute_ranking(call)
    assert [r.application.id for r in rows] == [a1.id, a2.id]
    assert rows[0].written_score == Decimal("83.50")
    assert rows[1].written_score == Decimal("70.00") and rows[1].flagged
