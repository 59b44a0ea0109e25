"""Dates typed into the chat's filter boxes: the forms people write, read one way or refused with a reason.

    parse_day("2021-9-2", "From")       # date(2021, 9, 2)
    parse_day("2 Sep 2021", "From")     # date(2021, 9, 2)
    parse_day("yesterday", "From")      # today - 1 day
    parse_day("09/02/2021", "From")     # QueryError: 2 Sep or 9 Feb? write 2021-09-02 or 2021-02-09

The chat shows the day it understood next to the filters, so nothing is applied silently.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from rag.errors import QueryError

_NUMERIC = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_WORDED = ("%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y", "%b %d, %Y", "%B %d, %Y", "%d %b, %Y", "%d %B, %Y")
_RELATIVE = {"today": 0, "yesterday": -1}


def parse_day(value: object, label: str, today: date | None = None) -> date | None:
    """The day a filter box means (None when empty); a QueryError naming the box when it is not one day."""
    text = " ".join(str(value or "").split())
    if not text:
        return None
    today = today or date.today()
    if text.lower() in _RELATIVE:
        return today + timedelta(days=_RELATIVE[text.lower()])
    numeric = _NUMERIC.match(text)
    if numeric:
        return _day(int(numeric[1]), int(numeric[2]), int(numeric[3]), text, label)
    other = _DAY_FIRST_OR_MONTH_FIRST.match(text)
    if other:
        return _day_or_month_first(int(other[1]), int(other[2]), int(other[3]), text, label)
    for form in _WORDED:
        try:
            return datetime.strptime(text.replace(".", ""), form).date()
        except ValueError:
            continue
    raise QueryError(f"“{label}” must be a date like 2021-08-01, not “{text}”")


def _day(year: int, month: int, day: int, text: str, label: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise QueryError(f"“{label}” must be a date like 2021-08-01, not “{text}” (no such day)") from None


def _day_or_month_first(first: int, second: int, year: int, text: str, label: str) -> date:
    """12/31/2021 and 31/12/2021 can only be read one way; 09/02/2021 could be either, so it is refused."""
    if first <= 12 and second <= 12 and first != second:
        a, b = date(year, first, second), date(year, second, first)
        raise QueryError(f"“{label}” “{text}” could be {_spoken(a)} or {_spoken(b)}; "
                         f"write it as {a.isoformat()} or {b.isoformat()}")
    month, day = (first, second) if second > 12 else (second, first)
    return _day(year, month, day, text, label)


def _spoken(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"
