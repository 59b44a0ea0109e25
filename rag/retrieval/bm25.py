"""A BM25 index over chunks that takes per-article deltas: add an article's chunks, drop them, score a query.

Own sparse index rather than bm25s/rank-bm25: those rebuild from the whole corpus on every change, and
newsrag keeps the index in step with Chroma one article version at a time. Rows live in a doc-major
CSR (cheap to append and drop), a term-major copy is derived lazily for scoring, and the whole index
saves to one .npz file (no pickle) that `load` checks before trusting.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import numpy as np

from .. import text as tx
from ..records import Filters
from ..store.rows import date_number, source_keys

FORMAT = 1
TOKENIZER = "terms-v1"  # bump when `lexical_terms` changes: stored indexes are then rebuilt
_COMPOUND = re.compile(r"[^\W_]+(?:[-‐/][^\W_]+)+")  # ISIS-K, F-35, COVID-19, 24/7
_TF_BITS = 16  # bits for a term frequency in the sort key of `_by_term`
_NUMERIC = ("indptr", "term_ids", "tfs", "lengths", "date_nums")
_DOC_STRINGS = {"chunk_ids": "chunk_id", "articles": "article_id", "versions": "version", "site_keys": "site_key"}


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

    def __init__(self, arrays: dict[str, np.ndarray] | None = None, terms: Sequence[str] = (),
                 meta: dict[str, Any] | None = None, vocab: dict[str, int] | None = None) -> None:
        a = arrays or _empty_arrays()
        self.indptr, self.term_ids, self.tfs = a["indptr"], a["term_ids"], a["tfs"]
        self.lengths, self.date_nums = a["lengths"], a["date_nums"]
        self.chunk_ids, self.articles, self.versions = a["chunk_ids"], a["articles"], a["versions"]
        self.site_keys = a["site_keys"]
        self.terms = list(terms)
        self.vocab = vocab if vocab is not None else {t: i for i, t in enumerate(self.terms)}  # term -> its id
        self.meta: dict[str, Any] = dict(meta or {})
        self._postings: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._norms: tuple[tuple[float, float], np.ndarray] | None = None

    # ------------------------------------------------------------------ state
    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def article_versions(self) -> dict[str, str]:
        """article_id -> the version whose chunks are indexed."""
        return dict(zip(self.articles.tolist(), self.versions.tolist()))

    # ------------------------------------------------------------------ deltas
    def apply(self, drop: Iterable[str], add: Sequence[ChunkDoc]) -> BM25Index:
        """A new index without the chunks of articles in `drop` and with the chunks in `add`."""
        dropped = set(drop) | {d.article_id for d in add}
        keep = ~np.isin(self.articles, list(dropped)) if dropped and len(self) else np.ones(len(self), bool)
        row_nnz = np.diff(self.indptr)
        entry_keep = np.repeat(keep, row_nnz)
        vocab, terms = dict(self.vocab), list(self.terms)
        new_ids: list[np.ndarray] = []
        new_tfs: list[np.ndarray] = []
        for doc in add:
            counts = dict(doc.counted().counts or ())
            for term in counts:
                if term not in vocab:
                    vocab[term] = len(terms)
                    terms.append(term)
            new_ids.append(np.asarray([vocab[t] for t in counts], dtype=np.int32))
            new_tfs.append(np.asarray(list(counts.values()), dtype=np.float32))
        nnz = np.concatenate([row_nnz[keep], np.asarray([len(i) for i in new_ids], dtype=np.int64)])
        arrays: dict[str, np.ndarray] = {
            "indptr": np.concatenate([[0], np.cumsum(nnz)]).astype(np.int64, copy=False),
            "term_ids": np.concatenate([self.term_ids[entry_keep], *new_ids]).astype(np.int32, copy=False),
            "tfs": np.concatenate([self.tfs[entry_keep], *new_tfs]).astype(np.float32, copy=False),
            "lengths": np.concatenate([self.lengths[keep], [float(t.sum()) for t in new_tfs]]).astype(np.float32),
            "date_nums": np.concatenate([self.date_nums[keep], [d.date_num for d in add]]).astype(np.int32),
        }
        for name, field in _DOC_STRINGS.items():
            added = np.asarray([getattr(d, field) for d in add], dtype=str)
            arrays[name] = np.concatenate([getattr(self, name)[keep], added]) if len(add) else getattr(self, name)[keep]
        return BM25Index(arrays, terms, self.meta, vocab)

    # ------------------------------------------------------------------ search
    def search(self, terms: Sequence[str], k: int, filters: Filters | None = None,
               k1: float = 1.2, b: float = 0.75, weights: Mapping[str, float] | None = None) -> list[tuple[str, float]]:
        """The k best (chunk_id, BM25 score) among chunks passing `filters`, best first; `weights` scale
        each term's share of the score (1 for a term without one)."""
        return [(str(self.chunk_ids[i]), score) for i, score in self.search_slots(terms, k, filters, k1, b, weights)]

    def search_slots(self, terms: Sequence[str], k: int, filters: Filters | None = None, k1: float = 1.2,
                     b: float = 0.75, weights: Mapping[str, float] | None = None) -> list[tuple[int, float]]:
        """`search` as (row of the chunk in this index, score): rows give the chunk's terms (`row_terms`)."""
        query = sorted({self.vocab[t] for t in terms if t in self.vocab})
        term_weight = {self.vocab[t]: w for t, w in (weights or {}).items() if t in self.vocab}
        if not query or not len(self):
            return []
        term_ptr, post_slots, post_tfs = self._term_major()
        n_docs = len(self)
        norm = self._norm(k1, b)
        scores = np.zeros(n_docs, dtype=np.float32)
        for term in query:
            slots = post_slots[term_ptr[term] : term_ptr[term + 1]]
            tf = post_tfs[term_ptr[term] : term_ptr[term + 1]]
            idf = math.log(1 + (n_docs - len(slots) + 0.5) / (len(slots) + 0.5)) * term_weight.get(term, 1.0)
            scores[slots] += idf * tf * (k1 + 1) / (tf + norm[slots])
        if filters is not None and not filters.is_empty():
            scores[~self.filter_mask(filters)] = 0.0
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        hits = hits[np.lexsort((hits, -scores[hits]))]
        return [(int(i), float(scores[i])) for i in hits]

    def row_terms(self, row: int) -> tuple[list[str], np.ndarray]:
        """The terms of the chunk in `row` and their frequencies in it."""
        lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
        return [self.terms[t] for t in self.term_ids[lo:hi]], self.tfs[lo:hi]

    def document_frequency(self, term: str) -> int:
        """How many chunks hold `term`."""
        if term not in self.vocab:
            return 0
        term_ptr = self._term_major()[0]
        return int(term_ptr[self.vocab[term] + 1] - term_ptr[self.vocab[term]])

    def filter_mask(self, filters: Filters | None) -> np.ndarray:
        """Which chunks pass `filters`: the same rules as `store.where_clause` applies in Chroma."""
        mask = np.ones(len(self), dtype=bool)
        if filters is None or filters.is_empty():
            return mask
        if filters.since:
            mask &= (self.date_nums > 0) & (self.date_nums >= (date_number(filters.since.isoformat()) or 0))
        if filters.until:
            mask &= (self.date_nums > 0) & (self.date_nums <= (date_number(filters.until.isoformat()) or 0))
        if source_keys(filters):
            mask &= np.isin(self.site_keys, source_keys(filters))
        if filters.article_ids:
            mask &= np.isin(self.articles, list(filters.article_ids))
        return mask

    def _term_major(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(term_ptr, slots, tfs): the postings of term t are slots[term_ptr[t]:term_ptr[t+1]], in chunk order.

        Derived once per process from the saved doc-major rows (about 0.1 s per 100k chunks).
        """
        if self._postings is None:
            counts = np.bincount(self.term_ids, minlength=len(self.terms))
            term_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            self._postings = (term_ptr, *_by_term(self.term_ids, self.tfs, self.indptr, len(self.terms)))
        return self._postings

    def _norm(self, k1: float, b: float) -> np.ndarray:
        """k1 * (1 - b + b * length / mean length) per chunk, kept for the last (k1, b)."""
        if self._norms is None or self._norms[0] != (k1, b):
            mean = max(float(self.lengths.mean()), 1e-9) if len(self) else 1.0
            self._norms = ((k1, b), (k1 * (1 - b + b * self.lengths / mean)).astype(np.float32))
        return self._norms[1]

    # ------------------------------------------------------------------ files
    def to_bytes(self) -> bytes:
        """The index as .npz bytes: numeric arrays, strings as NUL-joined UTF-8, meta as JSON."""
        meta = {**self.meta, "format": FORMAT, "tokenizer": TOKENIZER}
        arrays = {name: getattr(self, name) for name in _NUMERIC}
        arrays.update({name: _pack(getattr(self, name).tolist()) for name in _DOC_STRINGS})
        arrays.update(terms=_pack(self.terms), meta=_pack([json.dumps(meta)]))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> BM25Index:
        """Parse and check a saved index; raises ValueError when it is damaged or of another format."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                meta = json.loads(_unpack(npz["meta"], 1)[0])
                if meta.get("format") != FORMAT or meta.get("tokenizer") != TOKENIZER:
                    raise ValueError(f"format {meta.get('format')}/{meta.get('tokenizer')} is not {FORMAT}/{TOKENIZER}")
                arrays = {name: npz[name] for name in _NUMERIC}
                n = arrays["lengths"].shape[0]
                for name in _DOC_STRINGS:
                    arrays[name] = np.asarray(_unpack(npz[name], n), dtype=str)
                terms = _unpack(npz["terms"], None)
        except Exception as exc:
            raise ValueError(f"unreadable index file: {exc}") from exc
        _check_shapes(arrays, len(terms))
        return cls(arrays, terms, meta)


def _by_term(term_ids: np.ndarray, tfs: np.ndarray, indptr: np.ndarray, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """(slots, tfs) of every entry ordered by term, then chunk.

    Where they fit, (term, chunk, tf) are packed into one int64 key per entry and sorted: one SIMD sort,
    several times faster than the stable argsort it replaces (term frequencies are whole counts).
    """
    n_docs = max(len(indptr) - 1, 1)
    slots = np.repeat(np.arange(n_docs, dtype=np.int64), np.diff(indptr))
    fits = n_terms * n_docs < 2 ** (63 - _TF_BITS) and (
        tfs.size == 0 or (float(tfs.min()) >= 0 and float(tfs.max()) < 2**_TF_BITS and bool(np.all(tfs == np.floor(tfs)))))
    if not fits:
        order = np.argsort(term_ids, kind="stable")
        return slots[order].astype(np.int32), tfs[order]
    keys = np.sort(((term_ids.astype(np.int64) * n_docs + slots) << _TF_BITS) | tfs.astype(np.int64))
    return ((keys >> _TF_BITS) % n_docs).astype(np.int32), (keys & (2**_TF_BITS - 1)).astype(np.float32)


def _pack(values: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\x00".join(values).encode("utf-8"), dtype=np.uint8)


def _unpack(packed: np.ndarray, count: int | None) -> list[str]:
    """Strings packed by `_pack`; `count` tells an empty list from one empty string (None: no empty strings)."""
    text = packed.tobytes().decode("utf-8")
    values = text.split("\x00") if (text or count) else []
    if count is not None and len(values) != count:
        raise ValueError(f"{len(values)} strings where {count} were expected")
    return values


def _empty_arrays() -> dict[str, np.ndarray]:
    strings = {name: np.zeros(0, dtype="<U1") for name in _DOC_STRINGS}
    return {**strings, "indptr": np.zeros(1, np.int64), "term_ids": np.zeros(0, np.int32),
            "tfs": np.zeros(0, np.float32), "lengths": np.zeros(0, np.float32), "date_nums": np.zeros(0, np.int32)}


def _check_shapes(a: dict[str, np.ndarray], n_terms: int) -> None:
    n = a["lengths"].shape[0]
    ok = (
        a["indptr"].shape == (n + 1,) and a["date_nums"].shape == (n,)
        and int(a["indptr"][0]) == 0 and int(a["indptr"][-1]) == a["term_ids"].shape[0] == a["tfs"].shape[0]
        and bool(np.all(np.diff(a["indptr"]) >= 0))
        and (a["term_ids"].size == 0 or (int(a["term_ids"].min()) >= 0 and int(a["term_ids"].max()) < n_terms))
    )
    if not ok:
        raise ValueError("index arrays are inconsistent")
