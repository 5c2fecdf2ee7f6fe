"""The filter of a call's disclosed projects (GET, no CSRF: it changes nothing)."""
from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import Length, Optional

from grants.core.forms import BaseForm, choices
from grants.core.inputs import int_or_none
from grants.disclosure.services import PROJECT_STATUS_LABELS


class ProjectFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("项目或组织名称"), validators=[Optional(), Length(max=100)])
    category = SelectField(_l("项目类别"), validators=[Optional()], validate_choice=False)
    status = SelectField(_l("项目状态"), validators=[Optional()], choices=choices(
        [("", _l("全部状态"))] + [(str(k), v) for k, v in PROJECT_STATUS_LABELS.items()]))

    def set_categories(self, categories) -> None:
        self.category.choices = choices([("", _l("全部类别"))] + [(str(c.id), c.name) for c in categories])

    @property
    def category_id(self) -> int | None:
        value = (self.category.data or "").strip()
        return int_or_none(value, minimum=1)
