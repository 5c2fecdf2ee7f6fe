"""Call services: is_open from the clock, the transition table, editing rules, copy from last year."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.calls.models import Call, CallStatus, RubricCriterion
from grants.calls.services import (
    CALL_WORKFLOW, CallError, archive_call, close_call_for_review, copy_call, create_call, shift_year, update_call,
)
from grants.core.states import IllegalTransition
from grants.core.timeutil import SHANGHAI, UTC
from grants.extensions import db
from tests import factories
from tests.calls import factories as cf

S = dt.timedelta(seconds=1)
OPEN = dt.datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
CLOSE = dt.datetime(2026, 3, 31, 17, 0, tzinfo=SHANGHAI)


# --- defaults ------------------------------------------------------------------------

def test_new_call_gets_the_common_defaults(db):
    unit = factories.host_unit(level="district")
    call = create_call(unit, None, title="测试", year=2026)
    assert call.level == "district" and call.status == CallStatus.DRAFT
    assert [(c.name, c.max_points) for c in call.criteria] == [
        ("需求分析", 20), ("项目设计", 30), ("可行性", 20), ("预算合理性", 15), ("创新性", 15)]
    assert [(t.seq, t.percent, t.trigger) for t in call.tranches] == [
        (1, 40, "signing"), (2, 30, "midterm_assessment"), (3, 30, "final_assessment")]
    assert [(b.min_score, b.grade, b.payment_pct, b.rectification) for b in call.score_bands] == [
        (85, "excellent", 100, False), (70, "good", 100, False), (60, "pass", 80, False), (0, "fail", 0, True)]
    assert call.notice_working_days == 5 and call.reviewers_per_application == 5
    assert call.require_verified and call.exclude_blacklisted and call.allowed_legal_forms == []


def test_total_budget_and_category_lookup(db):
    call = cf.call()
    assert call.total_budget_fen == 100_000_000
    assert {c.name for c in call.category_by_id.values()} == {n for n, _q in cf.CATEGORIES}


# --- is_open follows the clock, to the second --------------------------------------------

@pytest.mark.parametrize("at,is_open,upcoming,closed", [
    (OPEN - S, False, True, False),
    (OPEN, True, False, False),
    (OPEN + S, True, False, False),
    (CLOSE - S, True, False, False),
    (CLOSE, False, False, True),
    (CLOSE + S, False, False, True),
])
def test_is_open_is_computed_from_the_clock(db, clock, at, is_open, upcoming, closed):
    call = cf.call(status=CallStatus.PUBLISHED, open_at=OPEN, close_at=CLOSE)
    clock.set(at)
    assert (call.is_open, call.is_upcoming, call.is_closed_for_applications) == (is_open, upcoming, closed)


@pytest.mark.parametrize("status", [s for s in CallStatus if s != CallStatus.PUBLISHED])
def test_only_a_published_call_is_open(db, clock, status):
    call = cf.call(status=status, open_at=OPEN, close_at=CLOSE)
    clock.set(OPEN + dt.timedelta(days=1))
    assert not call.is_open and call.is_closed_for_applications


def test_is_open_after_reload_from_the_database(db, clock):
    """The columns come back timezone-aware (also from SQLite), so the comparison still works."""
    call = cf.call(status=CallStatus.PUBLISHED, open_at=OPEN, close_at=CLOSE)
    db.session.commit()
    db.session.expire_all()
    clock.set(CLOSE - S)
    assert db.session.get(Call, call.id).is_open
    clock.set(CLOSE)
    assert not db.session.get(Call, call.id).is_open


# --- the transition table --------------------------------------------------------------

TABLE = [
    (CallStatus.DRAFT, "publish", CallStatus.PUBLISHED),
    (CallStatus.PUBLISHED, "close", CallStatus.REVIEWING),
    (CallStatus.REVIEWING, "start_notice", CallStatus.NOTICE),
    (CallStatus.NOTICE, "finalize", CallStatus.FINALIZED),
    (CallStatus.FINALIZED, "archive", CallStatus.ARCHIVED),
]
ACTIONS = sorted({a for _s, a, _t in TABLE})


def test_table_is_exactly_the_documented_one():
    assert {(s, a): t for s, a, t in TABLE} == {k: v[0] for k, v in CALL_WORKFLOW.table.items()}
    assert all(roles == {"officer"} for _t, roles in CALL_WORKFLOW.table.values())


@pytest.mark.parametrize("state", list(CallStatus))
@pytest.mark.parametrize("action", ACTIONS)
def test_every_state_and_action(db, state, action):
    officer = factories.user(roles=("officer",))
    call = cf.call(status=state, unit=officer.host_unit)
    expected = {(s, a): t for s, a, t in TABLE}.get((state, action))
    if expected is None:
        with pytest.raises(IllegalTransition):
            CALL_WORKFLOW.transition(call, action, officer)
        assert call.status == state
    else:
        assert CALL_WORKFLOW.transition(call, action, officer) == expected


@pytest.mark.parametrize("role", ["applicant", "expert", "auditor", "finance", "admin"])
def test_other_roles_cannot_move_a_call(db, role):
    user = factories.user_with_role(role)
    call = cf.call()
    with pytest.raises(IllegalTransition):
        CALL_WORKFLOW.transition(call, "publish", user)


def test_close_for_review_only_after_the_deadline(db, clock):
    officer = factories.user(roles=("officer",))
    call = cf.call(status=CallStatus.PUBLISHED, unit=officer.host_unit, open_at=OPEN, close_at=CLOSE)
    clock.set(CLOSE - S)
    with pytest.raises(CallError, match="申报尚未截止"):
        close_call_for_review(call, officer)
    clock.set(CLOSE)
    close_call_for_review(call, officer)
    assert call.status == CallStatus.REVIEWING


def test_archive_only_when_finalized(db):
    officer = factories.user(roles=("officer",))
    call = cf.call(status=CallStatus.NOTICE, unit=officer.host_unit)
    with pytest.raises(CallError):
        archive_call(call, officer)
    call.status = CallStatus.FINALIZED
    archive_call(call, officer)
    assert call.status == CallStatus.ARCHIVED


# --- editing ----------------------------------------------------------------------------

def test_draft_edits_anything_and_replaces_rows(db):
    call = cf.call()
    db.session.commit()
    update_call(call, None, title="新名称", max_grant_fen=8_000_000,
                children={"tranches": [dict(seq=1, name="首期", percent=50, trigger="signing"),
                                       dict(seq=2, name="尾款", percent=50, trigger="final_assessment")]})
    db.session.commit()
    db.session.expire_all()
    call = db.session.get(Call, call.id)
    assert call.title == "新名称" and call.max_grant_fen == 8_000_000
    assert [(t.seq, t.percent) for t in call.tranches] == [(1, 50), (2, 50)]


def test_published_call_only_extends_the_deadline(db, clock):
    from grants.core.models import AuditLog
    import sqlalchemy as sa

    clock.set(dt.datetime(2026, 3, 5, tzinfo=UTC))
    call = cf.call(status=CallStatus.PUBLISHED, open_at=OPEN, close_at=CLOSE,
                   review_start_at=CLOSE + dt.timedelta(days=10), review_end_at=CLOSE + dt.timedelta(days=20))
    db.session.commit()
    with pytest.raises(CallError, match="只能延长"):
        update_call(call, None, close_at=CLOSE - dt.timedelta(days=1))
    with pytest.raises(CallError, match="不能再修改"):
        update_call(call, None, max_grant_fen=1)
    with pytest.raises(CallError, match="不能再修改"):
        update_call(call, None, children={"categories": [dict(name="新类别", quota_fen=None, sort=0)]})
    update_call(call, None, close_at=CLOSE + dt.timedelta(days=7), description="延期公告")
    db.session.commit()
    assert call.close_at == (CLOSE + dt.timedelta(days=7)).astimezone(UTC)
    row = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "call.update")).all()[-1]
    assert row.after["after_publish"] is True and "close_at" in row.before


def test_reviewing_call_cannot_be_edited(db):
    call = cf.call(status=CallStatus.REVIEWING)
    with pytest.raises(CallError):
        update_call(call, None, description="x")


# --- copy from last year ----------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (dt.date(2026, 5, 31), dt.date(2027, 5, 31)),
    (dt.date(2028, 2, 29), dt.date(2029, 2, 28)),
    (dt.date(2027, 2, 28), dt.date(2028, 2, 28)),
    # 29 Feb 07:00 in Beijing is still 28 Feb in UTC: the shift happens in Beijing time.
    (dt.datetime(2028, 2, 29, 7, 0, tzinfo=SHANGHAI), dt.datetime(2029, 2, 28, 7, 0, tzinfo=SHANGHAI)),
    (dt.datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI), dt.datetime(2027, 12, 31, 23, 30, tzinfo=SHANGHAI)),
])
def test_shift_year(value, expected):
    assert shift_year(value) == expected


def _settings(call):
    from grants.calls.services import CALL_FIELDS

    return {k: getattr(call, k) for k in CALL_FIELDS}


def test_copy_carries_every_setting_and_row_with_dates_a_year_later(db):
    officer = factories.user(roles=("officer",))
    org = factories.organization(name="承办机构")
    prev = cf.call(
        unit=officer.host_unit, status=CallStatus.ARCHIVED, title="2028年测试市公益创投大赛", year=2028,
        open_at=dt.datetime(2028, 2, 29, 9, 0, tzinfo=SHANGHAI), close_at=dt.datetime(2028, 3, 31, 17, tzinfo=SHANGHAI),
        review_start_at=dt.datetime(2028, 4, 10, 9, tzinfo=SHANGHAI),
        review_end_at=dt.datetime(2028, 4, 20, 17, tzinfo=SHANGHAI),
        project_start_on=dt.date(2028, 6, 1), project_end_on=dt.date(2029, 2, 28),
        operator_organization_id=org.id, min_own_funding_pct=10, max_applications_per_org=2,
        filed_org_max_applications=1, max_personnel_pct=40, max_management_pct=10,
        allowed_legal_forms=["association", "service_institution"], min_years_registered=2, min_rating=3,
        exclude_failed_previous=False, reviewers_per_application=7, show_other_scores=True, blind_review=True,
        aggregation="trimmed_mean", pitch_enabled=True, pitch_weight_pct=30, pitch_shortlist_size=20,
        contract_terms="甲方……乙方……", notice_working_days=7,
        children={"criteria": [dict(stage="written", name="需求", max_points=100, sort=0),
                               dict(stage="pitch", name="答辩", description="现场", max_points=100, sort=0)]})
    prev.attachment_requirements[0].allowed_types = ["pdf"]
    db.session.commit()

    new = copy_call(prev, officer)
    db.session.commit()
    db.session.expire_all()
    new, prev = db.session.get(Call, new.id), db.session.get(Call, prev.id)

    assert new.status == CallStatus.DRAFT and new.previous_call_id == prev.id and new.published_at is None
    assert new.year == 2029 and new.title == "2029年测试市公益创投大赛"
    assert new.host_unit_id == prev.host_unit_id
    # dates one year later, 29 February → 28 February, in Beijing time
    assert new.open_at == dt.datetime(2029, 2, 28, 9, 0, tzinfo=SHANGHAI)
    assert new.close_at == dt.datetime(2029, 3, 31, 17, tzinfo=SHANGHAI)
    assert new.review_start_at == dt.datetime(2029, 4, 10, 9, tzinfo=SHANGHAI)
    assert new.review_end_at == dt.datetime(2029, 4, 20, 17, tzinfo=SHANGHAI)
    assert (new.project_start_on, new.project_end_on) == (dt.date(2029, 6, 1), dt.date(2030, 2, 28))
    # every other setting identical
    moved = {"title", "year", "open_at", "close_at", "review_start_at", "review_end_at", "project_start_on",
             "project_end_on"}
    old_s, new_s = _settings(prev), _settings(new)
    assert {k: v for k, v in new_s.items() if k not in moved} == {k: v for k, v in old_s.items() if k not in moved}
    # every child row
    from grants.calls.services import CHILDREN, _child_dump

    for name in CHILDREN:
        assert _child_dump(new, name) == _child_dump(prev, name), name
        assert all(a.id != b.id for a, b in zip(getattr(new, name), getattr(prev, name)))
    assert len(new.criteria) == 2 and new.tranches and new.score_bands and len(new.categories) == 5


def test_copy_keeps_the_previous_call_untouched(db):
    prev = cf.call(status=CallStatus.FINALIZED, year=2025, title="第五届公益创投")
    db.session.commit()
    before = _settings(prev)
    new = copy_call(prev, None)
    db.session.commit()
    assert _settings(prev) == before and prev.status == CallStatus.FINALIZED
    assert new.title == "第五届公益创投（2026）"


def test_copied_draft_is_publishable_once_dates_are_current(db):
    from grants.calls.services import validate_call_for_publish

    prev = cf.call(status=CallStatus.ARCHIVED)
    for name in ("open_at", "close_at", "review_start_at", "review_end_at", "project_start_on", "project_end_on"):
        setattr(prev, name, shift_year(getattr(prev, name), -1))
    new = copy_call(prev, None)
    assert validate_call_for_publish(new) == []


def test_create_refuses_empty_title(db):
    with pytest.raises(CallError):
        create_call(factories.host_unit(), None, title=" ")


def test_pitch_criteria_kept_apart(db):
    call = cf.call(children={"criteria": [dict(stage="written", name="A", max_points=100),
                                          dict(stage="pitch", name="A", max_points=100)]})
    assert [c.stage for c in call.criteria] == ["written", "pitch"]
    assert isinstance(call.criteria_for("pitch")[0], RubricCriterion)


def test_demo_calls(db):
    """The demo: last year's archived call and this year's open one, linked for 'copy from last year'."""
    from grants.calls.demo import demo_calls
    from grants.core.timeutil import now
    import sqlalchemy as sa

    city = factories.host_unit(level="city")
    factories.user(roles=("officer",), unit=city, username="officer")
    demo_calls({"city": city})
    calls = db.session.scalars(sa.select(Call).order_by(Call.year)).all()
    year = now().astimezone(SHANGHAI).year
    assert [(c.year, c.status) for c in calls] == [(year - 1, "archived"), (year, "published")]
    current = calls[1]
    assert current.title == f"{year}年南通市公益创投大赛" and current.is_open
    assert current.previous_call_id == calls[0].id and len(current.categories) == 5
    assert {s.kind for s in current.funding_sources} == {"welfare_lottery", "fiscal_matching"}
    assert 20 <= (current.close_at - now()).days <= 21


def test_extension_past_the_review_start_needs_the_review_moved(db, clock):
    clock.set(dt.datetime(2026, 3, 5, tzinfo=UTC))
    call = cf.call(status=CallStatus.PUBLISHED, open_at=OPEN, close_at=CLOSE,
                   review_start_at=CLOSE + dt.timedelta(days=2), review_end_at=CLOSE + dt.timedelta(days=9))
    with pytest.raises(CallError, match="专家评审不能早于申报截止时间开始") as exc:
        update_call(call, None, close_at=CLOSE + dt.timedelta(days=5))
    assert exc.value.field == "review_start_at"
    update_call(call, None, close_at=CLOSE + dt.timedelta(days=5), review_start_at=CLOSE + dt.timedelta(days=6),
                review_end_at=CLOSE + dt.timedelta(days=12))
    assert call.close_at == (CLOSE + dt.timedelta(days=5)).astimezone(UTC)


def test_province_scale_budget_fits_the_money_columns(db):
    """A provincial call's budget runs to hundreds of millions of yuan: more than a 32-bit column holds in fen
    (about 2,147万元), which PostgreSQL refuses with "integer out of range"."""
    big = 300_000_000_00  # 3亿元 in fen
    c = cf.call(children={"funding_sources": [dict(kind="welfare_lottery", name="省级福彩公益金", amount_fen=big)],
                          "categories": [dict(name="为老服务", quota_fen=big)]},
                max_grant_fen=big, filed_org_max_grant_fen=big)
    db.session.commit()
    db.session.expire_all()
    again = db.session.get(Call, c.id)
    assert [s.amount_fen for s in again.funding_sources] == [big]
    assert [k.quota_fen for k in again.categories] == [big]
    assert (again.max_grant_fen, again.filed_org_max_grant_fen) == (big, big)
