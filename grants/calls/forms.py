"""The call form: one page in sections, with editable child rows (categories, funding, rubric …)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField, DateField, DateTimeLocalField, FieldList, Form, FormField, IntegerField, SelectField, StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grants.accounts.forms import MultiCheckboxField
from grants.calls.models import (
    AGGREGATION_LABELS, FUNDING_KIND_LABELS, GRADE_LABELS, TRANCHE_TRIGGER_LABELS, RubricStage,
)
from grants.core.forms import BaseForm, BaseSubForm, choices
from grants.core.money import Money, MoneyError
from grants.core.storage import KIND_BY_EXTENSION
from grants.core.timeutil import SHANGHAI
from grants.organizations.models import LEGAL_FORM_LABELS, RATINGS

_INT = _l("请填写整数")
_DATE = _l("日期格式不正确")
_DATETIME = _l("时间格式不正确")


def _int(label, *validators, **kw):
    return IntegerField(label, validators=[Optional(), *validators], invalid_value_message=_INT, **kw)


def _pct(label, **kw):
    return _int(label, NumberRange(0, 100, message=_l("请填写 0 到 100 之间的整数")), **kw)


class ScoreLineField(StringField):
    """分数线: a score from 0 to 100 with at most two decimals ('70', '72.5'); data is a Decimal or None."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if not text:
            return
        import re
        from decimal import Decimal

        if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", text) or Decimal(text) > 100:
            raise ValueError(_l("请填写 0 到 100 之间的分数，最多两位小数"))
        self.data = Decimal(text)


class YuanField(StringField):
    """An amount typed in yuan ('50000' / '5万' is not accepted / '12,345.67'); data is integer fen or None."""

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return Money(self.data).yuan_text.removesuffix(".00")

    def process_formdata(self, valuelist):
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        try:
            self.data = Money.from_yuan(valuelist[0]).fen
        except MoneyError as exc:
            self.data = None
            raise ValueError(str(_l("金额格式不正确（请填写元，最多两位小数）"))) from exc
        if self.data < 0:
            self.data = None
            raise ValueError(str(_l("金额不能为负数")))


def _beijing_datetime(label):
    return DateTimeLocalField(label, validators=[Optional()], tz=SHANGHAI,
                              format=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"],
                              invalid_value_message=_DATETIME)


# --- child rows ----------------------------------------------------------------------------
# Rows are wtforms.Form (no CSRF of their own). Required cells are checked in CallForm.validate so
# that a row added and left blank is simply dropped instead of blocking the save.

class FundingRow(BaseSubForm):
    kind = SelectField(_l("资金来源"), choices=choices((str(k), v) for k, v in FUNDING_KIND_LABELS.items()))
    name = StringField(_l("名称/说明"), validators=[Optional(), Length(max=100)])
    amount = YuanField(_l("金额（元）"))
    _required = ("amount",)
    _text = ("name", "amount")


class CategoryRow(BaseSubForm):
    name = StringField(_l("类别名称"), validators=[Optional(), Length(max=50)])
    quota = YuanField(_l("额度（元，可空）"))
    _required = ("name",)
    _text = ("name", "quota")


class AttachmentRow(BaseSubForm):
    name = StringField(_l("附件名称"), validators=[Optional(), Length(max=100)])
    required = BooleanField(_l("必须提交"), default=True)
    allowed_types = StringField(_l("允许的类型"), default="pdf,jpg,png", validators=[Optional(), Length(max=100)])
    _required = ("name",)
    _text = ("name",)


class CriterionRow(BaseSubForm):
    name = StringField(_l("评分项"), validators=[Optional(), Length(max=50)])
    description = StringField(_l("评分说明"), validators=[Optional(), Length(max=500)])
    max_points = _int(_l("分值"), NumberRange(1, 100, message=_l("分值应在 1 到 100 之间")))
    _required = ("name", "max_points")
    _text = ("name", "description", "max_points")


