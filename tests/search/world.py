"""A small world for the search tests: a city with two districts, calls in two years, applications, contracts
and organisations whose names share Chinese substrings."""
from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

from grants.applications.models import Application
from grants.core.timeutil import now
from grants.extensions import db
from tests import factories
from tests.contracts import factories as cf

_seq = itertools.count(1)


def application(call, org, *, name: str, summary: str = "", status: str = "submitted", number: str | None = None):
    n = next(_seq)
    a = Application(call=call, organization=org, category=call.categories[0], number=number or f"T{n:07d}",
                    project_name=name, summary=summary, status=status, requested_fen=1_000_000,
                    own_funding_fen=0, total_budget_fen=1_000_000,
                    submitted_at=None if status == "draft" else now(),
                    declaration_accepted_at=None if status == "draft" else now())
    if status == "draft":
        a.number = None
    db.session.add(a)
    db.session.flush()
    return a


@dataclass
class World:
    city: object
    district_a: object
    district_b: object
    call_2025: object
    call_2026: object
    call_b: object
    org_sun: object
    org_moon: object
    app_number: object      # 2026-002-0003
    app_corridor: object    # 楼道 in the name
    app_desc: object        # 楼道 only in the description
    app_draft: object
    app_b: object           # the other district's 楼道 project
    app_2025: object
    contract: object


def build() -> World:
    city = factories.host_unit("搜索市民政局")
    district_a = factories.host_unit("搜索甲区民政局", level="district", parent=city)
    district_b = factories.host_unit("搜索乙区民政局", level="district", parent=city)
    call_2025 = cf.call(district_a, year=2025, title="2025年甲区公益创投")
    call_2026 = cf.call(district_a, year=2026, title="2026年甲区社区服务征集")
    call_b = cf.call(district_b, year=2026, title="2026年乙区公益创投")
    org_sun = factories.organization(name="阳光社工服务中心", unit=district_a)
    org_moon = factories.organization(name="明月楼道志愿者协会", unit=district_b)
    w = World(
        city=city, district_a=district_a, district_b=district_b, call_2025=call_2025, call_2026=call_2026,
        call_b=call_b, org_sun=org_sun, org_moon=org_moon,
        app_number=application(call_2026, org_sun, name="邻里守望互助", number="2026-002-0003",
                               summary="社区独居老人探访"),
        app_corridor=application(call_2026, org_sun, name="楼道微更新行动", summary="居民议事会"),
        app_desc=application(call_2026, org_sun, name="青春课堂", summary="在老旧小区楼道里开设四点半课堂"),
        app_draft=application(call_2026, org_sun, name="楼道草稿项目", status="draft"),
        app_b=application(call_b, org_moon, name="乙区楼道花园", summary="楼道绿化"),
        app_2025=application(call_2025, org_sun, name="2025年楼道照明", summary="照明", status="confirmed"),
        contract=None,
    )
    award = cf.award(call_2025, org_sun)
    w.contract = cf.contract(award, status="active")
    w.contract.project_name = "楼道照明协议项目"
    db.session.flush()
    return w
