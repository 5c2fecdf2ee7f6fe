from flask_babel import lazy_gettext as _l
from grants.core.forms import BaseForm
from flask_wtf.file import FileField
from wtforms import BooleanField, TextAreaField


class MessageForm(BaseForm):
    body = TextAreaField(_l("消息内容"))
    internal = BooleanField(_l("内部备注（仅工作人员可见，不通知申报组织）"))
    attachment = FileField(_l("附件（可选，PDF/Word/Excel/图片）"))
