"""Organisations register, officers verify them; host units form the bureau tree."""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from stdnum.cn import uscc as uscc_std

from grants.accounts.models import Role
from grants.accounts.services import AccountError, create_user
from grants.core.audit import lock_chain, record
from grants.core.errors import DomainError
from grants.core.timeutil import now
from grants.core.units import unit_subtree_ids  # noqa: F401  (re-exported; the one copy is in core)
from grants.extensions import db
from grants.organizations.models import (
    CHILD_LEVEL, LEGAL_FORM_LABELS, ORG_STATUS_LABELS, ChangeRequestStatus, HostUnit, Invitation, LegalForm,
    Organization, OrganizationChangeRequest, OrganizationMember, OrgStatus, UnitLevel,
)
from grants.organizations.states import CHANGE_REQUEST_WORKFLOW, ORG_WORKFLOW  # noqa: F401  (re-exported)

INVITATION_DAYS = 7


class OrganizationError(DomainError):
    """An organisation or host-unit rule refused the action."""


# --- host units --------------------------------------------------------------


def unit_choices() -> list[tuple[int, str]]:
    """Every unit of the tree for a picker, each under its parent (city, then its districts and streets)."""
    units = db.session.scalars(sa.select(HostUnit).order_by(HostUnit.id)).all()
    children: dict[int | None, list[HostUnit]] = {}
    for u in units:
        children.setdefault(u.parent_id, []).append(u)
    out: list[tuple[int, str]] = []

    def walk(parent_id, depth):
        for u in children.get(parent_id, []):
            out.append((u.id, "\u3000" * depth + u.name))
            walk(u.id, depth + 1)

    walk(None, 0)
    return out


def create_host_unit(*, name: str, short_name: str, level: str, parent: HostUnit | None,
                     region_name: str = "", actor=None) -> HostUnit:
    """Add a bureau or street office under its parent (city → district → street)."""
    level = UnitLevel(level)
    if parent is None and level != UnitLevel.CITY:
        raise OrganizationError(_("区县和街道单位必须有上级单位"), "parent_id")
    if parent is not None and CHILD_LEVEL.get(UnitLevel(parent.level)) != level:
        raise OrganizationError(_("上级单位层级不匹配：市级之下为区县，区县之下为街道"), "parent_id")
    if db.session.scalar(sa.select(HostUnit.id).where(HostUnit.name == name.strip())):
        raise OrganizationError(_("单位名称已存在"), "name")
    unit = HostUnit(name=name.strip(), short_name=short_name.strip() or name.strip(), level=level,
                    parent=parent, region_name=region_name.strip())
    db.session.add(unit)
    record(actor, "host_unit.create", unit, after={"name": unit.name, "level": str(level),
                                                   "parent_id": parent.id if parent else None})
    return unit


def set_host_unit_uscc(unit: HostUnit, uscc: str | None, actor) -> HostUnit:
    """Record a bureau's own 统一社会信用代码 (checked, unique); open data then names the funder by it."""
    code = normalise_uscc(uscc)
    if code is not None:
        if not uscc_std.is_valid(code):
            raise OrganizationError(_("统一社会信用代码校验不通过（18 位，末位为校验码），请核对"), "uscc")
        if db.session.scalar(sa.select(HostUnit.id).where(HostUnit.uscc == code, HostUnit.id != unit.id)):
            raise OrganizationError(_("该统一社会信用代码已用于另一个单位"), "uscc")
    before = unit.uscc
    unit.uscc = code
    record(actor, "host_unit.set_uscc", unit, before={"uscc": before}, after={"uscc": code})
    return unit


# --- organisations -------------------------------------------------------------

def normalise_uscc(value: str | None) -> str | None:
    value = (value or "").strip().upper()
    return value or None


