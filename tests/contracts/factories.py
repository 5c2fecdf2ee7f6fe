"""Factories for contracts: a confirmed award (built directly), a contract made from it, users for each duty."""
from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage

from grants.calls.models import ScoreBand, TrancheTemplate
from grants.core.timeutil import now
from grants.extensions import db
from tests import factories
from tests.applications import factories as app_factories

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
BANDS = [(85, "excellent", 100, False), (70, "good", 100, False), (60, "pass", 80, False), (0, "fail", 0, True)]


def call(unit=None, *, tranches=((1, "首期款", 40, "signing"), (2, "中期款", 30, "midterm_assessment"),
                                 (3, "尾款", 30, "final_assessment")), bands=BANDS, **overrides):
    c = app_factories.call(unit, status="finalized", **overrides)
    c.tranches = [TrancheTemplate(seq=s, name=n, percent=p, trigger=t) for s, n, p, t in tranches]
    c.score_bands = [ScoreBand(min_score=m, grade=g, payment_pct=p, rectification=r) for m, g, p, r in bands]
    db.session.flush()
    return c


def award(call_=None, org=None, *, amount_fen: int = 5_000_000, unit=None):
    """A confirmed award (公示期满确认) for a confirmed application."""
    from grants.awards.models import Award

    call_ = call_ or call(unit)
    org = org or factories.organization()
    application = app_factories.application(call_, org, status="confirmed", requested_fen=amount_fen)
    approver = factories.user(roles=("officer",), unit=call_.host_unit)
    a = Award(call_id=call_.id, application_id=application.id, organization_id=org.id,
              category_id=application.category_id, amount_fen=amount_fen, status="confirmed",
              approved_by_id=approver.id, approved_at=now(), confirmed_at=now())
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
