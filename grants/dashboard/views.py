"""Dashboard pages: the figures with their charts and tables, the Excel download and the drill-down list."""
from __future__ import annotations

from flask import abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from grants.calls.models import GRADE_LABELS
from grants.core.excel import xlsx_response
from grants.core.web import ensure, paginate
from grants.dashboard import bp
from grants.dashboard import permissions as perm
from grants.dashboard.charts import BLUE, GREEN, GREY, LIGHT, ORANGE, RED, grouped_bars, stacked_bars
from grants.dashboard.exports import dashboard_workbook
from grants.dashboard.services import (
    SET_LABELS, Drill, Filters, dashboard_for, drill_query, drill_title, project_money, unit_tree,
)
from grants.organizations.models import UNIT_LEVEL_LABELS

PER_PAGE = 50


@bp.app_template_filter("plain_yuan")
def plain_yuan(fen: int | None) -> str:
    """Fen as yuan with thousands separators and no currency sign, for tables headed 金额单位：元."""
    return f"{(fen or 0) // 100:,}.{(fen or 0) % 100:02d}" if (fen or 0) >= 0 else "-" + plain_yuan(-fen)


@bp.app_template_filter("wan")
def wan(fen: int | None) -> str:
    """Fen as 万元 with up to two decimals, for chart labels (the tables show exact yuan); in English, where
    nobody counts in 万, as thousands (k) or millions (M) of yuan."""
    if not fen:
        return "0"
    if get_locale() is not None and get_locale().language == "en":
        value = fen / 100
        for size, suffix in ((1_000_000, "M"), (1_000, "k")):
            if abs(value) >= size:
                return f"{value / size:,.2f}".rstrip("0").rstrip(".") + suffix
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    value = fen / 1_000_000
    return f"{value:,.2f}".rstrip("0").rstrip(".") + "万"


def _charts(board, fargs: dict) -> dict:
    """The dashboard's charts; every bar links to the projects it adds up."""
    def drill(set_: str, **group) -> str:
        return url_for("dashboard.items", set=set_, **group, **fargs)

    t = board.total
    flow = stacked_bars("chart-flow", _("资金流向（预算 → 立项 → 拨付）"), [
        (_("预算"), [(_("预算"), sum(s.budget_fen for s in board.by_source), GREY, None)]),
        (_("立项"), [(_("拨付净额"), t.net_paid_fen, GREEN, drill("paid")),
                     (_("已追回"), t.reclaimed_fen, RED, drill("reclaimed")),
                     (_("评估扣减"), t.withheld_fen, ORANGE, drill("withheld")),
                     (_("待拨付"), max(t.to_pay_fen, 0), LIGHT, drill("funded"))]),
    ], wan)
    money_series = [(_("申请金额"), LIGHT), (_("立项金额"), BLUE), (_("拨付净额"), GREEN)]

    def money_rows(groups: dict, key: str, empty_label: str):
        return [(k or empty_label, [g.requested_fen, g.awarded_fen, g.net_paid_fen],
                 [drill("received", **{key: k}), drill("funded", **{key: k}), drill("paid", **{key: k})])
                for k, g in groups.items()]

    return {
        "flow": flow,
        "category": grouped_bars("chart-category", _("按项目类别"),
                                 money_rows(board.by_category, "category", _("未分类")), money_series, wan),
        "district": grouped_bars("chart-district", _("按区县（申报组织所在地）"),
                                 money_rows(board.by_district, "district", _("未填写区县")), money_series, wan),
        "years": grouped_bars("chart-years", _("逐年对比"),
                              [(str(y), [g.requested_fen, g.awarded_fen, g.net_paid_fen],
                                [drill("received", y=y), drill("funded", y=y), drill("paid", y=y)])
                               for y, g in board.by_year.items()], money_series, wan),
        "grades": grouped_bars("chart-grades", _("结项等级分布"),
                               [(str(label), [n], [drill("finished", grade=g)]) for g, label, n in board.grade_rows],
                               [(_("项目数"), BLUE)], lambda n: _("%(n)s 个", n=n)),
    }


@bp.route("/")
@login_required
def index():
    """统计: the programme's figures for the chosen call, year, range of years or level."""
    ensure(perm.can_view_dashboard(current_user))
    f = Filters.from_args(request.args)
    board, calls = dashboard_for(current_user.host_unit_id, f)
    if f.call_id and f.call_id not in {c.id for c in calls}:
        abort(404)
    years = sorted({c.year for c in calls}, reverse=True)
    return render_template("dashboard/index.html", board=board, calls=calls, years=years, f=f,
                           fargs=f.args(), charts=_charts(board, f.args()), level_labels={str(k): v for k, v in UNIT_LEVEL_LABELS.items()})


@bp.route("/export.xlsx")
@login_required
def export():
    """The dashboard's tables as an Excel workbook (one sheet per table)."""
    ensure(perm.can_view_dashboard(current_user))
    f = Filters.from_args(request.args)
    board, calls = dashboard_for(current_user.host_unit_id, f)
    if f.call_id and f.call_id not in {c.id for c in calls}:
        abort(404)
    return xlsx_response(dashboard_workbook(board, calls), "统计报表.xlsx")


@bp.route("/items")
@login_required
def items():
    """The projects behind one figure, filtered as the dashboard was (paginated, fixed number of queries)."""
    ensure(perm.can_view_dashboard(current_user))
    unit_ids, _units = unit_tree(current_user.host_unit_id)
    f, d = Filters.from_args(request.args), Drill.from_args(request.args)
    page = paginate(drill_query(unit_ids, f, d), per_page=PER_PAGE)
    money = project_money([a.id for a in page.items])
    return render_template("dashboard/items.html", page=page, money=money, f=f, d=d, title=drill_title(d),
                           fargs=f.args(), set_labels=SET_LABELS, GRADE_LABELS=GRADE_LABELS)
