"""Forms of the brand-project selection. The score sheet has one field per criterion and is read from the
request in the view, as the review score sheet is."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateTimeLocalField, HiddenField, IntegerField, RadioField, SelectField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grants.accounts.forms import MultiCheckboxField
from grants.core.forms import BaseForm, choices
from grants.core.timeutil import SHANGHAI

AGGREGATION_CHOICES = [("mean", _l("算术平均")), ("trimmed_mean", _l("去掉一个最高分和一个最低分后平均（5 位专家以上）"))]


class SelectionForm(BaseForm):
    title = StringField(_l("评选名称"), validators=[DataRequired(message=_l("请填写评选名称")), Length(max=100)])
    year = IntegerField(_l("年度"), validators=[DataRequired(message=_l("请填写年度")),
                                              NumberRange(min=2000, max=2100, message=_l("年度不正确"))])
    call_ids = MultiCheckboxField(_l("参评范围：已结项项目所属的创投活动（不选 = 本单位及下级单位的全部活动）"),
                                  coerce=int, validators=[Optional()])
    winners_count = IntegerField(_l("入选名额"), validators=[DataRequired(message=_l("请填写入选名额")),
                                                           NumberRange(min=1, max=200, message=_l("请填写 1 到 200"))])
    scoring_deadline_at = DateTimeLocalField(
        _l("评分截止时间"), validators=[DataRequired(message=_l("请填写评分截止时间"))], tz=SHANGHAI,
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], invalid_value_message=_l("时间格式不正确"))
    aggregation = SelectField(_l("计分方式"), choices=choices(AGGREGATION_CHOICES), default="mean")
    criteria = TextAreaField(_l("评分细则（每行“名称 分值”，分值即权重）"),
                             validators=[DataRequired(message=_l("请填写评分细则")), Length(max=2000)])


class NominateForm(BaseForm):
    contract_id = SelectField(_l("已结项项目"), coerce=int, validators=[DataRequired(message=_l("请选择项目"))])
    reason = TextAreaField(_l("推荐理由"), validators=[DataRequired(message=_l("请填写推荐理由")), Length(max=5000)])


class PutForwardForm(NominateForm):
    selection_id = HiddenField()


class ReasonForm(BaseForm):
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=500)])


class InviteForm(BaseForm):
    expert_id = SelectField(_l("专家"), coerce=int, validators=[DataRequired(message=_l("请选择专家"))])


class AdvanceForm(BaseForm):
    """A workflow button: open nominations, start scoring, publish (reasons for the others)."""

    action = HiddenField(validators=[DataRequired()])
    reason = StringField(_l("原因"), validators=[Optional(), Length(max=500)])


class DecideForm(BaseForm):
    winner_ids = MultiCheckboxField(_l("入选项目"), coerce=int, validators=[Optional()])
    note = TextAreaField(_l("决定说明"), validators=[Optional(), Length(max=2000)])


class DeclareForm(BaseForm):
    has_conflict = RadioField(_l("利益冲突声明"), choices=choices([("no", _l("无利益冲突")),
                                                             ("yes", _l("有利益冲突，申请回避"))]),
                              validators=[DataRequired(message=_l("请选择有无利益冲突"))])
    reason = TextAreaField(_l("冲突情况说明"), validators=[Optional(), Length(max=500)])


class ScoreForm(BaseForm):
    action = HiddenField()
