"""The winners' marks on the public disclosure pages (their brand slot) and the organisation record: only
published winners, and one query for the marks whatever the number of projects listed."""
from __future__ import annotations

import sqlalchemy as sa

from grants.brand import services as svc
from grants.brand.models import SelectionStatus
from tests import factories
from tests.brand import factories as bf
from tests.contracts import factories as cf


def _queries(db, fn) -> list[str]:
    seen: list[str] = []

    def on_exec(_conn, _cursor, statement, *_a, **_k):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", on_exec)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_exec)
    return seen


def _world(app, db, n_projects: int, *, publish: bool = True):
    """A finalised call with n finished projects; a selection over them whose winner is the first."""
    with app.test_request_context():
        unit = factories.host_unit()
        officer = bf.officer(unit)
        call = cf.call(unit)
        contracts = [bf.completed_contract(call, name=f"项目{i}") for i in range(n_projects)]
        s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING, winners_count=1)
        noms = [svc.nominate_project(s, c, "理由", officer) for c in contracts[:2]]
        e = bf.expert()
        svc.invite_expert(s, e, officer)
        svc.start_scoring(s, officer)
        for n, pts in zip(noms, ([40, 30, 30], [20, 10, 10])):
            svc.declare_conflict(n, e, has_conflict=False)
            svc.save_review(n, e, {c.id: p for c, p in zip(s.criteria, pts)}, "好", submit=True)
        svc.decide_winners(s, officer)
        if publish:
            svc.publish_selection(s, officer)
        db.session.commit()
    return call, contracts, officer


def test_public_pages_mark_published_winners_only(app, client, db):
    call, (winner, runner_up, *_), _officer = _world(app, db, 3)
    page = client.get(f"/disclosure/{call.id}").get_data(as_text=True)
    row = page.split(f'id="project-{winner.award_id}"')[1].split("</tr>")[0]
    assert "brand-badge" in row and "2026年度品牌项目" in row
    other = page.split(f'id="project-{runner_up.award_id}"')[1].split("</tr>")[0]
    assert "brand-badge" not in other
    assert "brand-badge" in client.get(f"/disclosure/projects/{winner.award_id}").get_data(as_text=True)
    assert "brand-badge" not in client.get(f"/disclosure/projects/{runner_up.award_id}").get_data(as_text=True)


def test_a_decided_but_unpublished_selection_marks_nothing(app, client, db):
    call, (winner, *_), _officer = _world(app, db, 2, publish=False)
    assert "brand-badge" not in client.get(f"/disclosure/{call.id}").get_data(as_text=True)
    assert "brand-badge" not in client.get(f"/disclosure/projects/{winner.award_id}").get_data(as_text=True)


def test_organisation_record_marks_the_winner(app, client, db, login_as):
    call, (winner, runner_up, *_), officer = _world(app, db, 2)
    login_as(officer)
    page = client.get(f"/organizations/{winner.organization_id}/record").get_data(as_text=True)
    assert "brand-badge" in page and "2026年度品牌项目" in page
    assert "brand-badge" not in client.get(f"/organizations/{runner_up.organization_id}/record").get_data(as_text=True)


def test_the_marks_cost_one_query_per_page(app, client, db):
    counts = []
    for n in (2, 8):
        call, _contracts, _officer = _world(app, db, n)
        statements = _queries(db, lambda: client.get(f"/disclosure/{call.id}"))
        brand = [s for s in statements if "brand_nomination" in s]
        counts.append((len(brand), len(statements)))
    assert counts[0] == counts[1] and counts[0][0] == 1, counts
