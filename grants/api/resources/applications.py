"""申报书: an organisation starts, edits and submits its drafts; officers and auditors read their calls'.

Every rule is the applications domain's: the permission functions decide who, the services check the
deadline (on the server, to the second) and list every problem with the same Chinese messages as the
form, which arrive here as {"code", "message", "field"} objects.
"""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from grants.api.core import (
    ApiError, CursorArgs, LocalDateTime, MoneyField, Text, actor, check_if_match, cursor_page, forbidden, not_found,
    page_schema, problems_error, scope, user, write,
)
from grants.applications import permissions as perm
from grants.applications.forms import MAX_TEXT
from grants.applications.models import (
    Application, ApplicationStatus, BudgetKind, FundedBy, OutputKind,
)
from grants.applications.services import (
    TEXT_FIELDS, ApplicationError, DeadlinePassed, DraftInput, add_attachment, call_applications_query,
    remove_attachment, save_draft, start_application, submit_application, validate_for_submit,
    withdraw_application,
)
from grants.calls.models import Call
from grants.core.states import IllegalTransition
from grants.core.storage import UploadRejected
from grants.extensions import db

blp = Blueprint("api_applications", __name__, url_prefix="/api/v1/applications",
                description="申报书、形式审查结果与评审反馈")

_TOO_LONG = _l("超出长度上限")
_OUT_OF_RANGE = _l("数值超出允许范围")
_UNKNOWN = _l("不是允许的取值")


def _text(limit: int, **kw):
    return Text(validate=ma.validate.Length(max=limit, error=_TOO_LONG), **kw)


def _count(maximum: int = 10 ** 6, **kw):
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(0, maximum, error=_OUT_OF_RANGE), **kw)


# --- representations -------------------------------------------------------------------------

class ServiceAreaSchema(ma.Schema):
    street = _text(50, required=True)
    community = _text(50, load_default="", required=False)


class ActivitySchema(ma.Schema):
    title = _text(100, required=True)
    start_on = ma.fields.Date(required=True, allow_none=True)
    end_on = ma.fields.Date(required=True, allow_none=True)
    description = _text(MAX_TEXT, load_default="")


class OutputTargetSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([str(k) for k in OutputKind], error=_UNKNOWN))
    target = _count(required=True)


class TeamMemberSchema(ma.Schema):
    name = _text(50, required=True)
    role = _text(50, load_default="")
    is_social_worker = ma.fields.Boolean(load_default=False)
    certificate_no = _text(50, load_default="")
    certificate_level = ma.fields.String(load_default="", validate=ma.validate.OneOf(
        ["", "assistant", "social_worker", "senior"], error=_UNKNOWN))


class BudgetLineSchema(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf([str(k) for k in BudgetKind], error=_UNKNOWN))
    item = _text(100, required=True)
    unit_price_fen = _count(10 ** 12, required=True, metadata={"description": "单价（分）"})
    quantity = _count(required=True)
    funded_by = ma.fields.String(load_default="grant", validate=ma.validate.OneOf([str(f) for f in FundedBy],
                                                                                  error=_UNKNOWN))
    amount = MoneyField(attribute="amount_fen", dump_only=True)


class AttachmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    requirement_id = ma.fields.Integer(required=True, allow_none=True)
    file_name = ma.fields.Function(lambda a: a.stored_file.original_name, required=True, metadata={"type": "string"})
    size = ma.fields.Function(lambda a: a.stored_file.size, required=True, metadata={"type": "integer"})
    sha256 = ma.fields.Function(lambda a: a.stored_file.sha256, required=True, metadata={"type": "string"})
    created_at = LocalDateTime(required=True)


class ApplicationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    number = ma.fields.String(required=True, allow_none=True, metadata={"description": "首次提交时编号"})
    call_id = ma.fields.Integer(required=True)
    organization_id = ma.fields.Integer(required=True)
    organization_name = ma.fields.Function(lambda a: a.organization.name, required=True, metadata={"type": "string"})
    category_id = ma.fields.Integer(required=True, allow_none=True)
    project_name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    status_label = ma.fields.Function(lambda a: str(a.status_label), required=True, metadata={"type": "string"})
    requested = MoneyField(attribute="requested_fen", required=True)
    total_budget = MoneyField(attribute="total_budget_fen", required=True)
    own_funding = MoneyField(attribute="own_funding_fen", required=True)
    submitted_at = LocalDateTime(required=True, allow_none=True)
    deadline_at = LocalDateTime(required=True, allow_none=True, metadata={"description": "提交截止时间"})
    updated_at = LocalDateTime(required=True)


