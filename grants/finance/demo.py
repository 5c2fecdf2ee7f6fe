"""Demo part: the payments requested by the demo contracts are worked by finance — the first approved
by `finance` and released by `finance2` (its voucher printable), the second approved and waiting for
release, the rest in the queue. Runs after the contracts part (nothing to do without payments)."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.accounts.models import User
from grants.core.timeutil import now, today_local
from grants.extensions import db


def demo_payments(units: dict) -> None:
    from grants.finance import services
    from grants.finance.models import Payment, PaymentStatus

    finance = db.session.scalar(sa.select(User).where(User.username == "finance"))
    finance2 = db.session.scalar(sa.select(User).where(User.username == "finance2"))
    payments = db.session.scalars(sa.select(Payment).where(Payment.status == PaymentStatus.REQUESTED)
                                  .order_by(Payment.id)).all()
    if finance is None or finance2 is None or not payments:
        return
    from grants.demo import demo_clock

    first = payments[0]
    # Finance works each payment a few days after it was requested, not on the day the demo is loaded.
    if services.duty_conflict(first, finance, "approve") is None:
        with demo_clock(first.requested_at + dt.timedelta(days=2)):
            services.approve_payment(first, finance)
        if not services.needs_second_approval(first):
            with demo_clock(first.requested_at + dt.timedelta(days=3)):
                services.release_payment(first, finance2, f"DEMO{today_local():%Y%m%d}{first.id:04d}",
                                         today_local())
    if len(payments) > 1 and services.duty_conflict(payments[1], finance, "approve") is None:
        with demo_clock(max(payments[1].requested_at + dt.timedelta(days=2), now() - dt.timedelta(days=1))):
            services.approve_payment(payments[1], finance)
    db.session.flush()
