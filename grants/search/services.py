"""Staff search: applications (and the projects they became), contracts and organisations, by number, name,
description words and organisation name, across calls and years, within the user's scope.

Matching is a case-insensitive substring (ILIKE '%…%'): Chinese has no spaces to cut words at, so a
substring of any length must be found — 楼道 (2 characters) as well as 楼道服务. On PostgreSQL the matched
columns have trigram GIN indexes (grants/search/models.py), which serve patterns of 3 or more characters;
shorter ones are read by a scan (measured in docs/BENCHMARKS.md). Each term is one `id IN (…)` subquery over
the matched columns of the kind (a UNION of index lookups; a term of 1 or 2 characters, which no index
serves, is one OR over the columns instead: one scan), so the conditions are self-contained and the same ones
filter the per-list searches (application list, organisations, contracts).

Ranking: an exact number (or credit code / organisation name) first, then a match in the name, then in the
organisation's name, then in the description; newest first within a rank. A page costs a fixed number of
queries: the unit tree, one statement for the counts per kind and the page of (kind, id), and one load per kind
on the page."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from markupsafe import Markup, escape

from grants.accounts.models import Role
from grants.applications.models import Application, ApplicationStatus
from grants.calls.models import Call, CallCategory
from grants.contracts.models import Contract
from grants.core.units import unit_subtree_ids
from grants.core.web import PageNumbers
from grants.extensions import db
from grants.organizations.models import Organization
from grants.search.query import SearchQuery

PER_PAGE = 20
TRIGRAM = 3  # a term shorter than this has no trigram: the indexes cannot serve it
KIND_ORDER = {"application": 0, "contract": 1, "organization": 2}
_app = Application.__table__
_org = Organization.__table__
_contract = Contract.__table__


def _pattern(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _like(column, term: str):
    """Substring match; ILIKE only when the term has letters with a case: LIKE is the same for Chinese and
    digits, and a scan with it is about 4 times faster on PostgreSQL (both use the trigram indexes)."""
    if term.lower() == term.upper():
        return column.like(_pattern(term), escape="\\")
    return column.ilike(_pattern(term), escape="\\")


def _indexed(term: str) -> bool:
    """Whether an index can find `term`: a trigram index on PostgreSQL for 3 characters or more; none on
    SQLite (LIKE '%…%' reads every row there)."""
    return len(term) >= TRIGRAM and db.engine.dialect.name == "postgresql"


def _org_ids(term: str):
    o = _org.alias("search_o")
    return sa.select(o.c.id).where(_like(o.c.name, term))


def _call_ids(*, years=(), titles=(), units=None):
    c = Call.__table__.alias("search_c")
    stmt = sa.select(c.c.id)
    if years:
        stmt = stmt.where(c.c.year.in_(years))
    for title in titles:
        stmt = stmt.where(_like(c.c.title, title))
    if units is not None:
        stmt = stmt.where(c.c.host_unit_id.in_(units))
    return stmt


def _category_ids(name: str):
    cc = CallCategory.__table__.alias("search_cc")
    return sa.select(cc.c.id).where(_like(cc.c.name, name))


# --- conditions, one per kind: the terms and filters of a query -----------------------------------------

def application_condition(query: SearchQuery):
    """The applications `query` finds (terms and filters; no scope)."""
    conds = []
    for term in query.terms:
        if not _indexed(term):  # no index serves it: one scan of the rows, not a scan and a join
            conds.append(sa.or_(_like(Application.number, term), _like(Application.project_name, term),
                                _like(Application.summary, term), Application.organization_id.in_(_org_ids(term))))
            continue
        a = _app.alias("search_a")
        own = sa.select(a.c.id).where(sa.or_(_like(a.c.number, term), _like(a.c.project_name, term),
                                             _like(a.c.summary, term)))
        by_org = sa.select(a.c.id).where(a.c.organization_id.in_(_org_ids(term)))
        conds.append(Application.id.in_(sa.union(own, by_org)))
    if query.years or query.calls:
        conds.append(Application.call_id.in_(_call_ids(years=query.years, titles=query.calls)))
    for name in query.orgs:
        conds.append(Application.organization_id.in_(_org_ids(name)))
    for name in query.categories:
        conds.append(Application.category_id.in_(_category_ids(name)))
    if query.statuses is not None:
        conds.append(Application.status.in_(sorted(query.statuses.get("application", ()))))
    return sa.and_(sa.true(), *conds)


def contract_condition(query: SearchQuery):
    """The contracts `query` finds (terms and filters; no scope)."""
    conds = []
    for term in query.terms:
        if not _indexed(term):
            conds.append(sa.or_(_like(Contract.number, term), _like(Contract.project_name, term),
                                Contract.organization_id.in_(_org_ids(term))))
            continue
        k = _contract.alias("search_k")
        own = sa.select(k.c.id).where(sa.or_(_like(k.c.number, term), _like(k.c.project_name, term)))
        by_org = sa.select(k.c.id).where(k.c.organization_id.in_(_org_ids(term)))
        conds.append(Contract.id.in_(sa.union(own, by_org)))
    if query.years or query.calls:
        conds.append(Contract.call_id.in_(_call_ids(years=query.years, titles=query.calls)))
    for name in query.orgs:
        conds.append(Contract.organization_id.in_(_org_ids(name)))
    for name in query.categories:
        a = _app.alias("search_a")
        conds.append(Contract.application_id.in_(
            sa.select(a.c.id).where(a.c.category_id.in_(_category_ids(name)))))
    if query.statuses is not None:
        conds.append(Contract.status.in_(sorted(query.statuses.get("contract", ()))))
    return sa.and_(sa.true(), *conds)


def organization_condition(query: SearchQuery):
    """The organisations `query` finds: by name, credit code (统一社会信用代码) or filing number."""
    conds = []
    for term in query.terms:
        conds.append(sa.or_(_like(Organization.name, term), _like(Organization.uscc, term),
                            _like(Organization.filing_number, term)))
    for name in query.orgs:
        conds.append(_like(Organization.name, name))
    if query.statuses is not None:
        conds.append(Organization.status.in_(sorted(query.statuses.get("organization", ()))))
    if query.years or query.calls or query.categories:
        conds.append(sa.false())
    return sa.and_(sa.true(), *conds)


# --- ranks ------------------------------------------------------------------------------------------------

def _exact(column, terms):
    return sa.func.lower(column).in_([t.lower() for t in terms])


def _any_like(column, terms):
    return sa.or_(*(_like(column, t) for t in terms))


def _application_rank(query: SearchQuery):
    if not query.terms:
        return sa.literal(1)
    return sa.case((_exact(Application.number, query.terms), 0),
                   (_any_like(Application.project_name, query.terms), 1),
                   (sa.or_(*(Application.organization_id.in_(_org_ids(t)) for t in query.terms)), 2),
                   else_=3)


def _contract_rank(query: SearchQuery):
    if not query.terms:
        return sa.literal(1)
    return sa.case((_exact(Contract.number, query.terms), 0),
                   (_any_like(Contract.project_name, query.terms), 1),
                   else_=2)


def _organization_rank(query: SearchQuery):
    if not query.terms:
        return sa.literal(1)
    return sa.case((sa.or_(_exact(Organization.name, query.terms), _exact(Organization.uscc, query.terms),
                           _exact(Organization.filing_number, query.terms)), 0), else_=1)


# --- who may find what ------------------------------------------------------------------------------------

def searchable_kinds(user) -> tuple[str, ...]:
    """What the user may find, as their roles may open it: applications for officers and auditors (their
    unit subtree's calls, never drafts), contracts for officers, finance and auditors (their unit subtree),
    organisations for all three (organisations are platform-wide, as on the organisations list)."""
    if not (user and user.is_authenticated and user.host_unit_id is not None):
        return ()
    kinds = []
    if user.has_role(Role.OFFICER, Role.AUDITOR):
        kinds.append("application")
    if user.has_role(Role.OFFICER, Role.FINANCE, Role.AUDITOR):
        kinds += ["contract", "organization"]
    return tuple(kinds)


def _selects(query: SearchQuery, kinds, units) -> dict[str, sa.Select]:
    """kind → SELECT kind, id, rank, year of what the query finds within the scope."""
    selects = {}
    if "application" in kinds:
        def app_select(*conds):
            return (sa.select(sa.literal(KIND_ORDER["application"]).label("kind"), Application.id.label("id"),
                              _application_rank(query).label("rank"), Call.year.label("year"))
                    .select_from(Application).join(Call, Call.id == Application.call_id)
                    .where(Call.host_unit_id.in_(units), Application.status != ApplicationStatus.DRAFT, *conds))

        filters = application_condition(replace(query, terms=[]))
        if not query.terms:
            selects["application"] = app_select(filters)
        else:
            # An application matches when every term is in its own columns or in its organisation's name:
            # either every term is in its own columns (an AND of ORs the planner serves from the trigram
            # indexes, or with one scan when the terms are common or short), or its organisation's name has
            # one of the terms (few organisations: through the organisation index) and each term is somewhere.
            own = [sa.or_(*(_like(c, t) for c in (Application.number, Application.project_name,
                                                   Application.summary))) for t in query.terms]
            some_org = Application.organization_id.in_(sa.union(*(_org_ids(t) for t in query.terms)))
            each = [sa.or_(o, Application.organization_id.in_(_org_ids(t))) for o, t in zip(own, query.terms)]
            # the second branch leaves out what the first found (no de-duplication of a common word's rows)
            not_own = sa.not_(sa.func.coalesce(sa.and_(*own), sa.false()))
            both = sa.union_all(app_select(filters, *own),
                                app_select(filters, some_org, not_own, *each)).subquery("search_apps")
            selects["application"] = sa.select(both.c.kind, both.c.id, both.c.rank, both.c.year)
    if "contract" in kinds:
        selects["contract"] = (
            sa.select(sa.literal(KIND_ORDER["contract"]).label("kind"), Contract.id.label("id"),
                      _contract_rank(query).label("rank"), Call.year.label("year"))
            .select_from(Contract).join(Call, Call.id == Contract.call_id)
            .where(Call.host_unit_id.in_(units), contract_condition(query)))
    if "organization" in kinds:
        selects["organization"] = (
            sa.select(sa.literal(KIND_ORDER["organization"]).label("kind"), Organization.id.label("id"),
                      _organization_rank(query).label("rank"), sa.literal(0).label("year"))
            .where(organization_condition(query)))
    return selects


# --- results ----------------------------------------------------------------------------------------------

@dataclass
class Hit:
    kind: str
    obj: object
    rank: int


@dataclass
class SearchResults(PageNumbers):
    query: SearchQuery
    kinds: tuple[str, ...]           # what this user may find
    counts: dict[str, int] = field(default_factory=dict)
    kind: str | None = None          # the tab shown; None: all
    hits: list[Hit] = field(default_factory=list)
    page: int = 1
    per_page: int = PER_PAGE

    @property
    def total(self) -> int:
        return self.counts.get(self.kind, 0) if self.kind else sum(self.counts.values())


def search(user, query: SearchQuery, *, kind: str | None = None, page: int = 1,
           per_page: int = PER_PAGE) -> SearchResults:
    """One page of what `query` finds for `user`, best first, with the count of each kind."""
    allowed = searchable_kinds(user)
    kind = kind if kind in allowed else None
    results = SearchResults(query=query, kinds=allowed, kind=kind, page=page, per_page=per_page,
                            counts={k: 0 for k in allowed})
    if query.empty or not allowed:
        return results
    results.kinds = tuple(k for k in allowed if k in query.kinds())  # a year: has no organisations
    results.counts = {k: 0 for k in results.kinds}
    if kind not in results.kinds:
        results.kind = kind = None
    units = unit_subtree_ids(user.host_unit_id)
    selects = _selects(query, results.kinds, units)
    if not selects:
        return results
    # One statement: the hits of every kind once (a CTE, materialised by PostgreSQL as it is read twice),
    # their count per kind, and the page of the tab shown, joined to the counts so that a page past the end
    # still gives the counts.
    hits = sa.union_all(*selects.values()).cte("search_hits") if len(selects) > 1 else \
        next(iter(selects.values())).cte("search_hits")
    counts = sa.select(*(sa.func.count().filter(hits.c.kind == KIND_ORDER[k]).label(k) for k in selects)) \
        .select_from(hits).subquery("search_counts")
    page_stmt = sa.select(hits.c.kind, hits.c.id, hits.c.rank, hits.c.year)
    if kind:
        page_stmt = page_stmt.where(hits.c.kind == KIND_ORDER[kind])
    order = (hits.c.rank, hits.c.kind, hits.c.year.desc(), hits.c.id.desc())
    page_rows = page_stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page).subquery("search_page")
    rows = db.session.execute(
        sa.select(*(counts.c[k] for k in selects), page_rows.c.kind, page_rows.c.id, page_rows.c.rank)
        .select_from(counts.outerjoin(page_rows, sa.true()))
        .order_by(page_rows.c.rank, page_rows.c.kind, page_rows.c.year.desc(), page_rows.c.id.desc())).all()
    n = len(selects)
    results.counts.update(dict(zip(selects, rows[0][:n])))
    rows = [row[n:] for row in rows if row[n] is not None]
    results.hits = _load(rows)
    return results


def _load(rows) -> list[Hit]:
    """The objects of a page of (kind, id, rank): one query per kind present."""
    names = {v: k for k, v in KIND_ORDER.items()}
    wanted: dict[str, list[int]] = {}
    for kind, ident, _rank in rows:
        wanted.setdefault(names[kind], []).append(ident)
    models = {"application": Application, "contract": Contract, "organization": Organization}
    loaded = {}
    for kind, ids in wanted.items():
        model = models[kind]
        for obj in db.session.scalars(sa.select(model).where(model.id.in_(ids))).unique():
            loaded[(kind, obj.id)] = obj
    return [Hit(kind=names[k], obj=loaded[(names[k], i)], rank=r) for k, i, r in rows if (names[k], i) in loaded]


# --- highlighting -----------------------------------------------------------------------------------------

def highlight(text: str | None, terms, *, snippet: int | None = None) -> Markup:
    """`text` HTML-escaped, each occurrence of a term (case-insensitive) in <mark>. With `snippet`, only about
    that many characters around the first occurrence (the start when none), with … where cut."""
    text = text or ""
    spans = []
    for term in {t for t in terms if t}:
        for m in re.finditer(re.escape(term), text, flags=re.IGNORECASE):
            spans.append((m.start(), m.end()))
    spans.sort()
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    lo, hi = 0, len(text)
    if snippet is not None and len(text) > snippet:
        first = merged[0][0] if merged else 0
        lo = max(0, first - snippet // 3)
        hi = min(len(text), lo + snippet)
    out, pos = [], lo
    for start, end in merged:
        if end <= lo or start >= hi:
            continue
        start, end = max(start, lo), min(end, hi)
        out.append(escape(text[pos:start]))
        out.append(Markup("<mark>%s</mark>") % text[start:end])
        pos = end
    out.append(escape(text[pos:hi]))
    body = Markup("").join(out)
    if lo > 0:
        body = Markup("…") + body
    if hi < len(text):
        body = body + Markup("…")
    return body
