"""/api/v1/me: who the token acts for, and what it may do."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from grants.api.core import LocalDateTime, actor

blp = Blueprint("api_account", __name__, url_prefix="/api/v1", description="令牌与调用者")


class MeSchema(ma.Schema):
    user_id = ma.fields.Integer(required=True)
    display_name = ma.fields.String(required=True)
    roles = ma.fields.List(ma.fields.String(), required=True)
    host_unit_id = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "令牌生效的单位范围"})
    organization_id = ma.fields.Integer(required=True, allow_none=True)
    token_name = ma.fields.String(required=True)
    token_kind = ma.fields.String(required=True)
    scopes = ma.fields.List(ma.fields.String(), required=True)
    expires_at = LocalDateTime(required=True)


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """The token's user, roles, unit scope, scopes and expiry."""
    from flask import g

    token, user = g.api_token, actor()
    return {"user_id": user.id, "display_name": user.display_name, "roles": sorted(user.role_names),
            "host_unit_id": g.api_user.host_unit_id, "organization_id": getattr(user.organization, "id", None),
            "token_name": token.name, "token_kind": token.kind, "scopes": list(token.scopes),
            "expires_at": token.expires_at}
