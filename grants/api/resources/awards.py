"""公示: published award notices and their awards (public, like the notice pages)."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from grants.api.core import CursorArgs, LocalDateTime, MoneyField, cursor_page, not_found, page_schema, public
from grants.awards.models import PublicNotice
from grants.awards.services import awards_of
from grants.extensions import db

blp = Blueprint("api_awards", __name__, url_prefix="/api/v1/notices", description="资助决定公示（公开）")
PUBLIC_SECURITY = [{}, {"bearerAuth": []}]


class NoticeSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    call_id = ma.fields.Integer(required=True)
    call_title = ma.fields.Function(lambda n: n.call.title, required=True, metadata={"type": "string"})
    starts_on = ma.fields.Date(required=True)
    ends_on = ma.fields.Date(required=True)
    published_at = LocalDateTime(required=True)
    finalized_at = LocalDateTime(required=True, allow_none=True)


class AwardSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    application_id = ma.fields.Integer(required=True)
    project_name = ma.fields.Function(lambda a: a.application.project_name, required=True, metadata={"type": "string"})
    organization_name = ma.fields.Function(lambda a: a.organization.name, required=True, metadata={"type": "string"})
    amount = MoneyField(attribute="amount_fen", required=True)
    status = ma.fields.String(required=True)
    rank = ma.fields.Integer(required=True, allow_none=True)
    confirmed_at = LocalDateTime(required=True, allow_none=True)


class _NoticeAwards(ma.fields.List):
    """The notice's awards as the notice page lists them (awards_of the call)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return awards_of(obj.call, active_only=False)


class NoticeDetailSchema(NoticeSchema):
    awards = _NoticeAwards(ma.fields.Nested(AwardSchema), required=True)


NoticePage = page_schema(NoticeSchema, "NoticePage")


@blp.route("")
@blp.arguments(CursorArgs, location="query")
@blp.response(200, NoticePage)
@blp.doc(security=PUBLIC_SECURITY)
@public
def list_notices(args):
    """Every published notice, newest first."""
    return cursor_page(sa.select(PublicNotice), PublicNotice.id, args)


@blp.route("/<int:call_id>")
@blp.response(200, NoticeDetailSchema)
@blp.doc(security=PUBLIC_SECURITY)
@public
def get_notice(call_id):
    """The notice of a call with its awards: project, organisation, amount (no personal data)."""
    notice = db.session.scalar(sa.select(PublicNotice).where(PublicNotice.call_id == call_id))
    if notice is None:
        raise not_found()
    return notice
