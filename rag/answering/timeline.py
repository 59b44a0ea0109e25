"""Timelines: how a story unfolded, as cited sentences ordered by article date and grouped by day.

`build_events(topic, topic_vector, passages, embed)` picks, in each retrieved article, the sentence that
best reports the story (closest to it in meaning), merges sentences that say the same thing in several
outlets into one event (every outlet cited), and orders the events by the date of the earliest article
reporting each.
Sentences are quoted verbatim, so every citation points at the exact sentence it quotes.
`Assistant.timeline` and `newsrag timeline` build one; a question such as "How did X unfold?"
(`timeline_topic`) is answered with one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from .. import text as tx
from ..embedding.embedder import Embedder
from ..records import Answer, Citation, Filters, Source
from ..retrieval.asof import TimeQuery
from ..retrieval.retriever import Retriever
from ..timedates import iso_day
from ..timewindow import TimeWindow, describe_days
from .injection import instruction_like

PASSAGES = 30  # passages a timeline reads
MAX_EVENTS = 12
MIN_PASSAGE = 0.3  # passages less similar to the topic are not part of the story
MIN_SENTENCE = 0.35  # nor are sentences less similar to it
SAME_EVENT = 0.8  # embedding similarity above which two outlets' sentences report one event...
SAME_EVENT_DAYS = 2  # ...when their articles are at most this many days apart
_TIMELINE = re.compile(
    r"^\s*(?:how (?:did|has|have|does|do|was|were) (?P<a>.+?) (?:unfold|develop|evolve|progress|play out|"
    r"escalate|come about|come to pass|take shape)(?:ed|s)?\b|(?:give me |show me |what is |what's )?"
    r"(?:a |the )?(?:timeline|chronology|sequence of events) (?:of|for|in|on) (?P<b>.+?))\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_REPORTS = re.compile(r"[.!][\"'”’)]?$")  # a statement; a link headline or a question ends otherwise
_NOT_NEWS = re.compile(r"(?:editor'?s note|related|read more|live updates|watch|video|photos?|subscribe)\b|[^.:]{1,60}:\S",
                       re.IGNORECASE)
Embed = Callable[[list[str]], np.ndarray]


def timeline_topic(question: str) -> str | None:
    """The story a timeline question asks about ("How did the strike unfold?" -> "the strike"), else None."""
    match = _TIMELINE.match(question)
    return (match.group("a") or match.group("b")).strip() if match else None


@dataclass(frozen=True)
class TimelineEvent:
    """One event of the story: a sentence quoted from the first outlet, cited in every outlet that reports it."""

    day: str | None  # ISO date of the earliest article reporting it; None when no reporting article is dated
    text: str
    citations: tuple[Citation, ...]  # markers point at Timeline.sources

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day, "text": self.text, "citations": [c.to_dict() for c in self.citations]}


@dataclass
class Timeline:
    """What `Assistant.timeline` returns: the events by day, and the passages they quote."""

    topic: str
    as_of: str
    events: list[TimelineEvent]
    sources: list[Source]
    window: TimeWindow | None = None
    timings: dict[str, float] = field(default_factory=dict)

    def days(self) -> list[tuple[str | None, list[TimelineEvent]]]:
        """The events grouped by day, oldest first (undated last)."""
        groups: dict[str | None, list[TimelineEvent]] = {}
        for event in self.events:
            groups.setdefault(event.day, []).append(event)
        return list(groups.items())

    def text(self) -> str:
        """The timeline as text with [n] markers: a heading line per day, an indented line per event."""
        scope = f"from {self.window.describe()}" if self.window else f"up to {_day_words(self.as_of[:10])}"
        lines = [f"How “{self.topic}” unfolded, in articles {scope}:"]
        for day, events in self.days():
            lines += ["", _day_words(day) if day else "Undated"]
            lines += [f"- {e.text} " + "".join(f"[{c.marker}]" for c in e.citations) for e in events]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic, "as_of": self.as_of, "time_window": self.window.to_dict() if self.window else None,
            "days": [{"day": day, "events": [e.to_dict() for e in events]} for day, events in self.days()],
            "text": self.text(), "sources": [s.to_dict() for s in self.sources],
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
        }

    def to_answer(self, question: str, **fields: Any) -> Answer:
        """The timeline as the Answer to a "How did X unfold?" question (refused when it holds no event)."""
        citations = [c for e in self.events for c in e.citations]
        return Answer(question=question, text=self.text(), sources=list(self.sources), citations=citations,
                      refused=not self.events, verified=True, time_window=self.window, **fields)


class TimelineBuilder:
    """Reads a story's passages (as of a moment, in its window) and builds its Timeline."""

    def __init__(self, retriever: Retriever, embedder: Embedder) -> None:
        self.retriever = retriever
        self.embedder = embedder

    def build(self, topic: str, filters: Filters | None, when: TimeQuery, timings: dict[str, float],
              top_k: int | None = None) -> Timeline:
        """The timeline of `topic` from the `top_k` (default 30) passages that match it best."""
        passages = self.retriever.retrieve(topic if when.window is None else when.search, filters,
                                           top_k or PASSAGES, timings, when=when)
        started = time.perf_counter()
        events, sources = build_events(topic, self.embedder.embed_query(topic), passages,
                                       self.embedder.embed_documents)
        timings["timeline"] = (time.perf_counter() - started) * 1000
        return Timeline(topic, when.as_of.isoformat(timespec="seconds"), events, sources, when.window, timings)


