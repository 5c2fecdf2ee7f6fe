"""Editable notice wording: admins replace a kind's title, body and SMS text with their own templates in the
sandboxed Jinja environment of notices.py, using the kind's documented variables; preview with sample data;
reset to the default. A template that breaks when a notice is sent never blocks it: the default wording goes
out instead and the failure is recorded on the template (and logged) for the admin to fix."""
from __future__ import annotations

import logging

import jinja2
import sqlalchemy as sa
from flask_babel import gettext as _
from jinja2.sandbox import SandboxedEnvironment

from grants.core.audit import record
from grants.core.errors import DomainError
from grants.core.timeutil import now
from grants.extensions import db
from grants.reminders.models import NoticeTemplate
from grants.reminders.notices import NOTICES, Rendered, render_notice

log = logging.getLogger(__name__)
PARTS = ("title", "body", "sms")
LIMITS = {"title": 500, "body": 5000, "sms": 500}
# Saving checks a template against the kind's variables strictly: an unknown name is a typo to report.
_STRICT = SandboxedEnvironment(autoescape=False, undefined=jinja2.StrictUndefined)


class TemplateError(DomainError):
    """A notice template was refused (unknown placeholder, empty text)."""


def sample_variables(kind: str) -> dict:
    """Sample values for a preview: each documented variable shown by its name in the sample."""
    samples = {"project": "银龄互助·幸福邻里", "organization": "南通市崇川区乐龄社会工作服务中心",
               "call": "2026年南通市公益创投大赛", "number": "2026-001-0001", "amount": "¥40,000.00",
               "requested": "¥50,000.00", "reason": "专家建议压缩设备采购", "deadline": "2026-12-10 17:00",
               "contract_number": "NT-2026-001", "tranche": "首期款", "date": "2026-12-01"}
    return {name: samples.get(name, f"【{label}】") for name, label in NOTICES[kind].variables.items()}


def template_overrides(kind: str) -> dict:
    row = db.session.scalar(sa.select(NoticeTemplate).where(NoticeTemplate.kind == kind))
    if row is None:
        return {}
    return {part: getattr(row, part) for part in PARTS if getattr(row, part)}


def check_template(kind: str, parts: dict) -> None:
    """Compile and render each part with the kind's sample variables, strictly: syntax errors, unknown
    variables and anything the sandbox forbids (attributes of internals) are refused with the reason."""
    variables = sample_variables(kind)
    for part, source in parts.items():
        if not source:
            continue
        if len(source) > LIMITS[part]:
            raise TemplateError(_("内容过长（不超过 %(n)s 字）", n=LIMITS[part]), part)
        try:
            _STRICT.from_string(source).render(**variables)
        except jinja2.exceptions.SecurityError:
            raise TemplateError(_("模板访问了不允许的内部属性"), part) from None
        except jinja2.exceptions.UndefinedError as exc:
            raise TemplateError(_("模板使用了未提供的变量：%(e)s", e=exc.message or ""), part) from None
        except jinja2.exceptions.TemplateSyntaxError as exc:
            raise TemplateError(_("模板语法错误（第 %(l)s 行）：%(e)s", l=exc.lineno, e=exc.message or ""), part) from None
        except Exception as exc:  # noqa: BLE001 — any other failure of the admin's template is reported, not raised
            raise TemplateError(_("模板无法生成内容：%(e)s", e=f"{type(exc).__name__}: {exc}"[:200]), part) from None


def _clean(parts: dict) -> dict:
    return {p: (parts.get(p) or "").replace("\x00", "").replace("\r\n", "\n").strip() for p in PARTS}


def preview_template(kind: str, parts: dict) -> Rendered:
    """What the notice would say with sample data (the checks of check_template first)."""
    parts = _clean(parts)
    check_template(kind, parts)
    return render_notice(kind, sample_variables(kind), overrides={p: v for p, v in parts.items() if v})


def save_template(kind: str, parts: dict, actor) -> NoticeTemplate:
    """Store the admin's wording of a kind (parts left empty keep the default). Audited."""
    if kind not in NOTICES:
        raise TemplateError(_("未知的通知类型。"))
    parts = _clean(parts)
    check_template(kind, parts)
    row = db.session.scalar(sa.select(NoticeTemplate).where(NoticeTemplate.kind == kind))
    before = {p: getattr(row, p) for p in PARTS} if row else None
    if row is None:
        row = NoticeTemplate(kind=kind)
        db.session.add(row)
    for part in PARTS:
        setattr(row, part, parts[part])
    row.updated_by_id, row.updated_at, row.last_error, row.last_error_at = actor.id, now(), "", None
    db.session.flush()
    record(actor, "notice_template.save", row, before=before, after={"kind": kind, **parts})
    return row


def reset_template(kind: str, actor) -> None:
    """Back to the default wording. Audited."""
    row = db.session.scalar(sa.select(NoticeTemplate).where(NoticeTemplate.kind == kind))
    if row is not None:
        record(actor, "notice_template.reset", row, before={"kind": kind, **{p: getattr(row, p) for p in PARTS}})
        db.session.delete(row)


def report_broken_template(kind: str, problems) -> None:
    """A template failed while a notice was being sent (the default went out): keep the reason for the admin."""
    message = "；".join(problems)[:500]
    log.warning("notice template %s failed, default wording used: %s", kind, message)
    db.session.execute(sa.update(NoticeTemplate).where(NoticeTemplate.kind == kind)
                       .values(last_error=message, last_error_at=now()))
