"""The Assistant: the one object a user holds. `open()` builds it from settings (the composition root)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import tracing
from .answering import Answerer, Finding, make_answerer, rewriter_for
from .answering.followups import HeuristicRewriter, Rewriter, as_turns
from .answering.refusal import CollectionSummary, refusal_message
from .answering.timeline import Timeline, TimelineBuilder, timeline_topic
from .citing.checked import checked_answer
from .citing.citations import Verified
from .embedding.embedder import Embedder
from .errors import QueryError
from .logs import log_answer
from .records import Answer, AnswerStream, ArticleInfo, Filters, Source
from .retrieval.asof import (
    TimeQuery,
    cutoff_filters,
    newest_answering,
    read_time,
    time_preamble,
    zone,
)
from .retrieval.retriever import Retriever
from .settings import Settings
from .store.build import shown, warn_if_stale
from .store.collection import Store
from .validation import as_filters, check_filters, check_question

log = logging.getLogger(__name__)


class Assistant:
    """Answers questions about the stored articles with cited passages."""

    def __init__(
        self, settings: Settings, store: Store, embedder: Embedder, answerer: Answerer, rewriter: Rewriter | None = None
    ) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.answerer = answerer  # the default; `answerer=` chooses another for one call
        self.rewriter = rewriter or HeuristicRewriter()
        self._answerers: dict[str, tuple[Answerer, Rewriter]] = {answerer.name: (answerer, self.rewriter)}
        self._answerers_lock = threading.Lock()
        self.retriever = Retriever(store, embedder, settings)
        self.timelines = TimelineBuilder(self.retriever, embedder)
        self.summary = CollectionSummary(store)
        warn_if_stale(store.build_state(), store.location)

    def ask(self, question: str, filters: Filters | None = None, top_k: int | None = None, as_of: object = None,
            answerer: str | None = None) -> Answer:
        """Answer one question; every sentence of the answer cites a passage, or `refused` is set.

        `as_of` (a date, a datetime or ISO text; default now): answer with what was known then. Articles
        dated after it are not used, and "last week" or "latest" are read against it. `answerer` names
        another answerer than the settings' for this question (`rag.answering.ANSWERERS`).
        """
        return self.stream(question, filters=filters, top_k=top_k, as_of=as_of, answerer=answerer).collect()

    def chat(
        self, message: str, history: Iterable[Any] = (), filters: Filters | None = None, top_k: int | None = None,
        as_of: object = None, answerer: str | None = None,
    ) -> Answer:
        """Answer `message` in a conversation: a follow-up is first rewritten into a standalone question.

        `history` holds the earlier messages ({"role": "user"|"assistant", "content": ...}), oldest first.
        """
        return self.stream(message, filters=filters, top_k=top_k, history=history, as_of=as_of,
                           answerer=answerer).collect()

    def stream(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        history: Iterable[Any] | None = None,
        as_of: object = None,
        answerer: str | None = None,
    ) -> AnswerStream:
        """The answer as it is written: iterate for the verified text in pieces; then `.answer` is the `Answer`.

        The pieces joined are exactly `Answer.text`: each sentence is checked before it is released.
        """
        chosen = self.answerer_named(answerer)
        return AnswerStream(tracing.traced_stream(
            "ask", self._stream(question, filters, top_k, history, as_of, chosen), question))

    def answerer_named(self, name: str | None) -> tuple[Answerer, Rewriter]:
        """The answerer called `name` (default: the settings'), with the follow-up rewriter that goes with it;
        built once over this assistant's store and model, so choosing one per call costs no second index."""
        name = name or self.answerer.name
        with self._answerers_lock:
            if name not in self._answerers:
                made = make_answerer(self.settings, name, embed=self.embedder.embed_texts)
                self._answerers[name] = (made, rewriter_for(made, self.settings))
            return self._answerers[name]

    def _stream(
        self, question: str, filters: Filters | None, top_k: int | None, history: Iterable[Any] | None,
        as_of: object, chosen: tuple[Answerer, Rewriter],
    ) -> Iterator[str | Answer]:
        started = time.perf_counter()
        question, filters = self.checked(question, filters, top_k)
        timings: dict[str, float] = {}
        answerer, rewriter = chosen
        query, rewritten = self._standalone(question, history, timings, rewriter)
        when = self.when(query, as_of, timings)
        made = _Made(question, rewritten, when, as_of is not None, timings, started, answerer)
        topic = timeline_topic(query)
        if topic is not None:
            yield from self._timeline_answer(made, topic, filters)
            return
        with tracing.stage("retrieve") as span:
            span.text("input.value", when.search)
            passages = self.retriever.retrieve(when.search, filters, top_k, timings, when=when)
            span.documents(passages)
        if self._weak(passages):
            yield from self._refuse(made, passages, filters)
            return
        given = newest_answering(passages, self.settings.recency_margin) if when.current else list(passages)
        attempts = (given, list(passages)) if len(given) < len(passages) else (given,)
        checked: tuple[Verified, str] | None = None
        for attempt in attempts:  # a current-state question falls back to all passages when the newest do not answer
            checked = yield from self._answer_as_of(when, attempt, when.current and attempt is given, made)
            if checked is not None:
                break
        if checked is None:  # the answerer refused, or nothing it wrote is supported
            yield from self._refuse(made, passages, filters)
            return
        timings["total"] = _ms(started)
        answer = self._answer(made, checked[1] + checked[0].text, passages, checked[0], time_note=checked[1])
        log_answer(log, answer)
        yield answer

    def _answer_as_of(self, when: TimeQuery, passages: list[Source], latest: bool,
                      made: _Made) -> Generator[str, None, tuple[Verified, str] | None]:
        """Stream the verified answer behind what it says about time; return it and that statement
        (None when nothing is supported).

        With a soft window the statement depends on which passages are cited ("In articles from ... and
        other dates"), so that answer is released whole once verified; every other answer streams.
        """
        wait = when.window is not None and not when.window.hard
        head, pieces, checked = time_preamble(when, passages, latest, made.explicit), [], None
        for piece in self._verified(when.search, passages, made):
            if isinstance(piece, Verified):
                checked = piece
            elif wait:
                pieces.append(piece)
            else:
                yield (head if not pieces else "") + piece
                pieces.append(piece)
        if checked is None or not checked.citations:
            return None
        if wait:
            cited = [checked.sources[i] for i in sorted({c.source_index for c in checked.citations})]
            head = time_preamble(when, cited, latest, made.explicit)
            yield head + "".join(pieces)
        return checked, head

    def timeline(self, topic: str, filters: Filters | None = None, as_of: object = None,
                 top_k: int | None = None) -> Timeline:
        """How a story unfolded: one cited sentence per event, ordered by article date and grouped by day.

        Reads the `top_k` (default 30) passages best matching `topic` under the filters, as of `as_of`.
        """
        started = time.perf_counter()
        topic, filters = self.checked(topic, filters, top_k)
        timings: dict[str, float] = {}
        when = self.when(topic, as_of, timings)
        timeline = self.timelines.build(timeline_topic(topic) or topic, filters, when, timings, top_k)
        timings["total"] = _ms(started)
        return timeline

    def _timeline_answer(self, made: _Made, topic: str, filters: Filters | None) -> Iterator[str | Answer]:
        """A "How did X unfold?" question answered with the timeline of X (or refused when it has no event)."""
        timeline = self.timelines.build(topic, filters, made.when, made.timings)
        made.timings["total"] = _ms(made.started)
        if not timeline.events:
            yield from self._refuse(made, timeline.sources, filters)
            return
        answer = timeline.to_answer(made.question, answerer="timeline", rewritten_question=made.rewritten,
                                    timings=made.timings, as_of=timeline.as_of, recency=made.when.recency)
        yield answer.text
        log_answer(log, answer)
        yield answer

    def when(self, question: str, as_of: object = None, timings: dict[str, float] | None = None) -> TimeQuery:
        """The question's time intent read against `as_of` (default now) in the configured time zone."""
        mark = time.perf_counter()
        when = read_time(question, as_of, zone(self.settings.time_zone))
        if timings is not None:
            timings["time"] = _ms(mark)
        return when

    def checked(self, question: str, filters: Filters | None, top_k: int | None) -> tuple[str, Filters | None]:
        """The question and filters after the checks every path makes; QueryError for bad ones."""
        question = check_question(question, self.settings.max_question_chars)
        if top_k is not None and not (isinstance(top_k, int) and not isinstance(top_k, bool) and 1 <= top_k <= 50):
            raise QueryError(f"top_k must be a whole number from 1 to 50, not {top_k!r}")
        filters = as_filters(filters)
        if filters is not None and (filters.sources or filters.article_ids):
            check_filters(filters, self.summary.get().all_sites, self.store.versions())
        return question, filters

    def _verified(self, query: str, passages: Sequence[Source], made: _Made) -> Iterator[str | Verified]:
        """The question's answerer's verified text in pieces, then the whole `Verified` answer."""
        return checked_answer(made.answerer, query, passages, self.settings, self.embedder.embed_texts,
                              made.timings, made.findings)

    def _refuse(self, made: _Made, passages: Sequence[Source], filters: Filters | None) -> Iterator[str | Answer]:
        """The refusal: what the collection covers and the closest articles, under the filters as applied."""
        applied = cutoff_filters(filters, made.when)
        text = refusal_message(passages, self.summary.get(), applied)
        made.timings["total"] = _ms(made.started)
        yield text
        answer = self._answer(made, text, passages, None)
        log_answer(log, answer)
        yield answer

    def _standalone(self, question: str, history: Iterable[Any] | None, timings: dict[str, float],
                    rewriter: Rewriter) -> tuple[str, str | None]:
        """The question to search for, and the rewrite of a follow-up (None when it stands alone)."""
        turns = as_turns(history)
        if not turns:
            return question, None
        mark = time.perf_counter()
        standalone = " ".join(rewriter.rewrite(question, turns).split()) or question
        timings["rewrite"] = _ms(mark)
        return standalone, (standalone if standalone != question else None)

    def _weak(self, passages: Sequence[Source]) -> bool:
        """Retrieval found nothing close enough to answer from."""
        return not passages or max(p.score for p in passages) < self.settings.min_relevance

    def _answer(self, made: _Made, text: str, passages: Sequence[Source], checked: Verified | None,
                time_note: str = "") -> Answer:
        when = made.when
        common: dict[str, Any] = {
            "question": made.question, "answerer": made.answerer.name, "rewritten_question": made.rewritten,
            "timings": made.timings, "as_of": when.as_of.isoformat(timespec="seconds"), "time_window": when.window,
            "recency": when.recency, "time_note": time_note,
        }
        found = made.findings[-1] if made.findings else Finding()
        if checked is None or not checked.citations:
            return Answer(text=text, sources=list(passages), citations=[], refused=True, verified=True,
                          confidence=found.confidence, **common)
        return Answer(text=text, sources=checked.sources, citations=checked.citations, refused=False,
                      verified=checked.verified, unsupported=checked.unsupported, short_answer=found.short_answer,
                      confidence=found.confidence, **common)

    def let_go(self) -> bool:
        """Let go of an embedded store at the end of a server's life (signed, so the next start skips the full
        store check), unless a write is under way; returns whether it did."""
        return self.store.let_go_when_idle()

    def articles(self) -> list[ArticleInfo]:
        """The stored articles, newest first."""
        return self.store.articles()

    def status(self) -> dict[str, Any]:
        """What is stored, what it was built with (rag.store.build), and how it is searched."""
        build = self.store.build_state()
        return {
            "store": str(self.store.location),
            "collection": self.settings.collection,
            "articles": self.store.count_articles(),
            "chunks": self.store.count_chunks(),
            "model": self.embedder.name,
            "answerer": self.answerer.name,
            "build": shown(build.built),
            "build_state": build.describe(),
            "store_check": self.store.check_outcome(),
            "vector_index": self.store.vector_index_state(),
        }


@dataclass(frozen=True)
class _Made:
    """What every answer to one question records, whichever way it ends."""

    question: str
    rewritten: str | None
    when: TimeQuery
    explicit: bool  # as_of was given
    timings: dict[str, float]
    started: float
    answerer: Answerer  # the one this question is answered with
    findings: list[Finding] = field(default_factory=list)  # what the answerer found besides its text


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
