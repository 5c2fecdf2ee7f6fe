from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from grants.core.forms import BaseForm, DateBounds, choices
from grants.organizations.models import INSPECTION_RESULTS, LEGAL_FORM_LABELS, RATINGS

_mobile = Regexp(r"^1[3-9]\d{9}$", message=_l("请输入 11 位手机号"))


class ProfileForm(BaseForm):
    legal_form = SelectField(_l("组织类型"), choices=choices((str(k), v) for k, v in LEGAL_FORM_LABELS.items()))
    uscc = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(min=18, max=18,
                                                                          message=_l("统一社会信用代码为 18 位"))])
    filing_number = StringField(_l("备案编号"), validators=[Optional(), Length(max=50)])
    filing_office = StringField(_l("备案街道（乡镇）"), validators=[Optional(), Length(max=100)])
    # Organisations registered long before the platform existed are common: their own range.
    registered_on = DateField(_l("登记/备案日期"), validators=[DataRequired(_l("请填写登记或备案日期")),
                                                         DateBounds(1949, 2100)])
    registration_authority = StringField(_l("登记管理机关"), validators=[Optional(), Length(max=100)])
    host_unit_id = SelectField(_l("登记/备案机关（所属主办单位）"), coerce=int, validate_choice=False,
                               validators=[DataRequired(_l("请选择登记或备案所在的民政部门（街道）"))])
    legal_representative = StringField(_l("法定代表人（负责人）"), validators=[Optional(), Length(max=50)])
    rating = SelectField(_l("评估等级"), coerce=int, choices=choices(RATINGS))
    rating_certificate = FileField(_l("评估等级证书（PDF/JPG/PNG，变更评估等级时必传）"))
    annual_inspection = SelectField(_l("最近年检（年报）结果"), choices=choices(INSPECTION_RESULTS))
    district = StringField(_l("所在区县"), validators=[DataRequired(_l("请填写所在区县")), Length(max=50)])
    street = StringField(_l("所在街道（乡镇）"), validators=[DataRequired(_l("请填写所在街道")), Length(max=50)])
    community = StringField(_l("所在社区（村）"), validators=[Optional(), Length(max=50)])
    address = StringField(_l("详细地址"), validators=[Optional(), Length(max=200)])
    business_scope = TextAreaField(_l("业务范围"), validators=[Optional(), Length(max=2000)])
    contact_name = StringField(_l("联系人"), validators=[DataRequired(_l("请填写联系人")), Length(max=50)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(_l("请填写联系电话")), Length(max=20)])
    contact_email = StringField(_l("联系邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确"))])
    bank_account_name = StringField(_l("开户名称"), validators=[Optional(), Length(max=100)])
    bank_name = StringField(_l("开户银行"), validators=[Optional(), Length(max=100)])
    bank_account_number = StringField(_l("银行账号"), validators=[
        Optional(), Regexp(r"^[0-9 ]{8,40}$", message=_l("银行账号只能包含数字"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from grants.organizations.services import unit_choices

        self.host_unit_id.choices = [(0, _l("请选择"))] + unit_choices()

    def profile(self) -> dict:
        data = {name: getattr(self, name).data for name in (
            "legal_form", "uscc", "filing_number", "filing_office", "registered_on", "registration_authority",
            "host_unit_id", "legal_representative",
            "rating", "annual_inspection", "district", "street", "community", "address", "business_scope",
            "contact_name", "contact_phone", "contact_email", "bank_account_name", "bank_name",
            "bank_account_number")}
        data["bank_account_number"] = (data["bank_account_number"] or "").replace(" ", "")
        return {k: (v.strip() if isinstance(v, str) and k != "business_scope" else v) for k, v in data.items()}


class RegistrationForm(ProfileForm):
    name = StringField(_l("组织名称"), validators=[DataRequired(_l("请填写组织名称")), Length(max=100)])
    admin_name = StringField(_l("管理员姓名"), validators=[DataRequired(_l("请填写管理员姓名")), Length(max=50)])
    admin_username = StringField(_l("登录用户名"), validators=[
        DataRequired(_l("请填写登录用户名")), Length(min=3, max=50),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("用户名只能包含字母、数字、下划线、点和短横线"))])
    admin_mobile = StringField(_l("管理员手机号"), validators=[DataRequired(_l("请填写手机号")), _mobile])
    admin_email = StringField(_l("管理员电子邮箱（可选）"), validators=[Optional(), Email(_l("邮箱格式不正确")),
                                                                Length(max=120)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请设置密码"))])  # policy: accounts.services
    confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", _l("两次输入的密码不一致"))])
    agree = BooleanField(_l("我承诺所填信息真实有效"), validators=[DataRequired(_l("请勾选信息真实性承诺"))])


class ReasonForm(BaseForm):
    reason = TextAreaField(_l("原因"), validators=[Optional(), Length(max=500)])


class InviteForm(BaseForm):
    invitee_name = StringField(_l("被邀请人姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=50)])


class JoinForm(BaseForm):
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请填写姓名")), Length(max=50)])
    username = StringField(_l("登录用户名"), validators=[
        DataRequired(_l("请填写登录用户名")), Length(min=3, max=50),
        Regexp(r"^[A-Za-z0-9_.-]+$", message=_l("用户名只能包含字母、数字、下划线、点和短横线"))])
    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请填写手机号")), _mobile])
    email = StringField(_l("电子邮箱（可选）"), validators=[Optional(), Email(_l("邮箱格式不正确")), Length(max=120)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请设置密码"))])  # policy: accounts.services
    confirm = PasswordField(_l("确认密码"), validators=[EqualTo("password", _l("两次输入的密码不一致"))])


class OrgFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("名称或信用代码"), validators=[Optional()])
    status = SelectField(_l("状态"), choices=choices([("", _l("全部状态")), ("pending", _l("待审核")),
                                            ("verified", _l("已认证")), ("suspended", _l("已暂停"))]),
                         validators=[Optional()])
    legal_form = SelectField(_l("组织类型"), choices=choices([("", _l("全部类型"))] + [(str(k), v) for k, v in LEGAL_FORM_LABELS.items()]),
                             validators=[Optional()])
    district = StringField(_l("区县"), validators=[Optional()])
