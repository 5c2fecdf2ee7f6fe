"""社会组织: members read their own; officers, finance and auditors read any (organisations are platform-wide)."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from grants.api.core import CursorArgs, Text, LocalDateTime, cursor_page, forbidden, not_found, page_schema, scope, user
from grants.extensions import db
from grants.organizations import permissions as perm
from grants.organizations.models import Organization

blp = Blueprint("api_organizations", __name__, url_prefix="/api/v1/organizations", description="社会组织")


class OrganizationSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    legal_form = ma.fields.String(required=True)
    uscc = ma.fields.String(required=True, allow_none=True, metadata={"description": "统一社会信用代码"})
    filing_number = ma.fields.String(required=True, allow_none=True)
    registered_on = ma.fields.Date(required=True, allow_none=True)
    registration_authority = ma.fields.String(required=True)
    rating = ma.fields.Integer(required=True, metadata={"description": "评估等级 0–5（A）"})
    district = ma.fields.String(required=True)
    street = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    blacklisted = ma.fields.Boolean(required=True)
    verified_at = LocalDateTime(required=True, allow_none=True)


class OrganizationDetailSchema(OrganizationSchema):
    """With the contact and bank details that only the organisation and staff may read."""

    contact_name = ma.fields.String(required=True)
    contact_phone = ma.fields.String(required=True)
    contact_email = ma.fields.String(required=True)
    address = ma.fields.String(required=True)
    bank_account_name = ma.fields.String(required=True)
    bank_name = ma.fields.String(required=True)
    bank_account_number = ma.fields.String(required=True)


class OrganizationFilter(CursorArgs):
    q = Text(validate=ma.validate.Length(max=100), metadata={"description": "名称或统一社会信用代码包含"})
    status = Text(validate=ma.validate.Length(max=20))
    legal_form = Text(validate=ma.validate.Length(max=30))
    district = Text(validate=ma.validate.Length(max=50))


OrganizationPage = page_schema(OrganizationSchema, "OrganizationPage")


@blp.route("")
@blp.arguments(OrganizationFilter, location="query")
@blp.response(200, OrganizationPage)
@scope("organizations:read")
def list_organizations(args):
    """Staff: every organisation, filtered as on the organisations list. Members: only their own."""
    u = user()
    stmt = sa.select(Organization)
    if perm.can_list_organizations(u):
        if args.get("q"):
            like = f"%{args['q'].strip()}%"
            stmt = stmt.where(sa.or_(Organization.name.like(like), Organization.uscc.like(like)))
        for name in ("status", "legal_form", "district"):
            if args.get(name):
                stmt = stmt.where(getattr(Organization, name) == args[name].strip())
    elif u.organization is not None:
        stmt = stmt.where(Organization.id == u.organization.id)
    else:
        raise forbidden()
    return cursor_page(stmt, Organization.id, args)


@blp.route("/<int:org_id>")
@blp.response(200, OrganizationDetailSchema)
@scope("organizations:read")
def get_organization(org_id):
    """One organisation with its contact and bank details."""
    org = db.session.get(Organization, org_id)
    if org is None or not perm.can_view_private_details(user(), org):
        raise not_found()
    return org
