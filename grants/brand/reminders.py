"""Reminder rule for brand-project selections (品牌项目评选), registered with the reminder engine when this
package loads:

- brand_scoring_due — the scoring deadline is in 3 and 1 days, and has passed → each panel expert who has
                      accepted nominations left to score (those declared as conflicts excused).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from grants.extensions import db
from grants.reminders.kinds import DEADLINE
from grants.reminders.registry import Due, RuleContext, Text, once, rule


def _unscored(ctx: RuleContext):
    """(selection, expert, how many nominations left) for selections in scoring whose deadline lies in the
    rule's window: accepted nominations without a submitted score by a panel expert who is not excused."""
    from grants.brand.models import (BrandConflict, BrandNomination, BrandPanelMember, BrandReview, BrandSelection,
                                     NominationStatus, SelectionStatus)

    start, end = ctx.window("brand_scoring_due")
    scored = sa.select(BrandReview.id).where(BrandReview.nomination_id == BrandNomination.id,
                                             BrandReview.expert_id == BrandPanelMember.user_id,
                                             BrandReview.status == "submitted")
    excused = sa.select(BrandConflict.id).where(BrandConflict.nomination_id == BrandNomination.id,
                                                BrandConflict.expert_id == BrandPanelMember.user_id,
                                                BrandConflict.has_conflict.is_(True))
    return db.session.execute(
        sa.select(BrandSelection.id.label("selection_id"), BrandSelection.title, BrandSelection.scoring_deadline_at,
                  BrandPanelMember.user_id.label("expert_id"), sa.func.count(BrandNomination.id).label("left"))
        .select_from(BrandPanelMember).join(BrandSelection, BrandSelection.id == BrandPanelMember.selection_id)
        .join(BrandNomination, sa.and_(BrandNomination.selection_id == BrandSelection.id,
                                       BrandNomination.status == NominationStatus.ACCEPTED))
        .where(BrandSelection.status == SelectionStatus.SCORING, BrandSelection.scoring_deadline_at > start,
               BrandSelection.scoring_deadline_at <= end, ~sa.exists(scored), ~sa.exists(excused))
        .group_by(BrandSelection.id, BrandSelection.title, BrandSelection.scoring_deadline_at,
                  BrandPanelMember.user_id)
    ).all()


@rule("brand_scoring_due", label=_l("品牌项目评分截止提醒"),
      description=_l("品牌项目评选的评分截止前及逾期时，提醒尚有项目未评分的评审专家（已申报回避的项目除外）。"
                     "提前天数填 0 表示逾期时提醒。"),
      offsets=(3, 1, 0), allow_overdue=True, per_call=False)
def brand_scoring_due(ctx: RuleContext):
    for row in _unscored(ctx):
        hit = ctx.latest_due("brand_scoring_due", row.scoring_deadline_at)
        if hit:
            yield Due(row.expert_id, "brand_selection", row.selection_id, hit.occurrence, hit.due_at, DEADLINE.key,
                      once(_scoring_text, ctx, row, hit.offset))


def _scoring_text(ctx: RuleContext, row, offset: int) -> Text:
    link = ctx.url_for("brand.tasks")
    if offset <= 0:
        return Text(_("品牌项目评分已逾期：%(t)s", t=row.title),
                    _("“%(t)s”的评分已于 %(d)s 截止，您还有 %(n)s 个项目未提交评分，请尽快联系项目主管。",
                      t=row.title, d=ctx.local(row.scoring_deadline_at), n=row.left), link)
    return Text(_("品牌项目评分即将截止：%(t)s", t=row.title),
                _("“%(t)s”的评分将于 %(d)s 截止，您还有 %(n)s 个项目未提交评分，请在截止前完成。",
                  t=row.title, d=ctx.local(row.scoring_deadline_at), n=row.left), link)
