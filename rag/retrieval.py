"""Retrieval: from a question to the passages an answerer may use, best first."""

from __future__ import annotations

import re
import time

from .embedder import Embedder
from .records import Filters, Source
from .settings import Settings
from .store import ChunkHit, Store

_ABOUT_COMMENTS = re.compile(r"\b(comment|commenter|commented|reader|readers)\b", re.IGNORECASE)


class Retriever:
    """Dense search over the store, with reader comments ranked below article text and a per-article cap."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings

    def retrieve(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        timings: dict[str, float] | None = None,
    ) -> list[Source]:
        timings = timings if timings is not None else {}
        top_k = top_k or self.settings.top_k
        started = time.perf_counter()
        vector = self.embedder.embed_query(question)
        timings["embed"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        hits = self.store.search(vector, max(self.settings.candidates, top_k), filters)
        timings["search"] = (time.perf_counter() - started) * 1000
        return self._select(hits, question, top_k)

    def _select(self, hits: list[ChunkHit], question: str, top_k: int) -> list[Source]:
        penalty = 1.0 if _ABOUT_COMMENTS.search(question) else self.settings.comment_penalty
        ranked = sorted(hits, key=lambda h: h.score * (penalty if h.kind == "comment" else 1.0), reverse=True)
        per_article: dict[str, int] = {}
        chosen: list[Source] = []
        for hit in ranked:
            if per_article.get(hit.article_id, 0) >= self.settings.max_chunks_per_article:
                continue
            per_article[hit.article_id] = per_article.get(hit.article_id, 0) + 1
            chosen.append(source_from_hit(hit))
            if len(chosen) == top_k:
                break
        return chosen


def source_from_hit(hit: ChunkHit) -> Source:
    meta = hit.meta
    return Source(
        chunk_id=hit.chunk_id,
        article_id=hit.article_id,
        title=str(meta.get("title", "")),
        url=meta.get("url"),
        date=meta.get("date"),
        text=hit.text,
        start=hit.start,
        end=hit.end,
        score=round(hit.score, 4),
        kind=hit.kind,
        site=meta.get("site"),
        author=meta.get("author"),
    )
