"""Timelines: how a story unfolded, as cited sentences ordered by article date and grouped by day.

`build_events(topic, passages, embed)` picks, in each retrieved article, the sentence that best
reports the story, merges sentences that say the same thing in several outlets into one event
(every outlet cited), and orders the events by the date of the earliest article reporting each.
Sentences are quoted verbatim, so every citation points at the exact sentence it quotes.
`Assistant.timeline` and `newsrag timeline` build one; a question such as "How did X unfold?"
(`timeline_topic`) is answered with one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import numpy as np

from . import text as tx
from .injection import instruction_like
from .records import Answer, Citation, Source
from .timewindow import TimeWindow, describe_days

MAX_EVENTS = 12
MIN_COVERAGE = 0.34  # a sentence must hold this weighted share of the topic's terms
SAME_EVENT = 0.8  # embedding similarity above which two outlets' sentences report one event
_TIMELINE = re.compile(
    r"^\s*(?:how (?:did|has|have|does|do|was|were) (?P<a>.+?) (?:unfold|develop|evolve|progress|play out|"
    r"escalate|come about|come to pass|take shape)(?:ed|s)?\b|(?:give me |show me |what is |what's )?"
    r"(?:a |the )?(?:timeline|chronology|sequence of events) (?:of|for|in|on) (?P<b>.+?))\s*[?.!]*\s*$",
    re.IGNORECASE,
)
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


@dataclass(frozen=True)
class _Quote:
    passage: int
    start: int  # offsets in the article
    end: int
    text: str
    terms: frozenset[str]
    score: float


def build_events(topic: str, passages: Sequence[Source], embed: Embed,
                 max_events: int = MAX_EVENTS) -> tuple[list[TimelineEvent], list[Source]]:
    """The story's events, oldest first, and the cited passages (markers are their positions + 1)."""
    weights = tx.key_terms(topic)
    quotes = _best_quote_per_article(passages, weights)
    if not quotes:
        return [], []
    vectors = embed([q.text for q in quotes])
    groups: list[list[int]] = []
    for i in sorted(range(len(quotes)), key=lambda i: -quotes[i].score):
        same = next((g for g in groups if _same_event(quotes, vectors, g[0], i)), None)
        if same is not None:
            same.append(i)
        elif len(groups) < max_events:
            groups.append([i])
    return _events(groups, quotes, passages)


def _best_quote_per_article(passages: Sequence[Source], weights: dict[str, float]) -> list[_Quote]:
    """The sentence of each article that best reports the topic (enough of its terms, not an order to a model)."""
    total = sum(weights.values()) or 1.0
    best: dict[str, _Quote] = {}
    for index, passage in enumerate(passages):
        if passage.kind == "comment":
            continue
        for a, b in tx.sentence_spans(passage.text):
            sentence = passage.text[a:b].strip()
            if len(sentence) < 40 or sentence.endswith("?") or instruction_like(sentence):
                continue
            terms = frozenset(tx.terms(sentence))
            coverage = sum(w for t, w in weights.items() if t in terms) / total
            score = 0.6 * coverage + 0.4 * passage.score
            if coverage >= MIN_COVERAGE and score > getattr(best.get(passage.article_id), "score", -1.0):
                offset = passage.start + a + (len(passage.text[a:b]) - len(passage.text[a:b].lstrip()))
                best[passage.article_id] = _Quote(index, offset, offset + len(sentence), sentence, terms, score)
    return list(best.values())


def _same_event(quotes: Sequence[_Quote], vectors: np.ndarray, first: int, other: int) -> bool:
    a, b = quotes[first].terms, quotes[other].terms
    overlap = len(a & b) / len(a | b) if a | b else 0.0
    return overlap >= 0.5 or float(np.dot(vectors[first], vectors[other])) >= SAME_EVENT


def _events(groups: list[list[int]], quotes: Sequence[_Quote],
            passages: Sequence[Source]) -> tuple[list[TimelineEvent], list[Source]]:
    """Events ordered by their earliest dated report; the sources in marker order, highlighted."""
    def first_day(group: list[int]) -> str:
        days = [str(passages[quotes[i].passage].date)[:10] for i in group if passages[quotes[i].passage].date]
        return min(days) if days else "9999"

    order: list[int] = []  # passage indexes in marker order
    events = []
    for group in sorted(groups, key=lambda g: (first_day(g), -quotes[g[0]].score)):
        members = sorted(group, key=lambda i: (str(passages[quotes[i].passage].date or "9999")[:10], -quotes[i].score))
        citations = []
        for i in members:
            quote = quotes[i]
            if quote.passage not in order:
                order.append(quote.passage)
            marker = order.index(quote.passage) + 1
            citations.append(Citation(marker=marker, source_index=marker - 1, support=1.0, start=quote.start,
                                      end=quote.end, claim=quotes[members[0]].text, lexical=1.0))
        day = first_day(group)
        events.append(TimelineEvent(None if day == "9999" else day, quotes[members[0]].text, tuple(citations)))
    spans: dict[int, list[tuple[int, int]]] = {}
    for i in (i for g in groups for i in g):
        spans.setdefault(quotes[i].passage, []).append((quotes[i].start, quotes[i].end))
    sources = [replace(passages[p], highlights=tuple(sorted(spans[p]))) for p in order]
    return events, sources


def _day_words(iso: str) -> str:
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return describe_days(day, day)
