"""Relative dates in a question ("last week", "since Friday", "in March") as a window of days.

`resolve_window(question, today)` reads the first time phrase of the question against the as-of day
and returns a `TimeWindow`; "since", "between" and "from ... to" make it hard (a filter), every other
phrase soft (a preference; "after Monday's meeting" is no reason to drop Monday's reports). Weeks start on Monday; a window never reaches past
`today`, since nothing later is known. A small grammar of regular expressions does the reading:
dateparser's `search_dates` took 1-16 ms a question here, returns instants rather than spans and read
"between 3 March and 10 March 2025" as 3 March 2010, so it only parses the odd date formats the
grammar hands it (`rag.timedates.read_date`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from .timedates import (
    DATE,
    MONTH_NAMES,
    MONTHS,
    RELATIVE_WORDS,
    WEEKDAY,
    add_months,
    count,
    month_span,
    read_date,
    weekday_before,
)

Span = tuple[date | None, date]


@dataclass(frozen=True)
class TimeWindow:
    """The days a question is about: `start` to `end` inclusive (`start` None: open); `phrase` says why."""

    start: date | None
    end: date
    phrase: str  # the words of the question it came from, e.g. "last week"
    hard: bool  # True: only articles dated inside are used (since/between); False: they are preferred

    def contains(self, day: str | date | None) -> bool:
        """Whether an article date (ISO text or a date) falls inside; an undated article never does."""
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day[:10])
            except ValueError:
                return False
        if day is None:
            return False
        return (self.start is None or self.start <= day) and day <= self.end

    def describe(self) -> str:
        """The window in words: "24 to 30 March 2025", "2 March 2025", "up to 1 March 2025"."""
        return describe_days(self.start, self.end)

    def to_dict(self) -> dict[str, object]:
        return {"start": self.start.isoformat() if self.start else None, "end": self.end.isoformat(),
                "phrase": self.phrase, "hard": self.hard, "text": self.describe()}


def describe_days(start: date | None, end: date) -> str:
    """Days in words, without repeating the shared month or year."""
    last = f"{end.day} {MONTH_NAMES[end.month - 1]} {end.year}"
    if start is None:
        return f"up to {last}"
    if start == end:
        return last
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day} to {last}"
    if start.year == end.year:
        return f"{start.day} {MONTH_NAMES[start.month - 1]} to {last}"
    return f"{start.day} {MONTH_NAMES[start.month - 1]} {start.year} to {last}"


# --------------------------------------------------------------------------- the grammar
_N = r"(?P<n>\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|few|couple(?: of)?|several)"
_UNIT = r"(?P<unit>hour|day|week|month|year)s?"
Handler = Callable[[re.Match[str], date], "Span | None"]
RULES: list[tuple[re.Pattern[str], Handler, bool]] = []  # (phrase, its span before the as-of day, hard)


def _rule(pattern: str, hard: bool = False) -> Callable[[Handler], Handler]:
    """Register a phrase (a regular expression, matched on word boundaries, any case) and its reader."""
    def add(handler: Handler) -> Handler:
        RULES.append((re.compile(rf"\b(?:{pattern})(?!\w)", re.IGNORECASE), handler, hard))
        return handler
    return add


@_rule(rf"between (?P<x>{DATE}|\d{{1,2}}) (?:and|&) (?P<y>{DATE})|from (?P<x2>{DATE}|\d{{1,2}}) (?:to|until|till|through|thru) (?P<y2>{DATE})", hard=True)
def _between(m: re.Match[str], today: date) -> Span | None:
    first, second = m.group("x") or m.group("x2"), m.group("y") or m.group("y2")
    last = read_date(second, today)
    if last is None:
        return None
    start = read_date(first, today, like=last[1])
    return (start[0], last[1]) if start and start[0] and start[0] <= last[1] else None


@_rule(rf"since (?P<x>{DATE})", hard=True)
def _since(m: re.Match[str], today: date) -> Span | None:
    span = read_date(m.group("x"), today, before=True)
    return (span[0], today) if span else None


@_rule(rf"after (?P<x>{DATE})")
def _after(m: re.Match[str], today: date) -> Span | None:
    span = read_date(m.group("x"), today, before=True)
    return (span[1] + timedelta(days=1), today) if span else None


@_rule(rf"before (?P<x>{DATE})")
def _before(m: re.Match[str], today: date) -> Span | None:
    span = read_date(m.group("x"), today)
    return (None, span[0] - timedelta(days=1)) if span and span[0] else None


@_rule(rf"(?:(?:over|in|during|within|for) )?(?P<the>the )?(?P<which>past|last) (?:{_N} )?{_UNIT}")
def _rolling(m: re.Match[str], today: date) -> Span | None:
    """"the past week", "past 3 days", "the last 24 hours": a span ending today (bare "last week" is the calendar week)."""
    if not (m.group("the") or m.group("n") or m.group("which").lower() == "past"):
        return None
    n, unit = count(m.group("n")), m.group("unit").lower()
    if unit in ("hour", "day"):
        return today - timedelta(days=-(-n // 24) if unit == "hour" else n), today
    if unit == "week":
        return today - timedelta(days=7 * n), today
    return add_months(today, -n if unit == "month" else -12 * n), today


@_rule(rf"{_N} {_UNIT} ago")
def _ago(m: re.Match[str], today: date) -> Span | None:
    n, unit = count(m.group("n")), m.group("unit").lower()
    if unit in ("hour", "day"):
        day = today - timedelta(days=n if unit == "day" else n // 24)
        return day, day
    if unit == "week":
        monday = today - timedelta(days=today.weekday() + 7 * n)
        return monday, monday + timedelta(days=6)
    if unit == "month":
        return month_span(add_months(today, -n))
    return date(today.year - n, 1, 1), date(today.year - n, 12, 31)


@_rule(rf"(?:(?P<last>last|this past|past) )?(?P<wd>{WEEKDAY})(?: (?:night|morning|evening|afternoon))?")
def _weekday(m: re.Match[str], today: date) -> Span | None:
    day = weekday_before(m.group("wd"), today, strictly=bool(m.group("last")))
    return day, day


@_rule(rf"{RELATIVE_WORDS}")
def _relative(m: re.Match[str], today: date) -> Span | None:
    return read_date(m.group(0), today)


@_rule(rf"(?:(?:on|in|of|during|throughout|for|by|at the (?:start|end) of) )?(?:(?:early|mid|late)-? ?)?(?P<x>{DATE})")
def _on(m: re.Match[str], today: date) -> Span | None:
    text = m.group("x").lower()
    bare = text in MONTHS or re.fullmatch(r"(?:19|20)\d\d", text) is not None
    if bare and not re.match(r"(?:in|of|during|throughout|for)\b", m.group(0), re.IGNORECASE):
        return None  # "the 2024 election", "they may march": an event or a verb, not the days asked about
    return read_date(text, today)


def resolve_window(question: str, today: date) -> TimeWindow | None:
    """The time window the question asks about, or None; the first hard phrase wins, else the first one.

    A day, month or year named without a year is the nearest one (none when that is still ahead); a
    weekday the latest on or before today (before today after "since" or "last").
    """
    found = sorted(_matches(question, today), key=lambda item: (not item[3], item[0]))
    if not found:
        return None
    _, phrase, span, hard = found[0]
    start, end = span
    return TimeWindow(start, min(end, today), phrase, hard)


def _matches(question: str, today: date) -> Iterator[tuple[int, str, Span, bool]]:
    for pattern, handler, hard in RULES:
        for m in pattern.finditer(question):
            span = handler(m, today)
            if span is not None and (span[0] is None or span[0] <= today):
                yield m.start(), m.group(0).strip(), span, hard
