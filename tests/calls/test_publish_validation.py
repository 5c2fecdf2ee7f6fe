"""Publishing checks: a complete call passes; each broken rule is reported in Chinese."""
from __future__ import annotations

import datetime as dt

import pytest

from grants.calls.models import (
    CallCategory, CallFundingSource, CallStatus, RubricCriterion, ScoreBand, TrancheTemplate,
)
from grants.calls.services import CallError, publish_call, validate_call_for_publish
from grants.extensions import db
from tests.calls import factories as cf
from tests import factories

H = dt.timedelta(hours=1)


def _set(**values):
    def apply(c):
        for k, v in values.items():
            setattr(c, k, v)
    return apply


def _clear(name):
    return lambda c: getattr(c, name).clear()


def _written(c):
    return [x for x in c.criteria if x.stage == "written"]


def _band(c, min_score):
    return next(b for b in c.score_bands if b.min_score == min_score)


CASES = [
    ("missing_title", _set(title=" "), "请填写活动名称"),
    ("missing_description", _set(description=""), "请填写活动简介"),
    ("missing_open", _set(open_at=None), "请填写申报开始时间"),
    ("missing_close", _set(close_at=None), "请填写申报截止时间"),
    ("close_equals_open", lambda c: setattr(c, "close_at", c.open_at), "申报截止时间必须晚于申报开始时间"),
    ("close_before_open", lambda c: setattr(c, "close_at", c.open_at - H), "申报截止时间必须晚于申报开始时间"),
    ("close_in_past", lambda c: (setattr(c, "open_at", c.open_at - dt.timedelta(days=30)),
                                 setattr(c, "close_at", c.open_at + H)), "申报截止时间已过"),
    ("missing_review", _set(review_start_at=None), "请填写专家评审的开始和结束时间"),
    ("review_end_before_start", lambda c: setattr(c, "review_end_at", c.review_start_at), "专家评审结束时间必须晚于开始时间"),
    ("review_before_close", lambda c: setattr(c, "review_start_at", c.close_at - H), "专家评审不能早于申报截止时间开始"),
    ("missing_project_dates", _set(project_end_on=None), "请填写项目执行的开始和结束日期"),
    ("project_end_before_start", lambda c: setattr(c, "project_end_on", c.project_start_on), "项目结束日期必须晚于开始日期"),
    ("project_before_review_end", lambda c: setattr(c, "project_start_on", c.review_start_at.date()), "项目开始日期不能早于评审结束"),
    ("notice_zero", _set(notice_working_days=0), "公示期至少 1 个工作日"),
    ("no_category", _clear("categories"), "请至少设置一个项目类别"),
    ("duplicate_category", lambda c: c.categories.append(CallCategory(name=c.categories[0].name + "X")) or
     setattr(c.categories[-1], "name", c.categories[0].name), "项目类别名称不能重复"),
    ("no_funding", _clear("funding_sources"), "请至少填写一项资金来源"),
    ("quotas_exceed_budget", lambda c: setattr(c.categories[0], "quota_fen", 90_000_000), "各类别额度合计"),
    ("no_max_grant", _set(max_grant_fen=0), "请填写单个项目资助上限"),
    ("min_above_max", _set(min_grant_fen=20_000_000, max_grant_fen=10_000_000), "单个项目资助下限"),
    ("max_above_budget", _set(max_grant_fen=200_000_000, filed_org_max_grant_fen=None), "单个项目资助上限 ¥2,000,000.00 超过总预算"),
    ("filed_cap_above_max", _set(filed_org_max_grant_fen=20_000_000), "备案组织的资助上限不能高于一般上限"),
    ("filed_cap_below_min", _set(filed_org_max_grant_fen=1_000_000), "备案组织的资助上限低于资助下限"),
    ("filed_apps_above_general", _set(filed_org_max_applications=3), "备案组织的申报数量上限不能高于一般上限"),
    ("attachment_without_types", lambda c: setattr(c.attachment_requirements[0], "allowed_types", []), "未设置允许的文件类型"),
    ("written_not_100", lambda c: setattr(_written(c)[0], "max_points", 25), "书面评审各项分值之和为 105 分"),
    ("no_written", lambda c: [c.criteria.remove(x) for x in _written(c)], "请设置书面评审的评分细则"),
    ("pitch_without_criteria", _set(pitch_enabled=True), "已启用路演答辩，请设置路演评分细则"),
    ("pitch_not_100", lambda c: (setattr(c, "pitch_enabled", True), c.criteria.append(
        RubricCriterion(stage="pitch", name="现场表现", max_points=60))), "路演评分各项分值之和为 60 分"),
    ("pitch_weight_100", lambda c: (setattr(c, "pitch_enabled", True), setattr(c, "pitch_weight_pct", 100),
                                    c.criteria.append(RubricCriterion(stage="pitch", name="现场表现", max_points=100))),
     "路演成绩权重"),
    ("no_tranches", _clear("tranches"), "请设置拨付节点"),
    ("tranches_not_100", lambda c: setattr(c.tranches[2], "percent", 20), "各拨付节点比例之和为 90%，应为 100%"),
    ("first_tranche_not_signing", lambda c: setattr(c.tranches[0], "trigger", "midterm_assessment"), "首期拨付应在协议签订后"),
    ("no_bands", _clear("score_bands"), "请设置评估等级与拨付比例"),
    ("bands_overlap", lambda c: setattr(_band(c, 70), "min_score", 85), "评估等级的分数段重叠"),
    ("no_zero_band", lambda c: setattr(_band(c, 0), "min_score", 10), "必须有一档从 0 分起"),
    ("bands_pay_less_higher", lambda c: setattr(_band(c, 85), "payment_pct", 50), "分数更高的等级拨付比例不能更低"),
    ("trimmed_mean_two_reviewers", _set(aggregation="trimmed_mean", reviewers_per_application=2), "至少需要 3 位评审专家"),
]


