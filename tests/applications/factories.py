"""Factories for calls and applications used by the application tests."""
from __future__ import annotations

import datetime as dt
import io
import itertools

from werkzeug.datastructures import FileStorage

from grants.applications.models import (
    ActivityPlanItem, Application, ApplicationAttachment, ApplicationStatus, BudgetLine, OutputTarget, ServiceArea,
    TeamMember,
)
from grants.calls.models import AttachmentRequirement, Call, CallCategory, CallStatus
from grants.core.timeutil import UTC, now
from grants.extensions import db
from tests import factories

_seq = itertools.count(1)
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
# The test calls close at this moment (Beijing 2026-12-31 18:00:00).
CLOSE_AT = dt.datetime(2026, 12, 31, 10, 0, 0, tzinfo=UTC)


def call(unit=None, **overrides) -> Call:
    """A published call, open from 2026-11-01 until CLOSE_AT, with two categories and two attachment requirements."""
    n = next(_seq)
    unit = unit or factories.host_unit()
    values = dict(
        host_unit_id=unit.id, title=f"测试公益创投大赛{n}", year=2026, level=unit.level, status=CallStatus.PUBLISHED,
        open_at=dt.datetime(2026, 11, 1, tzinfo=UTC), close_at=CLOSE_AT,
        project_start_on=dt.date(2027, 1, 1), project_end_on=dt.date(2027, 12, 31),
        min_grant_fen=1_000_000, max_grant_fen=10_000_000, min_own_funding_pct=10, max_applications_per_org=1,
        filed_org_max_grant_fen=3_000_000, filed_org_max_applications=1, max_personnel_pct=30,
        max_management_pct=10, require_verified=True, allowed_legal_forms=[], min_years_registered=0,
        min_rating=0, exclude_blacklisted=True, exclude_failed_previous=True,
    )
    values.update(overrides)
    c = Call(**values)
    c.categories = [CallCategory(name="为老服务", sort=1), CallCategory(name="助残服务", sort=2)]
    c.attachment_requirements = [
        AttachmentRequirement(name="登记证书", required=True, allowed_types=["pdf", "jpg", "png"], sort=1),
        AttachmentRequirement(name="项目预算表", required=False, allowed_types=["pdf", "xlsx"], sort=2),
    ]
    db.session.add(c)
    db.session.flush()
    return c


def upload(data: bytes = PDF, name: str = "登记证书.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def application(call_: Call, org=None, *, complete: bool = True, status: str = ApplicationStatus.DRAFT,
                requested_fen: int = 5_000_000, **overrides) -> Application:
    """A draft that passes every submit check (complete=True), or an empty one."""
    from flask import current_app

    from grants.core.storage import save_upload

    org = org or factories.organization()
    a = Application(call=call_, organization=org, status=status, requested_fen=0, **overrides)
    if status != ApplicationStatus.DRAFT:
        a.number = a.number or f"T{next(_seq):06d}"
        a.submitted_at = a.submitted_at or now()
    if status == ApplicationStatus.RETURNED:
        a.return_deadline_at = a.return_deadline_at or CLOSE_AT + dt.timedelta(days=7)
    db.session.add(a)
    if complete:
        a.project_name = "银龄互助·幸福邻里"
        a.summary = "为社区独居老人提供探访、助餐和精神慰藉服务。"
        a.need_analysis = "社区 60 岁以上老人 1200 人，其中独居 180 人。"
        a.objectives = "一年内建立邻里互助网络，覆盖 150 名独居老人。"
        a.target_groups = "独居、空巢老人"
        a.activity_description = "组建志愿者队伍，开展每周探访、月度集体生日会和健康讲座。"
        a.category = call_.categories[0]
        a.requested_fen = requested_fen
        a.declaration_accepted_at = now()
        a.service_areas = [ServiceArea(street="和平桥街道", community="桃坞路社区")]
        a.activities = [ActivityPlanItem(title="志愿者招募培训", start_on=dt.date(2027, 1, 10),
                                         end_on=dt.date(2027, 2, 28), description="招募 30 名志愿者")]
        a.output_targets = [OutputTarget(kind="service_sessions", target=3000),
                            OutputTarget(kind="beneficiaries", target=150)]
        a.team_members = [TeamMember(name="吴佳", role="项目负责人", is_social_worker=True,
                                     certificate_no="SW2020001", certificate_level="social_worker")]
        # Grant lines add up to the requested amount: 20 % personnel, 5 % management; own 20 % of total.
        personnel, management = requested_fen // 5, requested_fen // 20
        activity = requested_fen - personnel - management
        own = requested_fen // 4
        a.budget_lines = [
            BudgetLine(kind="personnel", item="项目社工补贴", unit_price_fen=personnel, quantity=1,
                       amount_fen=personnel, funded_by="grant", position=0),
            BudgetLine(kind="management", item="项目管理费", unit_price_fen=management, quantity=1,
                       amount_fen=management, funded_by="grant", position=1),
            BudgetLine(kind="activity", item="探访与活动", unit_price_fen=activity, quantity=1,
                       amount_fen=activity, funded_by="grant", position=2),
            BudgetLine(kind="materials", item="慰问物资", unit_price_fen=own, quantity=1, amount_fen=own,
                       funded_by="own", position=3),
        ]
        a.total_budget_fen = requested_fen + own
        a.own_funding_fen = own
        required = [r for r in call_.attachment_requirements if r.required]
        with current_app.test_request_context():
            for r in required:
                stored = save_upload(upload(), allowed=tuple(r.allowed_types), organization_id=org.id)
                db.session.flush()
                a.attachments.append(ApplicationAttachment(requirement_id=r.id, stored_file=stored,
                                                           stored_file_id=stored.id))
    db.session.flush()
    return a


def officer_for(unit):
    return factories.user(roles=("officer",), unit=unit)


def world_objects(app, application_id: int) -> dict:
    """For the route-permission walk: an attachment on another organisation's application."""
    from grants.core.storage import save_upload

    application = db.session.get(Application, application_id)
    with app.test_request_context():
        stored = save_upload(upload(), allowed=("pdf",), organization_id=application.organization_id)
    db.session.flush()
    attachment = ApplicationAttachment(application_id=application.id, stored_file_id=stored.id)
    db.session.add(attachment)
    db.session.flush()
    return {"attachment_id": attachment.id}