def validate_identity(legal_form: str, uscc: str | None, filing_number: str | None,
                      filing_office: str | None, exclude_id: int | None = None) -> None:
    """Registered organisations need a valid 统一社会信用代码; filed ones a filing number and street office."""
    if legal_form == LegalForm.FILED_COMMUNITY:
        if not (filing_number or "").strip():
            raise OrganizationError(_("备案的社区社会组织须填写备案编号"), "filing_number")
        if not (filing_office or "").strip():
            raise OrganizationError(_("请填写备案的街道（乡镇）"), "filing_office")
        if uscc and not uscc_std.is_valid(uscc):
            raise OrganizationError(_("统一社会信用代码校验不通过，请核对"), "uscc")
    else:
        if not uscc:
            raise OrganizationError(_("登记的社会组织必须填写统一社会信用代码"), "uscc")
        if not uscc_std.is_valid(uscc):
            raise OrganizationError(_("统一社会信用代码校验不通过（18 位，末位为校验码），请核对"), "uscc")
    if uscc:
        q = sa.select(Organization.id).where(Organization.uscc == uscc)
        if exclude_id:
            q = q.where(Organization.id != exclude_id)
        if db.session.scalar(q):
            raise OrganizationError(_("该统一社会信用代码已注册，请联系本组织管理员邀请您加入"), "uscc")


PROFILE_FIELDS = (
    "legal_form", "uscc", "filing_number", "filing_office", "registered_on", "registration_authority",
    "host_unit_id", "legal_representative",
    "rating", "annual_inspection", "district", "street", "community", "address", "business_scope",
    "contact_name", "contact_phone", "contact_email", "bank_account_name", "bank_name", "bank_account_number",
)
# Facts an officer checked when verifying: once verified, changing them takes a change request (变更申请)
# that an officer of the organisation's unit approves; until then eligibility uses the verified values.
# Contact details, address and bank account change freely.
VERIFIED_FIELDS = (
    "legal_form", "uscc", "filing_number", "filing_office", "registered_on", "registration_authority",
    "host_unit_id", "legal_representative", "rating",
)


def _check_unit(unit_id) -> None:
    if not unit_id or db.session.get(HostUnit, unit_id) is None:
        raise OrganizationError(_("请选择登记或备案所在的民政部门（街道）"), "host_unit_id")


def register_organization(*, profile: dict, name: str, admin_username: str, admin_name: str,
                          admin_password: str, admin_mobile: str | None, admin_email: str | None = None
                          ) -> Organization:
    """Self-registration: the organisation (pending verification) and its first user, its administrator."""
    name = name.strip()
    if db.session.scalar(sa.select(Organization.id).where(Organization.name == name)):
        raise OrganizationError(_("该组织名称已注册"), "name")
    profile = dict(profile)
    profile["uscc"] = normalise_uscc(profile.get("uscc"))
    validate_identity(profile["legal_form"], profile["uscc"], profile.get("filing_number"),
                      profile.get("filing_office"))
    _check_unit(profile.get("host_unit_id"))
    try:
        user = create_user(username=admin_username, display_name=admin_name, password=admin_password,
                           mobile=admin_mobile, email=admin_email, roles={Role.APPLICANT})
    except AccountError as exc:
        raise OrganizationError(exc.message, exc.field or "admin_username") from exc
    org = Organization(name=name, status=OrgStatus.PENDING, **{k: profile.get(k) for k in PROFILE_FIELDS
                                                               if k in profile})
    org.filing_number = (org.filing_number or "").strip() or None
    db.session.add(org)
    db.session.add(OrganizationMember(organization=org, user=user, is_admin=True))
    record(user, "organization.register", org, after={"name": name, "legal_form": profile["legal_form"],
                                                      "uscc": profile["uscc"]})
    _tell_verifiers(org)
    return org


def _tell_verifiers(org: Organization) -> None:
    from grants.reminders.notices import send_notice, verifying_officers

    send_notice("org_to_verify", verifying_officers(org), link=f"/organizations/{org.id}", organization=org.name,
                legal_form=str(LEGAL_FORM_LABELS.get(org.legal_form, org.legal_form)))


def update_profile(org: Organization, profile: dict, actor, certificate=None) -> OrganizationChangeRequest | None:
    """The organisation's administrator edits its profile. Before verification everything applies at once;
    after it, contact, address and bank details apply at once and verified facts go to an officer as a
    change request (returned), which a rating change must back with the evaluation certificate."""
    profile = dict(profile)
    profile["uscc"] = normalise_uscc(profile.get("uscc"))
    profile["filing_number"] = (profile.get("filing_number") or "").strip() or None
    validate_identity(profile["legal_form"], profile["uscc"], profile.get("filing_number"),
                      profile.get("filing_office"), exclude_id=org.id)
    if "host_unit_id" in profile:
        _check_unit(profile["host_unit_id"])
    before = {k: getattr(org, k) for k in PROFILE_FIELDS}
    changed = {k for k in PROFILE_FIELDS if k in profile and _blank(before[k]) != _blank(profile[k])}
    held = changed & set(VERIFIED_FIELDS) if org.status != OrgStatus.PENDING else set()
    change_request = None
    if held:
        change_request = request_change(org, {k: profile[k] for k in held}, actor, certificate=certificate)
    free = changed - held
    if not free:
        return change_request
    for key in free:
        setattr(org, key, profile[key])
    record(actor, "organization.update", org, before={k: before[k] for k in free},
           after={k: getattr(org, k) for k in free})
    return change_request


