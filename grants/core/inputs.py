"""Input cleaning shared by every form, query string and URL: control characters, bounded integers,
number and date parsing.

Every value a browser sends passes through here before a view or a form sees it (see
`grants.core.web.CleanRequest`), so hostile input becomes a form error or a 404 — never a database error
(PostgreSQL refuses NUL bytes and integers beyond 32/64 bits) or an openpyxl IllegalCharacterError later.
"""
from __future__ import annotations

import datetime as dt
import re

# C0 controls except tab/newline/carriage return, DEL, C1 controls, and the two non-characters. NUL is a 500
# on PostgreSQL; the rest are pasted from Word and break exports (openpyxl) and XML (WeasyPrint, open data).
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# Single-line fields fold line breaks and tabs into one space: a name or a title has one line.
_LINE_BREAK_RE = re.compile("[\t\r\n\u2028\u2029]+")

# The database's integer columns are 32-bit on PostgreSQL: an id, a page or a filter beyond that is no
# object of ours and must not reach the query (OverflowError on SQLite, "integer out of range" on PostgreSQL).
INT_MIN = -(2**31)
INT_MAX = 2**31 - 1

# Full-width digits and punctuation as typed with a Chinese input method; nothing else is translated
# (NFKC would also turn '²' into '2', and Arabic-Indic digits are not a Chinese user's typing).
_FULL_WIDTH = str.maketrans("０１２３４５６７８９－＋．，", "0123456789-+.,")
_INT_RE = re.compile(r"^[+-]?[0-9]{1,12}$")

# Dates before 2000 or after 2100 in this domain are typing slips (year 0001 overflows the UTC conversion,
# year 9999 overflows the first deadline arithmetic).
MIN_YEAR = 2000
MAX_YEAR = 2100


def clean_text(value: str) -> str:
    """Remove control characters, keep tab and line breaks (a textarea's own)."""
    return _CONTROL_RE.sub("", value) if value else value


def single_line(value: str | None) -> str | None:
    """Clean a one-line value: control characters removed, line breaks folded into one space."""
    if not value:
        return value
    return _LINE_BREAK_RE.sub(" ", clean_text(value))


def normalise_digits(text: str) -> str:
    """Full-width digits and signs → ASCII; everything else left as typed."""
    return text.translate(_FULL_WIDTH)


def parse_int(text, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int:
    """An integer typed by a user, or ValueError. Accepts ASCII and full-width digits only: '²' passes
    str.isdigit() but not int(), a 5,000-digit number trips Python's int-size guard, and both used to be 500s."""
    if isinstance(text, bool):
        raise ValueError("not an integer")
    if isinstance(text, int):
        value = text
    else:
        cleaned = normalise_digits(str(text).strip())
        if not _INT_RE.match(cleaned):
            raise ValueError("not an integer")
        value = int(cleaned)
    if not minimum <= value <= maximum:
        raise ValueError("out of range")
    return value


def int_or_none(text, *, minimum: int = INT_MIN, maximum: int = INT_MAX) -> int | None:
    """parse_int, or None for anything that is not an integer in range (filters: an unknown value is no filter)."""
    if text is None:
        return None
    try:
        return parse_int(text, minimum=minimum, maximum=maximum)
    except ValueError:
        return None


def bounded_int(text) -> int:
    """`type=` for request.args.get: an int within the database's range, else ValueError (→ the default)."""
    return parse_int(text)


def year_in_bounds(value: dt.date | dt.datetime | None, min_year: int = MIN_YEAR, max_year: int = MAX_YEAR) -> bool:
    return value is None or min_year <= value.year <= max_year
