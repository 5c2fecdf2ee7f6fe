"""Review.points_total (what the ranking reads) always equals the sum of the review's scores."""
import sqlalchemy as sa

from grants.reviews.models import Review, ReviewScore
from tests.reviews import factories as rf


def test_points_total_follows_the_scores_whoever_writes_them(db):
    call = rf.review_call()
    a = rf.eligible_application(call, status="under_review")
    t = rf.assignment(a, rf.expert())
    criteria = call.criteria_for("written")
    # Written directly through the ORM, as seed scripts of other domains do, without points_total.
    review = Review(assignment_id=t.id, application_id=a.id, expert_id=t.expert_id, stage="written",
                    status="submitted", overall_comment="好", recommendation="fund", submitted_at=a.submitted_at)
    review.scores = [ReviewScore(criterion_id=c.id, points=p) for c, p in zip(criteria, [18, 25, 16, 12, 12])]
    db.session.add(review)
    db.session.commit()
    assert db.session.scalar(sa.select(Review.points_total)) == 83
    review.scores[0].points = 10
    db.session.commit()
    assert db.session.scalar(sa.select(Review.points_total)) == 75
    db.session.delete(review.scores[1])
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Review.points_total)) == 50
