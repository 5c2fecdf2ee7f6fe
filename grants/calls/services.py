"""Calls: create, edit, check and publish, copy from last year, close for review, archive."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

import sqlalchemy as sa
from flask_babel import gettext as _

from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.money import yuan
from grants.core.states import IllegalTransition
from grants.core.timeutil import SHANGHAI, UTC, now
from grants.calls.states import CALL_WORKFLOW  # noqa: F401  (re-exported)
from grants.calls.models import (
    CALL_STATUS_LABELS, AttachmentRequirement, Call, CallCategory, CallDocument, CallFundingSource, CallStatus,
    Grade, RubricCriterion, RubricStage, ScoreBand, TrancheTemplate, TrancheTrigger,
)
from grants.extensions import db
from grants.organizations.models import HostUnit, LegalForm

# Defaults of a new call, the common practice of the city bureaus.
DEFAULT_CRITERIA = [("需求分析", 20), ("项目设计", 30), ("可行性", 20), ("预算合理性", 15), ("创新性", 15)]
DEFAULT_TRANCHES = [("首期", 40, TrancheTrigger.SIGNING), ("中期", 30, TrancheTrigger.MIDTERM_ASSESSMENT),
                    ("尾款", 30, TrancheTrigger.FINAL_ASSESSMENT)]
DEFAULT_BANDS = [(85, Grade.EXCELLENT, 100, False), (70, Grade.GOOD, 100, False), (60, Grade.PASS, 80, False),
                 (0, Grade.FAIL, 0, True)]
DEFAULT_ATTACHMENTS = [("登记证书或备案证明", True, ["pdf", "jpg", "png"]),
                       ("上年度工作报告或年检结论", False, ["pdf", "jpg", "png"])]

# Scalar settings of a call (everything an officer fills in besides the child rows).
CALL_FIELDS = (
    "title", "year", "operator_organization_id", "description", "open_at", "close_at", "review_start_at",
    "review_end_at", "notice_working_days", "project_start_on", "project_end_on", "min_grant_fen", "max_grant_fen",
    "min_own_funding_pct", "max_applications_per_org", "filed_org_max_grant_fen", "filed_org_max_applications",
    "max_personnel_pct", "max_management_pct", "require_verified", "allowed_legal_forms", "min_years_registered",
    "min_rating", "exclude_blacklisted", "exclude_failed_previous", "reviewers_per_application",
    "show_other_scores", "blind_review", "aggregation", "pitch_enabled", "pitch_weight_pct", "pitch_shortlist_size",
    "min_final_score", "contract_terms",
)
# What may still change once the call is public: an extension of the deadline, the review window and
# the project dates, the wording. Rules that applicants relied on (limits, eligibility, rubric) stay fixed.
EDITABLE_AFTER_PUBLISH = ("description", "close_at", "review_start_at", "review_end_at", "project_start_on",
                          "project_end_on", "contract_terms")

# child collection → (model, attributes)
CHILDREN: dict[str, tuple[type, tuple[str, ...]]] = {
    "categories": (CallCategory, ("name", "quota_fen", "sort")),
    "funding_sources": (CallFundingSource, ("kind", "name", "amount_fen")),
    "attachment_requirements": (AttachmentRequirement, ("name", "required", "allowed_types", "sort")),
    "criteria": (RubricCriterion, ("stage", "name", "description", "max_points", "sort")),
    "tranches": (TrancheTemplate, ("seq", "name", "percent", "trigger")),
    "score_bands": (ScoreBand, ("min_score", "grade", "payment_pct", "rectification")),
}


class CallError(DomainError):
    """A rule about calls was broken; `problems` lists every problem found (in Chinese)."""

    def __init__(self, message: str, field: str | None = None, problems: list[str] | None = None):
        super().__init__(message, field)
        self.problems = problems or [message]


# --- creation and editing -------------------------------------------------------

def default_children() -> dict[str, list[dict]]:
    """The child rows of a new call (rubric, tranches, score bands, attachments)."""
    return {
        "criteria": [dict(stage=RubricStage.WRITTEN, name=n, description="", max_points=p, sort=i)
                     for i, (n, p) in enumerate(DEFAULT_CRITERIA)],
        "tranches": [dict(seq=i + 1, name=n, percent=p, trigger=t) for i, (n, p, t) in enumerate(DEFAULT_TRANCHES)],
        "score_bands": [dict(min_score=m, grade=g, payment_pct=p, rectification=r) for m, g, p, r in DEFAULT_BANDS],
        "attachment_requirements": [dict(name=n, required=r, allowed_types=list(t), sort=i)
                                    for i, (n, r, t) in enumerate(DEFAULT_ATTACHMENTS)],
    }


def create_call(unit: HostUnit, actor, *, title: str, year: int | None = None,
                children: dict[str, list[dict]] | None = None, **settings: Any) -> Call:
    """A new draft call of `unit`; rubric, tranches and bands default to common practice."""
    unknown = set(settings) - set(CALL_FIELDS)
    if unknown:
        raise TypeError(f"unknown call settings: {sorted(unknown)}")
    title = (title or "").strip()
    if not title:
        raise CallError(_("请填写活动名称"), "title")
    call = Call(host_unit_id=unit.id, title=title, year=year or now().astimezone(SHANGHAI).year, level=unit.level,
                status=CallStatus.DRAFT, created_at=now(), description="", contract_terms="",
                allowed_legal_forms=[], notice_working_days=5, min_grant_fen=0, max_grant_fen=0,
                min_own_funding_pct=0, max_applications_per_org=1, require_verified=True, min_years_registered=0,
                min_rating=0, exclude_blacklisted=True, exclude_failed_previous=True, reviewers_per_application=5,
                show_other_scores=False, blind_review=False, aggregation="mean", pitch_enabled=False,
                pitch_weight_pct=40)
    call.host_unit = unit
    for key, value in settings.items():
        setattr(call, key, value)
    _check_settings(call)
    db.session.add(call)
    rows = default_children()
    rows.update(children or {})
    for name, items in rows.items():
        _replace_children(call, name, items)
    db.session.flush()
    record(actor, "call.create", call, after={"title": call.title, "year": call.year, "host_unit_id": unit.id})
    return call


def update_call(call: Call, actor, *, children: dict[str, list[dict]] | None = None, **settings: Any) -> Call:
    """Change a call's settings. A draft may change anything; a published call only the deadline
    (later, never earlier), the review and project dates and the wording. Audited field by field."""
    unknown = set(settings) - set(CALL_FIELDS)
    if unknown:
        raise TypeError(f"unknown call settings: {sorted(unknown)}")
    if call.status == CallStatus.DRAFT:
        allowed = set(CALL_FIELDS)
    elif call.status == CallStatus.PUBLISHED:
        allowed = set(EDITABLE_AFTER_PUBLISH)
    else:
        raise CallError(_("活动已进入“%(state)s”阶段，不能再修改", state=call.status_label))
    changed = {k: v for k, v in settings.items() if getattr(call, k) != v}
    forbidden = sorted(set(changed) - allowed)
    if forbidden:
        raise CallError(_("活动已发布，以下内容不能再修改：%(fields)s", fields="、".join(forbidden)), forbidden[0])
    if children and call.status != CallStatus.DRAFT:
        if any(_child_dump(call, name) != [_normal(name, r) for r in rows] for name, rows in children.items()):
            raise CallError(_("活动已发布，类别、资金、附件、评分细则、拨付节点和评估等级不能再修改"))
        children = None
    if call.status == CallStatus.PUBLISHED and "close_at" in changed:
        new_close = changed["close_at"]
        if new_close is None or (call.close_at is not None and new_close < call.close_at):
            raise CallError(_("已发布的活动只能延长申报截止时间，不能提前"), "close_at")
    before = {k: _jsonable(getattr(call, k)) for k in changed}
    if "title" in changed and not (changed["title"] or "").strip():
        raise CallError(_("请填写活动名称"), "title")
    for key, value in changed.items():
        setattr(call, key, value)
    _check_settings(call)
    if call.status == CallStatus.PUBLISHED and changed:
        _check_published_timeline(call)
    child_changes = {}
    for name, rows in (children or {}).items():
        old = _child_dump(call, name)
        new = [_normal(name, r) for r in rows]
        if old != new:
            _replace_children(call, name, rows)
            child_changes[name] = len(new)
    db.session.flush()
    if changed or child_changes:
        from grants.reviews.ranking_store import mark_ranking_stale

        mark_ranking_stale(call.id)
        record(actor, "call.update", call, before=before,
               after={**{k: _jsonable(v) for k, v in changed.items()},
                      **({"rows": child_changes} if child_changes else {}),
                      **({"after_publish": True} if call.status != CallStatus.DRAFT else {})})
    return call


def _check_settings(call: Call) -> None:
    """Values the database would refuse anyway, reported in Chinese next to their field."""
    for name in ("min_own_funding_pct", "max_personnel_pct", "max_management_pct", "pitch_weight_pct"):
        value = getattr(call, name)
        if value is not None and not 0 <= value <= 100:
            raise CallError(_("比例须在 0 到 100 之间"), name)
    if call.min_rating is not None and not 0 <= call.min_rating <= 5:
        raise CallError(_("评估等级须在 0 到 5 之间"), "min_rating")
    bad_forms = [f for f in (call.allowed_legal_forms or []) if f not in {str(x) for x in LegalForm}]
    if bad_forms:
        raise CallError(_("未知的组织类型：%(forms)s", forms="、".join(bad_forms)), "allowed_legal_forms")


def _check_published_timeline(call: Call) -> None:
    """A public call's dates must stay in order after an edit (e.g. a deadline extension)."""
    if call.review_start_at and call.close_at and call.review_start_at < call.close_at:
        raise CallError(_("专家评审不能早于申报截止时间开始，请同时调整评审时间"), "review_start_at")
    if call.review_start_at and call.review_end_at and call.review_end_at <= call.review_start_at:
        raise CallError(_("专家评审结束时间必须晚于开始时间"), "review_end_at")
    if call.project_start_on and call.project_end_on and call.project_end_on <= call.project_start_on:
        raise CallError(_("项目结束日期必须晚于开始日期"), "project_end_on")