def test_a_complete_call_has_no_problems(db):
    assert validate_call_for_publish(cf.call()) == []


@pytest.mark.parametrize("mutate,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_reported(db, mutate, expected):
    call = cf.call()
    mutate(call)
    problems = validate_call_for_publish(call)
    assert any(expected in p for p in problems), problems


def test_several_problems_are_listed_together(db):
    call = cf.call()
    call.open_at = None
    call.categories.clear()
    call.tranches[0].percent = 10
    problems = validate_call_for_publish(call)
    assert len(problems) >= 3


def test_publish_refuses_with_the_list_and_keeps_the_draft(db):
    officer = factories.user(roles=("officer",))
    call = cf.call(unit=officer.host_unit)
    call.funding_sources.clear()
    with pytest.raises(CallError) as exc:
        publish_call(call, officer)
    assert any("资金来源" in p for p in exc.value.problems)
    assert call.status == CallStatus.DRAFT and call.published_at is None


def test_publish_sets_status_time_and_audit(db, clock):
    from grants.core.models import AuditLog
    import sqlalchemy as sa

    officer = factories.user(roles=("officer",))
    call = cf.call(unit=officer.host_unit)
    publish_call(call, officer)
    db.session.commit()
    assert call.status == CallStatus.PUBLISHED and call.published_at is not None
    assert db.session.scalar(sa.select(AuditLog.action).where(AuditLog.object_type == "call",
                                                              AuditLog.action == "call.publish")) == "call.publish"


def test_database_refuses_bad_rows(db):
    """The check constraints back the form: no zero funding, no tranche outside 1..100, no duplicate seq."""
    import sqlalchemy.exc

    call = cf.call()
    db.session.commit()
    for row in (CallFundingSource(call_id=call.id, kind="other", name="x", amount_fen=0),
                TrancheTemplate(call_id=call.id, seq=9, name="x", percent=0, trigger="signing"),
                TrancheTemplate(call_id=call.id, seq=1, name="x", percent=10, trigger="signing"),
                ScoreBand(call_id=call.id, min_score=0, grade="fail", payment_pct=0),
                ScoreBand(call_id=call.id, min_score=50, grade="pass", payment_pct=120),
                RubricCriterion(call_id=call.id, stage="written", name="需求分析", max_points=10)):
        db.session.add(row)
        with pytest.raises(sqlalchemy.exc.IntegrityError):
            db.session.flush()
        db.session.rollback()
