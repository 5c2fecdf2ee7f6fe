"""项目报告 and 评估: the organisation writes and submits its report with evidence; the assigned evaluator
scores it. The assessments domain's permission functions and services decide everything."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_smorest import Blueprint

from grants.api.core import (
    ApiError, CursorArgs, LocalDateTime, MoneyField, Text, actor, cursor_page, forbidden, not_found, page_schema,
    scope, user, write,
)
from grants.assessments import permissions as perm
from grants.assessments.models import Assessment, ProgressReport
from grants.assessments.services import (
    AssessmentError, criteria_for, report_problems, save_report, start_report, submit_assessment, submit_report,
)
from grants.contracts.models import Contract, Tranche
from grants.contracts.permissions import can_view_contract
from grants.core.states import IllegalTransition
from grants.extensions import db

blp = Blueprint("api_reports", __name__, url_prefix="/api/v1", description="项目报告与评估")


class ReportOutputSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    target = ma.fields.Integer(required=True)
    achieved = ma.fields.Integer(required=True)


class ReportSpendingSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True)
    item = ma.fields.String(required=True)
    budget = MoneyField(attribute="budget_fen", required=True)
    spent = MoneyField(attribute="spent_fen", required=True)


class EvidenceSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    file_name = ma.fields.Function(lambda e: e.stored_file.original_name, required=True, metadata={"type": "string"})
    sha256 = ma.fields.Function(lambda e: e.stored_file.sha256, required=True, metadata={"type": "string"})
    created_at = LocalDateTime(required=True)


class ReportSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    contract_id = ma.fields.Integer(required=True)
    tranche_id = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "midterm / final"})
    round = ma.fields.Integer(required=True, metadata={"description": "2 = 整改后重新提交"})
    status = ma.fields.String(required=True)
    narrative = ma.fields.String(required=True)
    officer_comment = ma.fields.String(required=True)
    submitted_at = LocalDateTime(required=True, allow_none=True)
    outputs = ma.fields.List(ma.fields.Nested(ReportOutputSchema), required=True)
    spending = ma.fields.List(ma.fields.Nested(ReportSpendingSchema), required=True)
    evidence = ma.fields.List(ma.fields.Nested(EvidenceSchema), required=True)


class ReportFilter(ma.Schema):
    contract_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 2 ** 31 - 1))


class StartReportSchema(ma.Schema):
    tranche_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 2 ** 31 - 1))


class AchievedSchema(ma.Schema):
    kind = Text(required=True, validate=ma.validate.Length(max=20))
    achieved = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 10 ** 9))


class SpentSchema(ma.Schema):
    id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 2 ** 31 - 1))
    spent_fen = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 10 ** 12))


class ReportEditSchema(ma.Schema):
    narrative = Text(validate=ma.validate.Length(max=20000))
    achieved = ma.fields.List(ma.fields.Nested(AchievedSchema), validate=ma.validate.Length(max=20))
    spent = ma.fields.List(ma.fields.Nested(SpentSchema), validate=ma.validate.Length(max=200))


class EvidenceUploadSchema(ma.Schema):
    file = ma.fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class CriterionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    max_points = ma.fields.Integer(required=True)
    kind = ma.fields.String(required=True, metadata={"description": "normal / bonus / penalty"})


class AssessmentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    report_id = ma.fields.Integer(required=True)
    contract_id = ma.fields.Integer(required=True)
    tranche_id = ma.fields.Integer(required=True)
    round = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    total_score = ma.fields.Integer(required=True, allow_none=True)
    grade = ma.fields.String(required=True, allow_none=True)
    payment_pct = ma.fields.Integer(required=True, allow_none=True)
    satisfaction_pct = ma.fields.Integer(required=True, allow_none=True)
    comment = ma.fields.String(required=True)
    assigned_at = LocalDateTime(required=True)
    submitted_at = LocalDateTime(required=True, allow_none=True)


class _Criteria(ma.fields.List):
    """The call's rubric the evaluator scores against."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return criteria_for(db.session.get(Contract, obj.contract_id).call)


class AssessmentDetailSchema(AssessmentSchema):
    criteria = _Criteria(ma.fields.Nested(CriterionSchema), required=True)


class PointsSchema(ma.Schema):
    criterion_id = ma.fields.Integer(required=True, validate=ma.validate.Range(1, 2 ** 31 - 1))
    points = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 1000))


class ScoreSchema(ma.Schema):
    points = ma.fields.List(ma.fields.Nested(PointsSchema), required=True, validate=ma.validate.Length(max=100))
    satisfaction_pct = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(0, 100))
    comment = Text(load_default="", validate=ma.validate.Length(max=5000))


AssessmentPage = page_schema(AssessmentSchema, "AssessmentPage")
ReportList = ma.Schema.from_dict({"items": ma.fields.List(ma.fields.Nested(ReportSchema), required=True)},
                                 name="ReportList")


def _error(exc) -> ApiError:
    if isinstance(exc, IllegalTransition):
        return ApiError(409, "illegal_transition", exc.message)
    return ApiError(422, "report_rule", exc.message, getattr(exc, "field", None))


def _report(report_id: int) -> ProgressReport:
    report = db.session.get(ProgressReport, report_id)
    if report is None or not perm.can_view_report(user(), report):
        raise not_found()
    return report


# --- reports -----------------------------------------------------------------------------------