class TrancheRow(BaseSubForm):
    name = StringField(_l("节点名称"), validators=[Optional(), Length(max=50)])
    percent = _int(_l("比例（%）"), NumberRange(1, 100, message=_l("比例应在 1 到 100 之间")))
    trigger = SelectField(_l("拨付条件"), choices=choices((str(k), v) for k, v in TRANCHE_TRIGGER_LABELS.items()))
    _required = ("name", "percent")
    _text = ("name", "percent")


class BandRow(BaseSubForm):
    min_score = _int(_l("最低分（含）"), NumberRange(0, 100, message=_l("分数应在 0 到 100 之间")))
    grade = SelectField(_l("等级"), choices=choices((str(k), v) for k, v in GRADE_LABELS.items()))
    payment_pct = _pct(_l("拨付比例（%）"))
    rectification = BooleanField(_l("需整改"))
    _required = ("min_score", "payment_pct")
    _text = ("min_score", "payment_pct")


ROW_FORMS = {
    "funding_sources": FundingRow, "categories": CategoryRow, "attachment_requirements": AttachmentRow,
    "written_criteria": CriterionRow, "pitch_criteria": CriterionRow, "tranches": TrancheRow,
    "score_bands": BandRow,
}
_REQUIRED_MESSAGES = {
    "amount": _l("请填写金额"), "name": _l("请填写名称"), "max_points": _l("请填写分值"),
    "percent": _l("请填写比例"), "min_score": _l("请填写最低分"), "payment_pct": _l("请填写拨付比例"),
}


def _rows(form_class):
    return FieldList(FormField(form_class), min_entries=0)


