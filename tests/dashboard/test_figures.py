"""Every dashboard figure against sums computed independently here, over a three-year programme built
through the services (tests/dashboard/programme.py); and every figure's drill-down list adds up to it.

The programme is built once for the module (it takes a while) and removed at the end.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa

from grants.applications.models import Application
from grants.assessments.models import ProgressReport
from grants.awards.models import Award
from grants.calls.models import Call
from grants.contracts.models import Contract
from grants.core import timeutil
from grants.dashboard import services as svc
from grants.extensions import db
from grants.finance.ledger import call_ledger
from grants.finance.models import Payment, Reclaim
from tests.dashboard import programme

NOT_RECEIVED = {"draft", "withdrawn"}
NOT_ELIGIBLE = {"submitted", "ineligible", "returned"}


class _Clock:
    def set(self, when):
        timeutil.set_clock(when)
        return when


@pytest.fixture(scope="module")
def world(app):
    with app.app_context(), app.test_request_context():
        p = programme.build(_Clock())
        db.session.commit()
        ids = dict(city=p.city.id, d1=p.districts[0].id, d2=p.districts[1].id, s1=p.streets[0].id,
                   calls={y: c.id for y, c in p.calls.items()}, district_call=p.extra_calls[0].id,
                   street_call=p.extra_calls[1].id, draft_call=p.extra_calls[2].id)
        timeutil.set_clock(None)
        db.session.remove()
    yield ids
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())


# --- the figures as this test computes them: plain Python over the loaded objects ----------

def _expected(calls: list[Call]) -> dict:
    ids = {c.id for c in calls}
    apps = [a for a in db.session.scalars(sa.select(Application)).all() if a.call_id in ids]
    received = [a for a in apps if a.status not in NOT_RECEIVED]
    awards = [w for w in db.session.scalars(sa.select(Award)).all() if w.call_id in ids and w.status == "confirmed"]
    funded_app_ids = {w.application_id for w in awards}
    payments = [pm for pm in db.session.scalars(sa.select(Payment)).all()
                if pm.call_id in ids and pm.status == "released"]
    reclaims = [r for r in db.session.scalars(sa.select(Reclaim)).all() if r.payment.call_id in ids]
    contracts = [c for c in db.session.scalars(sa.select(Contract)).all() if c.call_id in ids]
    withheld = [(c, t) for c in contracts for t in c.tranches if t.withheld_fen and t.status in ("payable", "withheld", "paid")]

    def key_of(a: Application):
        return {"year": a.call.year, "category": a.category.name if a.category else "",
                "district": a.organization.district}

    by = {dim: defaultdict(Counter) for dim in ("year", "category", "district")}
    total = Counter()

    def add(a, what, n):
        total[what] += n
        for dim, k in key_of(a).items():
            by[dim][k][what] += n

    for a in received:
        add(a, "received", 1)
        add(a, "requested_fen", a.requested_fen)
        if a.status not in NOT_ELIGIBLE:
            add(a, "eligible", 1)
    for w in awards:
        add(w.application, "funded", 1)
        add(w.application, "awarded_fen", w.amount_fen)
    for pm in payments:
        add(pm.contract.application, "paid_fen", pm.amount_fen)
    for r in reclaims:
        add(r.payment.contract.application, "reclaimed_fen", r.amount_fen)
    for c, t in withheld:
        add(c.application, "withheld_fen", t.withheld_fen)

    funded_apps = [a for a in apps if a.id in funded_app_ids]
    areas = [(a.call.year, s.street, s.community) for a in funded_apps for s in a.service_areas]
    total["orgs_applied"] = len({a.organization_id for a in received})
    total["orgs_funded"] = len({a.organization_id for a in funded_apps})
    total["streets"] = len({s for _y, s, _c in areas if s})
    total["communities"] = len({(s, c) for _y, s, c in areas if c})
    for year in {a.call.year for a in received}:
        by["year"][year]["orgs_applied"] = len({a.organization_id for a in received if a.call.year == year})
        by["year"][year]["orgs_funded"] = len({a.organization_id for a in funded_apps if a.call.year == year})
        by["year"][year]["streets"] = len({s for y, s, _c in areas if s and y == year})
        by["year"][year]["communities"] = len({(s, c) for y, s, c in areas if c and y == year})

    promised, achieved = Counter(), Counter()
    for a in funded_apps:
        for t in a.output_targets:
            promised[t.kind] += t.target
    for c in contracts:
        accepted = sorted((r for r in db.session.scalars(sa.select(ProgressReport).where(
            ProgressReport.contract_id == c.id)).all() if r.status == "accepted"), key=lambda r: r.id)
        if accepted:
            for o in accepted[-1].outputs:
                achieved[o.kind] += o.achieved
    grades = Counter(c.application.final_grade or "none" for c in contracts
                     if c.status == "completed" or c.application.final_grade)

    # By funding source, from the finance ledger of each call (its own code path).
    sources = defaultdict(Counter)
    for call in calls:
        kinds = {s.id: s.kind for s in call.funding_sources}
        ledger = call_ledger(call)
        for line in ledger.sources:
            k = kinds.get(line.source_id, "")
            for what in ("budget", "committed", "paid", "withheld", "reclaimed"):
                sources[k][what] += getattr(line, f"{what}_fen")
    return dict(total=total, by=by, promised=promised, achieved=achieved, grades=grades, sources=sources)


FIELDS = ("received", "eligible", "funded", "requested_fen", "awarded_fen", "paid_fen", "withheld_fen",
          "reclaimed_fen")


def _as_dict(fig, extra=()) -> dict:
    return {k: getattr(fig, k) for k in FIELDS + tuple(extra)}


def _check(board, exp) -> None:
    extra = ("orgs_applied", "orgs_funded", "streets", "communities")
    assert _as_dict(board.total, extra) == {k: exp["total"][k] for k in FIELDS + extra}
    for dim, groups in (("year", board.by_year), ("category", board.by_category), ("district", board.by_district)):
        want = {k: {f: c[f] for f in FIELDS} for k, c in exp["by"][dim].items()}
        assert {k: _as_dict(g) for k, g in groups.items()} == want, dim
    for year, g in board.by_year.items():
        assert (g.orgs_applied, g.orgs_funded, g.streets, g.communities) == tuple(
            exp["by"]["year"][year][k] for k in extra), year
    assert {o.kind: o.promised for o in board.outputs if o.promised} == dict(exp["promised"])
    assert {o.kind: o.achieved for o in board.outputs if o.achieved} == {k: v for k, v in exp["achieved"].items() if v}
    assert {g: n for g, n in board.grades.items()} == dict(exp["grades"])
    got = {s.kind: dict(budget=s.budget_fen, committed=s.awarded_fen, paid=s.paid_fen, withheld=s.withheld_fen,
                        reclaimed=s.reclaimed_fen) for s in board.by_source}
    assert got == {k: {w: v[w] for w in ("budget", "committed", "paid", "withheld", "reclaimed")}
                   for k, v in exp["sources"].items()}


def _calls(where) -> list[Call]:
    return [c for c in db.session.scalars(sa.select(Call).order_by(Call.id)).all() if c.status != "draft" and where(c)]


def _board(unit_id, **args):
    from werkzeug.datastructures import MultiDict

    board, _calls_menu = svc.dashboard_for(unit_id, svc.Filters.from_args(MultiDict(args)))
    return board


def test_every_figure_matches_independent_sums(world, app):
    with app.app_context():
        board = _board(world["city"])
        exp = _expected(_calls(lambda c: True))
        _check(board, exp)
        # The programme as built: a few figures stated outright, as a bureau would report them.
        t = board.total
        assert (t.received, t.eligible, t.funded) == (16, 12, 9)
        assert t.awarded_fen == 7_000_000 + 6_000_000 + 4_500_000 + 8_000_000 + 5_000_000 + 3_333_333 \
            + 7_000_000 + 5_500_000 + 6_000_000
        assert t.reclaimed_fen == 300_000 and t.withheld_fen > 0 and t.paid_fen > 0
        assert sum(s.awarded_fen for s in board.by_source) == t.awarded_fen
        assert sum(s.paid_fen for s in board.by_source) == t.paid_fen
        assert sum(s.withheld_fen for s in board.by_source) == t.withheld_fen
        assert board.grades == {"excellent": 2, "good": 2, "pass": 1, "fail": 1}
        assert set(board.by_year) == {2024, 2025, 2026}
        assert set(board.by_district) == {"甲区", "乙区", "丙区", ""}


@pytest.mark.parametrize("args, where", [
    ({"year": "2025"}, lambda c: c.year == 2025),
    ({"from": "2025", "to": "2026"}, lambda c: c.year >= 2025),
    ({"from": "2026", "to": "2024"}, lambda c: True),  # a reversed range is read the right way round
    ({"to": "2024"}, lambda c: c.year <= 2024),
    ({"level": "district"}, lambda c: c.level == "district"),
    ({"level": "city", "year": "2026"}, lambda c: c.level == "city" and c.year == 2026),
])
def test_filters_by_year_range_and_level(world, app, args, where):
    with app.app_context():
        _check(_board(world["city"], **args), _expected(_calls(where)))


def test_filter_by_call(world, app):
    with app.app_context():
        call_id = world["calls"][2024]
        board = _board(world["city"], call=str(call_id))
        _check(board, _expected(_calls(lambda c: c.id == call_id)))
        assert board.total.funded == 3 and board.coverage_year == 2024


def test_a_district_sees_its_own_subtree_only(world, app):
    with app.app_context():
        board = _board(world["d1"])
        _check(board, _expected(_calls(lambda c: c.id in (world["district_call"], world["street_call"]))))
        assert board.total.received == 2 and board.total.funded == 0
        assert [(line.level, line.total, line.covered) for line in board.coverage] == [
            ("district", 1, 1), ("street", 2, 1)]
        empty = _board(world["d2"])  # its only call is a draft
        assert empty.total.received == 0 and empty.by_year == {}


def test_coverage_against_configured_targets(world, app):
    with app.app_context():
        lines = {line.level: line for line in _board(world["city"]).coverage}
        district, street = lines["district"], lines["street"]
        assert (district.total, district.covered, district.target_pct, district.met) == (2, 1, 100, False)
        assert (street.total, street.covered, street.target_pct, street.target_count, street.met) == (3, 1, 50, 2, False)
        assert dict(street.units) == {"甲区和平桥街道办事处": True, "甲区观音山街道办事处": False, "乙区城东街道办事处": False}
        assert {line.level: line.covered for line in _board(world["city"], year="2025").coverage} == {
            "district": 0, "street": 0}
        app.config["DASHBOARD_TARGET_STREET_PCT"] = 30
        try:
            street = {line.level: line for line in _board(world["city"]).coverage}["street"]
            assert (street.target_count, street.met) == (1, True)
        finally:
            app.config["DASHBOARD_TARGET_STREET_PCT"] = 50


def _drill(unit_id, f, **drill) -> tuple[int, svc.ProjectMoney]:
    unit_ids, _units = svc.unit_tree(unit_id)
    apps = db.session.scalars(svc.drill_query(unit_ids, f, svc.Drill(**drill))).unique().all()
    money = svc.project_money([a.id for a in apps])
    total = svc.ProjectMoney()
    for m in money.values():
        for k in ("awarded_fen", "paid_fen", "withheld_fen", "reclaimed_fen"):
            setattr(total, k, getattr(total, k) + getattr(m, k))
    return len(apps), total, sum(a.requested_fen for a in apps)


@pytest.mark.parametrize("args", [{}, {"year": "2024"}, {"from": "2025", "to": "2026"}])
def test_every_figure_drills_down_to_the_projects_it_adds_up(world, app, args):
    from werkzeug.datastructures import MultiDict

    with app.app_context():
        f = svc.Filters.from_args(MultiDict(args))
        board = _board(world["city"], **args)
        groups = [({}, board.total)]
        groups += [({"year": y}, g) for y, g in board.by_year.items()]
        groups += [({"category": k}, g) for k, g in board.by_category.items()]
        groups += [({"district": k}, g) for k, g in board.by_district.items()]
        for group, g in groups:
            n, _m, requested = _drill(world["city"], f, set="received", **group)
            assert (n, requested) == (g.received, g.requested_fen), group
            assert _drill(world["city"], f, set="eligible", **group)[0] == g.eligible, group
            n, m, _r = _drill(world["city"], f, set="funded", **group)
            assert (n, m.awarded_fen) == (g.funded, g.awarded_fen), group
            assert _drill(world["city"], f, set="paid", **group)[1].paid_fen == g.paid_fen, group
            assert _drill(world["city"], f, set="withheld", **group)[1].withheld_fen == g.withheld_fen, group
            assert _drill(world["city"], f, set="reclaimed", **group)[1].reclaimed_fen == g.reclaimed_fen, group
        for grade, _label, n in board.grade_rows:
            assert _drill(world["city"], f, set="finished", grade=grade)[0] == n, grade
        for s in board.by_source:
            # The projects charged to a source: together they were awarded at least its share.
            n, m, _r = _drill(world["city"], f, set="funded", source=s.kind)
            assert (n > 0) == (s.awarded_fen > 0) and m.awarded_fen >= s.awarded_fen


def test_summary_rows_kept_through_the_programme_equal_a_rebuild(world, app):
    """The per-project rows the dashboard adds up, kept commit by commit while the programme was built
    through the services, are exactly what a rebuild from the contracts, payments and reports gives."""
    from grants.dashboard.models import ProjectOutputSummary, ProjectSourceSummary, ProjectSummary
    from grants.dashboard.summary import rebuild_all

    def rows():
        out = []
        for model in (ProjectSummary, ProjectSourceSummary, ProjectOutputSummary):
            cols = [c for c in model.__table__.columns if c.name != "id"]
            out.append(sorted(tuple(r) for r in db.session.execute(sa.select(*cols)).all()))
        return out

    with app.app_context():
        kept = rows()
        funded = db.session.scalar(sa.select(sa.func.count()).select_from(Award).where(Award.status == "confirmed"))
        assert len(kept[0]) == funded > 5 and len(kept[1]) > funded and kept[2]
        rebuild_all()
        assert rows() == kept
        db.session.rollback()
