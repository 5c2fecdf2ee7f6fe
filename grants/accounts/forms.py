from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from grants.core.forms import BaseForm


class LoginForm(BaseForm):
    login = StringField(_l("用户名或手机号"), validators=[DataRequired(_l("请输入用户名或手机号"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))])
    remember = BooleanField(_l("记住我"))


class ChangePasswordForm(BaseForm):
    old_password = PasswordField(_l("原密码"), validators=[DataRequired(_l("请输入原密码"))])
    # Length and strength are the policy of accounts.services.validate_new_password, in one place.
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码"))])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("new_password", _l("两次输入的新密码不一致"))])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(BaseForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=50)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请输入姓名")), Length(max=50)])
    # Every person has a mobile (codes, SMS notices, password reset); e-mail is optional.
    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请填写手机号")),
                                                  Regexp(r"^1[3-9]\d{9}$", message=_l("请输入 11 位手机号"))])
    email = StringField(_l("电子邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确"))])
    host_unit_id = SelectField(_l("所属主办单位"), coerce=int)
    affiliation = StringField(_l("工作单位"), validators=[Optional(), Length(max=120)])
    roles = MultiCheckboxField(_l("角色"))
    password = PasswordField(_l("初始密码"), validators=[Optional()])
    is_active = BooleanField(_l("账号启用"), default=True)


class ResetPasswordForm(BaseForm):
    new_password = PasswordField(_l("临时密码"), validators=[DataRequired(_l("请输入临时密码"))])


class TwoFactorLoginForm(BaseForm):
    code = StringField(_l("6 位验证码"), validators=[Optional(), Length(max=10)])
    recovery_code = StringField(_l("恢复码"), validators=[Optional(), Length(max=20)])
    trust_device = BooleanField(_l("30 天内在此设备上免输验证码"))

    def validate(self, extra_validators=None) -> bool:
        return super().validate(extra_validators) and bool(self.code.data or self.recovery_code.data)


class EnableTwoFactorForm(BaseForm):
    code = StringField(_l("验证器应用显示的 6 位验证码"), validators=[DataRequired(_l("请输入验证器应用中的 6 位验证码")),
                                                         Length(max=10)])


class RecoveryCodesForm(BaseForm):
    password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入密码"))])


class DisableTwoFactorForm(BaseForm):
    password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入密码"))])


_MOBILE = Regexp(r"^1[3-9]\d{9}$", message=_l("请输入 11 位手机号"))


class ContactsForm(BaseForm):
    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请填写手机号")), _MOBILE])
    email = StringField(_l("电子邮箱（可选）"), validators=[Optional(), Email(_l("邮箱格式不正确")), Length(max=120)])


class CodeForm(BaseForm):
    which = HiddenField()
    code = StringField(_l("验证码"), validators=[DataRequired(_l("请输入验证码")), Length(max=10)])


class SendCodeForm(BaseForm):
    which = HiddenField()


class ForgotPasswordForm(BaseForm):
    contact = StringField(_l("手机号或电子邮箱"), validators=[DataRequired(_l("请填写手机号或电子邮箱")), Length(max=120)])


class ResetWithCodeForm(BaseForm):
    contact = StringField(_l("手机号或电子邮箱"), validators=[DataRequired(_l("请填写手机号或电子邮箱")), Length(max=120)])
    code = StringField(_l("短信验证码"), validators=[DataRequired(_l("请输入验证码")), Length(max=64)])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码"))])  # policy: accounts.services
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("new_password", _l("两次输入的新密码不一致"))])
