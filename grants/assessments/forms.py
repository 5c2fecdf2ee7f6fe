"""Forms for reports and assessments. The report and scoring forms carry rows named by output kind,
spending row or criterion id, read by the parse_* helpers so a refused save keeps what was typed."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from grants.core.forms import BaseForm, choices
from grants.core.inputs import int_or_none
from grants.core.money import Money, MoneyError


class TokenForm(BaseForm):
    """CSRF token (and the pressed button) only."""

    action = HiddenField()


class ReturnForm(BaseForm):
    comment = TextAreaField(_l("退回意见"), validators=[DataRequired(message=_l("请填写退回意见")), Length(max=5000)])


class AcceptForm(BaseForm):
    evaluator_id = SelectField(_l("指派评估人员"), validators=[DataRequired(message=_l("请选择一位评估人员"))])
    comment = TextAreaField(_l("受理意见（可选）"), validators=[Length(max=5000)])

    def set_choices(self, evaluators) -> None:
        self.evaluator_id.choices = choices(
            [("", _l("请选择"))] + [(str(u.id), f"{u.display_name}{'（' + u.affiliation + '）' if u.affiliation else ''}")
                                    for u in evaluators])


class DeadlineForm(BaseForm):
    due_on = DateField(_l("整改期限"), validators=[DataRequired(message=_l("请填写整改期限"))])


def _int(text: str) -> int | None:
    text = (text or "").strip().replace(",", "")
    return int_or_none(text, minimum=0)


def parse_report_form(report, formdata) -> tuple[dict, dict, dict]:
    """→ (achieved by kind, spent fen by row id, problems by field name)."""
    achieved, spent, problems = {}, {}, {}
    for out in report.outputs:
        raw = formdata.get(f"achieved-{out.kind}", "")
        value = _int(raw)
        if value is None and raw.strip():
            problems[f"achieved-{out.kind}"] = _("请填写非负整数")
        elif value is not None:
            achieved[out.kind] = value
    for row in report.spending:
        raw = (formdata.get(f"spent-{row.id}", "") or "").strip()
        if not raw:
            continue
        try:
            money = Money.from_yuan(raw)
        except MoneyError as exc:
            problems[f"spent-{row.id}"] = str(exc)
            continue
        if money.fen < 0:
            problems[f"spent-{row.id}"] = _("金额不能为负数")
        else:
            spent[row.id] = money.fen
    return achieved, spent, problems


def parse_score_form(criteria, formdata) -> tuple[dict, int | None, dict]:
    """→ (points by criterion id, satisfaction pct, problems by field name)."""
    points, problems = {}, {}
    for c in criteria:
        raw = (formdata.get(f"points-{c.id}", "") or "").strip()
        if not raw:
            continue
        value = _int(raw)
        if value is None:
            problems[f"points-{c.id}"] = _("请填写 0 至 %(max)s 的整数", max=c.max_points)
        else:
            points[c.id] = value
    raw = (formdata.get("satisfaction_pct", "") or "").strip().rstrip("%")
    satisfaction = _int(raw)
    if raw and satisfaction is None:
        problems["satisfaction_pct"] = _("请填写 0 至 100 的整数")
    return points, satisfaction, problems
