"""The pages around the API: everyone's tokens, admins' service accounts and webhooks, and the docs."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from grants.accounts.forms import MultiCheckboxField
from grants.accounts.models import ROLE_LABELS, UNIT_ROLES
from grants.api import permissions as perm
from grants.api import ui
from grants.api import webhooks as wh
from grants.api.models import ApiToken, ServiceAccount, TokenKind, WebhookDelivery, WebhookEndpoint
from grants.api.scopes import ALL_SCOPES, scope_label
from grants.api.services import SERVICE_ROLES, TokenError, create_service_account, create_token, revoke_token
from grants.api.services import service_accounts, service_tokens, tokens_of
from grants.core.forms import BaseForm, choices
from grants.core.web import ensure, get_or_404
from grants.extensions import db
from grants.organizations.models import HostUnit


class TokenForm(BaseForm):
    name = StringField(_l("名称（用途）"), validators=[DataRequired(), Length(max=100)])
    scopes = MultiCheckboxField(_l("权限范围"))
    expires_in_days = IntegerField(_l("有效期（天）"), default=90, validators=[DataRequired(), NumberRange(1, 366)])
    host_unit_id = SelectField(_l("单位范围"), coerce=int, default=0)


class ServiceAccountForm(BaseForm):
    name = StringField(_l("服务账号名称"), validators=[DataRequired(), Length(max=50)])
    description = StringField(_l("说明（对接的系统）"), validators=[Optional(), Length(max=200)])
    roles = MultiCheckboxField(_l("角色"))
    host_unit_id = SelectField(_l("所属单位"), coerce=int)


class WebhookForm(BaseForm):
    url = StringField(_l("接收地址（URL）"), validators=[DataRequired(), Length(max=500)])
    description = StringField(_l("说明"), validators=[Optional(), Length(max=200)])
    events = MultiCheckboxField(_l("事件"))


class ActionForm(BaseForm):
    pass


def _scope_choices():
    return choices((s, scope_label(s)) for s in ALL_SCOPES)


def _units_under(user) -> list[HostUnit]:
    from grants.organizations.services import unit_subtree_ids

    if not user.has_role(*UNIT_ROLES) or user.host_unit_id is None:
        return []
    ids = unit_subtree_ids(user.host_unit_id)
    return list(db.session.scalars(sa.select(HostUnit).where(HostUnit.id.in_(ids))
                                   .order_by(HostUnit.level, HostUnit.id)))


def _token_form(holder, **kwargs) -> TokenForm:
    form = TokenForm(**kwargs)
    form.scopes.choices = _scope_choices()
    form.host_unit_id.choices = choices([(0, _("与账号相同"))] + [(u.id, u.name) for u in _units_under(holder)])
    return form


def _no_store(html: str):
    """A page that shows a secret once: never cached by the browser or a proxy."""
    resp = make_response(html)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _tokens_page(form: TokenForm, secret: str | None = None, created: ApiToken | None = None, account_form=None):
    admin = perm.can_manage_service_accounts(current_user)
    if admin and account_form is None:
        account_form = _account_form()
    return _no_store(render_template(
        "api/tokens.html", form=form, tokens=tokens_of(current_user), secret=secret, created=created,
        may_create=perm.can_create_token(current_user), action_form=ActionForm(), scope_label=scope_label,
        accounts=service_accounts() if admin else [], service_tokens=service_tokens() if admin else [],
        account_form=account_form, admin=admin, ROLE_LABELS=ROLE_LABELS,
        service_token_forms={a.id: _token_form(a.user, prefix=f"svc{a.id}")
                             for a in service_accounts()} if admin else {}))


def _account_form(**kwargs) -> ServiceAccountForm:
    form = ServiceAccountForm(prefix="account", **kwargs)
    form.roles.choices = choices((str(r), ROLE_LABELS[r]) for r in SERVICE_ROLES)
    units = db.session.scalars(sa.select(HostUnit).order_by(HostUnit.level, HostUnit.id)).all()
    form.host_unit_id.choices = choices([(u.id, u.name) for u in units])
    return form


@ui.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """API 令牌: the caller's tokens; a new one is shown once, right here, and never again."""
    ensure(perm.can_list_tokens(current_user))
    form = _token_form(current_user)
    if form.validate_on_submit():
        ensure(perm.can_create_token(current_user))
        try:
            token, secret = create_token(current_user, name=form.name.data, scopes=form.scopes.data,
                                         days=form.expires_in_days.data, host_unit_id=form.host_unit_id.data or None,
                                         actor=current_user)
            db.session.commit()
            return _tokens_page(_token_form(current_user, formdata=None), secret=secret, created=token)
        except TokenError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.name).errors.append(exc.message)
    return _tokens_page(form)


