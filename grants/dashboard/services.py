"""The programme figures (统计) behind the dashboard: grouped SQL over the viewer's unit subtree.

Every figure is computed with a fixed number of grouped queries whatever the size of the programme, and
each one has a drill-down list (`drill_query`) that selects exactly the projects it adds up.

Money follows the ledger's definitions (finance/ledger.py): awarded = confirmed awards (立项), paid =
released payments, reclaimed = reclaims of those payments, withheld = the part of assessed tranches the
score band did not pay. By funding source, awards count their allocations and each payment, reclaim or
withheld amount counts as the ledger charges it to the award's sources (the stored SourceCharge rows).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from grants.applications.models import OUTPUT_LABELS, Application, ApplicationStatus, OutputKind, ServiceArea
from grants.awards.models import Award, AwardAllocation, AwardStatus
from grants.calls.models import FUNDING_KIND_LABELS, GRADE_LABELS, Call, CallCategory, CallFundingSource, CallStatus
from grants.contracts.models import Contract, ContractStatus, Tranche
from grants.core.timeutil import today_local
from grants.dashboard.models import ProjectOutputSummary, ProjectSourceSummary, ProjectSummary
from grants.dashboard.summary import bring_up_to_date
from grants.extensions import db
from grants.finance.ledger import WITHHELD_TRANCHE_STATES
from grants.finance.models import Payment, PaymentStatus, Reclaim
from grants.organizations.models import HostUnit, Organization, UnitLevel

# Received (收到的申报): submitted at least once and not withdrawn.
NOT_RECEIVED = (ApplicationStatus.DRAFT, ApplicationStatus.WITHDRAWN)
# Found eligible by screening (形式审查通过), whatever happened to them afterwards.
ELIGIBLE_STATES = (
    ApplicationStatus.ELIGIBLE, ApplicationStatus.UNDER_REVIEW, ApplicationStatus.SCORED,
    ApplicationStatus.SHORTLISTED, ApplicationStatus.PITCHED, ApplicationStatus.AWARDED,
    ApplicationStatus.NOT_AWARDED, ApplicationStatus.CONFIRMED, ApplicationStatus.CANCELLED,
)
LEVELS = ("city", "district", "street")
SETS = ("received", "eligible", "funded", "paid", "withheld", "reclaimed", "finished")
SET_LABELS = {
    "received": _l("收到的申报"), "eligible": _l("形式审查通过的申报"), "funded": _l("获资助项目"),
    "paid": _l("已拨付资金的项目"), "withheld": _l("有评估扣减的项目"), "reclaimed": _l("有资金追回的项目"),
    "finished": _l("已结项项目"),
}
NO_CATEGORY = ""
OUTPUT_KINDS = (OutputKind.SERVICE_SESSIONS, OutputKind.BENEFICIARIES, OutputKind.ACTIVITIES,
                OutputKind.VOLUNTEERS, OutputKind.VOLUNTEER_HOURS)
GRADES = ("excellent", "good", "pass", "fail")


# --- filters ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    """call / year / from–to / level, as read from the query string (unknown values are ignored)."""

    call_id: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    level: str | None = None

    @classmethod
    def from_args(cls, args) -> "Filters":
        year = args.get("year", type=int)
        year_from, year_to = args.get("from", type=int), args.get("to", type=int)
        if year:
            year_from = year_to = year
        if year_from and year_to and year_from > year_to:
            year_from, year_to = year_to, year_from
        level = args.get("level") or None
        return cls(call_id=args.get("call", type=int) or None, year_from=year_from or None,
                   year_to=year_to or None, level=level if level in LEVELS else None)

    def args(self) -> dict:
        """The query-string form, for links that keep the same filters."""
        out: dict = {}
        if self.call_id:
            out["call"] = self.call_id
        if self.year_from and self.year_from == self.year_to:
            out["year"] = self.year_from
        else:
            if self.year_from:
                out["from"] = self.year_from
            if self.year_to:
                out["to"] = self.year_to
        if self.level:
            out["level"] = self.level
        return out

    @property
    def single_year(self) -> int | None:
        return self.year_from if self.year_from and self.year_from == self.year_to else None


def call_conditions(unit_ids, f: Filters) -> list:
    """WHERE clauses on Call: the viewer's subtree, published calls, and the filters (each column indexed)."""
    conds = [Call.host_unit_id.in_(sorted(unit_ids)), Call.status != CallStatus.DRAFT]
    if f.call_id:
        conds.append(Call.id == f.call_id)
    if f.year_from:
        conds.append(Call.year >= f.year_from)
    if f.year_to:
        conds.append(Call.year <= f.year_to)
    if f.level:
        conds.append(Call.level == f.level)
    return conds


