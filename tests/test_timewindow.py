"""Relative dates in questions: a table of phrases, as-of days and the windows they must give."""

from __future__ import annotations

from datetime import date

import pytest

from rag.errors import ConfigError, QueryError
from rag.retrieval.asof import as_of_moment, read_time, search_text, zone
from rag.timewindow import resolve_window

FRI = date(2025, 3, 28)  # a Friday
D = date

# (question, as-of day, expected start, expected end, hard)
TABLE = [
    ("What happened today in Gaza?", FRI, FRI, FRI, False),
    ("What happened yesterday in Gaza?", FRI, D(2025, 3, 27), D(2025, 3, 27), False),
    ("What happened yesterday?", D(2025, 3, 1), D(2025, 2, 28), D(2025, 2, 28), False),  # month boundary
    ("What happened yesterday?", D(2025, 1, 1), D(2024, 12, 31), D(2024, 12, 31), False),  # year boundary
    ("Who won the election this week?", FRI, D(2025, 3, 24), FRI, False),  # weeks start on Monday
    ("Who won the election this week?", D(2025, 3, 31), D(2025, 3, 31), D(2025, 3, 31), False),
    ("What did the council decide last week?", FRI, D(2025, 3, 17), D(2025, 3, 23), False),
    ("What did the council decide last week?", D(2025, 1, 2), D(2024, 12, 23), D(2024, 12, 29), False),
    ("Who resigned this month?", FRI, D(2025, 3, 1), FRI, False),
    ("What happened last month?", FRI, D(2025, 2, 1), D(2025, 2, 28), False),
    ("What happened last month?", D(2025, 1, 15), D(2024, 12, 1), D(2024, 12, 31), False),
    ("What happened last month?", D(2024, 3, 10), D(2024, 2, 1), D(2024, 2, 29), False),  # leap year
    ("What changed this year?", FRI, D(2025, 1, 1), FRI, False),
    ("What changed last year?", FRI, D(2024, 1, 1), D(2024, 12, 31), False),
    ("What happened on Monday?", FRI, D(2025, 3, 24), D(2025, 3, 24), False),
    ("What happened on Friday?", FRI, FRI, FRI, False),  # today is Friday
    ("What happened last Friday?", FRI, D(2025, 3, 21), D(2025, 3, 21), False),
    ("What happened in March?", FRI, D(2025, 3, 1), FRI, False),  # never past the as-of day
    ("What happened in December?", D(2025, 1, 5), D(2024, 12, 1), D(2024, 12, 31), False),  # the nearest December
    ("What happened in October?", D(2025, 3, 28), D(2024, 10, 1), D(2024, 10, 31), False),  # 5 months back, 7 ahead
    ("What happened in May 2024?", FRI, D(2024, 5, 1), D(2024, 5, 31), False),
    ("Who won in 2024?", FRI, D(2024, 1, 1), D(2024, 12, 31), False),
    ("What happened on 24 March 2025?", FRI, D(2025, 3, 24), D(2025, 3, 24), False),
    ("What happened on March 24?", FRI, D(2025, 3, 24), D(2025, 3, 24), False),
    ("What happened over the past three days?", FRI, D(2025, 3, 25), FRI, False),
    ("What happened in the past week?", FRI, D(2025, 3, 21), FRI, False),
    ("What happened in the last 24 hours?", FRI, D(2025, 3, 27), FRI, False),
    ("What happened 3 days ago?", FRI, D(2025, 3, 25), D(2025, 3, 25), False),
    ("What happened two weeks ago?", FRI, D(2025, 3, 10), D(2025, 3, 16), False),
    ("What has happened since Friday?", FRI, D(2025, 3, 21), FRI, True),  # the Friday before today
    ("What has happened since 1 March?", FRI, D(2025, 3, 1), FRI, True),
    ("What has happened since last week?", FRI, D(2025, 3, 17), FRI, True),
    ("What has happened since 2020?", FRI, D(2020, 1, 1), FRI, True),
    ("What has happened since 3/24?", FRI, D(2025, 3, 24), FRI, True),  # numeric dates: dateparser
    ("What happened after Monday?", FRI, D(2025, 3, 25), FRI, False),  # a preference: Monday's reports may count
    ("What happened between 3 March and 10 March 2025?", FRI, D(2025, 3, 3), D(2025, 3, 10), True),
    ("What happened between 3 and 10 March?", FRI, D(2025, 3, 3), D(2025, 3, 10), True),
    ("What happened from March 3 to March 10, 2025?", FRI, D(2025, 3, 3), D(2025, 3, 10), True),
    ("What happened between 20 December 2024 and 5 January 2025?", FRI, D(2024, 12, 20), D(2025, 1, 5), True),
    ("What happened before 1 March?", FRI, None, D(2025, 2, 28), False),
    ("Between last Monday and today, what happened?", FRI, D(2025, 3, 24), FRI, True),
]

NO_WINDOW = [
    "What is the latest on the tariffs?",  # recency, not a window
    "What may happen to the march on Washington?",  # a verb and a noun, not months
    "Who won the 2024 election?",  # a year naming an event
    "What will happen next week?",  # the future: nothing is known yet
    "Which two NFL teams are set to face off at the Super Bowl in February?",  # asked on 31 January (below)
    "What will the tariff be from 3 April?",
    "What will happen in August?",  # 5 months ahead is nearer than 7 months back
    "What did the JSOC drone unit call themselves?",
]


