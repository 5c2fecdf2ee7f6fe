"""Factories for contracts: a confirmed award (built directly), a contract made from it, users for each duty."""
from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

import datetime as dt
import itertools

from grants.applications.models import Application, BudgetLine, OutputTarget
from grants.calls.models import Call, CallCategory, ScoreBand, TrancheTemplate
from grants.core.timeutil import UTC, now
from grants.extensions import db
from tests import factories

_seq = itertools.count(1)

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
BANDS = [(85, "excellent", 100, False), (70, "good", 100, False), (60, "pass", 80, False), (0, "fail", 0, True)]


def call(unit=None, *, tranches=((1, "首期款", 40, "signing"), (2, "中期款", 30, "midterm_assessment"),
                                 (3, "尾款", 30, "final_assessment")), bands=BANDS, **overrides):
    unit = unit or factories.host_unit()
    values = dict(host_unit_id=unit.id, title=f"测试公益创投大赛{next(_seq)}", year=2026, level=unit.level,
                  status="finalized", open_at=dt.datetime(2026, 3, 1, tzinfo=UTC),
                  close_at=dt.datetime(2026, 4, 1, tzinfo=UTC), published_at=now(),
                  project_start_on=dt.date(2027, 1, 1), project_end_on=dt.date(2027, 12, 31),
                  min_grant_fen=1_000_000, max_grant_fen=10_000_000)
    values.update(overrides)
    c = Call(**values)
    c.categories = [CallCategory(name="为老服务", sort=1)]
    db.session.add(c)
    db.session.flush()
    c.tranches = [TrancheTemplate(seq=s, name=n, percent=p, trigger=t) for s, n, p, t in tranches]
    c.score_bands = [ScoreBand(min_score=m, grade=g, payment_pct=p, rectification=r) for m, g, p, r in bands]
    db.session.flush()
    return c


def award(call_=None, org=None, *, amount_fen: int = 5_000_000, unit=None):
    """A confirmed award (公示期满确认) for a confirmed application."""
    from grants.awards.models import Award

    call_ = call_ or call(unit)
    org = org or factories.organization()
    application = confirmed_application(call_, org, amount_fen)
    approver = factories.user(roles=("officer",), unit=call_.host_unit)
    a = Award(call_id=call_.id, application_id=application.id, organization_id=org.id,
              category_id=application.category_id, amount_fen=amount_fen, status="confirmed",
              approved_by_id=approver.id, approved_at=now(), confirmed_at=now())
    db.session.add(a)
    db.session.flush()
    return a


def confirmed_application(call_, org, amount_fen: int) -> Application:
    """An application that went through review and was confirmed (立项), with targets and budget lines."""
    n = next(_seq)
    personnel, management = amount_fen // 5, amount_fen // 20
    activity = amount_fen - personnel - management
    own = amount_fen // 4
    a = Application(call=call_, organization=org, category=call_.categories[0], number=f"C{n:06d}",
                    project_name="银龄互助·幸福邻里", summary="为社区独居老人提供探访、助餐和精神慰藉服务。",
                    status="confirmed", requested_fen=amount_fen, own_funding_fen=own,
                    total_budget_fen=amount_fen + own, submitted_at=now(), declaration_accepted_at=now())
    a.output_targets = [OutputTarget(kind="service_sessions", target=3000),
                        OutputTarget(kind="beneficiaries", target=150)]
    a.budget_lines = [
        BudgetLine(kind="personnel", item="项目社工补贴", unit_price_fen=personnel, quantity=1, amount_fen=personnel,
                   funded_by="grant", position=0),
        BudgetLine(kind="management", item="项目管理费", unit_price_fen=management, quantity=1,
                   amount_fen=management, funded_by="grant", position=1),
        BudgetLine(kind="activity", item="探访与活动", unit_price_fen=activity, quantity=1, amount_fen=activity,
                   funded_by="grant", position=2),
        BudgetLine(kind="materials", item="慰问物资", unit_price_fen=own, quantity=1, amount_fen=own,
                   funded_by="own", position=3),
    ]
    db.session.add(a)
    db.session.flush()
    return a


def contract(award_=None, *, status: str = "draft", officer=None, signer=None, **award_kwargs):
    """A contract from a confirmed award, walked through the workflow up to `status`."""
    from grants.contracts import services

    award_ = award_ or award(**award_kwargs)
    officer = officer or factories.user(roles=("officer",), unit=award_.call.host_unit)
    c = services.create_contract_from_award(award_, officer)
    order = ["draft", "issued", "signed_by_org", "active"]
    if order.index(status) >= 1:
        services.issue_contract(c, officer)
    if order.index(status) >= 2:
        signer = signer or factories.member(award_.organization)
        services.sign_contract(c, signer, signer_name="张三", signer_title="理事长")
    if order.index(status) >= 3:
        services.countersign_contract(c, officer)
    db.session.flush()
    return c


def upload(data: bytes = PNG, name: str = "活动照片.png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def evaluator(**kwargs):
    return factories.user(roles=("evaluator",), **kwargs)


def world_objects(app, org) -> dict:
    """For the route-permission walk: an active contract of `org` in a call of a unit no test user belongs to,
    with a submitted mid-term report (evidence attached) accepted and assigned to an evaluator of its own."""
    from grants.assessments import services as asvc

    with app.test_request_context():
        call_ = call(factories.host_unit(name="别处协议局"))
        c = contract(award(call_, org), status="active")
        member = factories.member(org, is_admin=False)
        tranche = c.tranches[1]
        report = asvc.start_report(tranche, member)
        asvc.save_report(report, narrative="别家组织的中期报告，内容保密。", achieved={}, spent={}, actor=member,
                         uploads=[upload()])
        asvc.submit_report(report, member)
        officer = factories.user(roles=("officer",), unit=call_.host_unit)
        assessment = asvc.accept_report(report, officer, evaluator())
        db.session.flush()
    return {"contract_id": c.id, "tranche_id": tranche.id, "report_id": report.id,
            "evidence_id": report.evidence[0].id, "assessment_id": assessment.id}
