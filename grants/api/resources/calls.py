"""征集公告: the public list and detail of published calls (no token needed)."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from grants.api.core import CursorArgs, LocalDateTime, MoneyField, cursor_page, not_found, page_schema, public
from grants.calls.models import PUBLIC_STATUSES, Call
from grants.calls.permissions import can_view_public_call
from grants.core.timeutil import now
from grants.extensions import db

blp = Blueprint("api_calls", __name__, url_prefix="/api/v1/calls", description="征集公告（公开）")
PUBLIC_SECURITY = [{}, {"bearerAuth": []}]


class CategorySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    quota = MoneyField(attribute="quota_fen", required=True, allow_none=True)


class RequirementSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    required = ma.fields.Boolean(required=True)
    allowed_types = ma.fields.List(ma.fields.String(), required=True)


class CallSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    year = ma.fields.Integer(required=True)
    level = ma.fields.String(required=True, metadata={"description": "city / district / street"})
    status = ma.fields.String(required=True)
    is_open = ma.fields.Boolean(required=True, metadata={"description": "现在是否在申报期内（按服务器时间）"})
    host_unit = ma.fields.Function(lambda c: c.host_unit.name if c.host_unit else "", required=True,
                                   metadata={"type": "string"})
    open_at = LocalDateTime(required=True, allow_none=True)
    close_at = LocalDateTime(required=True, allow_none=True)
    min_grant = MoneyField(attribute="min_grant_fen", required=True)
    max_grant = MoneyField(attribute="max_grant_fen", required=True)


class CallDetailSchema(CallSchema):
    description = ma.fields.String(required=True)
    project_start_on = ma.fields.Date(required=True, allow_none=True)
    project_end_on = ma.fields.Date(required=True, allow_none=True)
    min_own_funding_pct = ma.fields.Integer(required=True)
    max_applications_per_org = ma.fields.Integer(required=True)
    categories = ma.fields.List(ma.fields.Nested(CategorySchema), required=True)
    attachment_requirements = ma.fields.List(ma.fields.Nested(RequirementSchema), required=True)


class CallFilter(CursorArgs):
    year = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))
    level = ma.fields.String(validate=ma.validate.OneOf(["city", "district", "street"]))
    open = ma.fields.Boolean(metadata={"description": "true：只列出正在申报期内的"})


CallPage = page_schema(CallSchema, "CallPage")


@blp.route("")
@blp.arguments(CallFilter, location="query")
@blp.response(200, CallPage)
@blp.doc(security=PUBLIC_SECURITY)
@public
def list_calls(args):
    """Published calls, newest first; filters as on the public list (year, level, open now)."""
    stmt = sa.select(Call).where(Call.status.in_([str(s) for s in PUBLIC_STATUSES]))
    if args.get("year"):
        stmt = stmt.where(Call.year == args["year"])
    if args.get("level"):
        stmt = stmt.where(Call.level == args["level"])
    if args.get("open") is not None:
        at = now()
        is_open = sa.and_(Call.status == "published", Call.open_at <= at, Call.close_at > at)
        stmt = stmt.where(is_open if args["open"] else sa.not_(is_open))
    return cursor_page(stmt, Call.id, args)


@blp.route("/<int:call_id>")
@blp.response(200, CallDetailSchema)
@blp.doc(security=PUBLIC_SECURITY)
@public
def get_call(call_id):
    """One published call with its categories and required attachments (drafts do not exist here)."""
    call = db.session.get(Call, call_id)
    if call is None or not can_view_public_call(call):
        raise not_found()
    return call
