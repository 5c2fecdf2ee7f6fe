"""Award drafting, budgets, approval, objections, promotion and finalize (services, fake ranking)."""
from __future__ import annotations

import datetime as dt
import random

import pytest

from grants.applications.models import ApplicationStatus
from grants.awards import services
from grants.awards.models import Award, AwardStatus, ObjectionStatus
from grants.awards.services import AwardError, allocate, budget_check
from grants.calls.models import CallStatus
from grants.core.timeutil import SHANGHAI
from tests import factories
from tests.awards import factories as af

Y = 100  # fen per yuan


def _setup(monkeypatch, requested=(100_000, 100_000, 100_000, 100_000, 50_000), cats=(0, 0, 0, 1, 1), **kw):
    call = af.scored_call(**kw)
    apps = [af.scored_application(call, category=c, requested_fen=r * Y) for r, c in zip(requested, cats)]
    af.use_ranking(monkeypatch, apps)
    a, b = af.officers(call)
    return call, apps, a, b


def _assert_within_budget(call):
    awards = services.awards_of(call)
    assert budget_check(call, awards) == []
    for award in awards:
        assert sum(x.amount_fen for x in award.allocations) == award.amount_fen
    for source in call.funding_sources:
        used = sum(x.amount_fen for a in awards for x in a.allocations if x.funding_source_id == source.id)
        assert used <= source.amount_fen
    for cat in call.categories:
        if cat.quota_fen is not None:
            assert sum(a.amount_fen for a in awards if a.category_id == cat.id) <= cat.quota_fen


def test_propose_follows_rank_within_quota_and_budget(ctx, db, monkeypatch):
    # budget 500,000; 为老服务 quota 250,000: the 3rd elderly project (100,000) no longer fits the quota.
    call, apps, a, _b = _setup(monkeypatch)
    proposed = services.propose_awards(call, a)
    assert [x.application_id for x in proposed] == [apps[0].id, apps[1].id, apps[3].id, apps[4].id]
    assert all(x.amount_fen == x.application.requested_fen for x in proposed)
    assert [x.rank for x in proposed] == [1, 2, 4, 5]
    _assert_within_budget(call)


def test_allocation_is_proportional_with_remainder_in_source_order():
    assert allocate(100, [300, 200]) == [60, 40]
    assert allocate(101, [300, 200]) == [61, 40]
    assert allocate(7, [1, 1, 1, 100]) == [1, 0, 0, 6]
    assert allocate(5, [0, 5]) == [0, 5]
    with pytest.raises(AwardError) as err:
        allocate(11, [5, 5])
    assert "还差" in err.value.message


def test_allocation_never_exceeds_a_source_random():
    rng = random.Random(20261123)
    for _ in range(2000):
        remaining = [rng.randint(0, 10_000) for _ in range(rng.randint(1, 4))]
        amount = rng.randint(1, max(1, sum(remaining)))
        if amount > sum(remaining):
            continue
        shares = allocate(amount, remaining)
        assert sum(shares) == amount
        assert all(0 <= s <= r for s, r in zip(shares, remaining))


