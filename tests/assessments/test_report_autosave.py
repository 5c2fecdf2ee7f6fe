"""自动保存 of the progress report form: same permission and state checks as 保存, JSON, hostile input."""
from __future__ import annotations

import pytest

from grants.assessments import services as svc
from grants.assessments.models import ProgressReport
from grants.extensions import db
from tests import factories
from tests.contracts import factories as cf


@pytest.fixture()
def draft(app):
    app.config["WTF_CSRF_ENABLED"] = False
    c = cf.contract(status="active")
    member = factories.member(c.organization)
    report = svc.start_report(c.tranches[1], member)
    db.session.commit()
    return report, member


def _reload(r):
    db.session.expire_all()
    return db.session.get(ProgressReport, r.id)


def test_report_autosave(client, login_as, draft):
    report, member = draft
    login_as(member)
    r = client.post(f"/reports/{report.id}/autosave", data={"narrative": "本期已开展探访 300 人次"})
    assert r.status_code == 200 and r.json["ok"] and r.json["message"].startswith("已自动保存")
    assert _reload(report).narrative == "本期已开展探访 300 人次"
    assert 'data-autosave="/reports/%d/autosave"' % report.id in client.get(f"/reports/{report.id}/edit").text


def test_report_autosave_refusals(client, login_as, draft):
    report, member = draft
    login_as(factories.member(factories.organization()))
    assert client.post(f"/reports/{report.id}/autosave", data={"narrative": "x"}).status_code == 403
    login_as("officer")
    assert client.post(f"/reports/{report.id}/autosave", data={"narrative": "x"}).status_code == 403
    login_as(member)
    assert client.get(f"/reports/{report.id}/autosave").status_code == 405
    out = report.outputs[0]
    r = client.post(f"/reports/{report.id}/autosave", data={"narrative": "坏数字", f"achieved-{out.kind}": "-abc"})
    assert r.status_code in (200, 409) and r.is_json
    for data in ({"narrative": "\x00" * 10}, {"narrative": "长" * 100_000}, {f"spent-{10**12}": "1"}):
        assert client.post(f"/reports/{report.id}/autosave", data=data).status_code in (200, 400, 409)
    from grants.core.timeutil import now

    r = _reload(report)
    r.status, r.submitted_at, r.submitted_by_id = "submitted", now(), member.id
    db.session.commit()
    assert client.post(f"/reports/{report.id}/autosave", data={"narrative": "提交后"}).status_code == 403
    assert _reload(report).narrative != "提交后"
