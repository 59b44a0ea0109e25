"""The Assistant: the one object a user holds. `open()` builds it from settings (the composition root)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .answering import Answerer, Finding, make_answerer
from .citations import CitationVerifier, Verified
from .conversation import HeuristicRewriter, LLMRewriter, Rewriter, as_turns
from .embedder import Embedder
from .errors import QueryError
from .logs import fields
from .records import Answer, ArticleInfo, Filters, Source
from .refusal import CollectionSummary, refusal_message
from .retrieval import Retriever
from .settings import Settings
from .store import Store
from .support import SupportScorer
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
        self.answerer = answerer
        self.rewriter = rewriter or HeuristicRewriter()
        self.retriever = Retriever(store, embedder, settings)
        self.summary = CollectionSummary(store)

    def ask(self, question: str, filters: Filters | None = None, top_k: int | None = None) -> Answer:
        """Answer one question; every sentence of the answer cites a passage, or `refused` is set."""
        return collect_answer(self.stream(question, filters=filters, top_k=top_k))

    def chat(
        self, message: str, history: Iterable[Any] = (), filters: Filters | None = None, top_k: int | None = None
    ) -> Answer:
        """Answer `message` in a conversation: a follow-up is first rewritten into a standalone question.

        `history` holds the earlier messages ({"role": "user"|"assistant", "content": ...}), oldest first.
        """
        return collect_answer(self.stream(message, filters=filters, top_k=top_k, history=history))

    def stream(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        history: Iterable[Any] | None = None,
    ) -> Iterator[str | Answer]:
        """Yield the verified answer text in pieces as it is written, then the `Answer`.

        The pieces joined are exactly `Answer.text`: each sentence is checked before it is released.
        """
        started = time.perf_counter()
        question = check_question(question, self.settings.max_question_chars)
        if top_k is not None and not (isinstance(top_k, int) and not isinstance(top_k, bool) and 1 <= top_k <= 50):
            raise QueryError(f"top_k must be a whole number from 1 to 50, not {top_k!r}")
        filters = as_filters(filters)
        if filters is not None and (filters.sources or filters.article_ids):
            check_filters(filters, self.summary.get().all_sites, self.store.versions())
        timings: dict[str, float] = {}
        query, rewritten = self._standalone(question, history, timings)
        passages = self.retriever.retrieve(query, filters, top_k, timings)
        if self._weak(passages):
            text = refusal_message(passages, self.summary.get(), filters)
            timings["total"] = _ms(started)
            yield text
            answer = self._answer(question, rewritten, text, passages, None, timings)
            _log_answer(answer)
            yield answer
            return
        mark = time.perf_counter()
        verifier = CitationVerifier(self._scorer(passages))  # splits the passages into sentences: verify work
        setup = _ms(mark)
        finding: list[Finding] = []
        yield from self._generate(query, passages, verifier, timings, finding)
        mark = time.perf_counter()
        tail, checked = verifier.finish()
        timings["verify"] += setup + _ms(mark)
        if not checked.citations:  # the answerer refused, or nothing it wrote is supported
            tail = refusal_message(passages, self.summary.get(), filters)
        if tail:
            yield tail
        timings["total"] = _ms(started)
        answer = self._answer(question, rewritten, tail, passages, checked, timings)
        if finding:
            answer.confidence = finding[-1].confidence
            answer.short_answer = None if answer.refused else finding[-1].short_answer
        _log_answer(answer)
        yield answer

    def _generate(
        self, query: str, passages: Sequence[Source], verifier: CitationVerifier, timings: dict[str, float],
        finding: list[Finding],
    ) -> Iterator[str]:
        """Run the answerer, feed its text to the verifier and yield what the verifier releases; time both.
        A `Finding` the answerer yields is appended to `finding`."""
        generate = verify = 0.0
        pieces = iter(self.answerer.stream(query, passages))
        while True:
            mark = time.perf_counter()
            piece = next(pieces, None)
            generate += time.perf_counter() - mark
            if piece is None:
                break
            if isinstance(piece, Finding):
                finding.append(piece)
                continue
            mark = time.perf_counter()
            released = verifier.feed(piece)
            verify += time.perf_counter() - mark
            if released:
                yield released
        timings["generate"], timings["verify"] = generate * 1000, verify * 1000

    def _standalone(self, question: str, history: Iterable[Any] | None, timings: dict[str, float]) -> tuple[str, str | None]:
        """The question to search for, and the rewrite of a follow-up (None when it stands alone)."""
        turns = as_turns(history)
        if not turns:
            return question, None
        mark = time.perf_counter()
        standalone = " ".join(self.rewriter.rewrite(question, turns).split()) or question
        timings["rewrite"] = _ms(mark)
        return standalone, (standalone if standalone != question else None)

    def _weak(self, passages: Sequence[Source]) -> bool:
        """Retrieval found nothing close enough to answer from."""
        return not passages or max(p.score for p in passages) < self.settings.min_relevance

    def _scorer(self, passages: Sequence[Source]) -> SupportScorer:
        s = self.settings
        embed = self.embedder.embed_documents if s.citation_semantic else None
        return SupportScorer(passages, embed, s.citation_min_lexical, s.citation_min_semantic, s.citation_min_overlap)

    def _answer(
        self, question: str, rewritten: str | None, refusal: str, passages: Sequence[Source],
        checked: Verified | None, timings: dict[str, float],
    ) -> Answer:
        if checked is None or not checked.citations:
            return Answer(
                question=question, text=refusal, sources=list(passages), citations=[], refused=True, verified=True,
                answerer=self.answerer.name, rewritten_question=rewritten, timings=timings,
            )
        return Answer(
            question=question, text=checked.text, sources=checked.sources, citations=checked.citations,
            refused=False, verified=checked.verified, answerer=self.answerer.name, rewritten_question=rewritten,
            timings=timings, unsupported=checked.unsupported,
        )

    def articles(self) -> list[ArticleInfo]:
        """The stored articles, newest first."""
        return self.store.articles()

    def status(self) -> dict[str, Any]:
        """What is stored and how it is searched."""
        return {
            "store": str(self.store.location),
            "collection": self.settings.collection,
            "articles": self.store.count_articles(),
            "chunks": self.store.count_chunks(),
            "model": self.embedder.name,
            "answerer": self.answerer.name,
        }


def collect_answer(stream: Iterator[str | Answer]) -> Answer:
    """The final Answer of a stream (the non-streaming path is the streaming one, collected)."""
    answer: Answer | None = None
    for item in stream:
        if isinstance(item, Answer):
            answer = item
    if answer is None:  # pragma: no cover - stream() always ends with an Answer
        raise RuntimeError("the answer stream ended without an Answer")
    return answer


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


def _log_answer(answer: Answer) -> None:
    """One INFO line per answer (sizes, outcome, timings); the question itself only at DEBUG."""
    log.info("answered", extra=fields(
        question_chars=len(answer.question), refused=answer.refused, verified=answer.verified,
        citations=len(answer.citations), sources=len(answer.sources), answerer=answer.answerer,
        ms=round(answer.timings.get("total", 0.0), 1),
    ))
    log.debug("question", extra=fields(question=answer.question, rewritten=answer.rewritten_question))


def open(store: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Assistant:
    """Build an Assistant over an existing store (path, or settings/env for everything else)."""
    settings = (settings or Settings()).with_overrides(store=store, **overrides)
    return compose(settings, Store(settings), Embedder(query_settings(settings)))


def query_settings(settings: Settings) -> Settings:
    """The settings the model runs with when answering: the query backend and thread count."""
    return settings.model_copy(update={"embedding_backend": settings.query_backend or settings.embedding_backend,
                                       "threads": settings.query_threads})


def compose(settings: Settings, store: Store, embedder: Embedder) -> Assistant:
    """An Assistant over an opened store and embedder, with the answerer and rewriter the settings name."""
    answerer = make_answerer(settings, embed=embedder.embed_documents)
    client = getattr(answerer, "client", None)
    rewriter: Rewriter = LLMRewriter(client) if client is not None and settings.llm_rewrite else HeuristicRewriter()
    return Assistant(settings, store, embedder, answerer, rewriter)
