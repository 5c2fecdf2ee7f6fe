"""The search box's small query language, parsed into terms and filters.

    楼道 "邻里 互助" 2026-002-0003 year:2025 status:已立项 call:公益创投 org:阳光 category:为老服务

Words and "quoted phrases" are terms: every term must be found (in a number, a name, a description or the
organisation's name). `field:value` (or `field:"two words"`) filters; the fields have Chinese aliases
(年度: 状态: 征集: 机构: 类别:) and the full-width colon and quotes of a Chinese input method work too. A
word with an unknown field (`10:30`) is an ordinary term. Bad input (control characters, too long, an
impossible year, an unknown status) raises QueryError with the message to show, never reaches the database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from grants.core.errors import DomainError
from grants.core.inputs import MAX_YEAR, MIN_YEAR

MAX_LENGTH = 200
MAX_TERMS = 10

# field name (lower case) → canonical field
FIELDS = {
    "year": "year", "年度": "year", "年份": "year", "年": "year",
    "status": "status", "状态": "status",
    "call": "call", "征集": "call", "征集公告": "call",
    "org": "org", "organization": "org", "organisation": "org", "机构": "org", "组织": "org",
    "category": "category", "类别": "category",
}
KINDS = ("application", "contract", "organization")

_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ufffe\uffff]")
_NORMALISE = str.maketrans({"：": ":", "“": '"', "”": '"', "＂": '"', "\u3000": " ", "\t": " "})
_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
# an optional `field:` then a "quoted phrase" (the closing quote may be missing) or a bare word
_TOKEN_RE = re.compile(r'(?:(?P<field>[^\s:"]+):)?(?:"(?P<quoted>[^"]*)"?|(?P<word>[^\s"]+))')
_YEAR_RE = re.compile(r"[0-9]{4}")


class QueryError(DomainError):
    """The search text cannot be read; the message says why."""


@dataclass
class SearchQuery:
    raw: str = ""
    terms: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    # kind → status codes that kind may have; None: no status filter
    statuses: dict[str, set[str]] | None = None
    calls: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.terms or self.years or self.statuses is not None or self.calls or self.orgs
                    or self.categories)

    def kinds(self) -> tuple[str, ...]:
        """The kinds of results the filters leave: a year, call or category belong to applications and
        contracts, not to organisations; a status to the kinds that know it."""
        kinds = [k for k in KINDS if self.statuses is None or self.statuses.get(k)]
        if self.years or self.calls or self.categories:
            kinds = [k for k in kinds if k != "organization"]
        return tuple(kinds)

    @property
    def highlight_terms(self) -> list[str]:
        return [*self.terms, *self.orgs]


def _status_labels() -> dict[str, dict[str, set[str]]]:
    """kind → status code → the words that name it: the code, its label in Chinese and in the current
    language."""
    from flask_babel import force_locale

    from grants.applications.models import STATUS_LABELS
    from grants.contracts.models import CONTRACT_STATUS_LABELS
    from grants.organizations.models import ORG_STATUS_LABELS

    tables = {"application": STATUS_LABELS, "contract": CONTRACT_STATUS_LABELS, "organization": ORG_STATUS_LABELS}
    result: dict[str, dict[str, set[str]]] = {}
    for kind, labels in tables.items():
        words = {str(code): {str(code).lower(), str(label).lower()} for code, label in labels.items()}
        with force_locale("zh_CN"):
            for code, label in labels.items():
                words[str(code)].add(str(label).lower())
        result[kind] = words
    return result


def resolve_status(value: str) -> dict[str, set[str]]:
    """The status codes, per kind, that `value` names (a code or a label, in Chinese or English)."""
    wanted = value.strip().lower()
    return {kind: {code for code, words in codes.items() if wanted in words}
            for kind, codes in _status_labels().items()}


def parse_query(text: str | None) -> SearchQuery:
    """Read the search box's text; raises QueryError with the reason when it cannot be read."""
    raw = (text or "").translate(_NORMALISE).strip()
    query = SearchQuery(raw=raw)
    if not raw:
        return query
    if len(raw) > MAX_LENGTH:
        raise QueryError(_("搜索内容过长（最多 %(n)s 个字）。", n=MAX_LENGTH), "q")
    if _CONTROL_RE.search(raw):
        raise QueryError(_("搜索内容含有无法识别的控制字符，请重新输入。"), "q")
    for match in _TOKEN_RE.finditer(raw):
        name, quoted, word = match.group("field"), match.group("quoted"), match.group("word")
        value = (quoted if quoted is not None else word or "").strip()
        canonical = FIELDS.get(name.lower()) if name else None
        if name and canonical is None:  # "10:30", "http://…": an ordinary term
            value = match.group(0).strip().strip('"')
        if canonical is None:
            if value.endswith(":") and value[:-1].lower() in FIELDS:  # "year:" and nothing after it
                raise QueryError(_("“%(field)s:” 后面缺少要查找的内容。", field=value[:-1]), "q")
            if value:
                query.terms.append(value)
            continue
        if not value:
            raise QueryError(_("“%(field)s:” 后面缺少要查找的内容。", field=name), "q")
        if canonical == "year":
            digits = value.translate(_FULL_WIDTH_DIGITS)
            year = int(digits) if _YEAR_RE.fullmatch(digits) else None
            if year is None or not MIN_YEAR <= year <= MAX_YEAR:
                raise QueryError(_("年度应为 %(lo)s 至 %(hi)s 之间的四位数字，例如 年度:2025。",
                                   lo=MIN_YEAR, hi=MAX_YEAR), "q")
            query.years.append(year)
        elif canonical == "status":
            codes = resolve_status(value)
            if not any(codes.values()):
                raise QueryError(_("没有名为“%(status)s”的状态。", status=value), "q")
            if query.statuses is None:
                query.statuses = codes
            else:  # two statuses: either
                query.statuses = {k: query.statuses.get(k, set()) | codes.get(k, set()) for k in KINDS}
        elif canonical == "call":
            query.calls.append(value)
        elif canonical == "org":
            query.orgs.append(value)
        elif canonical == "category":
            query.categories.append(value)
    if len(query.terms) + len(query.calls) + len(query.orgs) + len(query.categories) > MAX_TERMS:
        raise QueryError(_("搜索条件过多（最多 %(n)s 个），请精简后再试。", n=MAX_TERMS), "q")
    return query
