"""The Assistant: the one object a user holds. `open()` builds it from settings (the composition root)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .answering import REFUSAL, Answerer, make_answerer
from .citations import verify_citations
from .embedder import Embedder
from .errors import QueryError
from .records import Answer, ArticleInfo, Filters, Source
from .retrieval import Retriever
from .settings import Settings
from .store import Store


class Assistant:
    """Answers questions about the stored articles with cited passages."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder, answerer: Answerer) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.answerer = answerer
        self.retriever = Retriever(store, embedder, settings)

    def ask(self, question: str, filters: Filters | None = None, top_k: int | None = None) -> Answer:
        """Answer one question; every sentence of the answer cites a passage, or `refused` is set."""
        answer: Answer | None = None
        for item in self.stream(question, filters=filters, top_k=top_k):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(
        self, question: str, filters: Filters | None = None, top_k: int | None = None
    ) -> Iterator[str | Answer]:
        """Yield the answer text in pieces as it is written, then the verified `Answer`."""
        question = self._check_question(question)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        passages = self.retriever.retrieve(question, filters, top_k, timings)
        generated = time.perf_counter()
        pieces: list[str] = []
        for piece in self.answerer.stream(question, passages):
            pieces.append(piece)
            yield piece
        timings["generate"] = (time.perf_counter() - generated) * 1000
        answer = self._finish(question, "".join(pieces), passages, timings)
        timings["total"] = (time.perf_counter() - started) * 1000
        yield answer

    def _finish(self, question: str, text: str, passages: Sequence[Source], timings: dict[str, float]) -> Answer:
        started = time.perf_counter()
        refused = text.strip().startswith(REFUSAL) or not passages
        checked = verify_citations(text, passages) if not refused else None
        timings["verify"] = (time.perf_counter() - started) * 1000
        if checked is None or not checked.citations:
            return Answer(
                question=question, text=refusal_message(passages), sources=list(passages), citations=[],
                refused=True, verified=True, answerer=self.answerer.name, timings=timings,
            )
        return Answer(
            question=question, text=checked.text, sources=checked.sources, citations=checked.citations,
            refused=False, verified=checked.verified, answerer=self.answerer.name, timings=timings,
        )

    def _check_question(self, question: str) -> str:
        if not isinstance(question, str):
            raise QueryError("the question must be text")
        cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())
        if not any(ch.isalnum() for ch in cleaned):
            raise QueryError("the question is empty; type a question such as 'What did Milley say about ISIS-K?'")
        if len(cleaned) > self.settings.max_question_chars:
            raise QueryError(
                f"the question is {len(cleaned)} characters long; the limit is "
                f"{self.settings.max_question_chars} (NEWSRAG_MAX_QUESTION_CHARS)"
            )
        return cleaned

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


def refusal_message(passages: Sequence[Source]) -> str:
    """Say the articles do not answer, and point at the closest ones."""
    titles: list[str] = []
    for p in passages:
        label = f"“{p.title}”" + (f" ({p.date})" if p.date else "")
        if p.title and label not in titles:
            titles.append(label)
    if not titles:
        return "Not in the articles: no stored article matches this question."
    return "Not in the articles: none of them answers this question. Closest articles: " + "; ".join(titles[:3]) + "."


def open(store: str | Path | None = None, settings: Settings | None = None, **overrides: Any) -> Assistant:  # noqa: A001
    """Build an Assistant over an existing store (path, or settings/env for everything else)."""
    settings = (settings or Settings()).with_overrides(store=store, **overrides)
    chroma = Store(settings)
    embedder = Embedder(settings)
    return Assistant(settings, chroma, embedder, make_answerer(settings))