@blp.route("/reports")
@blp.arguments(ReportFilter, location="query")
@blp.response(200, ReportList)
@scope("reports:read")
def list_reports(args):
    """The reports of one contract that the caller may read (a draft only for its organisation)."""
    contract = db.session.get(Contract, args["contract_id"])
    if contract is None or not can_view_contract(user(), contract):
        raise not_found()
    reports = db.session.scalars(sa.select(ProgressReport).where(ProgressReport.contract_id == contract.id)
                                 .order_by(ProgressReport.id)).unique()
    return {"items": [r for r in reports if perm.can_view_report(user(), r)]}


@blp.route("/reports/<int:report_id>")
@blp.response(200, ReportSchema)
@scope("reports:read")
def get_report(report_id):
    """One report with outputs achieved against targets, spending against budget, and its evidence."""
    return _report(report_id)


@blp.route("/reports", methods=["POST"])
@write
@blp.arguments(StartReportSchema)
@blp.response(201, ReportSchema)
@scope("reports:write")
def create_report(body):
    """Start the report of a tranche that is due (or in rectification); prefilled with targets and budget."""
    tranche = db.session.get(Tranche, body["tranche_id"])
    if tranche is None or not can_view_contract(user(), tranche.contract):
        raise not_found()
    if not perm.can_start_report(user(), tranche):
        raise forbidden(_("该拨付节点现在不需要提交报告"))
    try:
        return start_report(tranche, actor())
    except (AssessmentError, IllegalTransition) as exc:
        raise _error(exc) from exc


@blp.route("/reports/<int:report_id>", methods=["PATCH"])
@write
@blp.arguments(ReportEditSchema)
@blp.response(200, ReportSchema)
@scope("reports:write")
def update_report(body, report_id):
    """Save the narrative, outputs achieved (by kind) and money spent (by spending row id)."""
    report = _report(report_id)
    if not perm.can_edit_report(user(), report):
        raise forbidden(_("报告已提交，不能再修改"))
    try:
        save_report(report, narrative=body.get("narrative", report.narrative),
                    achieved={a["kind"]: a["achieved"] for a in body.get("achieved", [])},
                    spent={s["id"]: s["spent_fen"] for s in body.get("spent", [])}, actor=actor())
    except (AssessmentError, IllegalTransition) as exc:
        raise _error(exc) from exc
    return report


@blp.route("/reports/<int:report_id>/evidence", methods=["POST"])
@write
@blp.arguments(EvidenceUploadSchema, location="files")
@blp.response(201, ReportSchema)
@scope("reports:write")
def upload_evidence(files, report_id):
    """Attach evidence (photos, sign-in sheets, receipts); the type is checked by content."""
    report = _report(report_id)
    if not perm.can_edit_report(user(), report):
        raise forbidden(_("报告已提交，不能再修改"))
    try:
        problems = save_report(report, narrative=report.narrative, achieved={}, spent={}, actor=actor(),
                               uploads=[files["file"]])
    except (AssessmentError, IllegalTransition) as exc:
        raise _error(exc) from exc
    if problems:
        raise ApiError(422, "upload_rejected", problems[0], "file")
    return report


@blp.route("/reports/<int:report_id>/submit", methods=["POST"])
@write
@blp.response(200, ReportSchema)
@scope("reports:write")
def submit(report_id):
    """Submit the report (a narrative of at least 10 characters and one piece of evidence are required)."""
    report = _report(report_id)
    if not perm.can_edit_report(user(), report):
        raise forbidden(_("报告已提交"))
    problems = report_problems(report)
    if problems:
        errors = [{"code": "report_rule", "message": m, "field": f} for f, m in problems.items()]
        raise ApiError(422, "report_rule", errors[0]["message"], errors[0]["field"], errors=errors)
    try:
        submit_report(report, actor())
    except (AssessmentError, IllegalTransition) as exc:
        raise _error(exc) from exc
    return report


# --- assessments ---------------------------------------------------------------------------------

@blp.route("/assessments")
@blp.arguments(CursorArgs, location="query")
@blp.response(200, AssessmentPage)
@scope("reports:read")
def list_assessments(args):
    """The evaluator's own assessments, newest first."""
    if not perm.can_list_my_assessments(user()):
        raise forbidden()
    return cursor_page(sa.select(Assessment).where(Assessment.evaluator_id == user().id), Assessment.id, args)


@blp.route("/assessments/<int:assessment_id>")
@blp.response(200, AssessmentDetailSchema)
@scope("reports:read")
def get_assessment(assessment_id):
    """One assessment with the rubric it is scored against."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not perm.can_view_assessment(user(), assessment):
        raise not_found()
    return assessment


@blp.route("/assessments/<int:assessment_id>/submit", methods=["POST"])
@write
@blp.arguments(ScoreSchema)
@blp.response(200, AssessmentDetailSchema)
@scope("reports:write")
def score(body, assessment_id):
    """评分 by the assigned evaluator: the band of the total gives the grade and the tranche's payment ratio."""
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or not perm.can_view_assessment(user(), assessment):
        raise not_found()
    if not perm.can_score_assessment(user(), assessment):
        raise forbidden(_("只有被指派的评估人员可以评分"))
    try:
        submit_assessment(assessment, actor(), points={p["criterion_id"]: p["points"] for p in body["points"]},
                          satisfaction_pct=body["satisfaction_pct"], comment=body.get("comment", ""))
    except (AssessmentError, IllegalTransition) as exc:
        raise _error(exc) from exc
    return assessment
