"""validate_for_submit: every rule, one row each; a complete application has no problems."""
import datetime as dt

import pytest

from grants.applications.models import ApplicationAttachment, ApplicationStatus, BudgetLine
from grants.applications.services import validate_for_submit
from grants.core.timeutil import UTC
from grants.organizations.models import LegalForm, OrgStatus
from tests import factories
from tests.applications import factories as af

IN_WINDOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture()
def world(app, db, clock, ctx):
    clock.set(IN_WINDOW)
    call = af.call()
    org = factories.organization()
    application = af.application(call, org)
    return call, org, application


def test_complete_application_has_no_problems(world):
    _call, _org, application = world
    assert validate_for_submit(application) == {}


def _previous_failed(call, org, db):
    previous = af.call(unit=call.host_unit, year=2025, status="finalized")
    af.application(previous, org, complete=False, status=ApplicationStatus.CONFIRMED, final_grade="fail")
    call.previous_call_id = previous.id


def _other_submitted(call, org, db):
    af.application(call, org, status=ApplicationStatus.SUBMITTED)


def _filed_org_second(call, org, db):
    org.legal_form = LegalForm.FILED_COMMUNITY
    org.filing_number, org.filing_office, org.uscc = "备字1", "测试街道", None
    call.max_applications_per_org = 3
    af.application(call, org, status=ApplicationStatus.SUBMITTED, requested_fen=2_000_000)


def _set_budget(application, *, personnel=0, management=0, activity=0, own=0, requested=None):
    lines = []
    for kind, amount, funded in (("personnel", personnel, "grant"), ("management", management, "grant"),
                                 ("activity", activity, "grant"), ("materials", own, "own")):
        if amount:
            lines.append(BudgetLine(kind=kind, item=kind, unit_price_fen=amount, quantity=1, amount_fen=amount,
                                    funded_by=funded))
    application.budget_lines = lines
    application.requested_fen = requested if requested is not None else personnel + management + activity


def _wrong_type_attachment(application, db):
    from grants.core.models import StoredFile

    stored = StoredFile(stored_name="x" * 32, original_name="证书.docx", content_type="application/zip",
                        extension="docx", size=10, sha256="0" * 64, organization_id=application.organization_id)
    db.session.add(stored)
    db.session.flush()
    requirement = application.call.attachment_requirements[0]
    application.attachments.append(ApplicationAttachment(requirement_id=requirement.id, stored_file=stored,
                                                         stored_file_id=stored.id))