def _normal(name: str, row: dict) -> dict:
    _model, attrs = CHILDREN[name]
    out = {}
    for a in attrs:
        v = row.get(a)
        out[a] = str(v) if hasattr(v, "value") else v
    return out


def _child_dump(call: Call, name: str) -> list[dict]:
    _model, attrs = CHILDREN[name]
    return [{a: getattr(obj, a) for a in attrs} for obj in getattr(call, name)]


def _replace_children(call: Call, name: str, rows: Iterable[dict]) -> None:
    """Replace a draft's rows of one kind. Old rows are deleted and flushed first, so unique keys
    (tranche seq, criterion name, band score) can be reused by the new rows."""
    model, attrs = CHILDREN[name]
    collection = getattr(call, name)
    if collection:
        collection.clear()
        if call.id is not None:
            db.session.flush()
    for i, row in enumerate(rows):
        values = _normal(name, row)
        if "sort" in attrs and values.get("sort") is None:
            values["sort"] = i
        if name == "tranches" and values.get("seq") is None:
            values["seq"] = i + 1
        collection.append(model(**values))


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


# --- publishing ----------------------------------------------------------------------

def validate_call_for_publish(call: Call) -> list[str]:
    """Every reason the call cannot be published yet, in Chinese; empty when it is complete."""
    p: list[str] = []
    if not (call.title or "").strip():
        p.append(_("请填写活动名称"))
    if not (call.description or "").strip():
        p.append(_("请填写活动简介（征集公告正文）"))

    # timeline
    if call.open_at is None:
        p.append(_("请填写申报开始时间"))
    if call.close_at is None:
        p.append(_("请填写申报截止时间"))
    if call.open_at and call.close_at and call.close_at <= call.open_at:
        p.append(_("申报截止时间必须晚于申报开始时间"))
    if call.close_at and call.close_at <= now():
        p.append(_("申报截止时间已过，请修改"))
    if call.review_start_at is None or call.review_end_at is None:
        p.append(_("请填写专家评审的开始和结束时间"))
    else:
        if call.review_end_at <= call.review_start_at:
            p.append(_("专家评审结束时间必须晚于开始时间"))
        if call.close_at and call.review_start_at < call.close_at:
            p.append(_("专家评审不能早于申报截止时间开始"))
    if not call.notice_working_days or call.notice_working_days < 1:
        p.append(_("公示期至少 1 个工作日"))
    if call.project_start_on is None or call.project_end_on is None:
        p.append(_("请填写项目执行的开始和结束日期"))
    elif call.project_end_on <= call.project_start_on:
        p.append(_("项目结束日期必须晚于开始日期"))
    elif call.review_end_at and call.project_start_on < call.review_end_at.astimezone(SHANGHAI).date():
        p.append(_("项目开始日期不能早于评审结束"))

    # budget
    total = call.total_budget_fen
    if not call.funding_sources:
        p.append(_("请至少填写一项资金来源"))
    for src in call.funding_sources:
        if not src.amount_fen or src.amount_fen <= 0:
            p.append(_("资金来源“%(name)s”的金额必须大于 0", name=src.label))
    if not call.categories:
        p.append(_("请至少设置一个项目类别"))
    names = [c.name for c in call.categories]
    if len(names) != len(set(names)):
        p.append(_("项目类别名称不能重复"))
    quotas = sum(c.quota_fen or 0 for c in call.categories)
    if total and quotas > total:
        p.append(_("各类别额度合计 %(q)s 超过总预算 %(t)s", q=yuan(quotas), t=yuan(total)))

    # per-project limits
    if not call.max_grant_fen or call.max_grant_fen <= 0:
        p.append(_("请填写单个项目资助上限"))
    elif (call.min_grant_fen or 0) > call.max_grant_fen:
        p.append(_("单个项目资助下限 %(a)s 高于上限 %(b)s", a=yuan(call.min_grant_fen), b=yuan(call.max_grant_fen)))
    elif total and call.max_grant_fen > total:
        p.append(_("单个项目资助上限 %(a)s 超过总预算 %(t)s", a=yuan(call.max_grant_fen), t=yuan(total)))
    if call.filed_org_max_grant_fen is not None and call.max_grant_fen and \
            call.filed_org_max_grant_fen > call.max_grant_fen:
        p.append(_("备案组织的资助上限不能高于一般上限"))
    if call.filed_org_max_grant_fen is not None and call.filed_org_max_grant_fen < (call.min_grant_fen or 0):
        p.append(_("备案组织的资助上限低于资助下限，备案组织将无法申报"))
    if not call.max_applications_per_org or call.max_applications_per_org < 1:
        p.append(_("每个组织至少可申报 1 个项目"))
    if call.filed_org_max_applications is not None and call.max_applications_per_org and \
            call.filed_org_max_applications > call.max_applications_per_org:
        p.append(_("备案组织的申报数量上限不能高于一般上限"))

    # attachments
    att_names = [a.name for a in call.attachment_requirements]
    if len(att_names) != len(set(att_names)):
        p.append(_("附件名称不能重复"))
    for att in call.attachment_requirements:
        if not att.allowed_types:
            p.append(_("附件“%(name)s”未设置允许的文件类型", name=att.name))

    # rubric
    written = call.criteria_for(RubricStage.WRITTEN)
    w_sum = sum(c.max_points or 0 for c in written)
    if not written:
        p.append(_("请设置书面评审的评分细则"))
    elif w_sum != 100:
        p.append(_("书面评审各项分值之和为 %(s)s 分，应为 100 分", s=w_sum))
    if call.pitch_enabled:
        pitch = call.criteria_for(RubricStage.PITCH)
        p_sum = sum(c.max_points or 0 for c in pitch)
        if not pitch:
            p.append(_("已启用路演答辩，请设置路演评分细则"))
        elif p_sum != 100:
            p.append(_("路演评分各项分值之和为 %(s)s 分，应为 100 分", s=p_sum))
        if not call.pitch_weight_pct or not 0 < call.pitch_weight_pct < 100:
            p.append(_("路演成绩权重应在 1% 到 99% 之间"))

    # tranches
    tranches = sorted(call.tranches, key=lambda t: t.seq or 0)
    t_sum = sum(t.percent or 0 for t in tranches)
    if not tranches:
        p.append(_("请设置拨付节点"))
    else:
        if t_sum != 100:
            p.append(_("各拨付节点比例之和为 %(s)s%%，应为 100%%", s=t_sum))
        if tranches[0].trigger != TrancheTrigger.SIGNING:
            p.append(_("首期拨付应在协议签订后"))

    # score bands
    bands = call.score_bands
    if not bands:
        p.append(_("请设置评估等级与拨付比例"))
    else:
        mins = [b.min_score for b in bands]
        if len(mins) != len(set(mins)):
            p.append(_("评估等级的分数段重叠（最低分相同）"))
        if 0 not in mins:
            p.append(_("评估等级必须有一档从 0 分起，覆盖所有分数"))
        ordered = sorted(bands, key=lambda b: b.min_score)
        for lower, higher in zip(ordered, ordered[1:]):
            if higher.payment_pct < lower.payment_pct:
                p.append(_("分数更高的等级拨付比例不能更低（%(a)s 分档低于 %(b)s 分档）", a=higher.min_score,
                           b=lower.min_score))
                break

    if call.reviewers_per_application is None or call.reviewers_per_application < 1:
        p.append(_("每份申报书至少安排 1 位评审专家"))
    if call.aggregation == "trimmed_mean" and (call.reviewers_per_application or 0) < 3:
        p.append(_("去掉最高分和最低分至少需要 3 位评审专家"))
    return p


