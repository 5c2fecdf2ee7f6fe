"""The demo shows every phase today (docs/TOUR.md): a call closed yesterday waiting for screening and its panel,
an award list whose 公示 has ended ready for 定项 and contracts, and a second city officer who approved it."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from grants.accounts.models import User
from grants.applications.models import Application, ApplicationStatus
from grants.awards.models import Award, AwardStatus
from grants.calls.models import Call, CallStatus
from grants.core.timeutil import now, to_local, today_local
from grants.reviews.models import PanelMember


@pytest.fixture()
def demo(app, db):
    from grants.demo import load_demo

    with app.test_request_context():
        load_demo()
        db.session.commit()
        yield db


def _user(db, name):
    return db.session.scalar(sa.select(User).where(User.username == name))


def test_a_city_call_closed_yesterday_waits_for_screening_and_its_panel(demo):
    call = demo.session.scalar(sa.select(Call).where(Call.title.like("%社区治理专项创投")))
    assert call.status == CallStatus.PUBLISHED and not call.is_open
    assert to_local(call.close_at).date() == today_local() - dt.timedelta(days=1)
    apps = demo.session.scalars(sa.select(Application).where(Application.call_id == call.id)).all()
    assert len(apps) >= 3 and {a.status for a in apps} == {ApplicationStatus.SUBMITTED}
    assert all(a.submitted_at < call.close_at for a in apps)
    assert demo.session.scalar(sa.select(sa.func.count()).select_from(PanelMember)
                               .where(PanelMember.call_id == call.id)) >= 3


def test_an_award_list_whose_notice_ended_is_ready_for_contracts(demo):
    from grants.awards.services import finalize_problems, notice_of

    call = demo.session.scalar(sa.select(Call).where(Call.title.like("%为老助残服务专项创投")))
    assert call.status == CallStatus.NOTICE
    notice = notice_of(call)
    assert notice.has_ended and notice.ends_on < today_local()
    assert finalize_problems(call) == []
    chief, officer = _user(demo, "officer2"), _user(demo, "officer")
    awards = demo.session.scalars(sa.select(Award).where(Award.call_id == call.id)).all()
    assert awards and {a.status for a in awards} == {AwardStatus.APPROVED}
    assert {a.approved_by_id for a in awards} == {chief.id} and {a.proposed_by_id for a in awards} == {officer.id}
    assert call.tranches and call.project_start_on


def test_second_city_officer(demo):
    chief = _user(demo, "officer2")
    officer = _user(demo, "officer")
    assert chief.display_name == "陈局长" and chief.host_unit_id == officer.host_unit_id
    assert chief.has_role("officer")