CASES = [
    # id, change(call, org, application, db), field, message fragment
    ("not_verified", lambda c, o, a, db: setattr(o, "status", OrgStatus.PENDING), "eligibility", "尚未通过民政部门认证"),
    ("legal_form", lambda c, o, a, db: setattr(c, "allowed_legal_forms", ["foundation"]), "eligibility", "仅限以下类型"),
    ("years_registered", lambda c, o, a, db: setattr(c, "min_years_registered", 10), "eligibility", "须满 10 年"),
    ("rating", lambda c, o, a, db: setattr(c, "min_rating", 4), "eligibility", "评估等级须达到 4A"),
    ("blacklisted", lambda c, o, a, db: setattr(o, "blacklisted", True), "eligibility", "严重违法失信名单"),
    ("failed_previous", lambda c, o, a, db: _previous_failed(c, o, db), "eligibility", "结项评估不合格"),
    ("operator", lambda c, o, a, db: setattr(c, "operator_organization_id", o.id), "eligibility", "承办单位"),
    ("per_org_limit", lambda c, o, a, db: _other_submitted(c, o, db), "eligibility", "最多申报 1 个项目"),
    ("filed_org_limit", lambda c, o, a, db: _filed_org_second(c, o, db), "eligibility", "最多申报 1 个项目"),
    ("grant_lines_sum", lambda c, o, a, db: setattr(a, "requested_fen", a.requested_fen + 100), "budget", "不一致"),
    ("below_min", lambda c, o, a, db: _set_budget(a, activity=900_000, own=300_000), "requested", "不得低于 ¥10,000.00"),
    ("above_max", lambda c, o, a, db: _set_budget(a, activity=10_000_100, own=3_000_000), "requested",
     "不得超过 ¥100,000.00"),
    ("filed_cap", lambda c, o, a, db: (setattr(o, "legal_form", LegalForm.FILED_COMMUNITY),
                                       setattr(o, "filing_number", "备字9")), "requested", "备案类社区社会组织"),
    ("personnel_share", lambda c, o, a, db: _set_budget(a, personnel=1_600_000, activity=3_400_000, own=1_000_000),
     "budget", "人员费用 ¥16,000.00 占资助金额的 32.0%"),
    ("management_share", lambda c, o, a, db: _set_budget(a, management=600_000, activity=4_400_000, own=1_000_000),
     "budget", "管理费用"),
    ("own_funding", lambda c, o, a, db: _set_budget(a, activity=5_000_000, own=500_000), "budget", "低于要求的 10%"),
    ("no_budget", lambda c, o, a, db: _set_budget(a, requested=5_000_000), "budget", "请填写预算明细"),
    ("no_requested", lambda c, o, a, db: _set_budget(a, requested=0), "requested", "请填写申请资助金额"),
    ("required_attachment", lambda c, o, a, db: a.attachments.clear(), "attachment-REQ", "请上传“登记证书”"),
    ("attachment_type", lambda c, o, a, db: _wrong_type_attachment(a, db), "attachment-REQ", "类型不符合要求"),
    ("category", lambda c, o, a, db: setattr(a, "category", None), "category_id", "请选择项目类别"),
    ("output_targets", lambda c, o, a, db: a.output_targets.clear(), "output_targets", "绩效目标"),
    ("service_area", lambda c, o, a, db: a.service_areas.clear(), "service_areas", "服务街道"),
    ("activities", lambda c, o, a, db: a.activities.clear(), "activities", "至少填写一项活动"),
    ("activity_dates", lambda c, o, a, db: setattr(a.activities[0], "end_on", dt.date(2026, 12, 1)), "activities",
     "结束日期早于开始日期"),
    ("activity_in_period", lambda c, o, a, db: setattr(a.activities[0], "end_on", dt.date(2028, 3, 1)), "activities",
     "项目周期"),
    ("social_worker_cert", lambda c, o, a, db: setattr(a.team_members[0], "certificate_no", ""), "team_members",
     "证书编号"),
    ("declaration", lambda c, o, a, db: setattr(a, "declaration_accepted_at", None), "declaration", "申报承诺"),
] + [
    (f"text_{name}", (lambda name: lambda c, o, a, db: setattr(a, name, "  "))(name), name, "请填写")
    for name in ("project_name", "summary", "need_analysis", "objectives", "target_groups", "activity_description")
]


@pytest.mark.parametrize("change,field,fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule(world, db, change, field, fragment):
    call, org, application = world
    change(call, org, application, db)
    db.session.flush()
    problems = validate_for_submit(application)
    field = field.replace("REQ", str(call.attachment_requirements[0].id))
    assert field in problems, problems
    assert any(fragment in m for m in problems[field]), problems[field]


def test_amount_must_equal_unit_price_times_quantity(world, db):
    """The database refuses such a row too; the check protects rows built in memory."""
    _call, _org, application = world
    with db.session.no_autoflush:
        application.budget_lines[2].amount_fen += 1
        problems = validate_for_submit(application)
        assert any("单价 × 数量" in m for m in problems["budget"])
        application.budget_lines[2].amount_fen -= 1


def test_every_problem_is_listed_at_once(world, db):
    call, org, _application = world
    empty = af.application(call, factories.organization(status=OrgStatus.PENDING, blacklisted=True), complete=False)
    problems = validate_for_submit(empty)
    expected = {"eligibility", "project_name", "summary", "need_analysis", "objectives", "target_groups",
                "activity_description", "category_id", "service_areas", "activities", "output_targets", "budget",
                "requested", f"attachment-{call.attachment_requirements[0].id}", "declaration"}
    assert expected <= set(problems)
    assert len(problems["eligibility"]) == 2
    assert all(isinstance(m, str) and m for msgs in problems.values() for m in msgs)


def test_withdrawn_and_draft_applications_do_not_count_towards_the_limit(world, db):
    call, org, application = world
    af.application(call, org, complete=False)
    af.application(call, org, status=ApplicationStatus.WITHDRAWN)
    assert "eligibility" not in validate_for_submit(application)


def test_passed_previous_round_is_fine(world, db):
    call, org, application = world
    previous = af.call(unit=call.host_unit, year=2025, status="finalized")
    af.application(previous, org, complete=False, status=ApplicationStatus.CONFIRMED, final_grade="pass")
    af.application(previous, factories.organization(), complete=False, status=ApplicationStatus.CONFIRMED,
                   final_grade="fail")
    call.previous_call_id = previous.id
    assert validate_for_submit(application) == {}


def test_shares_at_exactly_the_limit_pass(world, db):
    _call, _org, application = world
    _set_budget(application, personnel=1_500_000, management=500_000, activity=3_000_000, own=555_556)
    assert validate_for_submit(application) == {}
