"""Large calls: the ranking reads a call with a fixed number of queries however many applications it has
(past 500 applications an eager load by IN-list, selectinload, would add a query per 500 rows); the ranking
and an expert's task list show a page of 100 rows at a time."""
from __future__ import annotations

import datetime as dt

import re

import sqlalchemy as sa
from sqlalchemy import event

from grants.applications.models import Application
from grants.core.timeutil import UTC
from grants.organizations.models import Organization
from grants.reviews.models import Review, ReviewAssignment
from grants.reviews.services import compute_ranking
from tests import factories
from tests.reviews import factories as rf


def _add_scored_applications(db, call, expert, start: int, n: int) -> None:
    """n scored applications, each from its own organisation, with one submitted review: bulk inserts, so
    that the test can cross the 500-row boundary quickly."""
    submitted = dt.datetime(2026, 2, 2, tzinfo=UTC)
    db.session.execute(sa.insert(Organization), [dict(
        name=f"排名查询测试组织{start + i}", legal_form="filed_community", filing_number=f"排名备{start + i}",
        status="verified") for i in range(n)])
    org_ids = db.session.scalars(sa.select(Organization.id).where(Organization.name.like("排名查询测试组织%"))
                                 .order_by(Organization.id.desc()).limit(n)).all()
    base = (db.session.scalar(sa.select(sa.func.max(Application.id))) or 0) + 1
    db.session.execute(sa.insert(Application), [dict(
        id=base + i, call_id=call.id, organization_id=org_id, category_id=call.categories[0].id,
        number=f"RQ{start + i:05d}", project_name=f"项目{start + i}", status="scored", requested_fen=5_000_000,
        submitted_at=submitted) for i, org_id in enumerate(org_ids)])
    base_assignment = (db.session.scalar(sa.select(sa.func.max(ReviewAssignment.id))) or 0) + 1
    db.session.execute(sa.insert(ReviewAssignment), [dict(
        id=base_assignment + i, application_id=base + i, expert_id=expert.id, stage="written") for i in range(n)])
    db.session.execute(sa.insert(Review), [dict(
        assignment_id=base_assignment + i, application_id=base + i, expert_id=expert.id, stage="written",
        status="submitted", overall_comment="评语", recommendation="fund", submitted_at=submitted,
        points_total=50 + i % 40) for i in range(n)])
    db.session.commit()


def test_ranking_runs_a_fixed_number_of_queries_whatever_the_size_of_the_call(app, db):
    call = rf.review_call()
    expert = rf.expert()
    db.session.commit()
    call_id = call.id

    def count_queries() -> tuple[int, int]:
        db.session.expire_all()
        statements = []
        listener = lambda *args, **kw: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = compute_ranking(db.session.get(type(call), call_id))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(statements), len(rows)

    _add_scored_applications(db, call, expert, 0, 3)
    small, n_small = count_queries()
    _add_scored_applications(db, call, expert, 3, 600)
    large, n_large = count_queries()
    assert (n_small, n_large) == (3, 603)
    assert small == large


def test_ranking_page_shows_100_rows_a_page_ranked_within_the_whole_call(app, db, client, login_as):
    call = rf.review_call()
    expert = rf.expert()
    officer = factories.user(roles=("officer",), unit=call.host_unit)
    _add_scored_applications(db, call, expert, 0, 130)
    login_as(officer)
    first = client.get(f"/reviews/calls/{call.id}/ranking").get_data(as_text=True)
    second = client.get(f"/reviews/calls/{call.id}/ranking?page=2").get_data(as_text=True)
    first_ids = re.findall(r'data-application="(\d+)"', first)
    second_ids = re.findall(r'data-application="(\d+)"', second)
    assert (len(first_ids), len(second_ids)) == (100, 30)
    assert not set(first_ids) & set(second_ids)
    assert "第 1 / 2 页，共 130 条" in first
    ranks = [row.rank_overall for row in compute_ranking(call)]
    assert ranks[100] == 101   # the second page goes on where the first stopped


def test_task_list_shows_100_tasks_a_page_with_a_fixed_number_of_queries(app, db, client, login_as):
    call = rf.review_call()
    expert = rf.expert()
    _add_scored_applications(db, call, expert, 0, 5)
    login_as(expert)

    def tasks(url):
        client.get(url)  # what a commit in between expired is loaded again here, not counted below
        statements = []
        listener = lambda *args, **kw: statements.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            html = client.get(url).get_data(as_text=True)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return re.findall(r'data-assignment="(\d+)"', html), len(statements)

    few, small = tasks("/reviews/tasks")
    _add_scored_applications(db, call, expert, 5, 120)
    first, large = tasks("/reviews/tasks")
    second, _ = tasks("/reviews/tasks?page=2")
    assert (len(few), len(first), len(second)) == (5, 100, 25)
    assert not set(first) & set(second)
    assert small == large


def _ranking_figures(rows):
    return [(r.application.id, r.application.number, r.application.display_name, str(r.application.status_label),
             r.application.organization.name, r.application.category.name if r.application.category else None,
             r.application.requested_fen, r.category_id, r.rank_overall, r.rank_in_category, r.written_score,
             r.pitch_score, r.final_score, r.review_count, r.std_dev, r.spread, r.flagged, r.assigned_count,
             r.complete, r.mean_z, r.totals) for r in rows]


def test_the_ranking_page_ranks_from_rows_exactly_as_from_objects(app, db):
    call = rf.review_call()
    expert = rf.expert()
    db.session.commit()
    _add_scored_applications(db, call, expert, 0, 30)
    call = db.session.get(type(call), call.id)
    full = compute_ranking(call)
    light = compute_ranking(call, rows_only=True)
    assert len(full) == 30
    assert _ranking_figures(light) == _ranking_figures(full)
    assert not any(isinstance(r.application, Application) for r in light)
