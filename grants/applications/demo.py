"""Demo part: applications in this year's demo call — drafts, submitted ones (through the real submit
check) and one returned for revision by the officer."""
from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from grants.accounts.models import User
from grants.applications.services import (
    DraftInput, add_attachment, save_draft, screen_application, start_application, submit_application,
)
from grants.calls.models import Call, CallStatus
from grants.core.timeutil import now
from grants.extensions import db

# A tiny but well-formed PDF for the demo attachments.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")

# username, project, category, requested yuan, street, community, what happens
PROJECTS = [
    ("applicant", "银龄互助·幸福邻里——独居老人关爱计划", "为老服务", 80_000, "和平桥街道", "桃坞路社区", "submit"),
    ("applicant4", "彩虹桥——困境儿童课后陪伴项目", "青少年服务", 60_000, "海门街道", "东洲社区", "return"),
    ("applicant5", "邻里守望·楼道微治理", "社区治理", 25_000, "和平桥街道", "桃坞路社区", "submit"),
    ("applicant2", "助残就业能力提升工作坊", "助残服务", 50_000, "城东街道", "洪江社区", "draft"),
    ("applicant3", "青苗成长营", "青少年服务", 0, "狼山镇街道", "", "empty"),
]


def _input(call, category_name: str, requested_yuan: int, street: str, community: str, name: str) -> DraftInput:
    category = next((c for c in call.categories if c.name == category_name), call.categories[0])
    start = call.project_start_on or (now().date() + dt.timedelta(days=60))
    grant = requested_yuan * 100
    personnel, management = grant * 30 // 100 // 12 * 12, grant * 8 // 100
    activity = grant - personnel - management
    own = grant * 15 // 100
    return DraftInput(
        texts={
            "project_name": name,
            "summary": f"在{street}{community}开展为期一年的{category.name}项目，以专业社工带动社区志愿者，回应居民最迫切的需求。",
            "need_analysis": f"{street}{community}常住人口约 8,600 人，前期走访 126 户居民，发现服务需求集中、现有资源不足，"
                             "居民希望就近获得持续、专业的服务。",
            "objectives": "1. 建立一支 30 人以上的稳定志愿者队伍；\n2. 服务对象满意度达到 90% 以上；\n3. 形成可复制的社区服务模式。",
            "target_groups": "社区内有需要的居民及其家庭",
            "activity_description": "项目分三个阶段：需求评估与团队组建、常态化服务与主题活动、总结评估与经验推广。",
        },
        category_id=category.id, requested_fen=grant, declaration=True,
        service_areas=[{"street": street, "community": community}],
        activities=[
            {"title": "需求评估与志愿者招募", "start_on": start, "end_on": start + dt.timedelta(days=59),
             "description": "入户走访、建立服务档案，招募培训志愿者"},
            {"title": "常态化服务", "start_on": start + dt.timedelta(days=60), "end_on": start + dt.timedelta(days=300),
             "description": "每周固定服务，每月一次主题活动"},
            {"title": "总结评估", "start_on": start + dt.timedelta(days=301), "end_on": start + dt.timedelta(days=360),
             "description": "满意度调查、成果汇编与经验分享会"},
        ],
        output_targets={"service_sessions": 2400, "beneficiaries": 180, "activities": 36, "volunteers": 30,
                        "volunteer_hours": 1200},
        team_members=[
            {"name": "项目负责人", "role": "统筹管理", "is_social_worker": True, "certificate_no": "SW20190318",
             "certificate_level": "social_worker"},
            {"name": "一线社工", "role": "个案与小组", "is_social_worker": True, "certificate_no": "ASW20210566",
             "certificate_level": "assistant"},
        ],
        budget_lines=[
            {"kind": "personnel", "item": "项目社工劳务补贴", "unit_price_fen": personnel // 12, "quantity": 12,
             "funded_by": "grant"},
            {"kind": "management", "item": "项目管理费", "unit_price_fen": management, "quantity": 1, "funded_by": "grant"},
            {"kind": "activity", "item": "主题活动费用", "unit_price_fen": activity, "quantity": 1, "funded_by": "grant"},
            {"kind": "materials", "item": "志愿者服装与物资（自筹）", "unit_price_fen": own, "quantity": 1, "funded_by": "own"},
        ] if grant else [],
    )


