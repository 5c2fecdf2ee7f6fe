"""Forms of expert review. The score sheet has one field per rubric criterion, so it is read from the
request by parse_review_form() (a draft keeps whatever valid was typed)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField, HiddenField, IntegerField, PasswordField, RadioField, SelectField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from grants.core.forms import BaseForm, choices
from grants.core.money import Money, MoneyError
from grants.reviews.models import RECOMMENDATION_LABELS, STAGE_LABELS

STAGE_CHOICES = [(str(k), v) for k, v in STAGE_LABELS.items()]


class ExpertForm(BaseForm):
    """专家库 entry; username and password only when creating the account."""

    display_name = StringField(_l("姓名"), validators=[DataRequired(message=_l("请填写姓名")), Length(max=50)])
    username = StringField(_l("登录名"), validators=[Optional(), Length(min=3, max=50)])
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=128)])
    title = StringField(_l("职称"), validators=[Optional(), Length(max=50)])
    specialties = StringField(_l("专业领域（用顿号或逗号分隔，如 为老服务、社会工作）"),
                              validators=[Optional(), Length(max=300)])
    employer = StringField(_l("工作单位"), validators=[Optional(), Length(max=120)])
    affiliated_organization = StringField(_l("关联社会组织（名称或统一社会信用代码，任职/兼职/顾问等）"),
                                          validators=[Optional(), Length(max=100)])
    phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=30)])
    mobile = StringField(_l("手机号（可用于登录）"), validators=[Optional(), Length(max=20)])
    email = StringField(_l("电子邮箱"), validators=[Optional(), Email(message=_l("邮箱格式不正确")), Length(max=120)])

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating
        self.organization_id: int | None = None

    def validate_username(self, field):
        if self.creating and not (field.data or "").strip():
            raise ValidationError(_("请填写登录名"))

    def validate_password(self, field):
        if self.creating and not field.data:
            raise ValidationError(_("请设置初始密码"))

    def validate_affiliated_organization(self, field):
        import sqlalchemy as sa

        from grants.extensions import db
        from grants.organizations.models import Organization

        text = (field.data or "").strip()
        self.organization_id = None
        if not text:
            return
        org = db.session.scalar(sa.select(Organization).where(sa.or_(Organization.name == text,
                                                                     Organization.uscc == text.upper())))
        if org is None:
            raise ValidationError(_("没有找到名称或代码为“%(t)s”的社会组织", t=text))
        self.organization_id = org.id


class InviteForm(BaseForm):
    expert_id = SelectField(_l("专家"), coerce=int, validators=[DataRequired(message=_l("请选择专家"))])
    stage = SelectField(_l("评审环节"), choices=choices(STAGE_CHOICES), default="written")


class ActionForm(BaseForm):
    """A button that only needs the CSRF token."""

    action = HiddenField()


class DeclareForm(BaseForm):
    has_conflict = RadioField(_l("利益冲突声明"), choices=choices([("no", _l("无利益冲突")),
                                                             ("yes", _l("有利益冲突，申请回避"))]),
                              validators=[DataRequired(message=_l("请选择有无利益冲突"))])
    reason = TextAreaField(_l("冲突情况说明"), validators=[Optional(), Length(max=500)])

    def validate_reason(self, field):
        if self.has_conflict.data == "yes" and not (field.data or "").strip():
            raise ValidationError(_("请说明利益冲突的情况"))


class OfficerConflictForm(BaseForm):
    application_id = SelectField(_l("申报项目"), coerce=int, validators=[DataRequired(message=_l("请选择申报"))])
    expert_id = SelectField(_l("专家"), coerce=int, validators=[DataRequired(message=_l("请选择专家"))])
    reason = StringField(_l("回避原因"), validators=[DataRequired(message=_l("请填写回避原因")), Length(max=500)])


class AssignForm(BaseForm):
    application_id = SelectField(_l("申报项目"), coerce=int, validators=[DataRequired(message=_l("请选择申报"))])
    expert_id = SelectField(_l("专家"), coerce=int, validators=[DataRequired(message=_l("请选择专家"))])
    stage = SelectField(_l("评审环节"), choices=choices(STAGE_CHOICES), default="written")


class AutoAssignForm(BaseForm):
    stage = SelectField(_l("评审环节"), choices=choices(STAGE_CHOICES), default="written")
    n = IntegerField(_l("每份申报的专家人数"), validators=[Optional(), NumberRange(min=1, max=30,
                                                                            message=_l("请填写 1 到 30"))])


class ReassignForm(BaseForm):
    expert_id = SelectField(_l("改派给"), coerce=int, validators=[DataRequired(message=_l("请选择专家"))])
    reason = StringField(_l("改派原因"), validators=[Optional(), Length(max=200)])


class ReopenForm(BaseForm):
    reason = StringField(_l("退回原因"), validators=[DataRequired(message=_l("请填写退回原因")), Length(max=500)])


class ShortlistForm(BaseForm):
    size = IntegerField(_l("入围数量"), validators=[DataRequired(message=_l("请填写入围数量")),
                                                NumberRange(min=1, max=1000, message=_l("请填写 1 到 1000"))])
    per_category = BooleanField(_l("按类别分别入围（每个类别取前 N 名）"))


class ReviewForm(BaseForm):
    """CSRF and the action (save / submit); the scores are read by parse_review_form()."""

    action = HiddenField()


RECOMMENDATION_CHOICES = [(str(k), v) for k, v in RECOMMENDATION_LABELS.items()]


def parse_review_form(formdata, criteria) -> dict:
    """The score sheet as typed: points and comments per criterion, overall comment, recommendation, amount."""
    data = {
        "points": {c.id: (formdata.get(f"points-{c.id}") or "").strip() for c in criteria},
        "comments": {c.id: (formdata.get(f"comment-{c.id}") or "").strip() for c in criteria},
        "overall_comment": (formdata.get("overall_comment") or "").strip()[:5000],
        "recommendation": (formdata.get("recommendation") or "").strip(),
        "suggested_amount_fen": None,
    }
    amount = (formdata.get("suggested_amount") or "").strip()
    if amount:
        try:
            data["suggested_amount_fen"] = Money.from_yuan(amount).fen
        except MoneyError:
            data["suggested_amount_error"] = _("金额格式不正确，请填写元，最多两位小数")
    return data