class CallForm(BaseForm):
    # 基本信息
    title = StringField(_l("活动名称"), validators=[DataRequired(_l("请填写活动名称")), Length(max=200)])
    year = _int(_l("年度"), NumberRange(2000, 2100, message=_l("年度不正确")))
    host_unit_id = SelectField(_l("主办单位"), coerce=int)
    operator_organization_id = SelectField(_l("承办单位（可空，承办单位不得申报本活动）"), coerce=int)
    description = TextAreaField(_l("活动简介（征集公告正文）"), validators=[Optional(), Length(max=20000)])
    # 预算与类别
    funding_sources = _rows(FundingRow)
    categories = _rows(CategoryRow)
    # 申报限制
    min_grant = YuanField(_l("单个项目资助下限（元）"))
    max_grant = YuanField(_l("单个项目资助上限（元）"))
    min_own_funding_pct = _pct(_l("自筹/配套资金最低比例（占项目总额 %）"))
    max_applications_per_org = _int(_l("每个组织最多申报项目数"), NumberRange(1, 20, message=_l("应在 1 到 20 之间")))
    filed_org_max_grant = YuanField(_l("备案组织资助上限（元，可空）"))
    filed_org_max_applications = _int(_l("备案组织最多申报项目数（可空）"),
                                      NumberRange(1, 20, message=_l("应在 1 到 20 之间")))
    max_personnel_pct = _pct(_l("人员经费最高比例（占资助金额 %，可空）"))
    max_management_pct = _pct(_l("管理费最高比例（占资助金额 %，可空）"))
    # 资格条件
    require_verified = BooleanField(_l("须为平台认证的社会组织"), default=True)
    allowed_legal_forms = MultiCheckboxField(_l("允许申报的组织类型（不选 = 全部）"),
                                             choices=choices((str(k), v) for k, v in LEGAL_FORM_LABELS.items()))
    min_years_registered = _int(_l("登记/备案满几年"), NumberRange(0, 50, message=_l("应在 0 到 50 之间")))
    min_rating = SelectField(_l("最低评估等级"), coerce=int, choices=choices(RATINGS))
    exclude_blacklisted = BooleanField(_l("排除列入活动异常名录或严重违法失信名单的组织"), default=True)
    exclude_failed_previous = BooleanField(_l("排除上一届项目结项不合格的组织"), default=True)
    # 时间安排（北京时间）
    open_at = _beijing_datetime(_l("申报开始时间"))
    close_at = _beijing_datetime(_l("申报截止时间"))
    review_start_at = _beijing_datetime(_l("专家评审开始"))
    review_end_at = _beijing_datetime(_l("专家评审结束"))
    notice_working_days = _int(_l("公示期（工作日）"), NumberRange(1, 30, message=_l("应在 1 到 30 之间")))
    project_start_on = DateField(_l("项目执行开始日期"), validators=[Optional()], invalid_value_message=_DATE)
    project_end_on = DateField(_l("项目执行结束日期"), validators=[Optional()], invalid_value_message=_DATE)
    # 申报附件
    attachment_requirements = _rows(AttachmentRow)
    # 评审设置
    reviewers_per_application = _int(_l("每份申报书评审专家人数"), NumberRange(1, 15, message=_l("应在 1 到 15 之间")))
    aggregation = SelectField(_l("得分计算方式"), choices=choices((str(k), v) for k, v in AGGREGATION_LABELS.items()))
    blind_review = BooleanField(_l("盲审（专家看不到申报组织名称）"))
    show_other_scores = BooleanField(_l("专家可看到其他专家的评分"))
    written_criteria = _rows(CriterionRow)
    pitch_enabled = BooleanField(_l("设置路演答辩环节"))
    pitch_weight_pct = _pct(_l("路演成绩权重（%）"))
    pitch_shortlist_size = _int(_l("入围路演项目数（可空）"), NumberRange(1, 500, message=_l("应在 1 到 500 之间")))
    min_final_score = ScoreLineField(_l("资助分数线（最终得分低于此分不予资助，可空）"))
    pitch_criteria = _rows(CriterionRow)
    # 拨付与评估
    tranches = _rows(TrancheRow)
    score_bands = _rows(BandRow)
    contract_terms = TextAreaField(_l("资助协议条款模板"), validators=[Optional(), Length(max=50000)])

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for list_name in ROW_FORMS:
            seen: dict[str, object] = {}
            for entry in getattr(self, list_name).entries:
                row = entry.form
                if _blank(row):
                    continue
                for name in row._required:
                    f = row[name]
                    if f.data in (None, "") and not f.errors:
                        f.errors = list(f.errors) + [str(_REQUIRED_MESSAGES[name])]
                        ok = False
                key_field = "min_score" if list_name == "score_bands" else "name"
                if key_field in row._fields and row[key_field].data not in (None, ""):
                    key = str(row[key_field].data).strip()
                    if key in seen:
                        row[key_field].errors = list(row[key_field].errors) + [str(_l("与上面的行重复"))]
                        ok = False
                    seen[key] = row
                if list_name == "attachment_requirements":
                    types = _types(row.allowed_types.data)
                    unknown = [t for t in types if t not in KIND_BY_EXTENSION]
                    if unknown or not types:
                        row.allowed_types.errors = list(row.allowed_types.errors) + [
                            str(_l("可选类型：%(types)s，用逗号分隔", types=",".join(sorted(KIND_BY_EXTENSION))))]
                        ok = False
        return ok

    # --- form → service arguments ----------------------------------------------------
    def settings(self, *, published: bool = False) -> dict:
        data = {
            "title": (self.title.data or "").strip(), "year": self.year.data,
            "operator_organization_id": self.operator_organization_id.data or None,
            "description": self.description.data or "",
            "open_at": self.open_at.data, "close_at": self.close_at.data,
            "review_start_at": self.review_start_at.data, "review_end_at": self.review_end_at.data,
            "notice_working_days": self.notice_working_days.data or 5,
            "project_start_on": self.project_start_on.data, "project_end_on": self.project_end_on.data,
            "min_grant_fen": self.min_grant.data or 0, "max_grant_fen": self.max_grant.data or 0,
            "min_own_funding_pct": self.min_own_funding_pct.data or 0,
            "max_applications_per_org": self.max_applications_per_org.data or 1,
            "filed_org_max_grant_fen": self.filed_org_max_grant.data or None,
            "filed_org_max_applications": self.filed_org_max_applications.data,
            "max_personnel_pct": self.max_personnel_pct.data, "max_management_pct": self.max_management_pct.data,
            "require_verified": bool(self.require_verified.data),
            "allowed_legal_forms": list(self.allowed_legal_forms.data or []),
            "min_years_registered": self.min_years_registered.data or 0, "min_rating": self.min_rating.data or 0,
            "exclude_blacklisted": bool(self.exclude_blacklisted.data),
            "exclude_failed_previous": bool(self.exclude_failed_previous.data),
            "reviewers_per_application": self.reviewers_per_application.data or 5,
            "aggregation": self.aggregation.data or "mean",
            "blind_review": bool(self.blind_review.data), "show_other_scores": bool(self.show_other_scores.data),
            "pitch_enabled": bool(self.pitch_enabled.data),
            "pitch_weight_pct": self.pitch_weight_pct.data if self.pitch_weight_pct.data is not None else 40,
            "pitch_shortlist_size": self.pitch_shortlist_size.data,
            "min_final_score": self.min_final_score.data,
            "contract_terms": self.contract_terms.data or "",
        }
        for key in ("open_at", "close_at", "review_start_at", "review_end_at"):
            if data[key] is not None:
                data[key] = data[key].astimezone(SHANGHAI)  # aware; the column stores UTC
        return data

    def children(self) -> dict[str, list[dict]]:
        def rows(name):
            return [e.form for e in getattr(self, name).entries if not _blank(e.form)]

        criteria = [dict(stage=RubricStage.WRITTEN, name=r.name.data.strip(), description=r.description.data or "",
                         max_points=r.max_points.data, sort=i) for i, r in enumerate(rows("written_criteria"))]
        criteria += [dict(stage=RubricStage.PITCH, name=r.name.data.strip(), description=r.description.data or "",
                          max_points=r.max_points.data, sort=i) for i, r in enumerate(rows("pitch_criteria"))]
        return {
            "funding_sources": [dict(kind=r.kind.data, name=(r.name.data or "").strip(), amount_fen=r.amount.data)
                                for r in rows("funding_sources")],
            "categories": [dict(name=r.name.data.strip(), quota_fen=r.quota.data or None, sort=i)
                           for i, r in enumerate(rows("categories"))],
            "attachment_requirements": [dict(name=r.name.data.strip(), required=bool(r.required.data),
                                             allowed_types=_types(r.allowed_types.data), sort=i)
                                        for i, r in enumerate(rows("attachment_requirements"))],
            "criteria": criteria,
            "tranches": [dict(seq=i + 1, name=r.name.data.strip(), percent=r.percent.data, trigger=r.trigger.data)
                         for i, r in enumerate(rows("tranches"))],
            "score_bands": [dict(min_score=r.min_score.data, grade=r.grade.data, payment_pct=r.payment_pct.data,
                                 rectification=bool(r.rectification.data)) for r in rows("score_bands")],
        }

    def fill_from(self, call) -> None:
        """Show a saved call (GET)."""
        for key, value in self.settings_from(call).items():
            if key in self._fields:
                self[key].data = value
        for name in ROW_FORMS:
            fl = getattr(self, name)
            fl.entries = []
            fl.last_index = -1
        for src in call.funding_sources:
            self.funding_sources.append_entry(dict(kind=src.kind, name=src.name, amount=src.amount_fen))
        for cat in call.categories:
            self.categories.append_entry(dict(name=cat.name, quota=cat.quota_fen))
        for att in call.attachment_requirements:
            self.attachment_requirements.append_entry(dict(name=att.name, required=att.required,
                                                           allowed_types=",".join(att.allowed_types or [])))
        for crit in call.criteria:
            target = self.written_criteria if crit.stage == RubricStage.WRITTEN else self.pitch_criteria
            target.append_entry(dict(name=crit.name, description=crit.description, max_points=crit.max_points))
        for t in call.tranches:
            self.tranches.append_entry(dict(name=t.name, percent=t.percent, trigger=t.trigger))
        for b in call.score_bands:
            self.score_bands.append_entry(dict(min_score=b.min_score, grade=b.grade, payment_pct=b.payment_pct,
                                               rectification=b.rectification))

    @staticmethod
    def settings_from(call) -> dict:
        return {
            "title": call.title, "year": call.year, "host_unit_id": call.host_unit_id,
            "operator_organization_id": call.operator_organization_id or 0, "description": call.description,
            "open_at": call.open_at, "close_at": call.close_at, "review_start_at": call.review_start_at,
            "review_end_at": call.review_end_at, "notice_working_days": call.notice_working_days,
            "project_start_on": call.project_start_on, "project_end_on": call.project_end_on,
            "min_grant": call.min_grant_fen, "max_grant": call.max_grant_fen or None,
            "min_own_funding_pct": call.min_own_funding_pct, "max_applications_per_org": call.max_applications_per_org,
            "filed_org_max_grant": call.filed_org_max_grant_fen,
            "filed_org_max_applications": call.filed_org_max_applications,
            "max_personnel_pct": call.max_personnel_pct, "max_management_pct": call.max_management_pct,
            "require_verified": call.require_verified, "allowed_legal_forms": list(call.allowed_legal_forms or []),
            "min_years_registered": call.min_years_registered, "min_rating": call.min_rating,
            "exclude_blacklisted": call.exclude_blacklisted, "exclude_failed_previous": call.exclude_failed_previous,
            "reviewers_per_application": call.reviewers_per_application, "aggregation": call.aggregation,
            "blind_review": call.blind_review, "show_other_scores": call.show_other_scores,
            "pitch_enabled": call.pitch_enabled, "pitch_weight_pct": call.pitch_weight_pct,
            "pitch_shortlist_size": call.pitch_shortlist_size, "contract_terms": call.contract_terms,
            "min_final_score": call.min_final_score,
        }


