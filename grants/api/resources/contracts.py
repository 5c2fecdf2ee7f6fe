"""资助协议 and 拨付节点: read by the organisation and staff in scope; the organisation's admin signs."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from grants.api.core import (
    ApiError, CursorArgs, Text, LocalDateTime, MoneyField, actor, cursor_page, forbidden, not_found, page_schema, scope,
    user, write,
)
from grants.calls.models import Call
from grants.contracts import permissions as perm
from grants.contracts.models import Contract, ContractStatus
from grants.contracts.services import ContractError, sign_contract
from grants.core.states import IllegalTransition
from grants.extensions import db

blp = Blueprint("api_contracts", __name__, url_prefix="/api/v1/contracts", description="资助协议与拨付节点")


class TrancheSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    seq = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    percent = ma.fields.Integer(required=True)
    status = ma.fields.String(required=True)
    planned = MoneyField(attribute="planned_fen", required=True)
    payable = MoneyField(attribute="payable_fen", required=True, allow_none=True)
    withheld = MoneyField(attribute="withheld_fen", required=True, allow_none=True)
    payment_pct = ma.fields.Integer(required=True, allow_none=True)
    due_on = ma.fields.Date(required=True, allow_none=True)
    settled_at = LocalDateTime(required=True, allow_none=True)


class ContractSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    number = ma.fields.String(required=True)
    call_id = ma.fields.Integer(required=True)
    application_id = ma.fields.Integer(required=True)
    organization_id = ma.fields.Integer(required=True)
    project_name = ma.fields.String(required=True)
    amount = MoneyField(attribute="amount_fen", required=True)
    status = ma.fields.String(required=True)
    period_start_on = ma.fields.Date(required=True)
    period_end_on = ma.fields.Date(required=True)
    party_a_name = ma.fields.String(required=True)
    party_b_name = ma.fields.String(required=True)
    issued_at = LocalDateTime(required=True, allow_none=True)
    signed_at = LocalDateTime(required=True, allow_none=True)
    countersigned_at = LocalDateTime(required=True, allow_none=True)
    tranches = ma.fields.List(ma.fields.Nested(TrancheSchema), required=True)


class ContractFilter(CursorArgs):
    status = ma.fields.String(validate=ma.validate.OneOf([str(s) for s in ContractStatus]))
    call_id = ma.fields.Integer(validate=ma.validate.Range(1, 2 ** 31 - 1))


class SignSchema(ma.Schema):
    signer_name = Text(required=True, validate=ma.validate.Length(max=50))
    signer_title = Text(required=True, validate=ma.validate.Length(max=50))


ContractPage = page_schema(ContractSchema, "ContractPage")


def _load(contract_id: int) -> Contract:
    contract = db.session.get(Contract, contract_id)
    if contract is None or not perm.can_view_contract(user(), contract):
        raise not_found()
    return contract


@blp.route("")
@blp.arguments(ContractFilter, location="query")
@blp.response(200, ContractPage)
@scope("contracts:read")
def list_contracts(args):
    """Staff: the contracts of their unit subtree's calls. Organisation members: their own, once issued."""
    from grants.organizations.services import unit_subtree_ids

    u = user()
    stmt = sa.select(Contract).options(selectinload(Contract.tranches))
    if perm.can_list_contracts(u):
        stmt = stmt.join(Call, Call.id == Contract.call_id).where(
            Call.host_unit_id.in_(unit_subtree_ids(u.host_unit_id)))
    elif perm.can_list_own_contracts(u):
        stmt = stmt.where(Contract.organization_id == u.organization.id, Contract.status != ContractStatus.DRAFT)
    else:
        raise forbidden()
    if args.get("status"):
        stmt = stmt.where(Contract.status == args["status"])
    if args.get("call_id"):
        stmt = stmt.where(Contract.call_id == args["call_id"])
    return cursor_page(stmt, Contract.id, args)


@blp.route("/<int:contract_id>")
@blp.response(200, ContractSchema)
@scope("contracts:read")
def get_contract(contract_id):
    """One contract with its tranches."""
    return _load(contract_id)


@blp.route("/<int:contract_id>/sign", methods=["POST"])
@write
@blp.arguments(SignSchema)
@blp.response(200, ContractSchema)
@scope("contracts:write")
def sign(body, contract_id):
    """乙方签署: the organisation's administrator accepts an issued contract (name and title of the signer)."""
    contract = _load(contract_id)
    if not perm.can_sign_contract(user(), contract):
        raise forbidden(_("只有社会组织管理员可以签署已下发的协议"))
    try:
        sign_contract(contract, actor(), signer_name=body["signer_name"], signer_title=body["signer_title"])
    except ContractError as exc:
        raise ApiError(422, "contract_rule", exc.message, exc.field) from exc
    except IllegalTransition as exc:
        raise ApiError(409, "illegal_transition", exc.message) from exc
    return contract
