"""Forms for contracts: terms and period, the organisation's signature, reasons, list filters."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from grants.contracts.models import CONTRACT_STATUS_LABELS
from grants.core.forms import BaseForm, choices


class ContractEditForm(BaseForm):
    period_start_on = DateField(_l("执行期开始"), validators=[DataRequired(message=_l("请填写开始日期"))])
    period_end_on = DateField(_l("执行期结束"), validators=[DataRequired(message=_l("请填写结束日期"))])
    terms = TextAreaField(_l("协议条款"), validators=[DataRequired(message=_l("请填写协议条款")),
                                                   Length(max=50000)])


class SignForm(BaseForm):
    signer_name = StringField(_l("签署人姓名"), validators=[DataRequired(message=_l("请填写签署人姓名")), Length(max=50)])
    signer_title = StringField(_l("职务"), validators=[DataRequired(message=_l("请填写签署人职务")), Length(max=50)])
    scan = FileField(_l("盖章扫描件（可选，PDF/JPG/PNG）"))


class ReasonForm(BaseForm):
    reason = TextAreaField(_l("原因"), validators=[DataRequired(message=_l("请填写原因")), Length(max=1000)])


class ActionForm(BaseForm):
    """Only the CSRF token, for buttons that need nothing else."""


class ContractFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("协议编号、项目或组织"), validators=[Optional(), Length(max=100)])
    status = SelectField(_l("状态"), validators=[Optional()])
    call_id = SelectField(_l("创投活动"), validators=[Optional()])

    def set_choices(self, calls) -> None:
        self.status.choices = choices([("", _l("全部状态"))] + [(str(k), v) for k, v in CONTRACT_STATUS_LABELS.items()])
        self.call_id.choices = choices([("", _l("全部活动"))] + [(str(c.id), f"{c.year} · {c.title}") for c in calls])
