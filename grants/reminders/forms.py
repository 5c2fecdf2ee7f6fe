"""Forms: reminder rule settings (per call and platform-wide) and e-mail preferences."""
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from grants.core.forms import BaseForm


class RuleSettingForm(BaseForm):
    enabled = BooleanField(_l("发送此提醒"))
    offsets = StringField(_l("提前天数"), validators=[DataRequired(_l("请填写提前天数")), Length(max=60)])


class ActionForm(BaseForm):
    """A bare POST button (CSRF only)."""
