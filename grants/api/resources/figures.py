"""台账 per funding source and 统计 figures, for analysts and the finance bureau: staff in scope only.
The numbers come from the same functions the ledger and dashboard pages use."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from grants.api.core import MoneyField, forbidden, not_found, scope, user
from grants.calls.models import Call
from grants.dashboard.permissions import can_view_dashboard
from grants.dashboard.services import LEVELS, Filters, dashboard_for
from grants.extensions import db
from grants.finance.ledger import ledger_totals
from grants.finance.permissions import can_view_ledger

blp = Blueprint("api_figures", __name__, url_prefix="/api/v1", description="资金台账与统计")


class SourceLineSchema(ma.Schema):
    source_id = ma.fields.Integer(required=True, metadata={"description": "资金来源 id；合计行为 -1"})
    label = ma.fields.String(required=True)
    budget = MoneyField(attribute="budget_fen", required=True)
    committed = MoneyField(attribute="committed_fen", required=True)
    paid = MoneyField(attribute="paid_fen", required=True)
    withheld = MoneyField(attribute="withheld_fen", required=True)
    reclaimed = MoneyField(attribute="reclaimed_fen", required=True)
    remaining = MoneyField(attribute="remaining_fen", required=True, metadata={"description": "待拨付"})
    balance = MoneyField(attribute="balance_fen", required=True, metadata={"description": "资金结余"})


class LedgerSchema(ma.Schema):
    call_id = ma.fields.Function(lambda ledger: ledger["call"].id, required=True, metadata={"type": "integer"})
    sources = ma.fields.List(ma.fields.Nested(SourceLineSchema), required=True)
    total = ma.fields.Nested(SourceLineSchema, required=True)


class FiguresSchema(ma.Schema):
    received = ma.fields.Integer(required=True)
    eligible = ma.fields.Integer(required=True)
    funded = ma.fields.Integer(required=True)
    requested = MoneyField(attribute="requested_fen", required=True)
    awarded = MoneyField(attribute="awarded_fen", required=True)
    paid = MoneyField(attribute="paid_fen", required=True)
    withheld = MoneyField(attribute="withheld_fen", required=True)
    reclaimed = MoneyField(attribute="reclaimed_fen", required=True)
    net_paid = MoneyField(attribute="net_paid_fen", required=True)
    to_pay = MoneyField(attribute="to_pay_fen", required=True)
    orgs_applied = ma.fields.Integer(required=True)
    orgs_funded = ma.fields.Integer(required=True)


class GroupSchema(FiguresSchema):
    key = ma.fields.String(required=True)


class SourceFiguresSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    budget = MoneyField(attribute="budget_fen", required=True)
    awarded = MoneyField(attribute="awarded_fen", required=True)
    paid = MoneyField(attribute="paid_fen", required=True)
    withheld = MoneyField(attribute="withheld_fen", required=True)
    reclaimed = MoneyField(attribute="reclaimed_fen", required=True)


class OutputFiguresSchema(ma.Schema):
    kind = ma.fields.String(required=True)
    label = ma.fields.String(required=True)
    promised = ma.fields.Integer(required=True)
    achieved = ma.fields.Integer(required=True)


class DashboardSchema(ma.Schema):
    total = ma.fields.Nested(FiguresSchema, required=True)
    by_year = ma.fields.List(ma.fields.Nested(GroupSchema), required=True)
    by_category = ma.fields.List(ma.fields.Nested(GroupSchema), required=True)
    by_district = ma.fields.List(ma.fields.Nested(GroupSchema), required=True)
    by_source = ma.fields.List(ma.fields.Nested(SourceFiguresSchema), required=True)
    outputs = ma.fields.List(ma.fields.Nested(OutputFiguresSchema), required=True)
    grades = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)


class DashboardFilter(ma.Schema):
    call_id = ma.fields.Integer(validate=ma.validate.Range(1, 2 ** 31 - 1))
    year = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))
    year_from = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))
    year_to = ma.fields.Integer(validate=ma.validate.Range(2000, 2100))
    level = ma.fields.String(validate=ma.validate.OneOf(LEVELS))


class _Keyed:
    """One group's figures with the group's key (a year, a category or a district)."""

    def __init__(self, key, figures):
        self.key, self._figures = str(key), figures

    def __getattr__(self, name):
        return getattr(self._figures, name)


def _groups(groups: dict) -> list[_Keyed]:
    return [_Keyed(key, figures) for key, figures in sorted(groups.items(), key=lambda kv: str(kv[0]))]


@blp.route("/ledgers/<int:call_id>")
@blp.response(200, LedgerSchema)
@scope("ledger:read")
def get_ledger(call_id):
    """The call's ledger per funding source: committed, paid, withheld, reclaimed, remaining and balance."""
    call = db.session.get(Call, call_id)
    if call is None or not can_view_ledger(user(), call):
        raise not_found()
    ledger = ledger_totals(call)
    return {"call": call, "sources": ledger.sources, "total": ledger.total}


@blp.route("/dashboard")
@blp.arguments(DashboardFilter, location="query")
@blp.response(200, DashboardSchema)
@scope("ledger:read")
def get_dashboard(args):
    """统计 of the caller's unit subtree, filtered by call, year (or a range of years) and level."""
    u = user()
    if not can_view_dashboard(u):
        raise forbidden()
    year_from, year_to = args.get("year_from"), args.get("year_to")
    if args.get("year"):
        year_from = year_to = args["year"]
    if year_from and year_to and year_from > year_to:
        year_from, year_to = year_to, year_from
    board, calls = dashboard_for(u.host_unit_id, Filters(call_id=args.get("call_id"), year_from=year_from,
                                                         year_to=year_to, level=args.get("level")))
    if args.get("call_id") and args["call_id"] not in {c.id for c in calls}:
        raise not_found()
    return {"total": board.total, "by_year": _groups(board.by_year), "by_category": _groups(board.by_category),
            "by_district": _groups(board.by_district), "by_source": board.by_source, "outputs": board.outputs,
            "grades": dict(board.grades)}
