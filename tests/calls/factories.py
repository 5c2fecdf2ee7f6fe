"""Factories for calls: a complete, publishable call relative to the (test) clock."""
from __future__ import annotations

import datetime as dt

from grants.calls.models import Call, CallStatus
from grants.calls.services import create_call
from grants.core.timeutil import now
from grants.extensions import db
from tests import factories

CATEGORIES = [("为老服务", 30_000_000), ("助残服务", 20_000_000), ("济困救助", 20_000_000),
              ("青少年服务", 15_000_000), ("社区治理", 15_000_000)]


def complete_settings(base: dt.datetime | None = None) -> dict:
    base = base or now()
    return dict(
        description="面向全市社会组织征集公益服务项目。",
        open_at=base - dt.timedelta(days=1), close_at=base + dt.timedelta(days=20),
        review_start_at=base + dt.timedelta(days=25), review_end_at=base + dt.timedelta(days=35),
        project_start_on=(base + dt.timedelta(days=60)).date(), project_end_on=(base + dt.timedelta(days=400)).date(),
        min_grant_fen=2_000_000, max_grant_fen=10_000_000, filed_org_max_grant_fen=3_000_000,
    )


def complete_children() -> dict:
    return {
        "categories": [dict(name=n, quota_fen=q, sort=i) for i, (n, q) in enumerate(CATEGORIES)],
        "funding_sources": [dict(kind="welfare_lottery", name="市级福彩公益金", amount_fen=70_000_000),
                            dict(kind="fiscal_matching", name="市财政配套", amount_fen=30_000_000)],
    }


def call(*, unit=None, status: str = CallStatus.DRAFT, title: str = "2026年测试公益创投大赛", year: int = 2026,
         children: dict | None = None, **overrides) -> Call:
    """A complete call (publishable as it stands); status set directly, bypassing the workflow."""
    unit = unit or factories.host_unit()
    settings = complete_settings()
    settings.update(overrides)
    c = create_call(unit, None, title=title, year=year, children={**complete_children(), **(children or {})},
                    **settings)
    if status != CallStatus.DRAFT:
        c.status = status
        c.published_at = now()
    db.session.flush()
    return c