def publish_call(call: Call, actor) -> Call:
    """Publish a complete call (征集公告发布); refuses with every problem listed."""
    problems = validate_call_for_publish(call)
    if problems:
        raise CallError(_("活动信息不完整，暂不能发布"), problems=problems)
    _transition(call, "publish", actor)
    call.published_at = now()
    return call


def close_call_for_review(call: Call, actor) -> Call:
    """Stop taking applications and move to review; only after the deadline has passed."""
    if call.status == CallStatus.PUBLISHED and (call.close_at is None or now() < call.close_at):
        raise CallError(_("申报尚未截止（截止时间 %(t)s），不能进入评审", t=_local(call.close_at)))
    _transition(call, "close", actor)
    _tell_applicants_closed(call)
    return call


def _tell_applicants_closed(call: Call) -> None:
    """Each organisation with a submitted application hears that the call closed and review begins."""
    from grants.applications.models import Application, ApplicationStatus
    from grants.reminders.notices import organization_people, send_notice

    rows = db.session.execute(sa.select(Application.organization_id, Application.number).where(
        Application.call_id == call.id, Application.number.is_not(None),
        Application.status.not_in((ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)))
        .order_by(Application.number)).all()
    numbers: dict[int, list[str]] = {}
    for org_id, number in rows:
        numbers.setdefault(org_id, []).append(number)
    for org_id, nums in numbers.items():
        send_notice("call_closed", organization_people(org_id), link="/applications/mine", call=call.title,
                    numbers="、".join(nums))


