import datetime as dt

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grants.accounts.forms import ResetPasswordForm, UserForm
from grants.accounts.models import ROLE_LABELS, Role, User, UserRole
from grants.accounts.permissions import can_manage_settings, can_manage_users
from grants.accounts.services import (AccountError, create_user, reset_password, reset_two_factor,
                                      set_two_factor_policy, two_factor_required_roles, unlock_user, update_user)
from grants.admin import bp
from grants.core.audit import record
from grants.core.forms import BaseForm, choices, form_errors
from grants.core.models import Holiday, HolidayYear
from grants.core.web import ensure, get_or_404, paginate
from grants.core.workdays import library_knows, mark_year_complete, reopen_year
from grants.extensions import db
from grants.organizations.models import UNIT_LEVEL_LABELS, HostUnit
from grants.organizations.services import OrganizationError, create_host_unit, set_host_unit_uscc


def _unit_choices():
    units = db.session.scalars(sa.select(HostUnit).order_by(HostUnit.level, HostUnit.id)).all()
    return choices([(0, _("（无）"))] + [(u.id, f"{u.name}（{u.level_label}）") for u in units])


def _user_form(**kwargs) -> UserForm:
    form = UserForm(**kwargs)
    form.host_unit_id.choices = _unit_choices()
    # Applicant is not assigned here: it comes with membership of an organisation.
    form.roles.choices = choices((str(r), ROLE_LABELS[r]) for r in Role if r != Role.APPLICANT)
    return form


@bp.route("/users")
@login_required
def users():
    ensure(can_manage_users(current_user))
    q = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    stmt = sa.select(User)
    if q:
        stmt = stmt.where(sa.or_(User.username.like(f"%{q}%"), User.display_name.like(f"%{q}%"),
                                 User.mobile.like(f"%{q}%")))
    if role:
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))
    page = paginate(stmt.order_by(User.id))
    return render_template("admin/users.html", page=page, q=q, role=role, roles=list(Role))


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def user_new():
    ensure(can_manage_users(current_user))
    form = _user_form()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append(_("请设置初始密码"))
        else:
            try:
                user = create_user(username=form.username.data, display_name=form.display_name.data,
                                   password=form.password.data, roles=form.roles.data, mobile=form.mobile.data,
                                   email=form.email.data, host_unit_id=form.host_unit_id.data or None,
                                   affiliation=form.affiliation.data, actor=current_user,
                                   must_change_password=True)
            except AccountError as exc:
                db.session.rollback()
                flash(exc.message, "danger")
            else:
                db.session.commit()
                flash(_("账号 %(u)s 已创建，首次登录须修改密码", u=user.username), "success")
                return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user_edit(user_id: int):
    ensure(can_manage_users(current_user))
    user = get_or_404(User, user_id)
    if request.method == "GET":
        form = _user_form(obj=user, roles=sorted(user.role_names - {Role.APPLICANT}),
                          host_unit_id=user.host_unit_id or 0, is_active=user.is_active_account)
    else:
        form = _user_form()
    del form.username
    if form.validate_on_submit():
        try:
            update_user(user, display_name=form.display_name.data, mobile=form.mobile.data, email=form.email.data,
                        host_unit_id=form.host_unit_id.data or None, affiliation=form.affiliation.data,
                        roles=form.roles.data, is_active=form.is_active.data, actor=current_user)
        except AccountError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("账号已保存"), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_form.html", form=form, user=user, reset_form=ResetPasswordForm())


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@login_required
def user_reset_password(user_id: int):
    ensure(can_manage_users(current_user))
    user = get_or_404(User, user_id)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            reset_password(user, form.new_password.data, current_user)
        except AccountError as exc:
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("已重置密码并解除锁定，用户下次登录须修改密码"), "success")
    else:
        flash(_("请输入临时密码"), "danger")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-2fa", methods=["POST"])
@login_required
def user_reset_two_factor(user_id: int):
    """The user lost their phone and recovery codes: clear their 2FA; they enrol again at the next log-in."""
    ensure(can_manage_users(current_user))
    user = get_or_404(User, user_id)
    if not user.has_two_factor:
        flash(_("该用户未开启两步验证"), "warning")
    else:
        reset_two_factor(user, current_user)
        db.session.commit()
        flash(_("已重置两步验证，该用户已在所有设备上退出，下次登录时重新设置"), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_policy():
    """两步验证策略: which roles must use a second factor (others may switch it on for themselves)."""
    ensure(can_manage_users(current_user))
    if request.method == "POST":
        chosen = {r for r in request.form.getlist("roles") if r in {str(x) for x in Role}}
        set_two_factor_policy(chosen, current_user)
        db.session.commit()
        flash(_("两步验证策略已保存，对相关用户下次登录起生效"), "success")
        return redirect(url_for("admin.two_factor_policy"))
    return render_template("admin/two_factor.html", roles=list(Role), required=two_factor_required_roles(),
                           labels=ROLE_LABELS)


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@login_required
def user_unlock(user_id: int):
    ensure(can_manage_users(current_user))
    user = get_or_404(User, user_id)
    unlock_user(user, current_user)
    db.session.commit()
    flash(_("账号已解锁"), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


class UnitForm(BaseForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=100)])
    short_name = StringField(_l("简称"), validators=[Optional(), Length(max=50)])
    level = SelectField(_l("层级"), choices=choices((str(k), v) for k, v in UNIT_LEVEL_LABELS.items()))
    parent_id = SelectField(_l("上级单位"), coerce=int)
    region_name = StringField(_l("辖区名称（如“鼓楼区”）"), validators=[Optional(), Length(max=50)])