class _Whole(ma.fields.Nested):
    """A nested object made from the same row (a group of its columns)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj


class ScreeningSchema(ma.Schema):
    """形式审查结果: what the officers decided, the reason the organisation sees, and a return's deadline."""

    status = ma.fields.String(required=True)
    reason = ma.fields.String(attribute="screening_reason", required=True)
    screened_at = LocalDateTime(required=True, allow_none=True)
    return_deadline_at = LocalDateTime(required=True, allow_none=True)


class ApplicationDetailSchema(ApplicationSchema):
    summary = ma.fields.String(required=True)
    need_analysis = ma.fields.String(required=True)
    objectives = ma.fields.String(required=True)
    target_groups = ma.fields.String(required=True)
    activity_description = ma.fields.String(required=True)
    declaration_accepted = ma.fields.Function(lambda a: a.declaration_accepted_at is not None, required=True,
                                              metadata={"type": "boolean"})
    service_areas = ma.fields.List(ma.fields.Nested(ServiceAreaSchema), required=True)
    activities = ma.fields.List(ma.fields.Nested(ActivitySchema), required=True)
    output_targets = ma.fields.List(ma.fields.Nested(OutputTargetSchema), required=True)
    team_members = ma.fields.List(ma.fields.Nested(TeamMemberSchema), required=True)
    budget_lines = ma.fields.List(ma.fields.Nested(BudgetLineSchema), required=True)
    attachments = ma.fields.List(ma.fields.Nested(AttachmentSchema), required=True)
    screening = _Whole(ScreeningSchema, required=True)


class ApplicationFilter(CursorArgs):
    call_id = ma.fields.Integer(validate=ma.validate.Range(1, 2 ** 31 - 1),
                                metadata={"description": "工作人员：列出该创投活动的申报书（不含草稿）；不填：本组织的申报书"})
    status = ma.fields.String(validate=ma.validate.OneOf([str(s) for s in ApplicationStatus], error=_UNKNOWN))
    category_id = ma.fields.Integer(validate=ma.validate.Range(1, 2 ** 31 - 1))
    district = Text(validate=ma.validate.Length(max=50))
    q = Text(validate=ma.validate.Length(max=100),
             metadata={"description": "编号、项目名称、简介中的词或组织名称（与申报审查列表的搜索框写法相同，如 楼道 年度:2026）"})


class StartSchema(ma.Schema):
    call_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 2 ** 31 - 1))


class DraftSchema(ma.Schema):
    """Any subset: what is sent replaces that part, what is left out stays as saved."""

    project_name = _text(100)
    summary = _text(MAX_TEXT)
    need_analysis = _text(MAX_TEXT)
    objectives = _text(MAX_TEXT)
    target_groups = _text(MAX_TEXT)
    activity_description = _text(MAX_TEXT)
    category_id = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(1, 2 ** 31 - 1))
    requested_fen = _count(10 ** 12, metadata={"description": "申请资助金额（分）"})
    declaration = ma.fields.Boolean(metadata={"description": "已阅读并同意申报承诺"})
    service_areas = ma.fields.List(ma.fields.Nested(ServiceAreaSchema), validate=ma.validate.Length(max=50))
    activities = ma.fields.List(ma.fields.Nested(ActivitySchema), validate=ma.validate.Length(max=100))
    output_targets = ma.fields.List(ma.fields.Nested(OutputTargetSchema), validate=ma.validate.Length(max=10))
    team_members = ma.fields.List(ma.fields.Nested(TeamMemberSchema), validate=ma.validate.Length(max=100))
    budget_lines = ma.fields.List(ma.fields.Nested(BudgetLineSchema), validate=ma.validate.Length(max=200))


class FileSchema(ma.Schema):
    """multipart/form-data: the file, and which of the call's attachment requirements it answers."""

    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
    requirement_id = ma.fields.Integer(allow_none=True, metadata={"description": "附件要求的 id；不填为其他附件"})


class FeedbackStageSchema(ma.Schema):
    stage = ma.fields.String(required=True)
    total = ma.fields.String(required=True, allow_none=True)
    criteria = ma.fields.List(ma.fields.Dict(), required=True)
    comments = ma.fields.List(ma.fields.String(), required=True)


class FeedbackSchema(ma.Schema):
    stages = ma.fields.List(ma.fields.Nested(FeedbackStageSchema), required=True)


ApplicationPage = page_schema(ApplicationSchema, "ApplicationPage")


# --- helpers ----------------------------------------------------------------------------------

def _load(application_id: int) -> Application:
    application = db.session.get(Application, application_id)
    if application is None or not perm.can_view_application(user(), application):
        raise not_found()
    return application


