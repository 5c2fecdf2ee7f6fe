"""Demo data: a city bureau with its units, organisations and one user per role.

Loaded by `flask --app wsgi demo`; the log-ins it prints are listed in README.md. Later domains
extend load_demo() with their own part (the call, and so on) in their own functions.
"""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import sqlalchemy as sa
from flask import current_app
from stdnum.cn import uscc as uscc_std

from grants.accounts.models import Role, User
from grants.accounts.services import create_user
from grants.core import timeutil
from grants.core.audit import record
from grants.extensions import db
from grants.organizations.models import LegalForm, Organization, OrganizationMember, OrgStatus
from grants.organizations.services import create_host_unit

DEMO_PASSWORD = "Demo2026!"


def make_uscc(kind: str, region: str, serial: int) -> str:
    """A well-formed 统一社会信用代码 for demo and test data: 5 = civil affairs, kind 1/2/3."""
    body = f"5{kind}{region}{serial:08d}X"[:17]
    return body + uscc_std.calc_check_digit(body)


# (username, name, roles, unit key, affiliation)
DEMO_USERS = [
    ("admin", "系统管理员", {Role.ADMIN}, None, None),
    ("officer", "王主管", {Role.OFFICER}, "city", None),
    ("officer_cc", "李科长", {Role.OFFICER}, "chongchuan", None),
    # 分管领导: approves the award plans the officer drafts (the drafter may not approve their own).
    ("officer2", "陈局长", {Role.OFFICER}, "city", None),
    ("expert", "张教授", {Role.EXPERT}, None, "南通大学社会学系"),
    ("expert2", "陈老师", {Role.EXPERT}, None, "南通市社会工作协会"),
    ("evaluator", "赵评估师", {Role.EVALUATOR}, None, "江海第三方评估中心"),
    ("finance", "刘会计", {Role.FINANCE}, "city", None),
    ("finance2", "孙出纳", {Role.FINANCE}, "city", None),
    ("auditor", "周审计", {Role.AUDITOR}, "city", None),
]

DEMO_ORGS = [
    # name, legal form, kind digit, district, street, community, rating, status, applicant username, person
    ("南通市崇川区阳光为老服务中心", LegalForm.SERVICE_INSTITUTION, "2", "崇川区", "和平桥街道", "桃坞路社区", 4,
     OrgStatus.VERIFIED, "applicant", "吴佳"),
    ("南通市助残志愿者协会", LegalForm.ASSOCIATION, "1", "崇川区", "城东街道", "洪江社区", 3,
     OrgStatus.VERIFIED, "applicant2", "郑明"),
    ("南通市青少年成长基金会", LegalForm.FOUNDATION, "3", "崇川区", "狼山镇街道", "", 5,
     OrgStatus.VERIFIED, "applicant3", "冯蕾"),
    ("海门区彩虹社会工作服务社", LegalForm.SERVICE_INSTITUTION, "2", "海门区", "海门街道", "东洲社区", 3,
     OrgStatus.VERIFIED, "applicant4", "何静"),
    ("和平桥街道邻里守望互助队", LegalForm.FILED_COMMUNITY, "", "崇川区", "和平桥街道", "桃坞路社区", 0,
     OrgStatus.VERIFIED, "applicant5", "钱大姐"),
    ("城东街道银发志愿服务队", LegalForm.FILED_COMMUNITY, "", "崇川区", "城东街道", "洪江社区", 0,
     OrgStatus.PENDING, "applicant6", "许阿姨"),
]


@contextmanager
def demo_clock(when: dt.datetime):
    """Run a step of the demo at the moment it would have happened (signatures, payments and reports of
    earlier years are dated in their years, not on the day the demo is loaded); the clock is given back
    as it was, frozen or running."""
    saved = timeutil._frozen_now
    timeutil.set_clock(when)
    try:
        yield
    finally:
        timeutil._frozen_now = saved


def demo_loaded() -> bool:
    return db.session.scalar(sa.select(User.id).where(User.username == "admin")) is not None


