"""Demo calls: last year's archived city call, and this year's published one copied from it."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from grants.accounts.models import User
from grants.calls.models import CallStatus
from grants.calls.services import copy_call, create_call, publish_call
from grants.core.timeutil import SHANGHAI, now
from grants.extensions import db

CURRENT_TITLE = "{year}年南通市公益创投大赛"

CATEGORIES = [("为老服务", 600_000), ("助残服务", 400_000), ("济困救助", 300_000), ("青少年服务", 300_000),
              ("社区治理", 400_000)]

DESCRIPTION = (
    "为贯彻“政府承担、定项委托、合同管理、评估兑现”的原则，南通市民政局面向全市依法登记或备案的社会组织"
    "征集公益服务项目。项目围绕为老服务、助残服务、济困救助、青少年服务和社区治理五个领域，经资格审查、"
    "专家评审和结果公示后确定资助名单，签订资助协议，按评估结果分期拨付资金。\n"
    "申报单位请在截止时间前通过本平台在线提交申报书及附件，逾期不予受理。"
)

CONTRACT_TERMS = (
    "一、乙方应按照申报书及甲方批复的项目方案组织实施项目，专款专用。\n"
    "二、资助资金按拨付节点分期拨付，中期及结项拨付金额以第三方评估结果为准。\n"
    "三、乙方应按时提交中期报告和结项报告，如实反映项目产出与资金使用情况。\n"
    "四、评估不合格的，乙方应在规定期限内整改；整改后仍不合格的，甲方有权停止拨付并追回已拨资金。"
)


def _local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def _settings(open_at: dt.datetime, close_at: dt.datetime) -> dict:
    review_start = (close_at + dt.timedelta(days=7)).replace(hour=9, minute=0)
    return dict(
        description=DESCRIPTION, contract_terms=CONTRACT_TERMS, open_at=open_at, close_at=close_at,
        review_start_at=review_start, review_end_at=review_start + dt.timedelta(days=14, hours=8),
        notice_working_days=5,
        project_start_on=(close_at + dt.timedelta(days=60)).date().replace(day=1),
        project_end_on=(close_at + dt.timedelta(days=60 + 365)).date().replace(day=1) - dt.timedelta(days=1),
        min_grant_fen=2_000_000, max_grant_fen=10_000_000, filed_org_max_grant_fen=3_000_000,
        min_own_funding_pct=10, max_applications_per_org=2, filed_org_max_applications=1,
        max_personnel_pct=40, max_management_pct=10, min_years_registered=1, aggregation="trimmed_mean",
        reviewers_per_application=5,
    )


def _children() -> dict:
    return {
        "categories": [dict(name=n, quota_fen=q * 100, sort=i) for i, (n, q) in enumerate(CATEGORIES)],
        "funding_sources": [dict(kind="welfare_lottery", name="市级福利彩票公益金", amount_fen=120_000_000),
                            dict(kind="fiscal_matching", name="市财政配套资金", amount_fen=80_000_000)],
        "attachment_requirements": [
            dict(name="登记证书或备案证明", required=True, allowed_types=["pdf", "jpg", "png"], sort=0),
            dict(name="上年度工作报告或年检结论", required=True, allowed_types=["pdf"], sort=1),
            dict(name="合作协议或社区支持函", required=False, allowed_types=["pdf", "jpg", "png"], sort=2),
        ],
    }


def demo_calls(units: dict) -> None:
    """Last year's call (archived) and this year's, copied from it and published, open for ~3 weeks."""
    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    today = now().astimezone(SHANGHAI)
    year = today.year
    last = create_call(units["city"], officer, title=CURRENT_TITLE.format(year=year - 1), year=year - 1,
                       children=_children(),
                       **_settings(_local(year - 1, 3, 1), _local(year - 1, 3, 31, 17)))
    last.status = CallStatus.ARCHIVED
    last.published_at = _local(year - 1, 2, 26)
    db.session.flush()

    current = copy_call(last, officer)
    open_at = (today - dt.timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    close_at = (today + dt.timedelta(days=21)).replace(hour=17, minute=0, second=0, microsecond=0)
    for key, value in _settings(open_at, close_at).items():
        if key.endswith("_at") or key.endswith("_on"):
            setattr(current, key, value)
    current.title = CURRENT_TITLE.format(year=year)
    current.year = year
    publish_call(current, officer)
    db.session.flush()
