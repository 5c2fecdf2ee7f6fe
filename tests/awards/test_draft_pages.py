"""The award draft is paginated (DRAFT_PER_PAGE rows of the stored ranking) while its budget and quota summary
covers the whole call, computed in SQL: it equals the figures computed from every award loaded, and a form
that fails on a later page comes back on that page."""
from __future__ import annotations

import datetime as dt
import re

from grants.awards import services
from grants.awards import views as award_views
from grants.core.timeutil import SHANGHAI
from grants.extensions import db as _db
from tests.awards import factories as af


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="app-(\d+)"', html)


def test_the_draft_shows_one_page_of_the_ranking_and_sums_the_whole_call(client, db, login_as, clock,
                                                                        monkeypatch):
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    monkeypatch.setattr(award_views, "DRAFT_PER_PAGE", 2)
    call, apps, _experts = af.reviewed_call()
    a, _b = af.officers(call)
    db.session.commit()
    login_as(a)
    assert client.post(f"/awards/calls/{call.id}/propose").status_code == 302
    awards = services.awards_of(call)
    assert len(awards) == 3

    pages = [_rows(client.get(f"/awards/calls/{call.id}?page={n}").text) for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(int(i) for p in pages for i in p) == sorted(x.id for x in apps)
    # an out-of-range or hostile page number is no error
    assert client.get(f"/awards/calls/{call.id}?page=99").status_code == 200
    assert client.get(f"/awards/calls/{call.id}?page=abc").status_code == 200

    # the whole call's totals on every page, equal to the figures from every award loaded
    summary = services.AwardSummary(call)
    usage = services.budget_usage(call, awards)
    assert summary.usage["total"] == usage["total"] == sum(x.amount_fen for x in awards)
    assert dict(summary.usage["by_category"]) == dict(usage["by_category"])
    assert dict(summary.usage["by_source"]) == dict(usage["by_source"])
    assert summary.count == 3 and summary.draft_count == 3 and not summary.approved
    html = client.get(f"/awards/calls/{call.id}?page=3").text
    assert "合计（3 个项目）" in html

    # a refused adjustment of an award on a later page comes back on that page, with the typed values
    on_page_2 = next(x for x in awards if str(x.application_id) in pages[1])
    r = client.post(f"/awards/{on_page_2.id}/adjust", data={"amount": "abc", "reason": "x"})
    assert r.status_code == 422 and f'id="app-{on_page_2.application_id}"' in r.text
    assert _rows(r.text) == pages[1]
    r = client.post(f"/awards/{on_page_2.id}/adjust",
                    data={"amount": str(on_page_2.application.requested_fen // 100 - 1), "reason": "压缩预算"})
    assert r.status_code == 302 and "page=2" in r.headers["Location"]

    # an overrun set directly (as an import might): the SQL check gives the same messages as the full one
    awards = services.awards_of(call)
    last = awards[-1]
    last.amount_fen = last.application.requested_fen + 1_00
    _db.session.commit()
    _db.session.expire_all()
    awards = services.awards_of(call)
    assert services.budget_check(call, summary=services.AwardSummary(call)) == services.budget_check(call, awards)
    assert services.budget_check(call, awards)