def _blank(row: Form) -> bool:
    return all(not (row[name].raw_data and str(row[name].raw_data[0]).strip()) and row[name].data in (None, "")
               for name in row._text)


def _types(text: str | None) -> list[str]:
    parts = (text or "").replace("，", ",").replace("、", ",").replace(" ", ",").split(",")
    out: list[str] = []
    for p in parts:
        p = p.strip().lower().lstrip(".")
        if p and p not in out:
            out.append(p)
    return out


def row_template(list_name: str) -> Form:
    """An empty row whose field names carry __prefix__, cloned by static/js/rows.js."""
    return ROW_FORMS[list_name](formdata=None, prefix=f"{list_name}-__prefix__-")


class DocumentForm(BaseForm):
    title = StringField(_l("文件标题（可空，默认用文件名）"), validators=[Optional(), Length(max=200)])


class PublishedCallForm(BaseForm):
    """What may still change once a call is public: the deadline (later only), dates and wording."""

    description = TextAreaField(_l("活动简介（征集公告正文）"), validators=[Optional(), Length(max=20000)])
    close_at = _beijing_datetime(_l("申报截止时间（只能延后）"))
    review_start_at = _beijing_datetime(_l("专家评审开始"))
    review_end_at = _beijing_datetime(_l("专家评审结束"))
    project_start_on = DateField(_l("项目执行开始日期"), validators=[Optional()], invalid_value_message=_DATE)
    project_end_on = DateField(_l("项目执行结束日期"), validators=[Optional()], invalid_value_message=_DATE)
    contract_terms = TextAreaField(_l("资助协议条款模板"), validators=[Optional(), Length(max=50000)])

    def fill_from(self, call) -> None:
        for name in self._editable():
            getattr(self, name).data = getattr(call, name)

    def settings(self) -> dict:
        return {name: getattr(self, name).data if name not in ("description", "contract_terms")
                else (getattr(self, name).data or "") for name in self._editable()}

    @staticmethod
    def _editable():
        return ("description", "close_at", "review_start_at", "review_end_at", "project_start_on", "project_end_on",
                "contract_terms")