def _service_error(exc) -> ApiError:
    if isinstance(exc, IllegalTransition):
        return ApiError(409, "illegal_transition", exc.message)
    if isinstance(exc, DeadlinePassed):
        return ApiError(422, "deadline_passed", exc.message, exc.field or "deadline")
    return ApiError(422, "application_rule", exc.message, exc.field)


def _draft_input(application: Application, body: dict) -> DraftInput:
    """The saved draft with the sent parts replaced (save_draft stores a whole draft)."""
    data = DraftInput(
        texts={name: body.get(name, getattr(application, name)) for name in TEXT_FIELDS},
        category_id=body["category_id"] if "category_id" in body else application.category_id,
        requested_fen=body.get("requested_fen", application.requested_fen),
        declaration=body["declaration"] if "declaration" in body else application.declaration_accepted_at is not None,
    )
    data.service_areas = body.get("service_areas", [{"street": a.street, "community": a.community}
                                                    for a in application.service_areas])
    data.activities = body.get("activities", [{"title": a.title, "start_on": a.start_on, "end_on": a.end_on,
                                               "description": a.description} for a in application.activities])
    targets = body.get("output_targets")
    data.output_targets = ({t["kind"]: t["target"] for t in targets} if targets is not None
                           else {t.kind: t.target for t in application.output_targets})
    data.team_members = body.get("team_members", [
        {"name": m.name, "role": m.role, "is_social_worker": m.is_social_worker,
         "certificate_no": m.certificate_no, "certificate_level": m.certificate_level}
        for m in application.team_members])
    data.budget_lines = body.get("budget_lines", [
        {"kind": b.kind, "item": b.item, "unit_price_fen": b.unit_price_fen, "quantity": b.quantity,
         "funded_by": b.funded_by} for b in application.budget_lines])
    return data