@pytest.mark.parametrize(("question", "today", "start", "end", "hard"), TABLE, ids=[f"{t[0]}@{t[1]}" for t in TABLE])
def test_phrase_gives_window(question: str, today: date, start: date | None, end: date, hard: bool) -> None:
    window = resolve_window(question, today)
    assert window is not None, question
    assert (window.start, window.end, window.hard) == (start, end, hard)
    assert window.phrase.lower() in question.lower()


@pytest.mark.parametrize("question", NO_WINDOW)
def test_no_window(question: str) -> None:
    today = D(2025, 1, 31) if "February" in question else FRI
    assert resolve_window(question, today) is None


@pytest.mark.parametrize(("moment", "tz", "day", "this_month"), [
    ("2025-03-31T23:30:00+00:00", "Asia/Tokyo", D(2025, 4, 1), (D(2025, 4, 1), D(2025, 4, 1))),  # already April there
    ("2025-03-31T23:30:00+00:00", "America/New_York", D(2025, 3, 31), (D(2025, 3, 1), D(2025, 3, 31))),
    ("2025-03-31T23:30:00+00:00", "UTC", D(2025, 3, 31), (D(2025, 3, 1), D(2025, 3, 31))),
    ("2025-01-01T00:30:00+01:00", "Europe/London", D(2024, 12, 31), (D(2024, 12, 1), D(2024, 12, 31))),  # still 2024
    ("2025-03-31T23:30:00", "Asia/Tokyo", D(2025, 3, 31), (D(2025, 3, 1), D(2025, 3, 31))),  # naive: local time
    ("2025-03-31", "Pacific/Auckland", D(2025, 3, 31), (D(2025, 3, 1), D(2025, 3, 31))),  # a date: that day
])
def test_as_of_day_in_the_time_zone(moment: str, tz: str, day: date, this_month: tuple[date, date]) -> None:
    when = read_time("What happened this month?", moment, zone(tz))
    assert when.day == day
    assert when.window is not None and (when.window.start, when.window.end) == this_month
    assert read_time("What happened yesterday?", moment, zone(tz)).window.start == day.fromordinal(day.toordinal() - 1)  # type: ignore[union-attr]


def test_window_in_words() -> None:
    assert resolve_window("this week", FRI).describe() == "24 to 28 March 2025"  # type: ignore[union-attr]
    assert resolve_window("last month", D(2025, 1, 15)).describe() == "1 to 31 December 2024"  # type: ignore[union-attr]
    assert resolve_window("since 20 December 2024", FRI).describe() == "20 December 2024 to 28 March 2025"  # type: ignore[union-attr]
    assert resolve_window("before 1 March", FRI).describe() == "up to 28 February 2025"  # type: ignore[union-attr]
    assert resolve_window("yesterday", FRI).describe() == "27 March 2025"  # type: ignore[union-attr]


def test_recency_and_search_text() -> None:
    when = read_time("What is the latest on the tariffs?", "2025-03-28", zone("UTC"))
    assert when.recency and when.window is None and when.search == "What is the on the tariffs?"
    assert read_time("What new rules did New York pass?", "2025-03-28", zone("UTC")).search == \
        "What new rules did New York pass?"  # "new" names things; it stays
    assert not read_time("What did the New York Times report?", "2025-03-28", zone("UTC")).recency
    assert when.current  # the latest state: the newest report that answers is quoted
    for event in ("Which virus was recently detected in Nevada?", "Blue Origin launched a new rocket. Its name?"):
        lately = read_time(event, "2025-03-28", zone("UTC"))
        assert lately.recency and not lately.current, event  # an event lately: newer articles rank higher, no more
    week = resolve_window("Who won the election this week?", FRI)
    assert search_text("Who won the election this week?", week) == "Who won the election?"
    monday = resolve_window("What did Biden say on Monday?", FRI)
    assert search_text("What did Biden say on Monday?", monday) == "What did Biden say on Monday?"  # articles say it


def test_a_given_as_of_filters_now_does_not() -> None:
    assert read_time("q", "2025-03-01", zone("UTC")).cutoff == D(2025, 3, 1)
    assert read_time("q", "2025-03-01T08:00:00+09:00", zone("UTC")).cutoff == D(2025, 2, 28)  # 23:00 UTC
    assert read_time("q", None, zone("UTC")).cutoff is None


@pytest.mark.parametrize("bad", ["2025-13-01", "yesterday", "28/03/2025", 20250328, True, "0001-01-01T00:00:00+01:00"])
def test_bad_as_of_is_one_clear_error(bad: object) -> None:
    with pytest.raises(QueryError, match="as_of"):
        as_of_moment(bad, zone("UTC"))


def test_windows_near_the_edge_of_the_calendar() -> None:
    assert read_time("What happened 999 years ago?", "1000-06-01", zone("UTC")).window.start == D(1, 1, 1)  # type: ignore[union-attr]
    assert read_time("What happened yesterday?", "9000-01-01", zone("UTC")).window is not None


def test_bad_time_zone() -> None:
    with pytest.raises(ConfigError, match="Europe/Berlin"):
        zone("Mars/Olympus")