def scoped_calls(unit_ids) -> list:
    """The published calls of the subtree for the filter menu: (id, year, level, title), newest first."""
    return db.session.execute(
        sa.select(Call.id, Call.year, Call.level, Call.title)
        .where(Call.host_unit_id.in_(sorted(unit_ids)), Call.status != CallStatus.DRAFT)
        .order_by(Call.year.desc(), Call.id.desc())).all()


# --- figures ----------------------------------------------------------------------------------

@dataclass
class Figures:
    """One group's figures: counts and money in fen."""

    received: int = 0
    eligible: int = 0
    funded: int = 0
    requested_fen: int = 0
    awarded_fen: int = 0
    paid_fen: int = 0
    withheld_fen: int = 0
    reclaimed_fen: int = 0
    orgs_applied: int = 0
    orgs_funded: int = 0
    streets: int = 0
    communities: int = 0

    @property
    def net_paid_fen(self) -> int:
        return self.paid_fen - self.reclaimed_fen

    @property
    def to_pay_fen(self) -> int:
        """待拨付: awarded and neither paid nor withheld yet (as the ledger's remaining)."""
        return self.awarded_fen - self.paid_fen - self.withheld_fen

    @property
    def funded_pct(self) -> int | None:
        return round(self.funded * 100 / self.received) if self.received else None


@dataclass
class SourceFigures:
    kind: str
    label: str
    budget_fen: int = 0
    awarded_fen: int = 0
    paid_fen: int = 0
    withheld_fen: int = 0
    reclaimed_fen: int = 0

    @property
    def net_paid_fen(self) -> int:
        return self.paid_fen - self.reclaimed_fen


@dataclass
class OutputFigures:
    kind: str
    label: str
    promised: int = 0
    achieved: int = 0

    @property
    def pct(self) -> int | None:
        return round(self.achieved * 100 / self.promised) if self.promised else None


