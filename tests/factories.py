"""Factory functions for test objects; each returns a flushed object with sensible defaults."""
from __future__ import annotations

import datetime as dt
import itertools

from grants.accounts.models import Role, User
from grants.accounts.services import create_user
from grants.extensions import db
from grants.organizations.models import HostUnit, LegalForm, Organization, OrganizationMember, OrgStatus

_seq = itertools.count(1)
PASSWORD = "Passw0rd!"


def host_unit(name: str | None = None, level: str = "city", parent: HostUnit | None = None) -> HostUnit:
    n = next(_seq)
    unit = HostUnit(name=name or f"测试民政局{n}", short_name=name or f"测试{n}", level=level, parent=parent,
                    region_name=f"测试区{n}")
    db.session.add(unit)
    db.session.flush()
    return unit


# Roles that must use two-factor authentication by default (TestConfig.TWO_FACTOR_ROLES): their test users come
# enrolled, and login_as completes the code step.
TWO_FACTOR_ROLES = {"finance", "admin"}


def user(roles=(Role.OFFICER,), *, unit: HostUnit | None = None, username: str | None = None,
         password: str = PASSWORD, two_factor: bool | None = None, **kwargs) -> User:
    """A user; the password policy is for people typing passwords, so factories skip it (PASSWORD is short)."""
    n = next(_seq)
    roles = set(roles)
    from grants.accounts.models import UNIT_ROLES

    if roles & {str(r) for r in UNIT_ROLES} and unit is None:
        unit = host_unit()
    kwargs.setdefault("check_password_strength", False)
    u = create_user(username=username or f"user{n}", display_name=f"测试用户{n}", password=password, roles=roles,
                    host_unit_id=unit.id if unit else None, **kwargs)
    if two_factor if two_factor is not None else bool({str(r) for r in roles} & TWO_FACTOR_ROLES):
        enroll_two_factor(u)
    db.session.flush()
    return u


def enroll_two_factor(u: User) -> str:
    """Switch on TOTP for a user as if they had scanned the QR code; returns the secret."""
    import pyotp

    from grants.core.timeutil import now

    u.totp_secret = pyotp.random_base32()
    u.totp_enabled_at = now()
    return u.totp_secret


def totp_code(u: User) -> str:
    """The code the user's authenticator app would show now (the next time step if this one was used already)."""
    import pyotp

    from grants.accounts.services import TOTP_STEP
    from grants.core.timeutil import now

    step = int(now().timestamp()) // TOTP_STEP
    if u.totp_last_step is not None and step <= u.totp_last_step:
        step = u.totp_last_step + 1
    return pyotp.TOTP(u.totp_secret).at(step * TOTP_STEP)


def uscc(serial: int | None = None) -> str:
    from grants.demo import make_uscc

    return make_uscc("2", "320602", serial if serial is not None else next(_seq) * 131)


def organization(*, status: str = OrgStatus.VERIFIED, legal_form: str = LegalForm.SERVICE_INSTITUTION,
                 name: str | None = None, unit: HostUnit | None = None, **kwargs) -> Organization:
    """An organisation registered with `unit` (a new district unit of its own when not given)."""
    n = next(_seq)
    if "host_unit_id" not in kwargs:
        kwargs["host_unit_id"] = (unit or host_unit(level="city")).id
    filed = legal_form == LegalForm.FILED_COMMUNITY
    defaults = dict(
        name=name or f"测试社会组织{n}", legal_form=legal_form, uscc=None if filed else uscc(n * 97),
        filing_number=f"备字{n}" if filed else None, filing_office="测试街道" if filed else None,
        registered_on=dt.date(2018, 1, 1), registration_authority="测试民政局", rating=3,
        district="崇川区", street="和平桥街道", community="桃坞路社区", contact_name="联系人",
        contact_phone="0513-80000000", bank_account_name=name or f"测试社会组织{n}", bank_name="测试银行",
        bank_account_number="622800000000" + str(n), status=status,
    )
    defaults.update(kwargs)
    org = Organization(**defaults)
    db.session.add(org)
    db.session.flush()
    return org


def member(org: Organization, *, is_admin: bool = True, **kwargs) -> User:
    u = user(roles=(Role.APPLICANT,), **kwargs)
    db.session.add(OrganizationMember(organization=org, user=u, is_admin=is_admin))
    db.session.flush()
    db.session.refresh(u)
    return u


def user_with_role(role: str, **kwargs) -> User:
    """One user for login_as(role): an applicant comes with their own verified organisation."""
    if role == Role.APPLICANT:
        return member(organization(), **kwargs)
    return user(roles=(role,), **kwargs)


def age_tokens(model, delta: dt.timedelta) -> None:
    """As if `delta` of real time had passed for every session or device token (they live in wall-clock time,
    which the clock fixture does not move)."""
    import sqlalchemy as sa

    for row in db.session.scalars(sa.select(model)):
        row.expires_at = row.expires_at - delta
    db.session.commit()
