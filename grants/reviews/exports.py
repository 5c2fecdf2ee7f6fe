"""评分明细表 (Excel): every expert × criterion, one sheet per stage, and the ranking summary."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from grants.applications.models import Application
from grants.core.timeutil import format_local
from grants.extensions import db
from grants.reviews import scoring
from grants.reviews.models import RECOMMENDATION_LABELS, STAGE_LABELS, Review, ReviewStage, ReviewStatus
from grants.core.excel import new_workbook, workbook_bytes

HEADER_FILL = PatternFill("solid", fgColor="DDE6F2")


def _yuan(fen: int | None):
    return None if fen is None else (Decimal(fen) / 100).quantize(Decimal("0.01"))


def _header(ws, row: int, headers: list[tuple[str, int]]) -> None:
    for col, (text, width) in enumerate(headers, start=1):
        cell = ws.cell(row=row, column=col, value=text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(col)].width = width


def _stage_sheet(wb, call, stage: str, reviews: list[Review], apps: dict[int, Application]) -> None:
    criteria = call.criteria_for(stage)
    ws = wb.create_sheet(str(STAGE_LABELS[ReviewStage(stage)]))
    ws.append([f"{call.title_with_year} — {STAGE_LABELS[ReviewStage(stage)]}专家评分明细"])
    ws["A1"].font = Font(bold=True, size=13)
    headers = [("申报编号", 16), ("项目名称", 30), ("申报单位", 28), ("项目类别", 12), ("评审专家", 12)]
    headers += [(f"{c.name}（{c.max_points}分）", 12) for c in criteria]
    headers += [("合计（百分制）", 12), ("推荐意见", 12), ("建议资助金额（元）", 16), ("提交时间", 18), ("总体评价", 50)]
    _header(ws, 2, headers)
    max_points = {c.id: c.max_points for c in criteria}
    for r in reviews:
        a = apps[r.application_id]
        pts = r.points_by_criterion
        total = scoring.q2(scoring.weighted_total(pts, max_points))
        ws.append([a.number or a.id, a.project_name, a.organization.name, a.category.name if a.category else "",
                   r.expert.display_name] + [pts.get(c.id) for c in criteria] +
                  [total, str(RECOMMENDATION_LABELS.get(r.recommendation, "")), _yuan(r.suggested_amount_fen),
                   format_local(r.submitted_at), r.overall_comment])
        money_col = 5 + len(criteria) + 3
        ws.cell(row=ws.max_row, column=money_col).number_format = "#,##0.00"
        ws.cell(row=ws.max_row, column=5 + len(criteria) + 1).number_format = "0.00"
    ws.freeze_panes = "F3"


def score_sheet_workbook(call) -> bytes:
    """The workbook: 汇总排序 (ranking) + one sheet per stage with every submitted review's points."""
    from grants.reviews.services import compute_ranking

    rows = compute_ranking(call)
    wb = new_workbook()
    ws = wb.active
    ws.title = "汇总排序"
    ws.append([f"{call.title_with_year} — 专家评审汇总（{call.aggregation_label}）"])
    ws["A1"].font = Font(bold=True, size=13)
    headers = [("总排名", 8), ("类别内排名", 10), ("申报编号", 16), ("项目名称", 30), ("申报单位", 28), ("项目类别", 12),
               ("书面评审得分", 12), ("路演得分", 10), ("最终得分", 10), ("评分份数", 8), ("标准差", 8),
               ("极差", 8), ("分歧提示", 10), ("申请金额（元）", 14)]
    _header(ws, 2, headers)
    for r in rows:
        a = r.application
        ws.append([r.rank_overall, r.rank_in_category, a.number or a.id, a.project_name, a.organization.name,
                   a.category.name if a.category else "", r.written_score, r.pitch_score, r.final_score,
                   r.review_count, r.std_dev, r.spread, "分歧较大" if r.flagged else "", _yuan(a.requested_fen)])
        for col in (7, 8, 9, 11, 12):
            ws.cell(row=ws.max_row, column=col).number_format = "0.00"
        ws.cell(row=ws.max_row, column=14).number_format = "#,##0.00"
    ws.freeze_panes = "D3"
    apps = {r.application.id: r.application for r in rows}
    stages = [ReviewStage.WRITTEN] + ([ReviewStage.PITCH] if call.pitch_enabled else [])
    for stage in stages:
        reviews = list(db.session.scalars(
            sa.select(Review).join(Application, Application.id == Review.application_id)
            .where(Application.call_id == call.id, Review.stage == stage, Review.status == ReviewStatus.SUBMITTED)
            .order_by(Application.number, Application.id, Review.expert_id)).unique())
        missing = {r.application_id for r in reviews} - set(apps)
        if missing:
            apps.update({a.id: a for a in db.session.scalars(sa.select(Application).where(
                Application.id.in_(missing))).unique()})
        _stage_sheet(wb, call, stage, reviews, apps)
    return workbook_bytes(wb)
