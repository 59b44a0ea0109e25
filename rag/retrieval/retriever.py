"""Retrieval: from a question to the passages an answerer may use, best first.

Dense search (Chroma) and BM25 (`rag.retrieval.lexical`) each rank candidate chunks under the same filters;
reciprocal rank fusion merges the rankings; a per-article cap keeps the context diverse; chunks that
follow each other in an article are merged into one passage; an optional cross-encoder reorders.
`Source.score` is always the passage's cosine similarity to the question (answerers gate on it).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import ValidationError

from .. import tracing
from ..asks import ABOUT_COMMENTS
from ..embedding.embedder import Embedder
from ..errors import QueryError
from ..records import Filters, Source
from ..settings import Settings
from ..store.collection import Store
from ..store.rows import ChunkHit
from .asof import ArticleDates, TimeQuery, apply_time, cutoff_filters, window_pool
from .lexical import LexicalIndex
from .passages import adjacent, merge_chunks, source_from_hit
from .ranking import PassageRanker
from .rerank import CrossEncoderReranker, make_reranker
from .windows import widen

STAGES = ("embed", "dense", "bm25", "fuse", "rerank")


@dataclass
class Pool:
    """Fused candidates read from the store, with their dense ranks and BM25 scores and ranks."""

    hits: list[ChunkHit]
    dense_ranks: dict[str, int]
    bm25: dict[str, float]
    bm25_ranks: dict[str, int]


def reciprocal_rank_fusion(rankings: Sequence[tuple[float, Sequence[str]]], k: int) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = sum over lists of weight / (k + rank); ties keep first-seen order."""
    scores: dict[str, float] = defaultdict(float)
    for weight, ids in rankings:
        for rank, item in enumerate(ids, start=1):
            scores[item] += weight / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


