"""Finance forms. Every action form carries the payment's version as read when the page was drawn, so
a double submit or a stale page is recognised and answered with the current state."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import HiddenInput

from grants.core.forms import BaseForm, choices
from grants.core.money import Money, MoneyError
from grants.finance.models import PAYMENT_STATUS_LABELS


class PaymentActionForm(BaseForm):
    """Approve, second approval, resubmit: nothing but the CSRF token and the version."""

    version = IntegerField(widget=HiddenInput(), validators=[Optional()])


class ReasonForm(PaymentActionForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(_l("请填写原因")), Length(max=1000)])


class HoldForm(ReasonForm):
    whole_project = BooleanField(_l("暂停整个项目：本项目其他未支付的拨款，以及暂停期间新申请的拨款"))


class LiftForm(ReasonForm):
    whole_project = BooleanField(_l("同时解除本项目的整体暂停（其下暂停的拨款一并解除）"))


class ReleaseForm(PaymentActionForm):
    bank_reference = StringField(_l("银行流水号"), validators=[DataRequired(_l("请填写银行流水号（交易参考号）")),
                                                             Length(max=64)])
    released_on = DateField(_l("支付日期"), validators=[DataRequired(_l("请填写支付日期（格式 2026-11-23）"))])


class ReclaimForm(PaymentActionForm):
    amount = StringField(_l("追回金额（元）"), validators=[DataRequired(_l("请填写追回金额"))])
    reason = TextAreaField(_l("追回原因"), validators=[DataRequired(_l("请填写追回原因")), Length(max=1000)])
    reference = StringField(_l("退回款银行流水号（如已到账）"), validators=[Optional(), Length(max=64)])

    def amount_fen(self) -> int | None:
        try:
            return Money.from_yuan(self.amount.data or "").fen
        except MoneyError as exc:
            self.amount.errors = [*self.amount.errors, str(exc)]
            return None


class QueueFilterForm(BaseForm):
    """GET filters of the payment queue (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    status = SelectField(_l("状态"), validators=[Optional()])
    call_id = SelectField(_l("创投活动"), validators=[Optional()])
    org = StringField(_l("社会组织"), validators=[Optional(), Length(max=100)])

    def fill(self, calls) -> None:
        self.status.choices = choices([("open", _l("待处理（全部未支付）")), ("all", _l("全部")),
                                       ("reclaim", _l("建议追回（结项评估不合格）"))]
                                      + [(str(k), v) for k, v in PAYMENT_STATUS_LABELS.items()])
        self.call_id.choices = choices([("", _l("全部活动"))] + [(str(c.id), c.title if str(c.year) in c.title else f"{c.year} {c.title}")
                                                                 for c in calls])