def _blank(value):
    """An empty text field and a NULL column say the same thing."""
    return None if value in ("", None) else value


def _fact_value(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def request_change(org: Organization, after: dict, actor, certificate=None) -> OrganizationChangeRequest:
    """File a change request for verified facts (one open request at a time)."""
    open_request = db.session.scalar(sa.select(OrganizationChangeRequest.id).where(
        OrganizationChangeRequest.organization_id == org.id,
        OrganizationChangeRequest.status == ChangeRequestStatus.PENDING))
    if open_request:
        raise OrganizationError(_("已有一份待审核的变更申请，请等待民政部门审核后再提交新的变更"))
    stored = None
    if "rating" in after and after["rating"]:
        if certificate is None or not getattr(certificate, "filename", ""):
            raise OrganizationError(_("变更评估等级须上传评估等级证书"), "rating_certificate")
        from grants.core.storage import UploadRejected, save_upload

        try:
            stored = save_upload(certificate, allowed=("pdf", "jpg", "jpeg", "png"), uploader=actor,
                                 organization_id=org.id)
        except UploadRejected as exc:
            raise OrganizationError(str(exc), "rating_certificate") from exc
        db.session.add(stored)
        db.session.flush()
    cr = OrganizationChangeRequest(
        organization_id=org.id, host_unit_id=org.host_unit_id, status=ChangeRequestStatus.PENDING,
        before={k: _fact_value(getattr(org, k)) for k in after}, after={k: _fact_value(v) for k, v in after.items()},
        certificate_id=stored.id if stored else None, requested_by_id=getattr(actor, "id", None), requested_at=now())
    db.session.add(cr)
    db.session.flush()
    record(actor, "organization.change_request", cr, before=cr.before, after=cr.after)
    from grants.reminders.notices import verifying_officers

    _tell_change_request(cr, "org_change_requested", verifying_officers(org), organization=org.name)
    return cr


def _tell_change_request(cr: OrganizationChangeRequest, kind: str, users, **variables) -> None:
    """Officers who may decide hear of a new request; the organisation's administrators of the decision."""
    from flask import has_request_context, url_for

    from grants.reminders.notices import send_notice

    link = url_for("organizations.change_request", request_id=cr.id) if has_request_context() else ""
    send_notice(kind, users, link=link, **variables)


def _parse_fact(key: str, value):
    if key == "registered_on" and isinstance(value, str):
        return dt.date.fromisoformat(value)
    return value


def decide_change_request(cr: OrganizationChangeRequest, approve: bool, note: str, actor) -> None:
    """An officer of the organisation's unit approves (the facts take effect) or rejects (with a reason)."""
    if cr.status != ChangeRequestStatus.PENDING:
        raise OrganizationError(_("该变更申请已处理"))
    note = (note or "").strip()
    if not approve and not note:
        raise OrganizationError(_("驳回须填写原因"), "note")
    org = cr.organization
    if approve:
        facts = {k: _parse_fact(k, v) for k, v in cr.after.items()}
        merged = {k: facts.get(k, getattr(org, k)) for k in ("legal_form", "uscc", "filing_number", "filing_office")}
        validate_identity(merged["legal_form"], merged["uscc"], merged["filing_number"], merged["filing_office"],
                          exclude_id=org.id)
        if "host_unit_id" in facts:
            _check_unit(facts["host_unit_id"])
        for key, value in facts.items():
            setattr(org, key, value)
    CHANGE_REQUEST_WORKFLOW.transition(cr, "approve" if approve else "reject", actor, audit=False)
    cr.decided_by_id = actor.id
    cr.decided_at = now()
    cr.decision_note = note[:500]
    record(actor, "organization.change_approve" if approve else "organization.change_reject", cr,
           before=cr.before, after={**cr.after, "note": cr.decision_note} if approve else {"note": cr.decision_note})
    admins = [m.user for m in org.members if m.is_admin]
    _tell_change_request(cr, "org_change_decided", admins, organization=org.name,
                         outcome=_("批准") if approve else _("驳回"), note=cr.decision_note)


# The columns status_reason and blacklist_reason are String(500): longer text is refused with a message
# rather than failing in PostgreSQL.
REASON_MAX = 500


def change_status(org: Organization, action: str, actor, reason: str = "") -> None:
    """verify / suspend / reinstate / reject, by an officer."""
    if action in ("suspend", "reject") and not reason.strip():
        raise OrganizationError(_("请填写原因"), "reason")
    if len(reason.strip()) > REASON_MAX:
        raise OrganizationError(_("原因不超过 %(n)s 字", n=REASON_MAX), "reason")
    ORG_WORKFLOW.transition(org, action, actor, detail={"reason": reason.strip()} if reason else None)
    org.status_reason = reason.strip()
    if action in ("verify", "reinstate"):
        org.verified_at = now()
    from grants.reminders.notices import organization_people, send_notice

    send_notice("organization_status", organization_people(org.id), link="/org", organization=org.name,
                status=str(ORG_WORKFLOW.state_label(org.status)), reason=reason.strip())


def set_blacklist(org: Organization, blacklisted: bool, reason: str, actor) -> None:
    """Flag (or clear) 活动异常名录 / 严重违法失信名单; a reason is required to flag."""
    if blacklisted and not reason.strip():
        raise OrganizationError(_("列入名单须填写原因"), "reason")
    if len(reason.strip()) > REASON_MAX:
        raise OrganizationError(_("原因不超过 %(n)s 字", n=REASON_MAX), "reason")
    before = {"blacklisted": org.blacklisted, "reason": org.blacklist_reason}
    org.blacklisted = blacklisted
    org.blacklist_reason = reason.strip() if blacklisted else ""
    record(actor, "organization.blacklist" if blacklisted else "organization.unblacklist", org,
           before=before, after={"blacklisted": blacklisted, "reason": org.blacklist_reason})


def invite_member(org: Organization, invitee_name: str, actor) -> Invitation:
    """The organisation's administrator invites a colleague; the link is valid for 7 days."""
    inv = Invitation(organization=org, token=secrets.token_urlsafe(24), invitee_name=invitee_name.strip(),
                     invited_by_id=actor.id, expires_at=now() + dt.timedelta(days=INVITATION_DAYS))
    db.session.add(inv)
    record(actor, "organization.invite", org, after={"invitee": inv.invitee_name})
    return inv


def find_open_invitation(token: str) -> Invitation | None:
    inv = db.session.scalar(sa.select(Invitation).where(Invitation.token == token))
    if inv is None or inv.accepted_at is not None or inv.expires_at < now():
        return None
    return inv


def accept_invitation(inv: Invitation, *, username: str, display_name: str, password: str,
                      mobile: str | None, email: str | None = None):
    """The invited colleague creates an account and becomes a member (applicant role).

    The link is single-use: it is claimed first with one conditional UPDATE, so of two submits at the same
    moment (a double click, the link opened twice) only one adds a member; the other is told it was used."""
    lock_chain()  # LOCK ORDER: the chain's lock before the invitation's row (grants/core/audit.py)
    at = now()
    claimed = db.session.execute(
        sa.update(Invitation).where(Invitation.id == inv.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=at).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise OrganizationError(_("邀请链接已被使用，请联系本组织管理员重新邀请。"), "username")
    try:
        user = create_user(username=username, display_name=display_name, password=password, mobile=mobile,
                           email=email, roles={Role.APPLICANT})
    except AccountError as exc:
        raise OrganizationError(exc.message, exc.field or "username") from exc
    db.session.add(OrganizationMember(organization=inv.organization, user=user, is_admin=False))
    inv.accepted_at = at
    db.session.flush()
    inv.accepted_user_id = user.id
    record(user, "organization.join", inv.organization, after={"user": user.username})
    return user


def set_member_admin(member: OrganizationMember, is_admin: bool, actor) -> None:
    """Make a member an administrator of the organisation (or not); one administrator must remain."""
    if not is_admin:
        admins = [m for m in member.organization.members if m.is_admin]
        if len(admins) <= 1 and member.is_admin:
            raise OrganizationError(_("组织至少需要保留一名管理员"))
    member.is_admin = is_admin
    record(actor, "organization.member_admin", member.organization,
           after={"user_id": member.user_id, "is_admin": is_admin})