def archive_call(call: Call, actor) -> Call:
    """Archive a finalized call."""
    _transition(call, "archive", actor)
    return call


def _transition(call: Call, action: str, actor) -> None:
    try:
        CALL_WORKFLOW.transition(call, action, actor)
    except IllegalTransition as exc:
        raise CallError(exc.message) from exc


def _local(value: dt.datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value else ""


# --- copy from last year ------------------------------------------------------------

def shift_year(value, years: int = 1):
    """The same calendar day `years` later; 29 February becomes 28 February.

    Datetimes move in Beijing wall-clock time, so 9:00 on a date stays 9:00 on that date."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        local = value.astimezone(SHANGHAI)
        return _replace_year(local, local.year + years).astimezone(UTC)
    return _replace_year(value, value.year + years)


def _replace_year(value, year: int):
    try:
        return value.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return value.replace(year=year, day=28)


def _bump_title(title: str, old_year: int, new_year: int) -> str:
    if str(old_year) in title:
        return title.replace(str(old_year), str(new_year))
    return f"{title}（{new_year}）"


def copy_call(previous: Call, actor, *, unit: HostUnit | None = None) -> Call:
    """A draft for next year with every setting and row of `previous`, the dates moved one year."""
    settings = {name: getattr(previous, name) for name in CALL_FIELDS}
    for name in ("open_at", "close_at", "review_start_at", "review_end_at", "project_start_on", "project_end_on"):
        settings[name] = shift_year(settings[name])
    settings["allowed_legal_forms"] = list(previous.allowed_legal_forms or [])
    new_year = (previous.year or now().year) + 1
    settings["year"] = new_year
    settings["title"] = _bump_title(previous.title, previous.year, new_year)
    children = {name: _child_dump(previous, name) for name in CHILDREN}
    for row in children.get("attachment_requirements", []):
        row["allowed_types"] = list(row["allowed_types"] or [])
    target_unit = unit or previous.host_unit
    title = settings.pop("title")
    year = settings.pop("year")
    call = create_call(target_unit, actor, title=title, year=year, children=children, **settings)
    call.previous_call_id = previous.id
    for doc in previous.documents:
        call.documents.append(CallDocument(stored_file_id=doc.stored_file_id, title=doc.title))
    db.session.flush()
    record(actor, "call.copy", call, after={"previous_call_id": previous.id, "year": new_year})
    return call


# --- documents -------------------------------------------------------------------

def add_call_document(call: Call, stored_file, title: str, actor) -> CallDocument:
    """Attach a public document (公告原文, 申报书模板 …) to a call."""
    title = (title or "").strip() or stored_file.original_name
    doc = CallDocument(call=call, stored_file=stored_file, title=title[:200])
    db.session.add(doc)
    db.session.flush()
    record(actor, "call.document_add", call, after={"document_id": doc.id, "title": doc.title,
                                                     "file": stored_file.original_name})
    return doc


def remove_call_document(doc: CallDocument, actor) -> None:
    call = doc.call
    record(actor, "call.document_remove", call, before={"document_id": doc.id, "title": doc.title})
    call.documents.remove(doc)
    db.session.flush()


# --- queries ----------------------------------------------------------------------

def days_left(call: Call) -> int | None:
    """Whole days (rounded up) until the deadline, for the public countdown; None once closed."""
    if call.close_at is None:
        return None
    seconds = (call.close_at - now()).total_seconds()
    if seconds <= 0:
        return None
    return math.ceil(seconds / 86400)


def calls_for_units(unit_ids: set[int]):
    """Statement: the calls owned by these units, newest first, with what the list shows."""
    return (sa.select(Call).where(Call.host_unit_id.in_(unit_ids) if unit_ids else sa.false())
            .options(sa.orm.selectinload(Call.funding_sources))
            .order_by(Call.year.desc(), Call.id.desc()))


def public_calls() -> list[Call]:
    """Every call the public may see (published onwards), open ones first; three queries."""
    rows = db.session.scalars(
        sa.select(Call).where(Call.status != CallStatus.DRAFT)
        .options(sa.orm.selectinload(Call.funding_sources), sa.orm.selectinload(Call.categories))
        .order_by(Call.close_at.desc(), Call.id.desc())).all()
    current = [c for c in rows if c.is_open or c.is_upcoming]
    current.sort(key=lambda c: c.close_at)
    past = [c for c in rows if not (c.is_open or c.is_upcoming)]
    return current + past


def copy_sources(unit_ids: set[int]) -> list[Call]:
    """Calls an officer may copy from: any non-draft call of their units, newest first."""
    if not unit_ids:
        return []
    return list(db.session.scalars(
        sa.select(Call).where(Call.host_unit_id.in_(unit_ids), Call.status != CallStatus.DRAFT)
        .order_by(Call.year.desc(), Call.id.desc()).limit(10)))
