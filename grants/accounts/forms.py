from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    login = StringField(_l("用户名或手机号"), validators=[DataRequired(_l("请输入用户名或手机号"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))])
    remember = BooleanField(_l("记住我"))


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField(_l("原密码"), validators=[DataRequired(_l("请输入原密码"))])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码")), Length(min=8, max=128)])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("new_password", _l("两次输入的新密码不一致"))])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class UserForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名")), Length(max=50)])
    display_name = StringField(_l("姓名"), validators=[DataRequired(_l("请输入姓名")), Length(max=50)])
    # Every person has a mobile (codes, SMS notices, password reset); e-mail is optional.
    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请填写手机号")),
                                                  Regexp(r"^1[3-9]\d{9}$", message=_l("请输入 11 位手机号"))])
    email = StringField(_l("电子邮箱"), validators=[Optional(), Email(_l("邮箱格式不正确"))])
    host_unit_id = SelectField(_l("所属主办单位"), coerce=int)
    affiliation = StringField(_l("工作单位"), validators=[Optional(), Length(max=120)])
    roles = MultiCheckboxField(_l("角色"))
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(min=8, max=128)])
    is_active = BooleanField(_l("账号启用"), default=True)


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(_l("临时密码"), validators=[DataRequired(_l("请输入临时密码")), Length(min=8, max=128)])


_MOBILE = Regexp(r"^1[3-9]\d{9}$", message=_l("请输入 11 位手机号"))


class ContactsForm(FlaskForm):
    mobile = StringField(_l("手机号"), validators=[DataRequired(_l("请填写手机号")), _MOBILE])
    email = StringField(_l("电子邮箱（可选）"), validators=[Optional(), Email(_l("邮箱格式不正确")), Length(max=120)])


class CodeForm(FlaskForm):
    which = HiddenField()
    code = StringField(_l("验证码"), validators=[DataRequired(_l("请输入验证码")), Length(max=10)])


class SendCodeForm(FlaskForm):
    which = HiddenField()


class ForgotPasswordForm(FlaskForm):
    contact = StringField(_l("手机号或电子邮箱"), validators=[DataRequired(_l("请填写手机号或电子邮箱")), Length(max=120)])


class ResetWithCodeForm(FlaskForm):
    contact = StringField(_l("手机号或电子邮箱"), validators=[DataRequired(_l("请填写手机号或电子邮箱")), Length(max=120)])
    code = StringField(_l("短信验证码"), validators=[DataRequired(_l("请输入验证码")), Length(max=64)])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码")), Length(min=8, max=128)])
    confirm = PasswordField(_l("确认新密码"), validators=[EqualTo("new_password", _l("两次输入的新密码不一致"))])
