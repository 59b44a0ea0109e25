"""Date phrases ("last week", "Friday", "24 March", "March 2025", "2024") read as spans of days before a given day.

The building blocks of `rag.timewindow`: the regular expressions that find a date phrase and
`read_date`, which turns one into its first and last day. Numeric dates such as "3/24" go to
dateparser (US month-first order, as dateparser reads English).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")  # English whatever the locale: questions and answers are in English
MONTHS = {name.lower(): i for i, name in enumerate(MONTH_NAMES, start=1)} | {
    name.lower()[:3]: i for i, name in enumerate(MONTH_NAMES, start=1)} | {"sept": 9}
WEEKDAYS = {name: i for i, name in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "few": 3, "couple": 2, "several": 5}

WEEKDAY = "(?:" + "|".join(WEEKDAYS) + ")"
_MONTH_FULL = "(?:" + "|".join(name.lower() for name in MONTH_NAMES) + ")"
_MONTH_ANY = "(?:" + "|".join(name.lower() for name in MONTH_NAMES) + r"|(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:19|20)\d\d(?!\d)"
RELATIVE_WORDS = (
    r"(?:today|tonight|yesterday|last night|this (?:morning|afternoon|evening)"
    r"|(?:earlier )?this (?:week|weekend|month|year)|last (?:week|weekend|month|year))"
)
# a date phrase; longer forms first, since a regex alternation takes the first that matches
DATE = (
    rf"(?:{RELATIVE_WORDS}|(?:last |this past )?{WEEKDAY}|\d{{4}}-\d\d-\d\d"
    rf"|(?:the )?{_DAY} (?:of )?{_MONTH_ANY}(?:,? {_YEAR})?|{_MONTH_ANY} (?:the )?{_DAY}(?:,? {_YEAR})?"
    rf"|{_MONTH_ANY},? {_YEAR}|{_MONTH_FULL}|{_YEAR}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?)"
)

Span = tuple[date, date]


def iso_day(value: object) -> date | None:
    """The day an ISO date or time starts with ("2025-03-07", "2025-03-07T09:30:00Z"); None when there is none."""
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def count(word: str | None) -> int:
    """"3" -> 3, "three" -> 3, "a" -> 1, "few" -> 3; a missing number is 1 ("the past week")."""
    if not word:
        return 1
    word = word.lower().removesuffix(" of")
    return int(word) if word.isdigit() else _NUMBERS.get(word, 1)


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), kept inside the target month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_span(day: date) -> Span:
    """The first and last day of the month of `day`."""
    return day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1])


def weekday_before(name: str, today: date, strictly: bool = False) -> date:
    """The latest such weekday on or before `today` (strictly before with `strictly`)."""
    back = (today.weekday() - WEEKDAYS[name.lower()]) % 7
    return today - timedelta(days=back or (7 if strictly else 0))


def read_date(text: str, today: date, before: bool = False, like: date | None = None) -> Span | None:
    """The first and last day a date phrase names, the latest one not after `today`.

    `before`: a weekday means the one strictly before today ("since Friday" said on a Friday).
    `like`: a day, month or year the phrase leaves out is taken from it ("3" in "between 3 and 10 March").
    """
    words = " ".join(text.lower().replace(",", " ").replace(".", " ").split())
    words = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", r"\1", words)
    words = " ".join(w for w in words.split() if w not in ("the", "of"))
    return (_relative(words, today) or _weekday(words, today, before) or _calendar(words, today, like)
            or _numeric(words, today))


def _relative(words: str, today: date) -> Span | None:
    monday = today - timedelta(days=today.weekday())
    words = words.removeprefix("earlier ")
    if words in ("today", "tonight") or words.startswith("this ") and words[5:] in ("morning", "afternoon", "evening"):
        return today, today
    spans: dict[str, Span] = {
        "yesterday": (today - timedelta(days=1),) * 2,  # type: ignore[dict-item]
        "last night": (today - timedelta(days=1), today),
        "this week": (monday, today),
        "last week": (monday - timedelta(days=7), monday - timedelta(days=1)),
        "this weekend": _weekend(today, include_today=True),
        "last weekend": _weekend(today, include_today=False),
        "this month": (today.replace(day=1), today),
        "last month": month_span(add_months(today.replace(day=1), -1)),
        "this year": (date(today.year, 1, 1), today),
        "last year": (date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)),
    }
    return spans.get(words)


def _weekend(today: date, include_today: bool) -> Span:
    """The latest Saturday-Sunday that has begun by today (with `include_today`) or ended before it."""
    saturday = weekday_before("saturday", today, strictly=not include_today)
    if not include_today and today - saturday < timedelta(days=2):
        saturday -= timedelta(days=7)
    return saturday, saturday + timedelta(days=1)


def _weekday(words: str, today: date, before: bool) -> Span | None:
    match = re.fullmatch(rf"(last |this past )?({WEEKDAY})", words)
    if not match:
        return None
    day = weekday_before(match.group(2), today, strictly=before or bool(match.group(1)))
    return day, day


def _calendar(words: str, today: date, like: date | None) -> Span | None:
    """ISO dates, "24 march 2025", "march 24", "march 2025", "march", "2024", and a bare day with `like`."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d", words):
        try:
            day = date.fromisoformat(words)
        except ValueError:
            return None
        return day, day
    if re.fullmatch(r"(19|20)\d\d", words):
        return date(int(words), 1, 1), date(int(words), 12, 31)
    parts = words.split()
    months = [MONTHS[p] for p in parts if p in MONTHS]
    numbers = [int(p) for p in parts if p.isdigit()]
    years = [n for n in numbers if n >= 1900]
    days = [n for n in numbers if n < 1900]
    if len(months) > 1 or len(days) > 1 or len(years) > 1 or not (months or (days and like)):
        return None
    month = months[0] if months else like.month  # type: ignore[union-attr]
    year = years[0] if years else (like.year if like else _nearest_year(month, days[0] if days else None, today))
    if year is None:
        return None
    try:
        return (date(year, month, days[0]),) * 2 if days else month_span(date(year, month, 1))  # type: ignore[return-value]
    except ValueError:
        return None  # 31 February


def _nearest_year(month: int, day: int | None, today: date) -> int | None:
    """The year of the nearest month/day named without a year: this year or last; None when the nearest
    one is still ahead ("the Super Bowl in February" asked on 31 January: nothing is known about it yet)."""
    ahead = (month, day or 1) > (today.month, today.day if day else 1)
    if not ahead:
        return today.year
    months_ahead = month - today.month + (day is not None and month == today.month)
    return None if months_ahead <= 12 - months_ahead else today.year - 1


def _numeric(words: str, today: date) -> Span | None:
    """3/24 or 3/24/2025, read by dateparser (month first), the latest such day not after today."""
    if not re.fullmatch(r"\d{1,2}/\d{1,2}(?:/\d{2,4})?", words):
        return None
    import dateparser

    parsed = dateparser.parse(words, languages=["en"], settings={
        "RELATIVE_BASE": datetime(today.year, today.month, today.day), "PREFER_DATES_FROM": "past"})
    if parsed is None:
        return None
    return parsed.date(), parsed.date()