@dataclass
class CoverageLine:
    level: str
    label: str
    total: int
    covered: int
    target_pct: int
    units: list[tuple[str, bool]]

    @property
    def pct(self) -> int | None:
        return round(self.covered * 100 / self.total) if self.total else None

    @property
    def target_count(self) -> int:
        return -(-self.total * self.target_pct // 100)  # ceiling: "half of 5 streets" is 3

    @property
    def met(self) -> bool:
        return self.covered >= self.target_count


@dataclass
class Dashboard:
    filters: Filters
    total: Figures
    by_year: dict[int, Figures]
    by_category: dict[str, Figures]
    by_district: dict[str, Figures]
    by_source: list[SourceFigures]
    outputs: list[OutputFigures]
    grades: dict[str, int]
    coverage_year: int
    coverage: list[CoverageLine] = field(default_factory=list)

    @property
    def grade_rows(self) -> list[tuple[str, object, int]]:
        rows = [(g, GRADE_LABELS[g], self.grades.get(g, 0)) for g in GRADES]
        if self.grades.get("none"):
            rows.append(("none", _l("未评定"), self.grades["none"]))
        return rows


def _add(groups: dict, key, attr: str, value) -> None:
    fig = groups.get(key)
    if fig is None:
        fig = groups[key] = Figures()
    setattr(fig, attr, getattr(fig, attr) + int(value or 0))


def _category():
    return sa.func.coalesce(CallCategory.name, NO_CATEGORY)


def _project_base(*columns):
    """SELECT … FROM application JOIN call JOIN organization LEFT JOIN call_category."""
    return (sa.select(*columns).select_from(Application)
            .join(Call, Call.id == Application.call_id)
            .join(Organization, Organization.id == Application.organization_id)
            .outerjoin(CallCategory, CallCategory.id == Application.category_id))


def build_dashboard(unit_ids, f: Filters, *, coverage_root: int | None = None) -> Dashboard:
    """All dashboard figures for the units `unit_ids` under the filters (a fixed number of queries)."""
    bring_up_to_date()
    conds = call_conditions(unit_ids, f)
    dims = (Call.year, _category(), Organization.district)
    groups = {"year": {}, "category": {}, "district": {}}
    total = Figures()

    def spread(year, category, district, attr, value):
        _add(groups["year"], year, attr, value)
        _add(groups["category"], category, attr, value)
        _add(groups["district"], district or "", attr, value)
        setattr(total, attr, getattr(total, attr) + int(value or 0))

    # 1. applications received / eligible / requested, and each project's money from its summary row
    #    (models.ProjectSummary: awarded, paid, withheld, reclaimed), in one pass over the applications.
    #    Only received ones have money: an application is withdrawn only before screening (states.py).
    ps = ProjectSummary
    for year, category, district, status, n, requested, funded, awarded, paid, withheld, reclaimed in db.session.execute(
            _project_base(*dims, Application.status, sa.func.count(), sa.func.sum(Application.requested_fen),
                          sa.func.sum(sa.case((ps.funded, 1), else_=0)), sa.func.sum(ps.awarded_fen),
                          sa.func.sum(ps.paid_fen), sa.func.sum(ps.withheld_fen), sa.func.sum(ps.reclaimed_fen))
            .outerjoin(ps, ps.application_id == Application.id)
            .where(*conds, Application.status.not_in(NOT_RECEIVED)).group_by(*dims, Application.status)).all():
        spread(year, category, district, "received", n)
        spread(year, category, district, "requested_fen", requested)
        if status in ELIGIBLE_STATES:
            spread(year, category, district, "eligible", n)
        if funded:
            spread(year, category, district, "funded", funded)
        for attr, fen in (("awarded_fen", awarded), ("paid_fen", paid), ("withheld_fen", withheld),
                          ("reclaimed_fen", reclaimed)):
            if fen:
                spread(year, category, district, attr, fen)

    # 2. organisations that applied and that were funded, per year and overall: the distinct
    #    (year, organisation, funded organisation) rows once in a CTE, then counted per year and overall
    funded_org = sa.case((ps.funded, Application.organization_id))
    pairs = (sa.select(Call.year.label("year"), Application.organization_id.label("org"), funded_org.label("funded"))
             .select_from(Application).join(Call, Call.id == Application.call_id)
             .outerjoin(ps, ps.application_id == Application.id)
             .where(*conds, Application.status.not_in(NOT_RECEIVED))
             .group_by(Call.year, Application.organization_id, funded_org).cte("org_years"))
    org_cols = (sa.func.count(sa.distinct(pairs.c.org)), sa.func.count(sa.distinct(pairs.c.funded)))
    for year, applied, funded_orgs in db.session.execute(sa.union_all(
            sa.select(pairs.c.year, *org_cols).group_by(pairs.c.year),
            sa.select(sa.null().label("year"), *org_cols))).all():
        target = total if year is None else groups["year"].setdefault(year, Figures())
        target.orgs_applied, target.orgs_funded = int(applied), int(funded_orgs)

    # 3. streets and communities served by funded projects, per year and overall (one scan, as in 2)
    street = sa.case((ServiceArea.street != "", ServiceArea.street))
    place = sa.case((ServiceArea.community != "", ServiceArea.street + "/" + ServiceArea.community))
    places = (sa.select(Call.year.label("year"), street.label("street"), place.label("place"))
              .select_from(ps)
              .join(ServiceArea, ServiceArea.application_id == ps.application_id)
              .join(Call, Call.id == ps.call_id)
              .where(*conds, ps.funded.is_(True))
              .group_by(Call.year, street, place).cte("year_places"))
    area_cols = (sa.func.count(sa.distinct(places.c.street)), sa.func.count(sa.distinct(places.c.place)))
    for year, streets, communities in db.session.execute(sa.union_all(
            sa.select(places.c.year, *area_cols).group_by(places.c.year),
            sa.select(sa.null().label("year"), *area_cols))).all():
        target = total if year is None else groups["year"].setdefault(year, Figures())
        target.streets, target.communities = int(streets), int(communities)

    return Dashboard(
        filters=f, total=total,
        by_year=dict(sorted(groups["year"].items())),
        by_category=dict(sorted(groups["category"].items(), key=lambda kv: (-kv[1].awarded_fen, -kv[1].received, kv[0]))),
        by_district=dict(sorted(groups["district"].items(), key=lambda kv: (-kv[1].awarded_fen, -kv[1].received, kv[0]))),
        by_source=_by_source(conds), outputs=_outputs(conds), grades=_grades(conds),
        coverage_year=0, coverage=[],
    )


def _by_source(conds) -> list[SourceFigures]:
    """Budget, awarded, paid, withheld and reclaimed per kind of funding source (福彩公益金, 财政配套 …).

    Awards count their allocations; each payment, reclaim and withheld amount counts as the ledger charged it
    to the sources when the project's summary rows were kept (summary.py), so these are two grouped queries
    and the ledger's figures to the fen.
    """
    lines: dict[str, SourceFigures] = {}

    def line(kind: str | None) -> SourceFigures:
        kind = kind or ""
        if kind not in lines:
            lines[kind] = SourceFigures(kind=kind, label=str(FUNDING_KIND_LABELS.get(kind, _l("未分配来源"))))
        return lines[kind]

    for kind, budget in db.session.execute(
            sa.select(CallFundingSource.kind, sa.func.sum(CallFundingSource.amount_fen))
            .join(Call, Call.id == CallFundingSource.call_id).where(*conds).group_by(CallFundingSource.kind)).all():
        line(kind).budget_fen += int(budget or 0)

    pss = ProjectSourceSummary
    for kind, *money in db.session.execute(
            sa.select(CallFundingSource.kind, sa.func.sum(pss.awarded_fen), sa.func.sum(pss.paid_fen),
                      sa.func.sum(pss.withheld_fen), sa.func.sum(pss.reclaimed_fen))
            .select_from(pss).join(ProjectSummary, ProjectSummary.application_id == pss.application_id)
            .join(Call, Call.id == ProjectSummary.call_id)
            .outerjoin(CallFundingSource, CallFundingSource.id == pss.funding_source_id)
            .where(*conds).group_by(CallFundingSource.kind)).all():
        if any(money):
            src = line(kind)
            for attr, fen in zip(("awarded_fen", "paid_fen", "withheld_fen", "reclaimed_fen"), money):
                setattr(src, attr, getattr(src, attr) + int(fen or 0))
    order = {k: i for i, k in enumerate(FUNDING_KIND_LABELS)}
    return sorted(lines.values(), key=lambda s: order.get(s.kind, len(order)))


def _outputs(conds) -> list[OutputFigures]:
    """Outputs promised by funded projects against those achieved in each contract's latest accepted report
    (kept per project by summary.py)."""
    out = {k: OutputFigures(kind=str(k), label=str(OUTPUT_LABELS[k])) for k in OUTPUT_KINDS}
    pos = ProjectOutputSummary
    for kind, promised, achieved in db.session.execute(
            sa.select(pos.kind, sa.func.sum(pos.promised), sa.func.sum(pos.achieved))
            .join(ProjectSummary, ProjectSummary.application_id == pos.application_id)
            .join(Call, Call.id == ProjectSummary.call_id).where(*conds).group_by(pos.kind)).all():
        if kind in out:
            out[kind].promised, out[kind].achieved = int(promised or 0), int(achieved or 0)
    return list(out.values())


def _grades(conds) -> dict[str, int]:
    """Final grades of finished projects (ProjectSummary.finished: the contract completed or the final
    assessment set a grade — a failed final withholds the last tranche and leaves the contract open)."""
    rows = db.session.execute(
        sa.select(ProjectSummary.final_grade, sa.func.count()).join(Call, Call.id == ProjectSummary.call_id)
        .where(*conds, ProjectSummary.finished.is_(True)).group_by(ProjectSummary.final_grade)).all()
    return {(grade or "none"): int(n) for grade, n in rows}


# --- coverage of the host-unit tree -------------------------------------------------------

def unit_tree(root_id: int) -> tuple[set[int], list[tuple[int, str, str]]]:
    """The root's subtree ids and its units (id, level, name) in one query."""
    rows = db.session.execute(sa.select(HostUnit.id, HostUnit.parent_id, HostUnit.level, HostUnit.name)
                              .order_by(HostUnit.id)).all()
    children: dict[int | None, list[int]] = defaultdict(list)
    info = {}
    for uid, parent, level, name in rows:
        children[parent].append(uid)
        info[uid] = (uid, level, name)
    ids, stack = set(), [root_id]
    while stack:
        uid = stack.pop()
        if uid in ids or uid not in info:
            continue
        ids.add(uid)
        stack.extend(children.get(uid, []))
    return ids, [info[u] for u in sorted(ids)]


def coverage(units: list[tuple[int, str, str]], year: int) -> list[CoverageLine]:
    """Share of the districts and streets under the viewer that ran their own published call in `year`."""
    ids = [u[0] for u in units]
    ran = set(db.session.scalars(sa.select(Call.host_unit_id).distinct()
                                 .where(Call.host_unit_id.in_(ids), Call.year == year,
                                        Call.status != CallStatus.DRAFT)).all()) if ids else set()
    targets = {UnitLevel.DISTRICT: current_app.config["DASHBOARD_TARGET_DISTRICT_PCT"],
               UnitLevel.STREET: current_app.config["DASHBOARD_TARGET_STREET_PCT"]}
    labels = {UnitLevel.DISTRICT: _l("区县"), UnitLevel.STREET: _l("街道")}
    lines = []
    for level in (UnitLevel.DISTRICT, UnitLevel.STREET):
        mine = [(name, uid in ran) for uid, lvl, name in units if lvl == level]
        if mine:
            lines.append(CoverageLine(level=str(level), label=str(labels[level]), total=len(mine),
                                      covered=sum(1 for _n, r in mine if r), target_pct=targets[level],
                                      units=mine))
    return lines


def coverage_year(f: Filters, calls: list) -> int:
    """The year the coverage is shown for: the filter's last year, else the latest call's, else this year."""
    if f.year_to:
        return f.year_to
    if f.call_id:
        for c in calls:
            if c.id == f.call_id:
                return c.year
    return max((c.year for c in calls), default=today_local().year)


def dashboard_for(root_unit_id: int, f: Filters) -> tuple[Dashboard, list]:
    """The dashboard of a unit's subtree with its filter menu (the view's one call)."""
    unit_ids, units = unit_tree(root_unit_id)
    calls = scoped_calls(unit_ids)
    board = build_dashboard(unit_ids, f)
    board.coverage_year = coverage_year(f, calls)
    board.coverage = coverage(units, board.coverage_year)
    return board, calls


# --- drill-down ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Drill:
    """Which projects a figure adds up: a set and optional group (year, category, district, source, grade)."""

    set: str = "received"
    year: int | None = None
    category: str | None = None
    district: str | None = None
    source: str | None = None
    grade: str | None = None

    @classmethod
    def from_args(cls, args) -> "Drill":
        s = args.get("set", "received")
        return cls(set=s if s in SETS else "received", year=args.get("y", type=int),
                   category=args.get("category"), district=args.get("district"),
                   source=args.get("source") or None, grade=args.get("grade") or None)

    def args(self) -> dict:
        out = {"set": self.set}
        for key, value in (("y", self.year), ("category", self.category), ("district", self.district),
                           ("source", self.source), ("grade", self.grade)):
            if value is not None:
                out[key] = value
        return out


def _confirmed_award_app_ids():
    return sa.select(Award.application_id).where(Award.status == AwardStatus.CONFIRMED)


def drill_query(unit_ids, f: Filters, d: Drill):
    """SELECT Application … for the projects behind one figure (ordered by year, call, number)."""
    stmt = (sa.select(Application).join(Call, Call.id == Application.call_id)
            .join(Organization, Organization.id == Application.organization_id)
            .outerjoin(CallCategory, CallCategory.id == Application.category_id)
            .where(*call_conditions(unit_ids, f)))
    if d.set == "received":
        stmt = stmt.where(Application.status.not_in(NOT_RECEIVED))
    elif d.set == "eligible":
        stmt = stmt.where(Application.status.in_(ELIGIBLE_STATES))
    else:
        stmt = stmt.where(Application.id.in_(_confirmed_award_app_ids()))
    if d.set == "paid":
        stmt = stmt.where(Application.id.in_(
            sa.select(Contract.application_id).join(Payment, Payment.contract_id == Contract.id)
            .where(Payment.status == PaymentStatus.RELEASED)))
    elif d.set == "reclaimed":
        stmt = stmt.where(Application.id.in_(
            sa.select(Contract.application_id).join(Payment, Payment.contract_id == Contract.id)
            .join(Reclaim, Reclaim.payment_id == Payment.id)))
    elif d.set == "withheld":
        stmt = stmt.where(Application.id.in_(
            sa.select(Contract.application_id).join(Tranche, Tranche.contract_id == Contract.id)
            .where(Tranche.withheld_fen > 0, Tranche.status.in_(WITHHELD_TRANCHE_STATES))))
    elif d.set == "finished":
        stmt = stmt.where(Application.id.in_(_confirmed_award_app_ids()), sa.or_(
            Application.final_grade.is_not(None),
            Application.id.in_(sa.select(Contract.application_id).where(Contract.status == ContractStatus.COMPLETED))))
    if d.year is not None:
        stmt = stmt.where(Call.year == d.year)
    if d.category is not None:
        stmt = stmt.where(_category() == d.category)
    if d.district is not None:
        stmt = stmt.where(Organization.district == d.district)
    if d.source is not None:
        stmt = stmt.where(Application.id.in_(
            sa.select(Award.application_id).join(AwardAllocation, AwardAllocation.award_id == Award.id)
            .join(CallFundingSource, CallFundingSource.id == AwardAllocation.funding_source_id)
            .where(CallFundingSource.kind == d.source)))
    if d.grade is not None:
        stmt = stmt.where(Application.final_grade.is_(None) if d.grade == "none" else Application.final_grade == d.grade)
    return stmt.order_by(Call.year.desc(), Call.id, Application.number, Application.id)


@dataclass
class ProjectMoney:
    awarded_fen: int = 0
    paid_fen: int = 0
    withheld_fen: int = 0
    reclaimed_fen: int = 0


def project_money(application_ids: list[int]) -> dict[int, ProjectMoney]:
    """Awarded, paid, withheld and reclaimed money of the listed projects (one query, from their summaries)."""
    out = {i: ProjectMoney() for i in application_ids}
    if not application_ids:
        return out
    bring_up_to_date()
    ps = ProjectSummary
    for app_id, awarded, paid, withheld, reclaimed in db.session.execute(
            sa.select(ps.application_id, sa.case((ps.funded, ps.awarded_fen), else_=0), ps.paid_fen, ps.withheld_fen,
                      ps.reclaimed_fen).where(ps.application_id.in_(application_ids))).all():
        out[app_id] = ProjectMoney(int(awarded), int(paid), int(withheld), int(reclaimed))
    return out


def drill_title(d: Drill) -> str:
    parts = [str(SET_LABELS[d.set])]
    if d.year is not None:
        parts.append(f"{d.year}")
    if d.category is not None:
        parts.append(d.category or str(_l("未分类")))
    if d.district is not None:
        parts.append(d.district or str(_l("未填写区县")))
    if d.source is not None:
        parts.append(str(FUNDING_KIND_LABELS.get(d.source, d.source)))
    if d.grade is not None:
        parts.append(str(GRADE_LABELS.get(d.grade, _l("未评定"))))
    return " · ".join(parts)
