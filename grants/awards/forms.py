"""Forms of the award pages and the public objection form (CSRF through Flask-WTF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField, HiddenField, MultipleFileField, RadioField, SelectField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from grants.core.forms import BaseForm, choices
from grants.core.money import Money, MoneyError


def _amount(form, field):
    try:
        money = Money.from_yuan(field.data or "")
    except MoneyError:
        raise ValidationError(_l("请输入以元为单位的金额，最多两位小数"))
    if money.fen <= 0:
        raise ValidationError(_l("资助金额必须大于零"))
    field.fen = money.fen


class AdjustForm(BaseForm):
    amount = StringField(_l("资助金额（元）"), [DataRequired(_l("请填写资助金额")), _amount])
    reason = StringField(_l("调整理由"), [DataRequired(_l("请填写调整理由")), Length(max=500)])


class AllocationForm(BaseForm):
    """资金来源分摊: one amount per funding source (`source-<id>` fields, read by `shares`), or 按建议分摊."""

    reset = HiddenField()

    def shares(self, sources) -> tuple[dict[int, int], list[str]]:
        """{source id: fen} from the posted amounts in yuan (empty = 0), and the Chinese problems found."""
        from flask import request

        out, problems = {}, []
        for source in sources:
            text = (request.form.get(f"source-{source.id}") or "").strip()
            if not text:
                out[source.id] = 0
                continue
            try:
                out[source.id] = Money.from_yuan(text).fen
            except MoneyError:
                problems.append(str(_l("“%(name)s”：请输入以元为单位的金额，最多两位小数", name=source.label)))
        return out, problems


class ExcludeForm(BaseForm):
    reason = StringField(_l("不予资助的理由"), [DataRequired(_l("请填写不予资助的理由")), Length(max=500)])


class IncludeForm(BaseForm):
    application_id = HiddenField()
    amount = StringField(_l("资助金额（元）"), [DataRequired(_l("请填写资助金额")), _amount])
    reason = StringField(_l("纳入理由"), [DataRequired(_l("请填写调整理由")), Length(max=500)])


class ReopenForm(BaseForm):
    reason = StringField(_l("退回理由"), [DataRequired(_l("请填写退回理由")), Length(max=500)])


class PublishForm(BaseForm):
    show_panel_names = BooleanField(_l("在公示页面公布评审专家名单"))


class HandleObjectionForm(BaseForm):
    decision = RadioField(_l("处理结果"), choices=choices([("reject", _l("异议不成立，维持资助")),
                                                       ("uphold", _l("异议成立，取消资助"))]),
                          validators=[DataRequired(_l("请选择处理结果"))])
    reason = TextAreaField(_l("处理理由"), [DataRequired(_l("请填写处理理由")), Length(max=1000)])
    promote = BooleanField(_l("异议成立时，在预算内递补下一名未获资助的项目"), default=True)


class ObjectionForm(BaseForm):
    application_id = SelectField(_l("异议针对的项目"), coerce=int, validators=[DataRequired(_l("请选择项目"))])
    objector_name = StringField(_l("姓名或单位名称"), [DataRequired(_l("请填写姓名或单位名称")), Length(max=50)])
    contact = StringField(_l("联系方式（电话或电子邮箱）"), [DataRequired(_l("请填写联系方式")), Length(max=100)])
    content = TextAreaField(_l("异议事实和理由"), [DataRequired(_l("请具体说明异议的事实和理由")),
                                                 Length(min=10, max=5000, message=_l("请用 10 到 5000 个字说明"))])
    # Checked by the service through the common upload checks (type by content, size).
    evidence = MultipleFileField(_l("证明材料（可选，最多 5 个：PDF、图片或 Word 文件）"))