@ui.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke(token_id: int):
    token = get_or_404(ApiToken, token_id)
    ensure(perm.can_revoke_token(current_user, token))
    if ActionForm().validate_on_submit():
        try:
            revoke_token(token, current_user)
            db.session.commit()
            flash(_("令牌“%(n)s”已撤销，使用它的调用将被拒绝。", n=token.name), "success")
        except TokenError as exc:
            flash(exc.message, "warning")
    return redirect(url_for("api_ui.tokens"))


@ui.route("/admin/service-accounts", methods=["POST"])
@login_required
def service_account_new():
    ensure(perm.can_manage_service_accounts(current_user))
    form = _account_form()
    if form.validate_on_submit():
        try:
            create_service_account(name=form.name.data, description=form.description.data, roles=form.roles.data,
                                   host_unit_id=form.host_unit_id.data, actor=current_user)
            db.session.commit()
            flash(_("服务账号已创建，请为它创建令牌。"), "success")
            return redirect(url_for("api_ui.tokens"))
        except TokenError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.name).errors.append(exc.message)
    return _tokens_page(_token_form(current_user), account_form=form)


@ui.route("/admin/service-accounts/<int:account_id>/tokens", methods=["POST"])
@login_required
def service_token_new(account_id: int):
    ensure(perm.can_manage_service_accounts(current_user))
    account = get_or_404(ServiceAccount, account_id)
    form = _token_form(account.user, prefix=f"svc{account.id}")
    if form.validate_on_submit():
        try:
            token, secret = create_token(account.user, name=form.name.data, scopes=form.scopes.data,
                                         days=form.expires_in_days.data, host_unit_id=form.host_unit_id.data or None,
                                         actor=current_user, kind=TokenKind.SERVICE)
            db.session.commit()
            return _tokens_page(_token_form(current_user), secret=secret, created=token)
        except TokenError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    else:
        flash(_("请填写令牌名称、权限范围和有效期"), "danger")
    return redirect(url_for("api_ui.tokens"))


# --- webhooks ------------------------------------------------------------------------------------------

def _webhook_form(**kwargs) -> WebhookForm:
    form = WebhookForm(**kwargs)
    form.events.choices = choices((k, f"{wh.event_label(k)}（{k}）") for k in wh.EVENTS)
    return form


def _webhooks_page(form, secret=None):
    return _no_store(render_template("api/webhooks.html", form=form, endpoints=wh.endpoints(),
                                     deliveries=wh.recent_deliveries(), secret=secret, action_form=ActionForm(),
                                     event_label=wh.event_label))


@ui.route("/admin/webhooks", methods=["GET", "POST"])
@login_required
def webhooks():
    """Webhook endpoints and the delivery log (the last 100 deliveries)."""
    ensure(perm.can_manage_webhooks(current_user))
    form = _webhook_form()
    if form.validate_on_submit():
        try:
            _endpoint, secret = wh.create_endpoint(url=form.url.data, description=form.description.data,
                                                   events=form.events.data, actor=current_user)
            db.session.commit()
            return _webhooks_page(_webhook_form(formdata=None), secret=secret)
        except wh.WebhookError as exc:
            db.session.rollback()
            getattr(form, exc.field, form.url).errors.append(exc.message)
    return _webhooks_page(form)


@ui.route("/admin/webhooks/<int:endpoint_id>/toggle", methods=["POST"])
@login_required
def webhook_toggle(endpoint_id: int):
    ensure(perm.can_manage_webhooks(current_user))
    endpoint = get_or_404(WebhookEndpoint, endpoint_id)
    if ActionForm().validate_on_submit():
        wh.set_endpoint_active(endpoint, not endpoint.is_active, current_user)
        db.session.commit()
    return redirect(url_for("api_ui.webhooks"))


@ui.route("/admin/webhooks/deliveries/<int:delivery_id>/retry", methods=["POST"])
@login_required
def webhook_retry(delivery_id: int):
    ensure(perm.can_manage_webhooks(current_user))
    delivery = get_or_404(WebhookDelivery, delivery_id)
    if ActionForm().validate_on_submit():
        wh.retry_delivery(delivery, current_user)
        db.session.commit()
        flash(_("将在下一次定时任务运行时重新发送。"), "success")
    return redirect(url_for("api_ui.webhooks"))


# --- docs ----------------------------------------------------------------------------------------------

@ui.route("/api/v1/docs")
def docs():
    """Swagger UI from static/vendor (no CDN); the document itself is public, calls need a token."""
    return render_template("api/docs.html")