@dataclass(frozen=True)
class _Quote:
    passage: int
    start: int  # offsets in the article
    end: int
    text: str
    terms: frozenset[str]
    numbers: frozenset[str]
    day: date | None
    vector: np.ndarray
    score: float


def build_events(topic: str, topic_vector: np.ndarray, passages: Sequence[Source], embed: Embed,
                 max_events: int = MAX_EVENTS) -> tuple[list[TimelineEvent], list[Source]]:
    """The story's events, oldest first, and the cited passages (markers are their positions + 1)."""
    quotes = _best_quote_per_article(topic, topic_vector, passages, embed)
    groups: list[list[_Quote]] = []
    for quote in sorted(quotes, key=lambda q: -q.score):
        same = next((g for g in groups if _same_event(g[0], quote)), None)
        if same is not None:
            same.append(quote)
        elif len(groups) < max_events:
            groups.append([quote])
    return _events(groups, passages)


def _best_quote_per_article(topic: str, topic_vector: np.ndarray, passages: Sequence[Source],
                            embed: Embed) -> list[_Quote]:
    """The sentence of each article that best reports the topic: close to it in meaning, sharing its
    terms, from a passage close to it; never a reader comment, a question or an order to a model."""
    weights = tx.key_terms(topic)
    total = sum(weights.values()) or 1.0
    found = [(i, a, b) for i, p in enumerate(passages) if p.kind != "comment" and p.score >= MIN_PASSAGE
             for a, b in _spans(p.text)]
    if not found:
        return []
    vectors = embed([passages[i].text[a:b] for i, a, b in found])
    best: dict[str, _Quote] = {}
    for (i, a, b), vector in zip(found, vectors):
        passage, sentence = passages[i], passages[i].text[a:b]
        terms = frozenset(tx.terms(sentence))
        similarity = float(np.dot(vector, topic_vector))
        coverage = sum(w for t, w in weights.items() if t in terms) / total
        score = 0.5 * similarity + 0.3 * coverage + 0.2 * passage.score
        if similarity >= MIN_SENTENCE and score > getattr(best.get(passage.article_id), "score", -1.0):
            numbers = frozenset(w for w in tx.words(sentence) if any(ch.isdigit() for ch in w))
            best[passage.article_id] = _Quote(i, passage.start + a, passage.start + b, sentence, terms, numbers,
                                              iso_day(passage.date), vector, score)
    return list(best.values())


def _spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans (trimmed) that can report an event: long enough statements, not a link headline, an
    editor's note or an order to a model."""
    spans = []
    for a, b in tx.sentence_spans(text):
        piece = text[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())
        sentence = text[a:b]
        if len(sentence) >= 40 and _REPORTS.search(sentence) and not _NOT_NEWS.match(sentence) \
                and not instruction_like(sentence):
            spans.append((a, b))
    return spans


def _same_event(first: _Quote, other: _Quote) -> bool:
    """Two outlets' sentences report one event: alike in words or meaning, with the same figures, days apart at most."""
    if first.numbers and other.numbers and first.numbers != other.numbers:
        return False  # "to 0.75%" and "to 1%" are two rate rises, however alike the sentences
    if first.day and other.day and abs((first.day - other.day).days) > SAME_EVENT_DAYS:
        return False
    union = first.terms | other.terms
    overlap = len(first.terms & other.terms) / len(union) if union else 0.0
    return overlap >= 0.5 or float(np.dot(first.vector, other.vector)) >= SAME_EVENT


def _events(groups: list[list[_Quote]], passages: Sequence[Source]) -> tuple[list[TimelineEvent], list[Source]]:
    """Events ordered by their earliest dated report; the sources in marker order, highlighted."""
    def first_day(group: list[_Quote]) -> date:
        return min((q.day for q in group if q.day), default=date.max)

    order: list[int] = []  # passage indexes in marker order
    events = []
    for group in sorted(groups, key=lambda g: (first_day(g), -g[0].score)):
        members = sorted(group, key=lambda q: (q.day or date.max, -q.score))  # the first outlet is quoted
        citations = []
        for quote in members:
            if quote.passage not in order:
                order.append(quote.passage)
            marker = order.index(quote.passage) + 1
            citations.append(Citation(marker=marker, source_index=marker - 1, support=1.0, start=quote.start,
                                      end=quote.end, claim=members[0].text, lexical=1.0))
        day = first_day(group)
        events.append(TimelineEvent(None if day == date.max else day.isoformat(), members[0].text, tuple(citations)))
    spans: dict[int, list[tuple[int, int]]] = {}
    for quote in (q for g in groups for q in g):
        spans.setdefault(quote.passage, []).append((quote.start, quote.end))
    sources = [replace(passages[p], highlights=tuple(sorted(spans[p]))) for p in order]
    return events, sources


def _day_words(iso: str) -> str:
    day = iso_day(iso)
    return describe_days(day, day) if day else iso
