"""The open-data files as they were built before streaming (main at fc36886, verbatim): the whole list of
projects loaded, then one string. The streamed, cached files must equal these byte for byte."""
from __future__ import annotations

import csv
import io
import json

from grants.disclosure import services
from grants.disclosure.exports import (
    COUNTRY_CODE, CSV_COLUMNS, CURRENCY, LOCATION_COLUMNS, _cell, _dates, funder_id, grant_360, grant_id,
    programme_code, recipient_id, yuan_number,
)
from grants.extensions import db
from grants.disclosure.services import Award, _add_paid, _add_service_areas, _projects_stmt, _to_project


def public_projects(call=None):
    stmt = _projects_stmt(call.id if call is not None else None)
    rows = db.session.execute(stmt.order_by(Award.call_id, Award.id)).all()
    items = [_to_project(r) for r in rows]
    _add_paid(items)
    _add_service_areas(items)
    return items


def json_360(projects, programmes) -> str:
    package = {"grants": [grant_360(p, programmes[p.call_id]) for p in projects if p.call_id in programmes]}
    return json.dumps(package, ensure_ascii=False, indent=2)


def csv_360(projects, programmes) -> str:
    rows = [(p, programmes[p.call_id]) for p in projects if p.call_id in programmes]
    places = max([len(p.service_areas) for p, _prog in rows] + [1])
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *(f"Beneficiary Location:{i}:{col}" for i in range(places)
                                     for col in LOCATION_COLUMNS)])
    for p, prog in rows:
        start, end = _dates(p, prog)
        locations = []
        for i in range(places):
            name = p.service_areas[i] if i < len(p.service_areas) else ""
            locations += [_cell(name), COUNTRY_CODE if name else ""]
        writer.writerow([
            _cell(grant_id(p)), _cell(p.title), _cell(p.summary or p.title), CURRENCY,
            yuan_number(p.amount_awarded_fen), yuan_number(p.amount_paid_fen),
            p.award_date.isoformat() if p.award_date else "", _cell(recipient_id(p)), _cell(p.organization_name),
            _cell(funder_id(prog)), _cell(prog.host_unit_name), _cell(programme_code(prog)), _cell(prog.title),
            start.isoformat() if start else "", end.isoformat() if end else "",
            _cell(p.category), str(p.status_label), str(p.grade_label), *locations,
        ])
    return out.getvalue()


def files(call=None) -> dict[str, bytes]:
    """{"csv": …, "json": …} as the old views sent them (the text encoded as UTF-8)."""
    programmes = services.programmes([call.id] if call is not None else None)
    projects = public_projects(call)
    return {"csv": csv_360(projects, programmes).encode(), "json": json_360(projects, programmes).encode()}