def test_random_adjustments_never_exceed_any_budget(ctx, db, monkeypatch):
    rng = random.Random(4)
    call, apps, a, _b = _setup(monkeypatch, requested=(90_000, 80_000, 70_000, 120_000, 60_000, 50_000),
                               cats=(0, 0, 0, 1, 1, 1), sources=(("welfare_lottery", 150_000_01),
                                                                 ("fiscal_matching", 99_999_99),
                                                                 ("charity", 33_333_33)))
    services.propose_awards(call, a)
    _assert_within_budget(call)
    refused = accepted = 0
    for _ in range(80):
        awards = services.awards_of(call)
        candidates = [x for x in apps if x.id not in {w.application_id for w in awards}]
        op = rng.random()
        try:
            if op < 0.6 and awards:
                award = rng.choice(awards)
                services.adjust_award(award, rng.randint(1, award.application.requested_fen) if rng.random() < 0.3
                                     else award.application.requested_fen, "调整", a)
            elif op < 0.9 and candidates:
                app = rng.choice(candidates)
                services.include_application(call, app, rng.randint(app.requested_fen // 2, app.requested_fen), "增补", a)
            elif awards:
                services.exclude_award(rng.choice(awards), "不予资助", a)
            accepted += 1
        except AwardError as exc:
            refused += 1
            assert "超出" in exc.message
        db.session.expire_all()
        _assert_within_budget(call)
    assert accepted > 20 and refused > 5, (accepted, refused)


def test_adjust_says_by_how_much_and_keeps_the_old_amount(ctx, db, monkeypatch):
    call, apps, a, _b = _setup(monkeypatch, requested=(200_000, 200_000), cats=(0, 1),
                               categories=(("为老服务", 250_000_00), ("青少年服务", 220_000_00)))
    awards = services.propose_awards(call, a)
    # a 2nd 200,000 in category 1 fits; raising the first over its quota must be refused with the gap
    with pytest.raises(AwardError) as err:
        services.adjust_award(awards[0], 300_000 * Y, "多给一些", a)
    assert "超出申请金额" in err.value.message or "不能超过申请金额" in err.value.message
    apps[0].requested_fen = 400_000 * Y
    with pytest.raises(AwardError) as err:
        services.adjust_award(awards[0], 260_000 * Y, "多给一些", a)
    assert any("为老服务" in p and "¥10,000.00" in p for p in err.value.problems)
    with pytest.raises(AwardError) as err:
        services.adjust_award(awards[0], 240_000 * Y, "", a)
    assert err.value.field == "reason"
    assert awards[0].amount_fen == 200_000 * Y
    services.adjust_award(awards[0], 150_000 * Y, "压缩活动规模", a)
    assert awards[0].amount_fen == 150_000 * Y
    _assert_within_budget(call)


def test_budget_check_messages_for_source_and_total(ctx, db, monkeypatch):
    call, apps, a, _b = _setup(monkeypatch)
    services.propose_awards(call, a)
    awards = services.awards_of(call)
    awards[0].allocations[0].amount_fen += 1_000_000 * Y
    messages = budget_check(call, awards)
    assert any("资金来源“福彩公益金”超出" in m for m in messages)


def test_approval_needs_another_officer_or_an_admin(ctx, db, monkeypatch):
    call, apps, a, b = _setup(monkeypatch)
    services.propose_awards(call, a)
    with pytest.raises(AwardError) as err:
        services.approve_awards(call, a)
    assert "另一名" in err.value.message
    # b changes an amount: now b is a drafter too, and a alone still drafted the others
    services.adjust_award(services.awards_of(call)[0], 90_000 * Y, "压缩", b)
    with pytest.raises(AwardError):
        services.approve_awards(call, b)
    with pytest.raises(AwardError):
        services.approve_awards(call, a)
    admin = factories.user(roles=("admin",))
    approved = services.approve_awards(call, admin)
    assert {x.status for x in approved} == {AwardStatus.APPROVED}
    assert all(x.approved_by_id == admin.id for x in approved)
    with pytest.raises(AwardError):
        services.adjust_award(approved[0], 1 * Y, "晚了", a)


def _publish(call, a, b, clock, when=dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI)):
    clock.set(when)
    services.propose_awards(call, a)
    services.approve_awards(call, b)
    notice = services.publish_notice(call, a)
    # Objections are accepted from the period's first day, not on the publishing day.
    clock.set(dt.datetime.combine(notice.starts_on, dt.time(9, 0), tzinfo=SHANGHAI))
    return notice


def test_publish_sets_working_day_dates_and_awards_applications(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    # Friday 2026-06-12 → next working day Monday 06-15; 5 working days: 06-15..06-19 (no holiday; 端午 is 06-19!)
    notice = _publish(call, a, b, clock, dt.datetime(2026, 6, 12, 16, 0, tzinfo=SHANGHAI))
    # 2026 端午节 is Friday 06-19 (holiday): the period runs Mon 15 – Mon 22
    assert (notice.starts_on, notice.ends_on) == (dt.date(2026, 6, 15), dt.date(2026, 6, 22))
    assert call.status == CallStatus.NOTICE
    assert apps[0].status == ApplicationStatus.AWARDED and apps[2].status == ApplicationStatus.SCORED


def test_publish_refused_before_approval(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    services.propose_awards(call, a)
    with pytest.raises(AwardError) as err:
        services.publish_notice(call, a)
    assert "审批" in err.value.message


@pytest.mark.parametrize("today, days, start, end", [
    # Spring Festival 2026: holidays Feb 15–23, make-up working days Sat Feb 14 and Sat Feb 28.
    (dt.date(2026, 2, 12), 5, dt.date(2026, 2, 13), dt.date(2026, 2, 26)),
    (dt.date(2026, 2, 13), 5, dt.date(2026, 2, 14), dt.date(2026, 2, 27)),
    (dt.date(2026, 2, 26), 3, dt.date(2026, 2, 27), dt.date(2026, 3, 2)),
    # National Day 2026: holidays Oct 1–7, make-up working days Sun Sep 20 and Sat Oct 10.
    (dt.date(2026, 9, 29), 5, dt.date(2026, 9, 30), dt.date(2026, 10, 12)),
    (dt.date(2026, 9, 30), 5, dt.date(2026, 10, 8), dt.date(2026, 10, 13)),
    (dt.date(2026, 9, 18), 2, dt.date(2026, 9, 20), dt.date(2026, 9, 21)),
])
def test_notice_period_across_holidays_and_make_up_days(ctx, db, today, days, start, end):
    call = af.scored_call(notice_working_days=days)
    assert services.notice_period(call, today) == (start, end)


def test_unknown_year_is_refused_with_a_warning_not_guessed(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    clock.set(dt.datetime(2026, 12, 29, 10, 0, tzinfo=SHANGHAI))
    services.propose_awards(call, a)
    services.approve_awards(call, b)
    with pytest.raises(AwardError) as err:
        services.publish_notice(call, a)
    assert "2027" in err.value.message and "/admin/holidays" in err.value.message and "管理员" in err.value.message
    assert call.status == CallStatus.REVIEWING and services.notice_of(call) is None
    # once the admin enters 2027's New Year holiday, the period is computed with it
    from grants.core.models import Holiday, HolidayYear

    db.session.add(Holiday(day=dt.date(2027, 1, 1), is_workday=False, name="元旦"))
    db.session.add(HolidayYear(year=2027))  # the admin confirmed 2027's holidays complete
    db.session.flush()
    notice = services.publish_notice(call, a)
    # Wed 12-30, Thu 12-31, (Fri 1-1 holiday, weekend), Mon 1-4, Tue 1-5, Wed 1-6
    assert (notice.starts_on, notice.ends_on) == (dt.date(2026, 12, 30), dt.date(2027, 1, 6))


def test_objection_refused_after_the_end_to_the_second(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    end = dt.datetime.combine(notice.ends_on, dt.time(23, 59, 59), tzinfo=SHANGHAI)
    clock.set(end)
    obj = services.file_objection(notice, apps[0], name="张三", contact="13800000000", content="该组织未实际开展过同类服务。")
    assert obj.status == ObjectionStatus.OPEN
    clock.set(end + dt.timedelta(seconds=1))
    with pytest.raises(AwardError) as err:
        services.file_objection(notice, apps[0], name="李四", contact="x@y.cn", content="同样的理由同样的理由。")
    assert "公示期已结束" in err.value.message


def test_objection_needs_name_contact_and_an_awarded_project(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    for kw, field in [(dict(name="", contact="1", content="x" * 20), "objector_name"),
                      (dict(name="张三", contact=" ", content="x" * 20), "contact"),
                      (dict(name="张三", contact="1", content="短"), "content")]:
        with pytest.raises(AwardError) as err:
            services.file_objection(notice, apps[0], **kw)
        assert err.value.field == field
    with pytest.raises(AwardError):
        services.file_objection(notice, apps[2], name="张三", contact="1", content="x" * 20)


def test_uphold_cancels_and_promotes_the_next_ranked_within_budget(ctx, db, monkeypatch, clock):
    # budget 500,000, quota 为老 250,000: awarded 0,1 (elderly), 3,4; app 2 (elderly, 100,000) waits.
    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    obj = services.file_objection(notice, apps[1], name="张三", contact="13800000000", content="申报材料中的服务数据不实。")
    promoted = services.handle_objection(obj, "uphold", "经核查情况属实", a, promote=True)
    award1 = db.session.get(Award, obj.award_id)
    assert award1.status == AwardStatus.CANCELLED and apps[1].status == ApplicationStatus.CANCELLED
    assert award1.allocations == []
    assert promoted is not None and promoted.application_id == apps[2].id
    assert promoted.status == AwardStatus.APPROVED and apps[2].status == ApplicationStatus.AWARDED
    assert obj.status == ObjectionStatus.UPHELD and obj.handled_by_id == a.id
    _assert_within_budget(call)


def test_promotion_skips_what_does_not_fit(ctx, db, monkeypatch, clock):
    # the cancelled award is 50,000; the next ranked asks 100,000 (too much), the one after 40,000 fits.
    call, apps, a, b = _setup(monkeypatch, requested=(200_000, 250_000, 50_000, 100_000, 40_000),
                              cats=(1, 1, 1, 1, 1), sources=(("welfare_lottery", 500_000_00),))
    notice = _publish(call, a, b, clock)
    assert [x.application_id for x in services.awards_of(call)] == [apps[0].id, apps[1].id, apps[2].id]
    obj = services.file_objection(notice, apps[2], name="张三", contact="1", content="存在重复申报的情况。")
    promoted = services.handle_objection(obj, "uphold", "属实", a, promote=True)
    assert promoted.application_id == apps[4].id
    _assert_within_budget(call)


def test_reject_keeps_the_award(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    obj = services.file_objection(notice, apps[0], name="张三", contact="1", content="我觉得这个项目不好。")
    with pytest.raises(AwardError):
        services.handle_objection(obj, "reject", " ", a)
    services.handle_objection(obj, "reject", "异议无事实依据", a)
    assert obj.status == ObjectionStatus.REJECTED and apps[0].status == ApplicationStatus.AWARDED
    with pytest.raises(AwardError):
        services.handle_objection(obj, "uphold", "再次处理", a)


def test_finalize_preconditions_and_outcome(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    obj = services.file_objection(notice, apps[0], name="张三", contact="1", content="我觉得这个项目不好。")
    last_second = dt.datetime.combine(notice.ends_on, dt.time(23, 59, 59), tzinfo=SHANGHAI)
    clock.set(last_second)
    with pytest.raises(AwardError) as err:
        services.finalize_notice(call, a)
    assert len(err.value.problems) == 2  # not ended, one open objection
    clock.set(last_second + dt.timedelta(seconds=1))
    with pytest.raises(AwardError) as err:
        services.finalize_notice(call, a)
    assert "异议未处理" in err.value.message
    services.handle_objection(obj, "reject", "无依据", a)
    confirmed = services.finalize_notice(call, a)
    assert {x.status for x in confirmed} == {AwardStatus.CONFIRMED}
    assert [x.status for x in apps] == ["confirmed", "confirmed", "not_awarded", "confirmed", "confirmed"]
    assert call.status == CallStatus.FINALIZED and notice.finalized_at is not None
    with pytest.raises(AwardError):
        services.file_objection(notice, apps[0], name="张三", contact="1", content="定项后再提异议。。")


def test_reopen_sends_an_approved_list_back_to_draft(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    services.propose_awards(call, a)
    services.approve_awards(call, b)
    with pytest.raises(AwardError) as err:
        services.reopen_awards(call, "", b)
    assert err.value.field == "reason"
    services.reopen_awards(call, "金额需再核", b)
    awards = services.awards_of(call)
    assert {x.status for x in awards} == {AwardStatus.DRAFT} and all(x.approved_by_id is None for x in awards)
    services.adjust_award(awards[0], 90_000 * Y, "核减", a)
    services.approve_awards(call, b)
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))
    services.publish_notice(call, a)
    with pytest.raises(AwardError):
        services.reopen_awards(call, "公示后不能退回", b)


def test_officers_are_told_about_a_new_objection(ctx, db, monkeypatch, clock):
    from grants.reminders.models import Notification

    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    services.file_objection(notice, apps[0], name="张三", contact="1", content="我觉得这个项目不好。")
    got = db.session.scalars(db.select(Notification).where(Notification.kind == "objection_received")).all()
    assert {n.user_id for n in got} == {a.id, b.id} and all("公示异议" in n.title for n in got)


def test_objection_refused_before_the_period_starts_with_its_start_date(ctx, db, monkeypatch, clock):
    call, apps, a, b = _setup(monkeypatch)
    clock.set(dt.datetime(2026, 6, 1, 10, 0, tzinfo=SHANGHAI))  # Monday: published, runs Tue 2 – Mon 8 June
    services.propose_awards(call, a)
    services.approve_awards(call, b)
    notice = services.publish_notice(call, a)
    assert notice.starts_on == dt.date(2026, 6, 2) and not notice.is_open_for_objections
    clock.set(dt.datetime(2026, 6, 1, 23, 59, 59, tzinfo=SHANGHAI))
    with pytest.raises(AwardError) as err:
        services.file_objection(notice, apps[0], name="张三", contact="1", content="公示开始前的异议内容。")
    assert "2026-06-02" in err.value.message and "开始" in err.value.message
    clock.set(dt.datetime(2026, 6, 2, 0, 0, 0, tzinfo=SHANGHAI))
    assert notice.is_open_for_objections
    obj = services.file_objection(notice, apps[0], name="张三", contact="1", content="公示第一天零点的异议。")
    assert obj.status == ObjectionStatus.OPEN


def test_objection_gets_a_receipt_sent_to_an_email_contact(ctx, db, monkeypatch, clock):
    import re

    from grants.reminders.models import OutboxMail

    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    first = services.file_objection(notice, apps[0], name="张三", contact=" zhang@example.org ",
                                    content="该组织未实际开展过同类服务。")
    second = services.file_objection(notice, apps[0], name="李四", contact="0513-85512345",
                                     content="同一项目的另一条异议内容。")
    assert re.fullmatch(r"YY20260602-[2-9A-HJ-NP-Z]{6}", first.receipt_no)
    assert first.receipt_no != second.receipt_no
    mails = db.session.scalars(db.select(OutboxMail).where(OutboxMail.to_address == "zhang@example.org")).all()
    assert len(mails) == 1 and first.receipt_no in mails[0].subject and first.receipt_no in mails[0].body
    # a landline cannot receive a message: nothing is sent (the page shows the number)
    assert not any(second.receipt_no in m.body for m in db.session.scalars(db.select(OutboxMail)))


def test_objection_receipt_goes_by_sms_to_a_mobile(app, ctx, db, monkeypatch, clock):
    import sqlalchemy as sa

    from grants.reminders.models import OutboxSms

    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    obj = services.file_objection(notice, apps[0], name="张三", contact="+86 138-1234-5678",
                                  content="该组织未实际开展过同类服务。")
    db.session.flush()
    sms = db.session.scalars(sa.select(OutboxSms)).all()
    assert [s.to_mobile for s in sms] == ["13812345678"] and obj.receipt_no in sms[0].text


def test_objection_evidence_goes_through_the_upload_checks(ctx, db, monkeypatch, clock):
    import io

    from werkzeug.datastructures import FileStorage

    from grants.awards.models import Objection

    pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    call, apps, a, b = _setup(monkeypatch)
    notice = _publish(call, a, b, clock)
    with pytest.raises(AwardError) as err:
        services.file_objection(notice, apps[0], name="张三", contact="1", content="附上证明材料的异议。",
                                evidence=[FileStorage(io.BytesIO(b"MZ\x90\x00not a pdf"), "证明.pdf")])
    assert err.value.field == "evidence" and "证明.pdf" in err.value.message and "不符" in err.value.message
    with pytest.raises(AwardError) as err:
        services.file_objection(notice, apps[0], name="张三", contact="1", content="附上证明材料的异议。",
                                evidence=[FileStorage(io.BytesIO(pdf), f"{i}.pdf") for i in range(6)])
    assert err.value.field == "evidence"
    obj = services.file_objection(notice, apps[0], name="张三", contact="1", content="附上证明材料的异议。",
                                  evidence=[FileStorage(io.BytesIO(pdf), "现场照片说明.pdf"),
                                            FileStorage(io.BytesIO(b""), "")])
    db.session.flush()
    assert [e.stored_file.original_name for e in db.session.get(Objection, obj.id).evidence] == ["现场照片说明.pdf"]
