"""The small records that cross layers: what an answer, a source, a citation and a filter look like."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from .errors import QueryError
from .timewindow import TimeWindow

_LISTS = (list, tuple, set, frozenset)


@dataclass(frozen=True)
class Source:
    """A passage of an article handed to the answerer; `start`/`end` are offsets in the article text."""

    chunk_id: str
    article_id: str
    title: str
    url: str | None
    date: str | None
    text: str
    start: int
    end: int
    score: float
    kind: str = "body"  # "body" or "comment" (a reader comment under the article)
    site: str | None = None
    author: str | None = None
    highlights: tuple[tuple[int, int], ...] = ()  # article offsets of the sentences that support a claim
    chunk_ids: tuple[str, ...] = ()  # the stored chunks this passage spans (neighbours are merged), in order

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["highlights"] = [list(span) for span in self.highlights]
        data["chunk_ids"] = list(self.chunk_ids)
        return data

    def highlighted_parts(self) -> list[tuple[str, bool]]:
        """The passage split into (text, is_highlighted) runs, for display."""
        parts: list[tuple[str, bool]] = []
        cursor = self.start
        for lo, hi in sorted(self.highlights):
            lo, hi = max(lo, self.start), min(hi, self.end)
            if lo >= hi or lo < cursor:
                continue
            if lo > cursor:
                parts.append((self.text[cursor - self.start : lo - self.start], False))
            parts.append((self.text[lo - self.start : hi - self.start], True))
            cursor = hi
        if cursor < self.end:
            parts.append((self.text[cursor - self.start :], False))
        return parts


@dataclass(frozen=True)
class Citation:
    """A [marker] in the answer text pointing at `sources[source_index]`."""

    marker: int
    source_index: int
    support: float = 1.0  # how well the cited passage supports the sentence (0..1)
    start: int | None = None  # article offsets of the supporting sentence
    end: int | None = None
    claim: str = ""  # the answer sentence this marker closes
    lexical: float | None = None  # share of the claim's content terms in the supporting sentence
    semantic: float | None = None  # embedding similarity of claim and sentence, when it was needed

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Filters:
    """Restrict retrieval to a date range, some sites, or some articles."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Check and normalise: dates may be given as YYYY-MM-DD text, one source as a plain string.

        Anything else (a malformed date, a number, since after until) raises QueryError saying what to write.
        """
        for name in ("since", "until"):
            object.__setattr__(self, name, _as_day(getattr(self, name), name))
        for name in ("sources", "article_ids"):
            object.__setattr__(self, name, _as_names(getattr(self, name), name))
        if self.since and self.until and self.since > self.until:
            raise QueryError(f"filter since {self.since} is after until {self.until}; swap the dates or drop one")

    def is_empty(self) -> bool:
        return not (self.since or self.until or self.sources or self.article_ids)

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "sources": list(self.sources),
            "article_ids": list(self.article_ids),
        }


def _as_day(value: object, name: str) -> date | None:
    """A filter date from a date, a datetime or YYYY-MM-DD text; QueryError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise QueryError(f"filter {name} {value!r} is not a date; write it as YYYY-MM-DD, e.g. 2021-08-01") from None
    raise QueryError(f"filter {name} must be a date written YYYY-MM-DD, not {type(value).__name__} {value!r}")


def _as_names(value: object, name: str) -> tuple[str, ...]:
    """Site names or article ids as a tuple of non-blank strings (one name may be given as a plain string)."""
    if value is None:
        return ()
    items: Iterable[object] = (value,) if isinstance(value, str) else value if isinstance(value, _LISTS) else (value,)
    names = []
    for item in items:
        if not isinstance(item, str):
            raise QueryError(f"filter {name} must be a list of text, not {type(item).__name__} {item!r}")
        if item.strip():
            names.append(item.strip())
    return tuple(names)


@dataclass
class Answer:
    """What `Assistant.ask` returns: text with [n] markers, the sources they point at, and how it was made."""

    question: str
    text: str
    sources: list[Source]
    citations: list[Citation]
    refused: bool
    verified: bool = True
    answerer: str = "extractive"
    rewritten_question: str | None = None  # the standalone question a follow-up was turned into
    timings: dict[str, float] = field(default_factory=dict)  # milliseconds per stage
    unsupported: list[str] = field(default_factory=list)  # answer sentences no passage supports
    as_of: str | None = None  # the moment the answer is as of (ISO); articles dated after its day were not used
    time_window: TimeWindow | None = None  # the days the question asks about ("last week"), when it names some
    recency: bool = False  # the question asks for the latest state: the newest passage that answers was preferred
    time_note: str = ""  # what `text` says about time before its first sentence ("In articles from 24 to 28 March 2025: ")
    short_answer: str | None = None  # the name, number, date or place the question asks for, when one was found
    confidence: float | None = None  # the answerer's calibrated probability that its best sentence answers

    @property
    def cited_sources(self) -> list[Source]:
        """The sources at least one marker points at, in marker order."""
        seen: list[int] = []
        for citation in sorted(self.citations, key=lambda c: c.marker):
            if citation.source_index not in seen:
                seen.append(citation.source_index)
        return [self.sources[i] for i in seen]

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "verified": self.verified,
            "answerer": self.answerer,
            "rewritten_question": self.rewritten_question,
            "unsupported": list(self.unsupported),
            "short_answer": self.short_answer,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "citations": [c.to_dict() for c in self.citations],
            "sources": [s.to_dict() for s in self.sources],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "as_of": self.as_of,
            "time_window": self.time_window.to_dict() if self.time_window else None,
            "recency": self.recency,
            "time_note": self.time_note,
        }



class AnswerStream:
    """What `Assistant.stream` returns: iterate it for the verified answer text in pieces, as it is written;
    once it is done, `answer` is the `Answer` (whose text is the pieces joined) and `timings` its
    milliseconds per stage. `collect()` reads the rest and returns the `Answer`.
    """

    def __init__(self, items: Iterator[str | Answer]) -> None:
        self._items = items  # text pieces, then the Answer
        self._answer: Answer | None = None

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str:
        while True:
            item = next(self._items)  # StopIteration ends the stream after the Answer
            if isinstance(item, Answer):
                self._answer = item
                continue
            return item

    @property
    def done(self) -> bool:
        return self._answer is not None

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            raise RuntimeError("the answer is not finished: iterate the stream to its end, or call collect()")
        return self._answer

    @property
    def timings(self) -> dict[str, float]:
        return self.answer.timings

    def collect(self) -> Answer:
        for _ in self:
            pass
        return self.answer

@dataclass(frozen=True)
class ArticleInfo:
    """One stored article, as listed by `newsrag list` and the library screen."""

    article_id: str
    title: str
    url: str | None
    date: str | None
    site: str | None
    author: str | None
    chunks: int
    chars: int
    content_hash: str
    origin: str
    urls: tuple[str, ...] = ()
    ingested_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["urls"] = list(self.urls)
        return data
