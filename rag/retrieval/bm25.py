"""A BM25 index over chunks that takes per-article deltas: add an article's chunks, drop them, score a query.

Own sparse index rather than bm25s/rank-bm25: those rebuild from the whole corpus on every change, and
newsrag keeps the index in step with Chroma one article version at a time. The index is a base segment
(`rag.retrieval.bm25_segment`: immutable, its term-major postings mapped from the file as a compaction wrote
them), a deleted-row mask over it (tombstones: the dropped articles' rows), and a small in-memory tail segment
of the chunks added since, scored beside the base. A change costs in proportion to the change (the tail is
rebuilt, the mask copied), never the whole index; a compaction folds base minus tombstones plus tail into a
new base. Scores are those of one index over the live chunks: N, the mean length and each term's document
frequency count base rows that are live plus the tail.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import text as tx
from ..records import Filters
from ..store.rows import date_number, source_keys
from . import bm25_format
from .bm25_format import FORMAT
from .bm25_segment import Segment, empty, from_docs, merge

TOKENIZER = "terms-v1"  # bump when `lexical_terms` changes: stored indexes are then rebuilt
_COMPOUND = re.compile(r"[^\W_]+(?:[-‐/][^\W_]+)+")  # ISIS-K, F-35, COVID-19, 24/7
_NO_ROWS = np.zeros(0, np.int32)
_NO_TFS = np.zeros(0, np.float32)


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return tx.stem(word)


def lexical_terms(text: str) -> list[str]:
    """The BM25 tokens of a text: stemmed content words, numbers without separators, whole codes."""
    out: list[str] = []
    for word in tx.words(text):
        if word in tx.STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        out.append(word.replace(",", "") if word[0].isdigit() else _stem(word))
    out.extend(m.group().lower().replace("‐", "-") for m in _COMPOUND.finditer(text))
    return out


@dataclass(frozen=True)
class ChunkDoc:
    """One committed chunk to index, with the metadata filters look at."""

    chunk_id: str
    article_id: str
    version: str
    text: str
    date_num: int  # 0 when the article has no date
    site_key: str
    counts: tuple[tuple[str, int], ...] | None = None  # its terms and their frequencies, when already counted

    def counted(self) -> ChunkDoc:
        """This chunk with its term counts (from its text, once)."""
        if self.counts is not None:
            return self
        return replace(self, counts=tuple(Counter(lexical_terms(self.text)).items()))



class BM25Index:
    """Immutable BM25 index: `apply` returns a new index, so readers never see a half-applied delta."""

    def __init__(self, base: Segment | None = None, meta: dict[str, Any] | None = None, live: np.ndarray | None = None,
                 tail: Segment | None = None, dropped: frozenset[str] = frozenset(),
                 base_totals: tuple[int, float] | None = None) -> None:
        self.base = base if base is not None else empty()
        self.live = live  # base rows not deleted (None: all of them)
        self.tail = tail if tail is not None else empty()
        self.dropped = dropped  # base articles whose rows are deleted
        self.meta: dict[str, Any] = dict(meta or {})
        self._base_totals = base_totals or (len(self.base), float(np.sum(self.base.lengths, dtype=np.float64)))
        self._norms: tuple[tuple[float, float], np.ndarray, np.ndarray] | None = None

    @classmethod
    def open(cls, path: Path) -> BM25Index:
        """The index saved at `path`, its arrays mapped from the file; ValueError when damaged or of another format."""
        return cls._checked(*bm25_format.open_file(path))

    @classmethod
    def from_bytes(cls, data: bytes) -> BM25Index:
        """Parse and fully check a saved index (any format); raises ValueError when it is damaged or foreign."""
        return cls._checked(*bm25_format.from_bytes(data))

    @classmethod
    def _checked(cls, segment: Segment, meta: dict[str, Any]) -> BM25Index:
        if meta.get("tokenizer") != TOKENIZER:
            raise ValueError(f"tokenizer {meta.get('tokenizer')} is not {TOKENIZER}")
        return cls(segment, meta)

    def to_bytes(self) -> bytes:
        """The index as one compacted segment in the file format (`rag.retrieval.bm25_format`)."""
        return bm25_format.to_bytes(self.compacted().base, self.file_meta())

    def file_meta(self) -> dict[str, Any]:
        return {**self.meta, "format": FORMAT, "tokenizer": TOKENIZER}

    def compacted(self) -> BM25Index:
        """The same index as one base segment: base minus its deleted rows, then the tail."""
        if self.live is None and not len(self.tail):
            return self
        return BM25Index(merge([(self.base, self.live), (self.tail, None)]), self.meta)

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return self._base_totals[0] + len(self.tail)

    def article_versions(self) -> dict[str, str]:
        """article_id -> the version whose chunks are indexed."""
        out = {a: v for a, v in zip(self.base.articles, self.base.versions) if a not in self.dropped}
        out.update(zip(self.tail.articles, self.tail.versions))
        return out

    @property
    def chunk_ids(self) -> np.ndarray:
        """Every indexed chunk id, base rows first (for inspection: linear in the index)."""
        base = self.base.chunk_ids()
        if self.live is not None:
            base = [c for c, keep in zip(base, self.live.tolist()) if keep]
        return np.asarray(base + self.tail.chunk_ids(), dtype=str)

    # ------------------------------------------------------------------ deltas
    def apply(self, drop: Iterable[str], add: Sequence[ChunkDoc]) -> BM25Index:
        """A new index without the chunks of articles in `drop` and with the chunks in `add`: the base's rows
        are masked, the tail rebuilt (work in proportion to the change and the tail, not the base)."""
        dropped = set(drop) | {d.article_id for d in add}
        codes = self.base.article_code()
        newly = sorted(a for a in dropped if a in codes and a not in self.dropped)
        live, (rows, length) = self.live, self._base_totals
        if newly:
            gone = self.base.article_rows([codes[a] for a in newly])
            live = np.ones(len(self.base), bool) if live is None else live.copy()
            live[gone] = False
            rows, length = rows - len(gone), length - float(np.sum(self.base.lengths[gone], dtype=np.float64))
        tail_live = None
        tail_codes = [c for a, c in self.tail.article_code().items() if a in dropped]
        if tail_codes:
            tail_live = np.ones(len(self.tail), bool)
            tail_live[self.tail.article_rows(tail_codes)] = False
        tail = merge([(self.tail, tail_live), (from_docs([d.counted() for d in add]), None)])
        return BM25Index(self.base, self.meta, live, tail, self.dropped | frozenset(newly), (rows, length))

    # ------------------------------------------------------------------ search
    def search(self, terms: Sequence[str], k: int, filters: Filters | None = None,
               k1: float = 1.2, b: float = 0.75, weights: Mapping[str, float] | None = None) -> list[tuple[str, float]]:
        """The k best (chunk_id, BM25 score) among chunks passing `filters`, best first; `weights` scale
        each term's share of the score (1 for a term without one)."""
        return [(self._chunk_id(i), score) for i, score in self.search_slots(terms, k, filters, k1, b, weights)]

    def search_slots(self, terms: Sequence[str], k: int, filters: Filters | None = None, k1: float = 1.2,
                     b: float = 0.75, weights: Mapping[str, float] | None = None) -> list[tuple[int, float]]:
        """`search` as (row of the chunk, score): base rows, then the tail's after them (`row_terms` reads them)."""
        n = len(self)
        if not n or not terms:
            return []
        norms = self._norm(k1, b)
        parts: list[np.ndarray | None] = [None, None]
        for term in sorted(set(terms)):  # one order for every index: the same float sums as a rebuild
            found = self._postings(term)
            df = sum(len(rows) for rows, _ in found)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5)) * (weights or {}).get(term, 1.0)
            for at, (rows, tf) in enumerate(found):
                if len(rows):
                    if parts[at] is None:
                        parts[at] = np.zeros(len(self.tail if at else self.base), dtype=np.float32)
                    parts[at][rows] += idf * tf * (k1 + 1) / (tf + norms[at][rows])  # type: ignore[index]
        if parts[0] is None and parts[1] is None:
            return []
        if filters is not None and not filters.is_empty():
            for at, segment in enumerate((self.base, self.tail)):
                if parts[at] is not None:
                    parts[at][~_filter_mask(segment, filters)] = 0.0  # type: ignore[index]
        scores = parts[0] if parts[0] is not None else np.zeros(len(self.base), dtype=np.float32)
        if parts[1] is not None:
            scores = np.concatenate([scores, parts[1]])
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        hits = hits[np.lexsort((hits, -scores[hits]))]
        return [(int(i), float(scores[i])) for i in hits]

    def _postings(self, term: str) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
        """(rows, tfs) of `term`'s live chunks in the base and in the tail."""
        out = []
        for segment, live in ((self.base, self.live), (self.tail, None)):
            at = segment.find(term) if len(segment) else -1
            rows, tf = segment.postings(at) if at >= 0 else (_NO_ROWS, _NO_TFS)
            if live is not None and len(rows):
                keep = live[rows]
                rows, tf = rows[keep], tf[keep]
            out.append((rows, tf))
        return out[0], out[1]

    def row_terms(self, row: int) -> tuple[list[str], np.ndarray]:
        """The terms of the chunk in `row` and their frequencies in it."""
        if row < len(self.base):
            return self.base.row_terms(row)
        return self.tail.row_terms(row - len(self.base))

    def _chunk_id(self, row: int) -> str:
        return self.base.chunk_id(row) if row < len(self.base) else self.tail.chunk_id(row - len(self.base))

    def document_frequency(self, term: str) -> int:
        """How many chunks hold `term`."""
        return sum(len(rows) for rows, _ in self._postings(term))

    def _norm(self, k1: float, b: float) -> tuple[np.ndarray, np.ndarray]:
        """k1 * (1 - b + b * length / mean length) per base and tail row, kept for the last (k1, b).

        The mean is the live chunks' total length over their count, rounded as float32 arithmetic rounds it
        (the whole-number total is exact in float64, whatever the segments)."""
        if self._norms is None or self._norms[0] != (k1, b):
            total = self._base_totals[1] + float(np.sum(self.tail.lengths, dtype=np.float64))
            mean = max(float(np.float32(total) / np.float32(len(self))), 1e-9) if len(self) else 1.0
            base, tail = ((k1 * (1 - b + b * np.asarray(s.lengths) / mean)).astype(np.float32) for s in (self.base, self.tail))
            self._norms = ((k1, b), base, tail)
        return self._norms[1], self._norms[2]


def _filter_mask(segment: Segment, filters: Filters) -> np.ndarray:
    """Which rows of `segment` pass `filters`: the same rules as `store.where_clause` applies in Chroma."""
    mask = np.ones(len(segment), dtype=bool)
    dates = np.asarray(segment.date_nums)
    if filters.since:
        mask &= (dates > 0) & (dates >= (date_number(filters.since.isoformat()) or 0))
    if filters.until:
        mask &= (dates > 0) & (dates <= (date_number(filters.until.isoformat()) or 0))
    if source_keys(filters):
        keys = set(source_keys(filters))
        mask &= np.isin(segment.site_codes, [i for i, s in enumerate(segment.sites) if s in keys])
    if filters.article_ids:
        codes = segment.article_code()
        mask &= np.isin(segment.article_codes, [codes[a] for a in filters.article_ids if a in codes])
    return mask
