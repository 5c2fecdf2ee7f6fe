"""Kinds of notification. A user may switch e-mail and SMS per kind, except for critical kinds: a deadline
reminder sent to the person responsible for meeting it always goes out by e-mail and SMS too."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    key: str
    label: object
    description: object
    critical: bool = False
    # Whether SMS is on for this kind until the person chooses (SMS costs money: on for what they must act on).
    sms_default: bool = False


KINDS: dict[str, Kind] = {}


def register_kind(key: str, label, description, *, critical: bool = False, sms_default: bool = False) -> Kind:
    kind = Kind(key, label, description, critical, critical or sms_default)
    KINDS[key] = kind
    return kind


DEADLINE = register_kind(
    "deadline", _l("截止提醒（本人负责）"),
    _l("您负责的事项临近截止或已逾期，例如本组织未提交的申报书。此类邮件不可关闭。"), critical=True)
DEADLINE_CC = register_kind(
    "deadline_cc", _l("截止提醒（抄送）"),
    _l("本组织其他成员负责的事项临近截止，抄送给您知悉。"))
ESCALATION = register_kind(
    "escalation", _l("逾期督办"), _l("您主管的活动中有事项逾期未办（例如专家评审逾期），提请督办。"))
GENERAL = register_kind(
    "general", _l("业务通知"), _l("申报、评审、合同等业务办理结果的通知。"))


def is_critical(kind: str) -> bool:
    k = KINDS.get(kind)
    return bool(k and k.critical)


def sms_default(kind: str) -> bool:
    k = KINDS.get(kind)
    return bool(k and k.sms_default)


def kind_label(kind: str):
    k = KINDS.get(kind)
    return k.label if k else kind
