"""Reproduction: a deadline moved earlier could suppress its reminder. The ledger check compared a due
reminder with the latest one delivered for the subject, whatever the deadline: the end of a 公示 moved a
day earlier falls due at the moment the old deadline's "one day before" reminder went out, so the
"ended" reminder of the new deadline was never sent. It is compared per deadline now."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.awards.models import PublicNotice
from grants.reminders.models import Delivery
from tests.reminders.test_notice_rule import CLOSES_AT, _world


def test_a_deadline_moved_earlier_still_gets_its_reminder(db, clock, run_pass):
    officer, notice = _world(db)
    clock.set(CLOSES_AT - dt.timedelta(days=1, hours=-1))
    run_pass()
    sent = db.session.execute(sa.select(Delivery.occurrence, Delivery.due_at)
                              .where(Delivery.channel == "in_app", Delivery.recipient_id == officer.id)).all()
    assert [o.split("@")[0] for o, _d in sent] == ["1d"]
    # The notice now ends a day earlier: at the moment the "1d" reminder of the old end was due.
    db.session.get(PublicNotice, notice.id).ends_on = notice.ends_on - dt.timedelta(days=1)
    db.session.commit()
    clock.set(CLOSES_AT - dt.timedelta(days=1, hours=-2))
    run_pass()
    sent = db.session.execute(sa.select(Delivery.occurrence, Delivery.due_at)
                              .where(Delivery.channel == "in_app", Delivery.recipient_id == officer.id)
                              .order_by(Delivery.id)).all()
    assert [o.split("@")[0] for o, _d in sent] == ["1d", "overdue"]
    assert sent[1].due_at == CLOSES_AT - dt.timedelta(days=1)
    run_pass()  # and only once
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)
                             .where(Delivery.channel == "in_app", Delivery.recipient_id == officer.id)) == 2
