"""The demo's contracts part: three contracts of last year's city call in the states the demo log-ins use."""
import sqlalchemy as sa

from grants.assessments.models import Assessment
from grants.contracts.models import Contract


def test_demo_contracts(app, db):
    from grants.demo import load_demo

    load_demo()
    db.session.commit()
    contracts = db.session.scalars(sa.select(Contract).order_by(Contract.seq)).all()
    assert [c.status for c in contracts] == ["active", "active", "issued"]
    first = contracts[0]
    assert [t.status for t in first.tranches][1] == "payable" and first.tranches[1].grade == "good"
    assert first.tranches[2].status == "due"
    waiting = db.session.scalars(sa.select(Assessment).where(Assessment.status == "assigned")).all()
    assert len(waiting) == 1 and waiting[0].evaluator.username == "evaluator"
    assert contracts[2].organization.members[0].user.username == "applicant3"
