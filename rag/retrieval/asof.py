"""The as-of moment and the time a question asks about, and how they shape retrieval and the answer.

`read_time(question, as_of, zone)` turns a question and an as-of moment (default: now) into a
`TimeQuery`: the as-of day in the configured time zone, the question's `TimeWindow`, whether it asks
for the latest state ("latest", "currently", "still", "so far", "new"), and the question to search
for with its relative time words taken out.

Articles dated after the as-of day are never used. A given as_of is a date filter: `cutoff_filters`
adds its day as `until` (so Chroma's `date_num` clause and the BM25 mask both apply it), together with
a hard window, and like any date filter it leaves undated articles out, since nothing shows they were
known by then. Without one (now), everything stored is known, undated articles included, and
`apply_time` drops a passage dated after today. An undated article is never inside a window and never
preferred by recency. Reading the time touches no store: it adds well under a millisecond.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ConfigError, QueryError
from ..records import Filters, Source
from ..store.collection import Store
from ..timedates import MONTHS, WEEKDAYS, iso_day
from ..timewindow import TimeWindow, describe_days, resolve_window

# Words that ask for the current state ("What is the latest...", "Is it still..."): the newest report that
# answers is quoted. Words for an event that happened lately ("recently announced", "a new rocket") only make
# the ranking prefer newer articles; both kinds are recency words.
_STATE_WORDS = (r"latest|newest|most recent|currently|current|right now|now|still|so far|to date|as of (?:now|today)"
                r"|at the moment|at present|these days|up to date")
_CURRENT_STATE = re.compile(r"\b(?:" + _STATE_WORDS + r")\b", re.IGNORECASE)
_RECENCY = re.compile(r"\b(?:most recently|recent(?:ly)?|" + _STATE_WORDS + r"|(?-i:new))\b", re.IGNORECASE)


@dataclass(frozen=True)
class TimeQuery:
    """What a question asks about in time, resolved against the as-of moment."""

    as_of: datetime  # aware
    day: date  # the as-of day in the configured time zone
    window: TimeWindow | None
    recency: bool  # asks about lately ("latest", "recently", "new"): the ranking prefers newer articles
    current: bool  # asks for the current state ("latest", "still", "now"): the newest report that answers is quoted
    search: str  # the question without relative time words, for retrieval and the answerer
    cutoff: date | None  # as_of was given: articles dated after this day (or undated) are not read


def zone(name: str | None) -> tzinfo:
    """The time zone named in the settings (IANA, e.g. Europe/Berlin), else the machine's."""
    if not name:
        return datetime.now().astimezone().tzinfo or ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time_zone {name!r} is not a time zone; use an IANA name such as Europe/Berlin or UTC") from None


def as_of_moment(value: object, tz: tzinfo) -> datetime:
    """An aware moment from None (now), a date (the end of that day), a datetime or ISO text; QueryError otherwise."""
    if value is None or value == "":
        return datetime.now(tz)
    if isinstance(value, str):
        value = _parse_iso(value.strip())
    if isinstance(value, date) and not 1000 <= value.year <= 9000:
        raise QueryError(f"as_of {value.isoformat()} is out of range; give a date between the years 1000 and 9000")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time.max, tz)
    raise QueryError(f"as_of must be a date or time written as text such as 2025-03-28, not {type(value).__name__} {value!r}")


