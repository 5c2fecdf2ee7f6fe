"""The demo's contracts: three contracts of last year's city call in the states the demo log-ins use, and the
finished call of two years ago with its final grades, payments and published brand project."""
import sqlalchemy as sa

from grants.assessments.models import Assessment
from grants.calls.models import Call
from grants.contracts.models import Contract
from grants.core.timeutil import today_local


def _contracts(db, year):
    return db.session.scalars(sa.select(Contract).join(Call, Call.id == Contract.call_id)
                              .where(Call.year == year).order_by(Contract.seq)).all()


def test_demo_contracts(app, db):
    from grants.demo import load_demo

    load_demo()
    db.session.commit()
    contracts = _contracts(db, today_local().year - 1)
    assert [c.status for c in contracts] == ["active", "active", "issued"]
    first = contracts[0]
    assert [t.status for t in first.tranches][1] == "payable" and first.tranches[1].grade == "good"
    assert first.tranches[2].status == "due"
    waiting = db.session.scalars(sa.select(Assessment).where(Assessment.status == "assigned")).all()
    assert len(waiting) == 1 and waiting[0].evaluator.username == "evaluator"
    assert contracts[2].organization.members[0].user.username == "applicant3"


def test_demo_finished_call_and_brand_project(app, db):
    from grants.brand.models import BrandSelection
    from grants.dashboard import services as dash
    from grants.demo import load_demo
    from grants.finance.models import Payment

    with app.test_request_context():
        load_demo()
        db.session.commit()
        finished = _contracts(db, today_local().year - 2)
        assert [(c.status, c.application.final_grade) for c in finished] == [("completed", "excellent"),
                                                                            ("completed", "good")]
        paid = db.session.scalars(sa.select(Payment).where(Payment.contract_id.in_([c.id for c in finished]))).all()
        assert len(paid) == 6 and {p.status for p in paid} == {"released"}
        assert sum(p.amount_fen for p in paid) == sum(c.amount_fen for c in finished)
        selection = db.session.scalar(sa.select(BrandSelection))
        assert selection.status == "published"
        from grants.brand.services import brand_titles_for

        assert brand_titles_for([c.id for c in finished]) == {finished[0].id: [selection.title]}
        city = finished[0].call.host_unit_id
        board, _calls = dash.dashboard_for(city, dash.Filters())
        assert board.grades == {"excellent": 1, "good": 1}
        assert board.total.streets >= 2