def demo_applications(units: dict) -> None:
    """A few applications in the demo's current (open) call."""
    call = db.session.scalar(sa.select(Call).where(Call.status == CallStatus.PUBLISHED)
                             .order_by(Call.year.desc(), Call.id.desc()).limit(1))
    if call is None or not call.is_open:
        return
    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    for username, name, category, requested, street, community, outcome in PROJECTS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None or user.organization is None:
            continue
        application = start_application(call, user.organization, user)
        db.session.flush()
        if outcome == "empty":
            application.project_name = name
            continue
        data = _input(call, category, requested, street, community, name)
        if outcome == "draft":
            data.budget_lines = data.budget_lines[:2]
            data.declaration = False
        save_draft(application, data, user)
        if outcome == "draft":
            continue
        for requirement in call.attachment_requirements:
            if requirement.required:
                upload = FileStorage(io.BytesIO(DEMO_PDF), filename=f"{requirement.name}.pdf")
                add_attachment(application, requirement.id, upload, user)
        db.session.flush()
        problems = submit_application(application, user)
        if problems or outcome != "return" or officer is None:
            continue
        screen_application(application, "return", officer,
                           reason="预算中人员费用测算依据不清，请补充社工劳务补贴的计算标准，并上传社区支持函。",
                           new_deadline_at=call.close_at + dt.timedelta(days=7))
    db.session.flush()


# The city's second call of the year, closed yesterday: what an officer screens and hands to the panel today.
CLOSED_TITLE = "{year}年南通市社区治理专项创投"
CLOSED_PROJECTS = [
    ("applicant", "“时间银行”社区互助积分计划", "社区治理", 60_000, "和平桥街道", "桃坞路社区"),
    ("applicant2", "无障碍出行·社区助行服务", "助残服务", 45_000, "城东街道", "洪江社区"),
    ("applicant3", "青少年社区议事员培养计划", "青少年服务", 40_000, "狼山镇街道", ""),
    ("applicant4", "困境家庭“微心愿”帮扶行动", "济困救助", 50_000, "海门街道", "东洲社区"),
]


def demo_closed_call(units: dict) -> None:
    """A city call that closed yesterday at 17:00 with four applications submitted on time (through the real
    submit check, on the days they were submitted) and the expert panel invited: the officer screens them,
    closes the call for review and assigns the experts."""
    from grants.calls.demo import CURRENT_TITLE, _children, _settings
    from grants.calls.services import create_call, publish_call
    from grants.core.timeutil import SHANGHAI
    from grants.demo import demo_clock
    from grants.reviews.models import PanelMember, ReviewStage

    officer = db.session.scalar(sa.select(User).where(User.username == "officer"))
    template = db.session.scalar(sa.select(Call).where(Call.title == CURRENT_TITLE.format(year=now().year - 1)))
    if officer is None or template is None:
        return
    today = now().astimezone(SHANGHAI)
    close_at = (today - dt.timedelta(days=1)).replace(hour=17, minute=0, second=0, microsecond=0)
    open_at = (close_at - dt.timedelta(days=30)).replace(hour=9)
    call = create_call(units["city"], officer, title=CLOSED_TITLE.format(year=today.year), year=today.year,
                       children=_children(), **_settings(open_at, close_at))
    call.description = "聚焦社区治理与困难群体服务的专项创投，面向全市社会组织征集项目。"
    with demo_clock((open_at - dt.timedelta(days=2)).astimezone(dt.timezone.utc)):
        publish_call(call, officer)
    db.session.flush()
    for i, (username, name, category, requested, street, community) in enumerate(CLOSED_PROJECTS):
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None or user.organization is None:
            continue
        with demo_clock((close_at - dt.timedelta(days=6 - i, hours=3)).astimezone(dt.timezone.utc)):
            application = start_application(call, user.organization, user)
            db.session.flush()
            save_draft(application, _input(call, category, requested, street, community, name), user)
            for requirement in call.attachment_requirements:
                if requirement.required:
                    upload = FileStorage(io.BytesIO(DEMO_PDF), filename=f"{requirement.name}.pdf")
                    add_attachment(application, requirement.id, upload, user)
            db.session.flush()
            submit_application(application, user)
    experts = db.session.scalars(sa.select(User).where(User.username.in_(
        ["expert", "expert2", "expert3", "expert4", "expert5"])).order_by(User.username)).all()
    for expert in experts:
        db.session.add(PanelMember(call_id=call.id, user_id=expert.id, stage=ReviewStage.WRITTEN,
                                   invited_by_id=officer.id))
    call.reviewers_per_application = 3
    db.session.flush()