@bp.route("/units", methods=["GET", "POST"])
@login_required
def units():
    ensure(can_manage_settings(current_user))
    form = UnitForm()
    form.parent_id.choices = _unit_choices()
    if form.validate_on_submit():
        parent = db.session.get(HostUnit, form.parent_id.data) if form.parent_id.data else None
        try:
            create_host_unit(name=form.name.data, short_name=form.short_name.data or "", level=form.level.data,
                             parent=parent, region_name=form.region_name.data or "", actor=current_user)
        except OrganizationError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("单位已添加"), "success")
            return redirect(url_for("admin.units"))
    all_units = db.session.scalars(sa.select(HostUnit).order_by(HostUnit.id)).all()
    return _render_units(form, all_units)


def _render_units(form, all_units, *, failed: dict | None = None, status: int = 200):
    children: dict = {}
    for u in all_units:
        children.setdefault(u.parent_id, []).append(u)
    return render_template("admin/units.html", form=form, children=children, failed=failed or {},
                           uscc_form=UnitUsccForm()), status


class UnitUsccForm(BaseForm):
    uscc = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=40)])


@bp.route("/units/<int:unit_id>/uscc", methods=["POST"])
@login_required
def unit_uscc(unit_id: int):
    """A bureau's own credit code: the funder's identifier in the open data (CN-USCI-…)."""
    ensure(can_manage_settings(current_user))
    unit = get_or_404(HostUnit, unit_id)
    form = UnitUsccForm()
    problem = None
    if form.validate_on_submit():
        try:
            set_host_unit_uscc(unit, form.uscc.data, current_user)
        except OrganizationError as exc:
            problem = exc.message
    else:
        problem = "；".join(e for errors in form.errors.values() for e in errors) or _("表单已过期，请刷新页面后重试")
    if problem:
        db.session.rollback()
        new_form = UnitForm()
        new_form.parent_id.choices = _unit_choices()
        all_units = db.session.scalars(sa.select(HostUnit).order_by(HostUnit.id)).all()
        return _render_units(new_form, all_units, failed={"unit": unit.id, "uscc": form.uscc.data or "",
                                                          "problem": problem}, status=422)
    db.session.commit()
    flash(_("已保存“%(name)s”的统一社会信用代码", name=unit.name), "success")
    return redirect(url_for("admin.units"))


class HolidayForm(BaseForm):
    day = DateField(_l("日期"), validators=[DataRequired()])
    is_workday = BooleanField(_l("调休上班日（不勾选则为放假日）"))
    name = StringField(_l("名称（如“春节”）"), validators=[Optional(), Length(max=50)])


@bp.route("/holidays", methods=["GET", "POST"])
@login_required
def holidays():
    """Holidays and make-up working days for years the built-in calendar does not know yet."""
    ensure(can_manage_settings(current_user))
    form = HolidayForm()
    if form.validate_on_submit():
        existing = db.session.get(Holiday, form.day.data)
        before = {"is_workday": existing.is_workday, "name": existing.name} if existing else None
        row = existing or Holiday(day=form.day.data)
        row.is_workday = form.is_workday.data
        row.name = form.name.data or ""
        db.session.add(row)
        record(current_user, "holiday.set", object_type="holiday", object_id=form.day.data.isoformat(),
               before=before, after={"is_workday": row.is_workday, "name": row.name})
        db.session.commit()
        flash(_("已保存"), "success")
        return redirect(url_for("admin.holidays"))
    rows = db.session.scalars(sa.select(Holiday).where(Holiday.day >= dt.date.today().replace(month=1, day=1))
                              .order_by(Holiday.day)).all()
    return render_template("admin/holidays.html", form=form, rows=rows, years=_holiday_years(rows),
                           year_form=HolidayYearForm())


def _holiday_years(rows) -> list[dict]:
    """This year and the next two, plus any year with entered days: built in, confirmed, or still open."""
    this_year = dt.date.today().year
    complete = set(db.session.scalars(sa.select(HolidayYear.year)))
    years = sorted({this_year, this_year + 1, this_year + 2} | {r.day.year for r in rows} | complete)
    return [{"year": y, "builtin": library_knows(y), "complete": y in complete,
             "days": sum(1 for r in rows if r.day.year == y)} for y in years]


class HolidayYearForm(BaseForm):
    year = IntegerField(_l("年份"), validators=[DataRequired(), NumberRange(2000, 2100)])
    action = SelectField(choices=choices([("complete", _l("确认录入完成")), ("reopen", _l("撤销确认"))]))


@bp.route("/holidays/years", methods=["POST"])
@login_required
def holiday_year():
    """Mark a year's holidays complete (or take it back): until then the year counts as unknown."""
    ensure(can_manage_settings(current_user))
    form = HolidayYearForm()
    if not form.validate_on_submit():
        flash(form_errors(form), "danger")
        return redirect(url_for("admin.holidays"))
    try:
        if form.action.data == "complete":
            mark_year_complete(form.year.data, current_user)
        else:
            reopen_year(form.year.data, current_user)
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("%(y)s 年节假日已确认录入完成", y=form.year.data) if form.action.data == "complete"
              else _("已撤销 %(y)s 年的确认", y=form.year.data), "success")
    return redirect(url_for("admin.holidays"))


@bp.route("/holidays/<day>/delete", methods=["POST"])
@login_required
def holiday_delete(day: str):
    ensure(can_manage_settings(current_user))
    try:
        key = dt.date.fromisoformat(day)
    except ValueError:
        return redirect(url_for("admin.holidays"))
    row = get_or_404(Holiday, key)
    record(current_user, "holiday.delete", object_type="holiday", object_id=day,
           before={"is_workday": row.is_workday, "name": row.name})
    db.session.delete(row)
    db.session.commit()
    flash(_("已删除"), "success")
    return redirect(url_for("admin.holidays"))
