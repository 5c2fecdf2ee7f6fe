"""Open data: the funded projects as CSV and as JSON following the 360Giving Data Standard.

Identifiers: a grant is `<GRANTS_360_PREFIX>-<award id>` (the award exists from the moment the project
is public, while the contract comes later, and a 360Giving id must never change); a recipient with a
统一社会信用代码 is `CN-USCI-<code>` (the org-id.guide list code of the unified social credit code, which
360Giving tools recognise), one only filed (备案) is `<prefix>-ORG-<id>`; the host unit (the funder) is
`CN-USCI-<its own code>` where the unit has one, else `<prefix>-UNIT-<id>`. Amounts are yuan numbers made
from integer fen without rounding.

While the prefix is the placeholder a production server refuses to publish the files (`prefix_missing`):
every id made from it would change once the bureau registers its own, and two bureaus would clash.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from flask import current_app

from grants.disclosure.services import Programme, PublicProject

CURRENCY = "CNY"
USCC_SCHEME = "CN-USCI"
COUNTRY_CODE = "CN"
PLACEHOLDER_PREFIX = "360G-grants"

# 360Giving's spreadsheet column titles, so the CSV loads into the standard's tools as it is; the two last
# columns are this platform's additions.
CSV_COLUMNS = (
    "Identifier", "Title", "Description", "Currency", "Amount Awarded", "Amount Disbursed", "Award Date",
    "Recipient Org:Identifier", "Recipient Org:Name", "Funding Org:Identifier", "Funding Org:Name",
    "Grant Programme:Code", "Grant Programme:Title", "Planned Dates:Start Date", "Planned Dates:End Date",
    "Classifications:Title", "Project Status", "Final Grade",
)
# Each service area in the standard's numbered columns (Beneficiary Location:0:Name, …:0:Country Code, …:1:Name …),
# as many groups as the project with the most areas needs; they follow the grant's own columns.
LOCATION_COLUMNS = ("Name", "Country Code")


def prefix() -> str:
    return current_app.config["GRANTS_360_PREFIX"]


def prefix_missing() -> bool:
    """True when the open data must not be served: production still carries the placeholder prefix."""
    return bool(current_app.config.get("OPEN_DATA_REQUIRES_PREFIX")) and prefix().strip() in ("", PLACEHOLDER_PREFIX)


def yuan_number(fen: int) -> int | float:
    """Integer fen as a JSON number of yuan: 5000000 → 50000, 1234567 → 12345.67 (the shortest float that
    prints back as exactly these two decimals)."""
    whole, cents = divmod(int(fen), 100)
    return whole if cents == 0 else float(f"{whole}.{cents:02d}")


def grant_id(project: PublicProject) -> str:
    return f"{prefix()}-{project.award_id}"


def recipient_id(project: PublicProject) -> str:
    if project.organization_uscc:
        return f"{USCC_SCHEME}-{project.organization_uscc}"
    return f"{prefix()}-ORG-{project.organization_id}"


def funder_id(programme: Programme) -> str:
    if programme.host_unit_uscc:
        return f"{USCC_SCHEME}-{programme.host_unit_uscc}"
    return f"{prefix()}-UNIT-{programme.host_unit_id}"


def programme_code(programme: Programme) -> str:
    return f"{prefix()}-CALL-{programme.id}"


def _dates(project: PublicProject, programme: Programme):
    start = project.start_on or programme.start_on
    end = project.end_on or programme.end_on
    return start, end


def grant_360(project: PublicProject, programme: Programme) -> dict:
    """One grant object of the 360Giving standard: its required fields, then what is known."""
    grant = {
        "id": grant_id(project),
        "title": project.title,
        "description": project.summary or project.title,
        "currency": CURRENCY,
        "amountAwarded": yuan_number(project.amount_awarded_fen),
        "awardDate": project.award_date.isoformat() if project.award_date else None,
        "recipientOrganization": [{"id": recipient_id(project), "name": project.organization_name}],
        "fundingOrganization": [{"id": funder_id(programme), "name": programme.host_unit_name}],
        "amountDisbursed": yuan_number(project.amount_paid_fen),
        "grantProgramme": [{"code": programme_code(programme), "title": programme.title}],
    }
    start, end = _dates(project, programme)
    if start and end:
        grant["plannedDates"] = [{"startDate": start.isoformat(), "endDate": end.isoformat()}]
    if project.service_areas:
        grant["beneficiaryLocation"] = [{"name": name, "countryCode": COUNTRY_CODE} for name in project.service_areas]
    if project.category:
        grant["classifications"] = [{"title": project.category}]
    return grant


def json_360(projects: list[PublicProject], programmes: dict[int, Programme]) -> str:
    """A 360Giving data package: {"grants": [...]}, built whole (iter_json_360 writes the same text piece
    by piece)."""
    package = {"grants": [grant_360(p, programmes[p.call_id]) for p in projects if p.call_id in programmes]}
    return json.dumps(package, ensure_ascii=False, indent=2)


def _cell(value) -> str:
    """Text as the spreadsheet should show it: a leading = + - @ would start a formula in Excel."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def iter_json_360(projects: Iterable[PublicProject], programmes: dict[int, Programme]) -> Iterator[str]:
    """json_360's text, byte for byte, one grant at a time: json.dumps(indent=2) nests each grant two levels
    deep, so a grant is its own dump with every line indented by four spaces."""
    first = True
    for p in projects:
        if p.call_id not in programmes:
            continue
        grant = json.dumps(grant_360(p, programmes[p.call_id]), ensure_ascii=False, indent=2)
        yield ("{\n  \"grants\": [\n" if first else ",\n") + "\n".join("    " + line for line in grant.split("\n"))
        first = False
    yield '{\n  "grants": []\n}' if first else "\n  ]\n}"


def csv_360(projects: list[PublicProject], programmes: dict[int, Programme]) -> str:
    """The same grants as a CSV in 360Giving's column titles (UTF-8 with a BOM so Excel reads Chinese)."""
    places = max([len(p.service_areas) for p in projects if p.call_id in programmes] + [1])
    return "".join(iter_csv_360(projects, programmes, places))


def iter_csv_360(projects: Iterable[PublicProject], programmes: dict[int, Programme], places: int) -> Iterator[str]:
    """csv_360's text a row at a time; `places` (the most service areas of any project, at least one) must be
    known first, for the header (services.max_service_areas counts it in the database)."""
    places = max(places, 1)
    out = io.StringIO()
    writer = csv.writer(out)

    def take() -> str:
        text = out.getvalue()
        out.seek(0)
        out.truncate()
        return text

    writer.writerow([*CSV_COLUMNS, *(f"Beneficiary Location:{i}:{col}" for i in range(places)
                                     for col in LOCATION_COLUMNS)])
    yield "\ufeff" + take()
    for p in projects:
        prog = programmes.get(p.call_id)
        if prog is None:
            continue
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
        yield take()