def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo world; returns (username, roles, description) rows for printing."""
    units = _load_units()
    logins = []
    for n, (username, name, roles, unit_key, affiliation) in enumerate(DEMO_USERS):
        # Every person has a mobile (codes, SMS notices, password reset); the demo's count as verified.
        staff = create_user(username=username, display_name=name, password=DEMO_PASSWORD, roles=roles,
                            host_unit_id=units[unit_key].id if unit_key else None, affiliation=affiliation,
                            mobile=f"1370513{n:04d}", check_password_strength=False)
        staff.mobile_verified_at = timeutil.now()
        unit = units[unit_key].name if unit_key else (affiliation or "")
        logins.append((username, "、".join(str(r) for r in sorted(roles)), f"{name} {unit}".strip()))
    for i, (name, form, kind, district, street, community, rating, status, username, person) in enumerate(DEMO_ORGS):
        org = _demo_org(i, name, form, kind, district, street, community, rating, status, person, units)
        user = create_user(username=username, display_name=person, password=DEMO_PASSWORD, roles={Role.APPLICANT},
                           mobile=f"1390513{i:04d}", check_password_strength=False)
        user.mobile_verified_at = timeutil.now()
        db.session.add(OrganizationMember(organization=org, user=user, is_admin=True))
        logins.append((username, "applicant", f"{person}（{name} 管理员）"))
    db.session.flush()
    # The domains' services build links and messages as they would in a request, so the demo runs in one.
    with current_app.test_request_context():
        for extend in DEMO_EXTENSIONS:
            extend(units)
    return logins


# Later domains append functions f(units) that add their part of the demo.
DEMO_EXTENSIONS: list = []


def _load_units() -> dict:
    city = create_host_unit(name="南通市民政局", short_name="市民政局", level="city", parent=None, region_name="南通市")
    db.session.flush()
    cc = create_host_unit(name="崇川区民政局", short_name="崇川区", level="district", parent=city, region_name="崇川区")
    hm = create_host_unit(name="海门区民政局", short_name="海门区", level="district", parent=city, region_name="海门区")
    db.session.flush()
    hpq = create_host_unit(name="崇川区和平桥街道办事处", short_name="和平桥街道", level="street", parent=cc,
                           region_name="崇川区")
    db.session.flush()
    return {"city": city, "chongchuan": cc, "haimen": hm, "hepingqiao": hpq}


def _demo_org(i, name, form, kind, district, street, community, rating, status, person, units) -> Organization:
    filed = form == LegalForm.FILED_COMMUNITY
    # Registered with its district's bureau; a filed group with the street office it filed with.
    unit = units["hepingqiao"] if filed and street == units["hepingqiao"].short_name else \
        units["chongchuan"] if district == "崇川区" else units["haimen"]
    org = Organization(
        name=name, legal_form=form,
        uscc=None if filed else make_uscc(kind, "320602" if district == "崇川区" else "320684", 50000 + i * 7919),
        filing_number=f"崇民备字〔2023〕{i + 11}号" if filed else None,
        filing_office=street if filed else None,
        registered_on=dt.date(2016 + i, 3 + i, 10 + i),
        registration_authority=f"南通市{'崇川区' if district == '崇川区' else '海门区'}民政局" if not filed else "",
        rating=rating, annual_inspection="" if filed else "qualified",
        district=district, street=street, community=community, address=f"人民中路{i * 11 + 8}号",
        business_scope="为社区老人、残障人士、青少年等群体提供社会服务",
        contact_name=person, contact_phone=f"0513-8551{i:04d}", contact_email=f"org{i + 1}@example.org",
        bank_account_name=name, bank_name="江苏银行南通分行", bank_account_number=f"6228480{i:05d}18273645",
        status=status, host_unit_id=unit.id, legal_representative=person,
    )
    db.session.add(org)
    db.session.flush()
    record(None, "organization.register", org, after={"name": name, "demo": True})
    return org


# The calls come first: later parts of the demo (applications, reviews …) build on this year's call.
from grants.calls.demo import demo_calls  # noqa: E402

DEMO_EXTENSIONS.insert(0, demo_calls)

# Applications in this year's call come straight after the call they apply to.
from grants.applications.demo import demo_applications  # noqa: E402

DEMO_EXTENSIONS.insert(DEMO_EXTENSIONS.index(demo_calls) + 1, demo_applications)

from grants.reviews.demo import demo_experts  # noqa: E402

DEMO_EXTENSIONS.append(demo_experts)

from grants.awards.demo import demo_award_notice  # noqa: E402

DEMO_EXTENSIONS.append(demo_award_notice)

from grants.reminders.demo import demo_notifications  # noqa: E402

DEMO_EXTENSIONS.append(demo_notifications)

# The finished call of two years ago (with its brand projects) comes before last year's contracts.
from grants.brand.demo import demo_finished_projects  # noqa: E402
from grants.contracts.demo import demo_contracts  # noqa: E402

DEMO_EXTENSIONS.append(demo_finished_projects)
DEMO_EXTENSIONS.append(demo_contracts)

# Payments come last: they work on what the contracts part made payable.
from grants.finance.demo import demo_payments  # noqa: E402

DEMO_EXTENSIONS.append(demo_payments)

# The phases a newcomer tries today (docs/TOUR.md): a call closed yesterday waiting for screening and its panel,
# and an award list whose 公示 has ended, ready for 定项 and contracts.
from grants.applications.demo import demo_closed_call  # noqa: E402
from grants.awards.demo import demo_notice_ended  # noqa: E402

DEMO_EXTENSIONS.append(demo_closed_call)
DEMO_EXTENSIONS.append(demo_notice_ended)
