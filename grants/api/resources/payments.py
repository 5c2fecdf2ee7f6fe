"""拨款 for the finance bureau's payment system: list approved payments, mark one released with the bank's
reference — exactly once (the finance service locks the row; Idempotency-Key replays the first answer)."""
from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask_smorest import Blueprint

from grants.api.core import (
    ApiError, CursorArgs, Text, LocalDateTime, MoneyField, actor, cursor_page, forbidden, not_found, page_schema, scope,
    user, write,
)
from grants.calls.models import Call
from grants.core.states import IllegalTransition
from grants.extensions import db
from grants.finance import permissions as perm
from grants.finance.models import Payment, PaymentStatus
from grants.finance.services import AlreadyDone, PaymentError, needs_second_approval, release_payment

blp = Blueprint("api_payments", __name__, url_prefix="/api/v1/payments", description="拨款（财务）")


class PaymentSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    call_id = ma.fields.Integer(required=True)
    contract_id = ma.fields.Integer(required=True)
    tranche_id = ma.fields.Integer(required=True)
    organization_id = ma.fields.Integer(required=True)
    amount = MoneyField(attribute="amount_fen", required=True)
    status = ma.fields.String(required=True)
    needs_second_approval = ma.fields.Function(needs_second_approval, required=True, metadata={"type": "boolean"})
    requested_at = LocalDateTime(required=True)
    approved_at = LocalDateTime(required=True, allow_none=True)
    released_at = LocalDateTime(required=True, allow_none=True)
    released_on = ma.fields.Date(required=True, allow_none=True)
    bank_reference = ma.fields.String(required=True, allow_none=True)
    payee_name = ma.fields.Function(lambda p: p.payee_name or p.contract.party_b_bank_account_name
                                    or p.contract.party_b_name, required=True,
                                    metadata={"type": "string"})
    payee_bank_name = ma.fields.Function(lambda p: p.payee_bank_name or p.contract.party_b_bank_name, required=True,
                                         metadata={"type": "string"})
    payee_account_number = ma.fields.Function(lambda p: p.payee_account_number
                                              or p.contract.party_b_bank_account_number, required=True,
                                              metadata={"type": "string"})
    version = ma.fields.Integer(required=True)


class PaymentFilter(CursorArgs):
    status = ma.fields.String(validate=ma.validate.OneOf([str(s) for s in PaymentStatus]),
                              metadata={"description": "如 approved：已审核待支付，供支付系统导出"})
    call_id = ma.fields.Integer(validate=ma.validate.Range(1, 2 ** 31 - 1))
    organization_id = ma.fields.Integer(validate=ma.validate.Range(1, 2 ** 31 - 1))


class ReleaseSchema(ma.Schema):
    bank_reference = Text(required=True, validate=ma.validate.Length(max=64))
    released_on = ma.fields.Date(required=True, metadata={"description": "银行实际支付日期"})


PaymentPage = page_schema(PaymentSchema, "PaymentPage")


def _load(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or not perm.can_view_payment(user(), payment):
        raise not_found()
    return payment


@blp.route("")
@blp.arguments(PaymentFilter, location="query")
@blp.response(200, PaymentPage)
@scope("payments:read")
def list_payments(args):
    """Payments of the caller's unit subtree, filtered as on the queue (status, call, organisation)."""
    from grants.organizations.services import unit_subtree_ids

    u = user()
    if not perm.can_browse_payments(u):
        raise forbidden()
    stmt = sa.select(Payment).where(Payment.call_id.in_(
        sa.select(Call.id).where(Call.host_unit_id.in_(unit_subtree_ids(u.host_unit_id)))))
    for name in ("status", "call_id", "organization_id"):
        if args.get(name):
            stmt = stmt.where(getattr(Payment, name) == args[name])
    return cursor_page(stmt, Payment.id, args)


@blp.route("/<int:payment_id>")
@blp.response(200, PaymentSchema)
@scope("payments:read")
def get_payment(payment_id):
    """One payment."""
    return _load(payment_id)


@blp.route("/<int:payment_id>/release", methods=["POST"])
@write
@blp.arguments(ReleaseSchema)
@blp.response(200, PaymentSchema)
@scope("payments:write")
def release(body, payment_id):
    """确认支付 with the bank's reference, once. A repeat with the same Idempotency-Key returns the first
    answer; a repeat without it is refused (409, already released), and nothing is paid twice."""
    payment = _load(payment_id)
    if not perm.can_handle_payment(user(), payment):
        raise forbidden()
    try:
        release_payment(payment, actor(), body["bank_reference"], body["released_on"])
    except AlreadyDone as exc:
        raise ApiError(409, "already_done", exc.message) from exc
    except PaymentError as exc:
        raise ApiError(422, "payment_rule", exc.message, exc.field) from exc
    except IllegalTransition as exc:
        raise ApiError(409, "illegal_transition", exc.message) from exc
    return payment