class Retriever:
    """Hybrid search over the store with filters, diversity, neighbour merging and optional reranking."""

    def __init__(self, store: Store, embedder: Embedder, settings: Settings,
                 lexical: LexicalIndex | None = None, reranker: CrossEncoderReranker | None = None) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.lexical = lexical or LexicalIndex(settings)
        self.reranker = reranker or make_reranker(settings)
        self.ranker: PassageRanker | None = None  # the learned ranking, loaded on first use
        self.dates = ArticleDates(store)  # applies an as-of cutoff to dense search (rag.retrieval.asof)
        self.first_read: int | None = None  # candidates read in the first round (default 2 x passages wanted)

    def retrieve(
        self,
        question: str,
        filters: Filters | None = None,
        top_k: int | None = None,
        timings: dict[str, float] | None = None,
        *,
        mode: str | None = None,
        dense_weight: float | None = None,
        bm25_weight: float | None = None,
        rrf_k: int | None = None,
        when: TimeQuery | None = None,
    ) -> list[Source]:
        """The best passages for `question`; keyword arguments override the settings for this query.

        `when` (`Assistant.when`: the question's time): articles dated after its cutoff day, or outside a
        hard window, are never read; passages inside a soft window move up (`rag.retrieval.asof.apply_time`).

        `timings` receives milliseconds per stage: embed, dense, bm25, fuse, rerank, search (dense + bm25
        + fuse) and retrieve (the wall time of the whole call).
        """
        timings = timings if timings is not None else {}
        timings.update(dict.fromkeys(STAGES, 0.0))
        started = time.perf_counter()
        try:
            opts = self.settings.with_overrides(retrieval_mode=mode, dense_weight=dense_weight,
                                                bm25_weight=bm25_weight, rrf_k=rrf_k)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise QueryError(f"bad retrieval option ({problems})") from None
        top_k = top_k or opts.top_k
        k = max(opts.candidates, top_k)
        window = when.window if when else None
        with _timed(timings, "embed"):
            vector = self.embedder.embed_query(question)
        with self.store.one_view():  # one revision read for dense, BM25 and the chunk lookups
            fused, cosines, lexical, versions = self._candidates(question, vector, filters, when, k, opts, timings)
            with _timed(timings, "fuse"):
                pool = max(top_k, opts.rerank_candidates, window_pool(top_k, window)) if self.reranker else window_pool(top_k, window)
                if opts.retrieval_mode == "hybrid":
                    ranked = self.learned_order(question, vector, fused, cosines, lexical or [], opts, versions, when)
                    read = {hit.chunk_id: hit for hit, _ in ranked}
                    groups, _ = self._select(list(read.values()), pool)
                else:
                    groups = self._select_reading(question, vector, fused, cosines, pool, opts, versions)
                    read = {hit.chunk_id: hit for group in groups for hit in group}
                # one read of the article texts, of the versions searched: merging and the windows cut from them
                texts = self.store.article_texts(sorted({g[0].article_id for g in groups}), versions)
                passages = self._passages(groups, texts)
        if self.reranker and passages:
            with _timed(timings, "rerank"):
                scores = self.reranker.scores(question, [p.text for p in passages])
                passages = [passages[i] for i in sorted(range(len(passages)), key=lambda i: -float(scores[i]))]
        passages = apply_time(passages, when, opts.time_window_weight)
        passages = widen(self.store, passages[:top_k], opts.passage_window, versions, read, texts)
        timings["search"] = timings["dense"] + timings["bm25"] + timings["fuse"]
        timings["retrieve"] = (time.perf_counter() - started) * 1000
        return passages

    def learned_order(self, question: str, vector: np.ndarray, fused: Sequence[tuple[str, float]],
                      cosines: dict[str, float], lexical: Sequence[tuple[str, float]], opts: Settings,
                      versions: dict[str, str], when: TimeQuery | None = None) -> list[tuple[ChunkHit, float]]:
        """The first `rank_pool` fused candidates, read and ordered by the learned passage ranking."""
        if self.ranker is None:
            self.ranker = PassageRanker()
        pool = self._pool(vector, fused, cosines, lexical, opts, versions)
        return self.ranker.rank(question, pool.hits, pool.dense_ranks, pool.bm25, pool.bm25_ranks, when)

    def candidate_pool(self, question: str, filters: Filters | None = None, when: TimeQuery | None = None) -> Pool:
        """The candidates the learned ranking would score for `question` as of `when` (for fitting it:
        `eval/fit.py`)."""
        opts = self.settings
        vector = self.embedder.embed_query(question)
        with self.store.one_view():
            fused, cosines, lexical, versions = self._candidates(question, vector, filters, when,
                                                                 max(opts.candidates, opts.top_k), opts, {})
            return self._pool(vector, fused, cosines, lexical or [], opts, versions)

    def _candidates(self, question: str, vector: np.ndarray, filters: Filters | None, when: TimeQuery | None,
                    k: int, opts: Settings, timings: dict[str, float]) -> tuple[
                        list[tuple[str, float]], dict[str, float], list[tuple[str, float]] | None, dict[str, str]]:
        """The first phase of a search, the same for answering and for fitting (call it inside `one_view`):
        BM25 (under the as-of cutoff) and dense search (the as-of view of committed versions) over one commit
        state, fused; returns the fused ids, dense cosines, BM25 hits and the versions read."""
        versions = self.store.versions()  # one commit state for every read: an article is seen whole
        lexical = self._lexical(question, cutoff_filters(filters, when), k, opts, timings)
        dense_filters, versions = self.dates.dense_view(filters, when, versions)
        fused, cosines = self._fused(vector, lexical, dense_filters, k, opts, timings, versions)
        return fused, cosines, lexical, versions

    def _pool(self, vector: np.ndarray, fused: Sequence[tuple[str, float]], cosines: dict[str, float],
              lexical: Sequence[tuple[str, float]], opts: Settings, versions: dict[str, str]) -> Pool:
        hits = self._read([chunk_id for chunk_id, _ in fused[: opts.rank_pool]], vector, cosines, versions)
        return Pool(hits, {chunk_id: rank for rank, chunk_id in enumerate(cosines)}, dict(lexical),
                    {chunk_id: rank for rank, (chunk_id, _) in enumerate(lexical)})

    def _lexical(self, question: str, filters: Filters | None, k: int, opts: Settings,
                 timings: dict[str, float]) -> list[tuple[str, float]] | None:
        """BM25 candidates (None in dense mode); in hybrid mode without those sharing only common words."""
        if opts.retrieval_mode == "dense":
            return None
        with _timed(timings, "bm25"):
            lexical = self.lexical.search(self.store, question, k, filters)
        if opts.retrieval_mode in ("hybrid", "rrf") and lexical:
            lexical = [(i, s) for i, s in lexical if s >= opts.bm25_floor * lexical[0][1]]
        return lexical

    def _fused(self, vector: np.ndarray, lexical: list[tuple[str, float]] | None, filters: Filters | None, k: int,
               opts: Settings, timings: dict[str, float],
               versions: dict[str, str]) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """Candidate chunk ids in fused order with their fusion scores, and the cosines dense search gave."""
        rankings: list[tuple[float, list[str]]] = []
        cosines: dict[str, float] = {}
        if opts.retrieval_mode != "bm25":
            with _timed(timings, "dense"):
                dense = self.store.search_ids(vector, k, filters, versions=versions)
            cosines = dict(dense)
            rankings.append((opts.dense_weight, [chunk_id for chunk_id, _ in dense]))
        if lexical is not None:
            rankings.append((opts.bm25_weight, [chunk_id for chunk_id, _ in lexical]))
        with _timed(timings, "fuse"):
            return reciprocal_rank_fusion(rankings, opts.rrf_k), cosines

    def _select_reading(self, question: str, vector: np.ndarray, fused: Sequence[tuple[str, float]],
                        cosines: dict[str, float], limit: int, opts: Settings,
                        versions: dict[str, str]) -> list[list[ChunkHit]]:
        """`_select` over the fused candidates, reading text and metadata only of those it can reach.

        Candidates are read from the store in rounds (2 x limit first, then twice as many). A comment
        chunk's score is lowered by `comment_penalty`, so a candidate not read yet, whose fused score is at
        most `bound`, could still pass it: only read candidates scoring above `bound` are in their final
        order, and selection runs on those; when it needs more than them, the next round is read.
        """
        penalty = 1.0 if ABOUT_COMMENTS.search(question) else opts.comment_penalty
        hits: dict[str, ChunkHit] = {}
        size = self.first_read or 2 * limit
        while True:
            head = fused[:size]
            missing = [chunk_id for chunk_id, _ in head if chunk_id not in hits]
            hits.update((h.chunk_id, h) for h in self._read(missing, vector, cosines, versions))
            bound = fused[size][1] if size < len(fused) else -math.inf
            scored = sorted(((score * (penalty if hits[i].kind == "comment" else 1.0), hits[i])
                             for i, score in head if i in hits), key=lambda pair: -pair[0])
            groups, complete = self._select([hit for score, hit in scored if score > bound], limit)
            if complete or size >= len(fused):
                return groups
            size *= 2

    def _read(self, chunk_ids: list[str], vector: np.ndarray, cosines: dict[str, float],
              versions: dict[str, str]) -> list[ChunkHit]:
        """The committed chunks among `chunk_ids` with text and metadata, scored by cosine similarity."""
        found = self.store.hits_by_ids(chunk_ids, vector, versions=versions, known=cosines) if chunk_ids else []
        return self._score_unscored(found, vector)

    def _score_unscored(self, found: list[ChunkHit], vector: np.ndarray) -> list[ChunkHit]:
        """Give hits whose stored vector could not be read a cosine score from a fresh embedding."""
        unscored = [i for i, h in enumerate(found) if math.isnan(h.score)]
        if unscored:
            vectors = self.embedder.embed_documents([found[i].text for i in unscored])
            for i, row in zip(unscored, vectors):
                found[i] = replace(found[i], score=float(np.dot(vector, row)))
        return found

    def _select(self, ranked: Sequence[ChunkHit], limit: int) -> tuple[list[list[ChunkHit]], bool]:
        """Up to `limit` passages (groups of neighbouring chunks), at most max_chunks_per_article per article;
        and whether they are final (a further hit was seen that could no longer join), so that hits
        ranked after `ranked` cannot change them."""
        per_article: Counter[str] = Counter()
        groups: list[list[ChunkHit]] = []
        for hit in ranked:
            if per_article[hit.article_id] >= self.settings.max_chunks_per_article:
                continue
            touching = [g for g in groups if self.settings.merge_neighbours and adjacent(g, hit)]
            if not touching and len(groups) >= limit:
                return groups, True
            per_article[hit.article_id] += 1
            if not touching:
                groups.append([hit])
                continue
            touching[0].append(hit)
            for other in touching[1:]:  # the chunk bridges two passages: join them
                touching[0].extend(other)
                groups.remove(other)
        return groups, False

    def _passages(self, groups: Sequence[list[ChunkHit]], texts: Mapping[str, str]) -> list[Source]:
        """One Source per group; merged groups take their text from the article (`texts`), so offsets stay exact."""
        passages: list[Source] = []
        for group in groups:
            members = sorted(group, key=lambda h: h.start)
            merged = merge_chunks(members, texts.get(members[0].article_id, ""))
            passages.extend([merged] if merged else [source_from_hit(h) for h in members])
        return passages


@contextlib.contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        with tracing.stage(stage):  # an OpenTelemetry span when tracing is on (rag.tracing)
            yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + (time.perf_counter() - started) * 1000
