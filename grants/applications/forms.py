"""Forms: the application form is parsed leniently (a draft keeps whatever was typed), the
repeating sections come as rows named <section>-<index>-<cell>."""
from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants.applications.models import BUDGET_KIND_LABELS, STATUS_LABELS, BudgetKind, FundedBy, OutputKind
from grants.applications.services import TEXT_FIELDS, DraftInput
from grants.core.forms import BaseForm, choices
from grants.core.inputs import MAX_YEAR, MIN_YEAR, int_or_none, parse_int, year_in_bounds
from grants.core.money import Money, MoneyError

ROW_SECTIONS = {
    "area": ("street", "community"),
    "activity": ("title", "start_on", "end_on", "description"),
    "member": ("name", "role", "is_social_worker", "certificate_no", "certificate_level"),
    "budget": ("kind", "item", "unit_price", "quantity", "funded_by"),
}
_ROW_RE = re.compile(r"^(area|activity|member|budget)-(\d{1,3})-(\w+)$")
MAX_TEXT = 20000


class ApplicationForm(BaseForm):
    """Only the CSRF token and the action; the fields are read by parse_application_form()."""

    action = HiddenField()


def _rows(formdata, section: str) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = defaultdict(dict)
    for key in formdata.keys():
        m = _ROW_RE.match(key)
        if m and m.group(1) == section and m.group(3) in ROW_SECTIONS[section]:
            rows[int(m.group(2))][m.group(3)] = (formdata.get(key) or "").strip()
    # Rows the user left completely empty are dropped; anything typed is kept.
    return [rows[i] for i in sorted(rows)
            if any(v for k, v in rows[i].items() if k not in ("kind", "funded_by", "certificate_level"))]


def _date(value: str, problems: list[str], label: str) -> dt.date | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        problems.append(_("%(label)s日期格式不正确：%(v)s", label=label, v=value))
        return None
    if not year_in_bounds(day):
        problems.append(_("%(label)s日期须在 %(a)s 年至 %(b)s 年之间：%(v)s", label=label, a=MIN_YEAR, b=MAX_YEAR,
                          v=value))
        return None
    return day


def _int(value: str, problems: list[str], label: str, maximum: int = 10**9) -> int | None:
    if value in ("", None):
        return None
    try:
        number = parse_int(value.replace(",", ""), minimum=-(10**12), maximum=10**12)
    except ValueError:
        problems.append(_("%(label)s须为整数：%(v)s", label=label, v=value))
        return None
    if number < 0 or number > maximum:
        problems.append(_("%(label)s超出范围：%(v)s", label=label, v=value))
        return None
    return number


def _money(value: str, problems: list[str], label: str) -> int | None:
    if not value:
        return None
    try:
        fen = Money.from_yuan(value).fen
    except MoneyError:
        problems.append(_("%(label)s金额格式不正确：%(v)s（请填写数字，最多两位小数）", label=label, v=value))
        return None
    if fen < 0 or fen > 10**10:  # ¥100 million: far above any grant, and unit × quantity stays in range
        problems.append(_("%(label)s超出范围：%(v)s", label=label, v=value))
        return None
    return fen


def parse_application_form(formdata) -> DraftInput:
    """Read the application form into a DraftInput; unreadable cells become problems, not losses."""
    data = DraftInput()
    p = data.problems
    for name in TEXT_FIELDS:
        value = formdata.get(name)
        if value is not None:
            limit = 100 if name == "project_name" else MAX_TEXT
            if len(value) > limit:
                p[name].append(_("不超过 %(n)s 字，超出部分未保存", n=limit))
            data.texts[name] = value[:limit]
    raw_category = formdata.get("category_id", "")
    if raw_category:
        # An unreadable choice must not clear the saved category: -1 is no category of any call, so
        # save_draft reports it and keeps what was saved.
        data.category_id = int_or_none(raw_category, minimum=1)
        if data.category_id is None:
            data.category_id = -1
    data.requested_fen = _money(formdata.get("requested", ""), p["requested"], _("申请资助金额"))
    data.declaration = formdata.get("declaration") in ("y", "1", "on", "true")

    for row in _rows(formdata, "area"):
        data.service_areas.append({"street": row.get("street", "")[:50], "community": row.get("community", "")[:50]})
    for i, row in enumerate(_rows(formdata, "activity"), start=1):
        label = _("第 %(i)s 项活动", i=i)
        data.activities.append({
            "title": row.get("title", "")[:100], "description": row.get("description", "")[:MAX_TEXT],
            "start_on": _date(row.get("start_on", ""), p["activities"], label),
            "end_on": _date(row.get("end_on", ""), p["activities"], label),
        })
    for kind in OutputKind:
        value = _int(formdata.get(f"target-{kind}", "").strip(), p["output_targets"], _("绩效目标"))
        if value is not None:
            data.output_targets[str(kind)] = value
    for row in _rows(formdata, "member"):
        data.team_members.append({
            "name": row.get("name", "")[:50], "role": row.get("role", "")[:50],
            "is_social_worker": row.get("is_social_worker") in ("y", "1", "on"),
            "certificate_no": row.get("certificate_no", "")[:50],
            "certificate_level": row.get("certificate_level", "")
            if row.get("certificate_level") in ("", "assistant", "social_worker", "senior") else "",
        })
    for i, row in enumerate(_rows(formdata, "budget"), start=1):
        label = _("第 %(i)s 行预算", i=i)
        kind = row.get("kind") if row.get("kind") in {str(k) for k in BudgetKind} else str(BudgetKind.OTHER)
        funded = row.get("funded_by") if row.get("funded_by") in {str(f) for f in FundedBy} else str(FundedBy.GRANT)
        line = {
            "kind": kind, "item": row.get("item", "")[:100], "funded_by": funded,
            "unit_price_fen": _money(row.get("unit_price", ""), p["budget"], label + _("单价")),
            "quantity": _int(row.get("quantity", ""), p["budget"], label + _("数量"), maximum=10**6),
        }
        # A typed value that was refused keeps the saved one (save_draft), instead of becoming 0.
        line["rejected"] = {k for k, raw in (("unit_price_fen", "unit_price"), ("quantity", "quantity"))
                            if line[k] is None and row.get(raw)}
        data.budget_lines.append(line)
    data.problems = {k: v for k, v in p.items() if v}
    return data


def budget_kind_choices():
    return [(str(k), v) for k, v in BUDGET_KIND_LABELS.items()]


class ScreeningForm(BaseForm):
    action = HiddenField()
    reason = TextAreaField(_l("审查意见 / 原因"), validators=[Optional(), Length(max=1000)])
    new_deadline = DateTimeLocalField(_l("重新提交截止时间（北京时间）"), format="%Y-%m-%dT%H:%M",
                                      validators=[Optional()])


class ScreeningFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = StringField(_l("编号、项目、简介或组织名称"), validators=[Optional()])
    status = SelectField(_l("状态"), validators=[Optional()])
    category = SelectField(_l("类别"), validators=[Optional()])
    district = SelectField(_l("区县"), validators=[Optional()])

    def set_choices(self, categories, districts) -> None:
        self.status.choices = choices([("", _l("全部状态"))] + [
            (str(k), v) for k, v in STATUS_LABELS.items() if str(k) != "draft"])
        self.category.choices = choices([("", _l("全部类别"))] + [(str(c.id), c.name) for c in categories])
        self.district.choices = choices([("", _l("全部区县"))] + [(d, d) for d in districts])