def _requirement_id() -> int | None:
    """The form part of the upload (webargs reads the files part)."""
    raw = (request.form.get("requirement_id") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise ApiError(422, "invalid", _("附件类型不属于本次创投活动"), "requirement_id")
    return int(raw)


# --- reads ------------------------------------------------------------------------------------

@blp.route("")
@blp.arguments(ApplicationFilter, location="query")
@blp.response(200, ApplicationPage)
@scope("applications:read")
def list_applications(args):
    """Without call_id: the caller's organisation's applications. With call_id: that call's submitted
    applications for officers and auditors of its unit subtree, filtered as on the screening list."""
    u = user()
    if args.get("call_id"):
        call = db.session.get(Call, args["call_id"])
        if call is None or not perm.can_list_call_applications(u, call):
            raise not_found()
        from grants.search.query import QueryError, parse_query

        try:  # the screening list's search syntax (grants.search): a query it cannot read is a 422
            parse_query(args.get("q"))
        except QueryError as exc:
            raise problems_error({"q": [exc.message]}, code="invalid") from None
        stmt = call_applications_query(call, q=args.get("q") or "", status=args.get("status") or "",
                                       category_id=args.get("category_id"), district=args.get("district") or "",
                                       for_list=True)  # the list shows no long texts
        return cursor_page(stmt.order_by(None), Application.id, args)
    if not perm.can_list_own_applications(u):
        raise forbidden(_("只有社会组织的成员可以列出本组织的申报书；工作人员请指定 call_id。"))
    stmt = sa.select(Application).where(Application.organization_id == u.organization.id)
    if args.get("status"):
        stmt = stmt.where(Application.status == args["status"])
    if args.get("call_id"):
        stmt = stmt.where(Application.call_id == args["call_id"])
    return cursor_page(stmt, Application.id, args)


@blp.route("/<int:application_id>")
@blp.response(200, ApplicationDetailSchema)
@scope("applications:read")
def get_application(application_id):
    """One application with its budget lines, outputs, attachments and screening result."""
    return _load(application_id)


@blp.route("/<int:application_id>/problems")
@blp.response(200, ma.Schema.from_dict({"problems": ma.fields.List(ma.fields.Dict(), required=True)},
                                       name="SubmitProblems"))
@scope("applications:read")
def get_problems(application_id):
    """What would stop a submission now (the same check as the submit button), in the caller's language."""
    application = _load(application_id)
    if not perm.can_edit_application(user(), application):
        raise forbidden()
    problems = validate_for_submit(application)
    return {"problems": [{"code": "validation_failed", "message": m, "field": f}
                         for f, messages in problems.items() for m in messages]}


@blp.route("/<int:application_id>/feedback")
@blp.response(200, FeedbackSchema)
@scope("applications:read")
def get_feedback(application_id):
    """评审反馈 of an unfunded application after the round is final: mean points and comments, no names."""
    from grants.awards.permissions import can_view_feedback
    from grants.reviews.services import feedback_for_applicant

    application = _load(application_id)
    if not can_view_feedback(user(), application):
        raise not_found()
    return {"stages": [{"stage": f.stage, "total": None if f.total is None else str(f.total),
                        "criteria": [{"name": n, "max_points": m, "points": None if p is None else str(p)}
                                     for n, m, p in f.criteria],
                        "comments": f.comments} for f in feedback_for_applicant(application)]}


# --- the write flow ---------------------------------------------------------------------------

@blp.route("", methods=["POST"])
@write
@blp.arguments(StartSchema)
@blp.response(201, ApplicationDetailSchema)
@scope("applications:write")
def create_application(body):
    """Start a draft for the caller's organisation in an open call."""
    call = db.session.get(Call, body["call_id"])
    if call is None or call.status == "draft":
        raise ApiError(422, "unknown_call", _("没有这个创投活动"), "call_id")
    if not perm.can_apply(user(), call):
        raise ApiError(422, "cannot_apply", _("该创投活动当前不在申报期内，或您不是社会组织的成员"), "call_id")
    try:
        return start_application(call, actor().organization, actor())
    except (ApplicationError, IllegalTransition) as exc:
        raise _service_error(exc) from exc


@blp.route("/<int:application_id>", methods=["PATCH"])
@write
@blp.arguments(DraftSchema)
@blp.response(200, ApplicationDetailSchema)
@scope("applications:write")
def update_application(body, application_id):
    """Save a draft (or a returned application): the parts sent replace the saved ones. Before the
    deadline only. Send If-Match with the ETag of the last read to refuse a concurrent edit."""
    application = _load(application_id)
    if not perm.can_edit_application(user(), application):
        raise forbidden(_("当前状态“%(s)s”的申报书不能修改", s=application.status_label))
    check_if_match(ApplicationDetailSchema().dump(application))
    try:
        problems = save_draft(application, _draft_input(application, body), actor())
    except (ApplicationError, IllegalTransition) as exc:
        raise _service_error(exc) from exc
    if problems:
        raise problems_error(problems)
    return application


@blp.route("/<int:application_id>/attachments", methods=["POST"])
@write
@blp.arguments(FileSchema, location="files")
@blp.response(201, AttachmentSchema)
@scope("applications:write")
def upload_attachment(files, application_id):
    """Attach a file (multipart/form-data: file, requirement_id); its type is checked by content."""
    application = _load(application_id)
    if not perm.can_edit_application(user(), application):
        raise forbidden()
    try:
        from grants.applications.services import ensure_before_deadline

        ensure_before_deadline(application)
        return add_attachment(application, _requirement_id(), files["file"], actor())
    except (ApplicationError, IllegalTransition) as exc:
        raise _service_error(exc) from exc
    except UploadRejected as exc:
        raise ApiError(422, "upload_rejected", exc.message, "file") from exc


@blp.route("/<int:application_id>/attachments/<int:attachment_id>", methods=["DELETE"])
@write
@blp.response(204)
@scope("applications:write")
def delete_attachment(application_id, attachment_id):
    """Remove an attachment of a draft."""
    application = _load(application_id)
    if not perm.can_edit_application(user(), application):
        raise forbidden()
    if attachment_id not in {a.id for a in application.attachments}:
        raise not_found()
    try:
        from grants.applications.services import ensure_before_deadline

        ensure_before_deadline(application)
        remove_attachment(application, attachment_id, actor())
    except (ApplicationError, IllegalTransition) as exc:
        raise _service_error(exc) from exc
    return None


@blp.route("/<int:application_id>/submit", methods=["POST"])
@write
@blp.response(200, ApplicationDetailSchema)
@scope("applications:write")
def submit(application_id):
    """Submit: every problem comes back at once (422, `errors`), or the application is numbered and submitted."""
    application = _load(application_id)
    if not perm.can_edit_application(user(), application):
        raise forbidden(_("当前状态“%(s)s”的申报书不能提交", s=application.status_label))
    try:
        problems = submit_application(application, actor())
    except (ApplicationError, IllegalTransition) as exc:
        raise _service_error(exc) from exc
    if problems:
        raise problems_error(problems)
    return application


@blp.route("/<int:application_id>/withdraw", methods=["POST"])
@write
@blp.response(200, ApplicationDetailSchema)
@scope("applications:write")
def withdraw(application_id):
    """Withdraw a draft, submitted or returned application before the deadline."""
    application = _load(application_id)
    if not perm.can_withdraw_application(user(), application):
        raise forbidden()
    try:
        withdraw_application(application, actor())
    except (ApplicationError, IllegalTransition) as exc:
        raise _service_error(exc) from exc
    return application