def _parse_iso(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(
            f"as_of {text!r} is not a date or time; write YYYY-MM-DD (the end of that day) or an ISO time "
            "such as 2025-03-28T18:00:00+01:00"
        ) from None


def read_time(question: str, as_of: object, tz: tzinfo) -> TimeQuery:
    """The question's time intent, read against `as_of` (None: now, and no date filter)."""
    moment = as_of_moment(as_of, tz)
    day = moment.astimezone(tz).date()
    try:
        window = resolve_window(question, day)
    except (OverflowError, ValueError):  # "999 years ago" near the edge of the calendar: no window
        window = None
    recency = _RECENCY.search(question) is not None
    current = _CURRENT_STATE.search(question) is not None
    cutoff = None if as_of is None or as_of == "" else day
    return TimeQuery(moment, day, window, recency, current, search_text(question, window), cutoff)


def search_text(question: str, window: TimeWindow | None) -> str:
    """The question without recency words and relative time phrases ("this week"); names of days, months and years stay."""
    text = question
    if window is not None and not _names_a_date(window.phrase):
        text = text.replace(window.phrase, " ")
    text = _RECENCY.sub(lambda m: m.group(0) if m.group(0) == "new" else " ", text)  # "new" names things too
    text = re.sub(r"\s+([?.!,])", r"\1", " ".join(text.split()))
    return text if re.search(r"\w\w", text) else question


def _names_a_date(phrase: str) -> bool:
    """Whether a time phrase names a day, month or year that articles may mention ("Friday", "March", "2024")."""
    words = set(re.findall(r"[a-z]+", phrase.lower()))
    return bool(words & (MONTHS.keys() | WEEKDAYS.keys())) or re.search(r"\d{4}|\d[/-]\d", phrase) is not None


def cutoff_filters(filters: Filters | None, when: TimeQuery | None) -> Filters | None:
    """`filters` narrowed to articles dated on or before the cutoff day and, for a hard window, inside it."""
    if when is None:
        return filters
    cutoff, window = when.cutoff, when.window
    hard = window if window is not None and window.hard else None
    if cutoff is None and hard is None:
        return filters
    base = filters or Filters()
    until = min(d for d in (base.until, cutoff, hard.end if hard else None) if d is not None)
    since = max((d for d in (base.since, hard.start if hard else None) if d is not None), default=None)
    if since is not None and since > until:
        raise QueryError(f"the question asks about {describe_days(hard.start if hard else None, hard.end if hard else until)}, "
                         f"outside the articles the filters and as-of date allow (dated {since} to {until}); "
                         "change the filters or the as-of date")
    return replace(base, since=since, until=until)


class ArticleDates:
    """The stored articles' dates, read again when the store changes; applies a cutoff to dense search.

    Chroma's metadata filter takes 0.3-2 s a query at 40k chunks (any `where`, measured on the
    RealTimeQA store), 100x the search itself. A cutoff that leaves most articles in is therefore
    applied by leaving the later articles out of the committed `versions` the search is given (their
    chunks are skipped like uncommitted ones, and the search reads further), not by a `where` clause.
    """

    SHARE = 0.25  # below this share of articles left in, Chroma's filter is used: skipping would read too far

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cached: tuple[str, dict[str, str | None]] | None = None
        self._lock = threading.Lock()

    def get(self) -> dict[str, str | None]:
        """article id -> ISO date (None when undated)."""
        revision = self.store.revision()
        with self._lock:
            if self._cached is None or self._cached[0] != revision:
                self._cached = (revision, {a.article_id: a.date for a in self.store.articles()})
            return self._cached[1]

    def dense_view(self, given: Filters | None, when: TimeQuery | None,
                   versions: dict[str, str]) -> tuple[Filters | None, dict[str, str]]:
        """The filters and committed versions for the dense search of a question as of `when`."""
        if when is None or when.cutoff is None or not versions:
            return cutoff_filters(given, when), versions
        day, dates = when.cutoff.isoformat(), self.get()
        known = {a: v for a, v in versions.items() if (dates.get(a) or "9999")[:10] <= day}  # undated: not known
        if len(known) < self.SHARE * len(versions):
            return cutoff_filters(given, when), versions
        return cutoff_filters(given, replace(when, cutoff=None)), known


def apply_time(passages: Sequence[Source], when: TimeQuery | None, weight: float) -> list[Source]:
    """The ranked passages as of `when`: none dated after its day (without a cutoff filter, an article
    dated in the future could be found), those inside a soft window moved up `weight` places."""
    if when is None:
        return list(passages)
    known = [p for p in passages if not p.date or str(p.date)[:10] <= when.day.isoformat()]
    return prefer_window(known, when.window, weight)


def prefer_window(passages: Sequence[Source], window: TimeWindow | None, weight: float) -> list[Source]:
    """Passages inside a soft window move up `weight` places (stable; undated ones never count as inside)."""
    if window is None or window.hard or weight <= 0:
        return list(passages)
    def key(item: tuple[int, Source]) -> tuple[float, bool]:
        inside = window.contains(item[1].date)
        return item[0] - weight * inside, not inside  # moved onto an outside passage's place, it goes first

    return [p for _, p in sorted(enumerate(passages), key=key)]


def window_pool(top_k: int, window: TimeWindow | None) -> int:
    """Passages to read before the window preference keeps `top_k`: twice as many for a soft window."""
    return 2 * top_k if window is not None and not window.hard else top_k


TIME_FEATURES = ("dated", "in_window", "near_window", "fresh", "fresh_latest")


def time_features(iso: str | None, when: TimeQuery | None) -> dict[str, float]:
    """An article date against the question's time, as bounded numbers for the learned passage ranking
    (`TIME_FEATURES`; all 0 for an undated article or without `when`):
    `dated` 1 when the article has a date; `in_window` 1 inside the question's window ("this week");
    `near_window` 1 inside it, falling as 7 / (7 + days outside); `fresh` 7 / (7 + days from the article
    to the as-of day), 1 on the day, 0.5 a week before, near 0 for any article a year old, so that asked
    long after the news, no article is preferred for its age; `fresh_latest` is `fresh` for a question
    asking for the latest state, else 0.
    """
    day = iso_day(iso)
    if when is None or day is None:
        return dict.fromkeys(TIME_FEATURES, 0.0)
    window = when.window
    inside = window is not None and window.contains(day)
    gap = 0.0
    if window is not None and not inside:
        gap = float((window.start - day).days if window.start and day < window.start else
                    (day - window.end).days if window.end else 0)
    fresh = 7.0 / (7.0 + max(0, (when.day - day).days))
    return {"dated": 1.0, "in_window": float(inside), "near_window": 7.0 / (7.0 + abs(gap)) if window else 0.0,
            "fresh": fresh, "fresh_latest": fresh if when.recency else 0.0}


def newest_answering(passages: Sequence[Source], margin: float) -> list[Source]:
    """For a recency question: the passages of the newest dated article among those scoring within
    `margin` of the best one (the ones that answer); all passages when none of those is dated."""
    if not passages:
        return []
    best = max(p.score for p in passages)
    dated = [p for p in passages if p.score >= best - margin and p.date]
    if not dated:
        return list(passages)
    newest = max(str(p.date)[:10] for p in dated)
    return [p for p in dated if str(p.date)[:10] == newest]


def time_preamble(when: TimeQuery, given: Sequence[Source], latest: bool, explicit_as_of: bool) -> str:
    """What the answer says about time before its first sentence, from the passages it cites (or, while
    they are not known yet, was given): the window and whether they lie inside it (nothing when none does
    and the window was named by a date, which may be when the event happened rather than when it was
    reported), the date of the latest report (`latest`: the answerer was given the newest passages that
    answer), or the as-of day when it was given."""
    parts = [_window_part(when.window, given)] if when.window is not None else []
    if not any(parts) and explicit_as_of:
        parts = [f"As of {describe_days(when.day, when.day)}"]
    dates = sorted(str(s.date)[:10] for s in given if s.date)
    if latest and dates:
        newest = date.fromisoformat(dates[-1])
        parts.append(f"the latest report ({describe_days(newest, newest)})")
    text = ", ".join(p for p in parts if p)
    if not text:
        return ""
    return text[0].upper() + text[1:] + ": "


def _window_part(window: TimeWindow, given: Sequence[Source]) -> str:
    inside = sum(window.contains(s.date) for s in given)
    if inside == len(given):
        return f"In articles from {window.describe()}"
    if inside:
        return f"In articles from {window.describe()} and other dates"
    if _names_a_date(window.phrase):  # "in 2019" may name when it happened, reported later: say nothing
        return ""
    return f"No article from {window.describe()} answers this; other articles say"
