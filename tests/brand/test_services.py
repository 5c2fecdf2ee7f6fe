"""Brand-project services: eligibility, nominations, segregation of scoring, ranking with the review
arithmetic, the decision, publication and the marks other pages read."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from grants.brand import services as svc
from grants.brand.models import NominationStatus, SelectionStatus
from grants.core.models import AuditLog
from grants.core.timeutil import UTC
from grants.reviews import scoring
from tests import factories
from tests.brand import factories as bf
from tests.contracts import factories as cf

pytestmark = pytest.mark.usefixtures("ctx")


def _actions(db) -> list[str]:
    return list(db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)))


def _scoring(db, n_projects=2, n_experts=3, **kw):
    """A selection in scoring with n accepted nominations and n panel experts declared free of conflict."""
    unit = factories.host_unit()
    officer = bf.officer(unit)
    call = cf.call(unit)
    s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING, **kw)
    noms = [svc.nominate_project(s, bf.completed_contract(call, name=f"项目{i}"), f"理由{i}", officer)
            for i in range(n_projects)]
    experts = [bf.expert(employer=f"大学{i}") for i in range(n_experts)]
    for e in experts:
        svc.invite_expert(s, e, officer)
    svc.start_scoring(s, officer)
    for e in experts:
        for n in noms:
            svc.declare_conflict(n, e, has_conflict=False)
    db.session.flush()
    return s, officer, noms, experts


def _score(n, expert, points, comment="成效显著"):
    review, problems = svc.save_review(n, expert, {c.id: p for c, p in zip(n.selection.criteria, points)}, comment,
                                       submit=True)
    assert problems == {}
    return review


def test_only_completed_contracts_of_the_subtree_and_chosen_calls_are_eligible(db):
    city = factories.host_unit()
    district = factories.host_unit(level="district", parent=city)
    elsewhere = factories.host_unit()
    call_a, call_b = cf.call(district), cf.call(city)
    done_a = bf.completed_contract(call_a)
    done_b = bf.completed_contract(call_b)
    active = cf.contract(cf.award(call_a), status="active")
    other = bf.completed_contract(cf.call(elsewhere))
    s = bf.selection(city)
    assert {c.id for c in svc.eligible_contracts(s)} == {done_a.id, done_b.id}
    s.call_ids = [call_a.id]
    assert [c.id for c in svc.eligible_contracts(s)] == [done_a.id]
    assert not svc.is_eligible(s, active) and not svc.is_eligible(s, other)


def test_nominations_need_a_reason_an_eligible_project_and_the_nominating_state(db):
    unit = factories.host_unit()
    officer = bf.officer(unit)
    c = bf.completed_contract(cf.call(unit))
    s = bf.selection(unit, officer)
    with pytest.raises(svc.BrandError):  # still a draft
        svc.nominate_project(s, c, "理由", officer)
    svc.open_nominations(s, officer)
    with pytest.raises(svc.BrandError) as e:
        svc.nominate_project(s, c, "  ", officer)
    assert e.value.field == "reason"
    active = cf.contract(cf.award(cf.call(unit)), status="active")
    with pytest.raises(svc.BrandError):
        svc.nominate_project(s, active, "理由", officer)
    n = svc.nominate_project(s, c, "服务老人三千人次，满意度 98%", officer)
    assert n.status == NominationStatus.ACCEPTED and n.organization_id == c.organization_id
    with pytest.raises(svc.BrandError):
        svc.nominate_project(s, c, "再推一次", officer)
    brand = [a for a in _actions(db) if a.startswith("brand")]
    assert brand == ["brand_selection.create", "brand_selection.open_nominations", "brand_nomination.nominate"]


def test_an_organisation_puts_itself_forward_and_the_officer_decides(db):
    unit = factories.host_unit()
    officer = bf.officer(unit)
    c = bf.completed_contract(cf.call(unit))
    admin = factories.member(c.organization)
    plain = factories.member(c.organization, is_admin=False)
    stranger = factories.member(factories.organization())
    s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
    for who in (plain, stranger):
        with pytest.raises(svc.BrandError):
            svc.put_forward_project(s, c, "自荐", who)
    n = svc.put_forward_project(s, c, "我们的项目覆盖全街道", admin)
    assert (n.source, n.status) == ("self", NominationStatus.PROPOSED)
    svc.invite_expert(s, bf.expert(), officer)
    with pytest.raises(svc.BrandError, match="自荐尚未处理"):
        svc.start_scoring(s, officer)
    svc.accept_nomination(n, officer)
    assert n.status == NominationStatus.ACCEPTED
    other = svc.put_forward_project(s, bf.completed_contract(cf.call(unit), c.organization), "第二个", admin)
    with pytest.raises(svc.BrandError):
        svc.decline_nomination(other, officer, "")
    svc.decline_nomination(other, officer, "成效数据不完整")
    assert other.status == NominationStatus.DECLINED and other.declined_reason == "成效数据不完整"
    assert {"brand_nomination.put_forward", "brand_nomination.accept", "brand_nomination.decline"} <= set(_actions(db))


def test_starting_scoring_detects_conflicts_by_organisation_links(db):
    unit = factories.host_unit()
    officer = bf.officer(unit)
    c = bf.completed_contract(cf.call(unit))
    s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
    n = svc.nominate_project(s, c, "理由", officer)
    linked = bf.expert(affiliated_organization=c.organization)
    works_there = bf.expert(employer=c.organization.name)
    free = bf.expert(employer="南通大学")
    for e in (linked, works_there, free):
        svc.invite_expert(s, e, officer)
    svc.start_scoring(s, officer)
    assert svc.conflict_for(linked.id, n.id).has_conflict
    assert svc.conflict_for(works_there.id, n.id).source == "auto"
    assert svc.conflict_for(free.id, n.id) is None
    # The linked expert cannot clear the conflict by declaring none, and cannot score.
    with pytest.raises(svc.BrandError):
        svc.declare_conflict(n, linked, has_conflict=False)
    assert not svc.may_score(n, linked)
    with pytest.raises(svc.BrandError):
        svc.save_review(n, linked, {}, "x", submit=False)


def test_segregation_only_declared_panel_members_score(db):
    s, officer, (n, _m), (a, b, _c) = _scoring(db)
    outsider = bf.expert()
    with pytest.raises(svc.BrandError):
        svc.declare_conflict(n, outsider, has_conflict=False)
    with pytest.raises(svc.BrandError):
        svc.save_review(n, outsider, {}, "x", submit=False)
    # A declared conflict (with its reason) shuts the expert out; a draft scored earlier is dropped.
    svc.save_review(n, b, {s.criteria[0].id: 30}, "", submit=False)
    svc.declare_conflict(n, b, has_conflict=True, reason="曾担任该项目督导")
    assert not svc.may_score(n, b)
    assert svc.review_of(n, b) is None
    with pytest.raises(svc.BrandError):
        svc.save_review(n, b, {}, "x", submit=False)
    with pytest.raises(svc.BrandError):
        svc.declare_conflict(n, b, has_conflict=False)
    assert svc.may_score(n, a)


def test_a_submitted_review_is_complete_and_locked(db, clock):
    s, officer, (n, _m), (a, *_rest) = _scoring(db)
    review, problems = svc.save_review(n, a, {s.criteria[0].id: "41"}, "", submit=True)
    # 41 > 40, the others missing, no comment: every problem is reported at once.
    assert set(problems) == {f"points-{c.id}" for c in s.criteria} | {"comment"}
    review, problems = svc.save_review(n, a, {c.id: 20 for c in s.criteria}, "", submit=True)
    assert problems == {"comment": "请填写评审意见"} and not review.is_submitted
    assert review.points_total == 60  # the draft keeps what was valid
    _score(n, a, [35, 25, 20])
    assert svc.review_of(n, a).points_total == 80
    with pytest.raises(svc.BrandError):
        svc.save_review(n, a, {}, "改", submit=False)
    clock.set(dt.datetime(2030, 1, 2, tzinfo=UTC))
    with pytest.raises(svc.BrandError, match="截止"):
        svc.save_review(n, _rest[0], {}, "迟到", submit=False)


def test_ranking_uses_the_review_aggregation_and_tie_break(db):
    s, officer, noms, experts = _scoring(db, n_projects=3, n_experts=5, aggregation="trimmed_mean")
    first, second, third = noms
    points = {first: [[40, 30, 30], [30, 20, 20], [20, 10, 10], [35, 25, 25], [38, 28, 24]],
              second: [[30, 20, 20]] * 5,
              third: [[30, 20, 20]] * 5}
    for n, rows in points.items():
        for e, p in zip(experts, rows):
            _score(n, e, p)
    rows = svc.compute_ranking(s)
    totals = [Decimal(sum(p)) for p in points[first]]
    expected = scoring.q2(scoring.aggregate(totals, "trimmed_mean"))  # drops 100 and 40: (70 + 85 + 90) / 3
    assert rows[0].nomination is first and rows[0].score == expected == Decimal("81.67")
    # second and third tie on 70: the earlier nomination (smaller id) ranks first.
    assert [r.nomination for r in rows[1:]] == [second, third]
    assert rows[1].score == rows[2].score == Decimal("70.00")
    assert [r.rank for r in rows] == [1, 2, 3]
    assert rows[0].review_count == rows[0].expected_count == 5


def test_the_mean_scales_to_100_by_the_rubric_full_marks(db):
    s, officer, (n,), experts = _scoring(db, n_projects=1, n_experts=2,
                                         criteria=[("项目成效", 30), ("创新性", 20)])
    _score(n, experts[0], [30, 20])
    _score(n, experts[1], [15, 10])
    assert svc.compute_ranking(s)[0].score == Decimal("75.00")  # (50 + 25) / 2 on 50 → 75 on 100


def test_decision_defaults_to_the_top_n_and_a_departure_needs_a_note(db):
    s, officer, noms, (a, b, c) = _scoring(db, n_projects=3, winners_count=2)
    for n, pts in zip(noms, ([40, 30, 30], [30, 20, 20], [20, 10, 10])):
        for e in (a, b, c):
            _score(n, e, pts)
    with pytest.raises(svc.BrandError) as e:
        svc.decide_winners(s, officer, winner_ids=[noms[0].id, noms[2].id])
    assert e.value.field == "note"
    with pytest.raises(svc.BrandError):
        svc.decide_winners(s, officer, winner_ids=[n.id for n in noms], note="都好")
    winners = svc.decide_winners(s, officer)
    assert winners == noms[:2] and s.status == SelectionStatus.DECIDED
    assert [n.is_winner for n in noms] == [True, True, False] and [n.rank for n in noms] == [1, 2, 3]
    assert svc.brand_titles_for([n.contract_id for n in noms]) == {}  # not yet published
    svc.reopen_scoring(s, officer, "第三名材料补充")
    assert s.status == SelectionStatus.SCORING and not any(n.is_winner for n in noms)
    svc.decide_winners(s, officer, winner_ids=[noms[0].id, noms[2].id], note="第三名补充材料后经评审组复议")
    svc.publish_selection(s, officer)
    assert s.status == SelectionStatus.PUBLISHED and s.published_at is not None
    assert svc.brand_titles_for([n.contract_id for n in noms]) == {
        noms[0].contract_id: ["2026年度品牌项目"], noms[2].contract_id: ["2026年度品牌项目"]}
    honours = svc.brand_honours_of(noms[2].organization_id)
    assert [(h.contract_id, h.title, h.year) for h in honours] == [(noms[2].contract_id, "2026年度品牌项目", 2026)]
    decided = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "brand_selection.decide")
                                 .order_by(AuditLog.id)).all()
    assert decided[-1].after["winners"] == sorted([noms[0].id, noms[2].id])
    assert decided[-1].after["note"].startswith("第三名")


def test_brand_titles_for_is_one_query(app, db):
    s, officer, noms, experts = _scoring(db, n_projects=2, n_experts=1, winners_count=2)
    for n in noms:
        _score(n, experts[0], [30, 20, 20])
    svc.decide_winners(s, officer)
    svc.publish_selection(s, officer)
    db.session.flush()
    n_queries = 0

    def on_exec(*_a, **_k):
        nonlocal n_queries
        n_queries += 1

    sa.event.listen(db.engine, "before_cursor_execute", on_exec)
    try:
        titles = svc.brand_titles_for([n.contract_id for n in noms] + [999999])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_exec)
    assert n_queries == 1 and set(titles) == {n.contract_id for n in noms}
    assert svc.brand_titles_for([]) == {}


def test_start_scoring_needs_nominations_and_a_panel(db):
    unit = factories.host_unit()
    officer = bf.officer(unit)
    s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
    with pytest.raises(svc.BrandError, match="推荐项目"):
        svc.start_scoring(s, officer)
    svc.nominate_project(s, bf.completed_contract(cf.call(unit)), "理由", officer)
    with pytest.raises(svc.BrandError, match="评审组"):
        svc.start_scoring(s, officer)


def test_criteria_text_is_parsed_strictly():
    assert svc.parse_criteria("项目成效 30\n创新性：20\n\n社会影响,50") == [("项目成效", 30), ("创新性", 20),
                                                                       ("社会影响", 50)]
    for bad in ("项目成效", "项目成效 0", "项目成效 101", "a 10\na 20"):
        with pytest.raises(svc.BrandError):
            svc.parse_criteria(bad)


def test_during_scoring_only_title_winners_and_deadline_change(db, clock):
    s, officer, (n, _m), (a, *_rest) = _scoring(db)
    rubric = [(c.name, c.max_points) for c in s.criteria]
    values = dict(title="改名", year=s.year, winners_count=1, scoring_deadline_at=dt.datetime(2031, 1, 1, tzinfo=UTC),
                  call_ids=s.call_ids, aggregation=s.aggregation, criteria=rubric)
    with pytest.raises(svc.BrandError):
        svc.update_selection(s, officer, **{**values, "criteria": [("项目成效", 100)]})
    with pytest.raises(svc.BrandError):
        svc.update_selection(s, officer, **{**values, "aggregation": "trimmed_mean"})
    svc.update_selection(s, officer, **values)
    assert (s.title, s.winners_count, s.scoring_deadline_at.year) == ("改名", 1, 2031)
    clock.set(dt.datetime(2030, 6, 1, tzinfo=UTC))  # after the old deadline, before the new one
    _score(n, a, [30, 20, 20])


def test_scoring_cannot_start_after_the_deadline(db, clock):
    unit = factories.host_unit()
    officer = bf.officer(unit)
    s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
    svc.nominate_project(s, bf.completed_contract(cf.call(unit)), "理由", officer)
    svc.invite_expert(s, bf.expert(), officer)
    clock.set(dt.datetime(2030, 1, 1, tzinfo=UTC))
    with pytest.raises(svc.BrandError, match="截止"):
        svc.start_scoring(s, officer)


def test_a_self_nomination_is_announced_to_the_units_officers(db):
    from grants.reminders.models import Notification

    unit = factories.host_unit()
    officer, colleague = bf.officer(unit), bf.officer(unit)
    elsewhere = bf.officer(factories.host_unit())
    c = bf.completed_contract(cf.call(unit), name="邻里守望")
    s = bf.selection(unit, officer, status=SelectionStatus.NOMINATING)
    svc.put_forward_project(s, c, "覆盖全街道", factories.member(c.organization))
    mine = Notification.title.like("品牌项目自荐%")
    rows = db.session.execute(sa.select(Notification.user_id, Notification.title, Notification.link).where(mine)
                              .order_by(Notification.user_id)).all()
    from grants.accounts.models import User, UserRole

    unit_officers = set(db.session.scalars(sa.select(User.id).join(UserRole, UserRole.user_id == User.id).where(
        User.host_unit_id == unit.id, UserRole.role == "officer")))
    assert {officer.id, colleague.id} <= unit_officers
    assert sorted(r.user_id for r in rows) == sorted(unit_officers)
    assert elsewhere.id not in [r.user_id for r in rows]
    assert rows[0].title == "品牌项目自荐待确认：邻里守望" and rows[0].link == f"/brand/{s.id}#nomination-list"
    # An officer's own nomination needs nobody's decision: no notice.
    svc.nominate_project(s, bf.completed_contract(cf.call(unit)), "主管推荐", officer)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(mine)) == len(rows)
