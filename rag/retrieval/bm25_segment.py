"""An immutable BM25 segment: chunks with their terms, kept both doc-major and term-major, never changed once made.

A segment is what the index file holds (the base, opened with mmap: nothing is derived at load) or what a
few changed articles make in memory (the tail). Rows are chunks; the term table is sorted, so a term is
found by a binary search over the terms' first 8 bytes (`term_keys`, one array) without building a dictionary
of the whole vocabulary. `merge` folds segments (each
minus its deleted rows) into one: a compaction, or a tail taking the next changed articles.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

_TF_BITS = 16  # bits for a term frequency in the sort key of `by_term`
ARRAYS = ("lengths", "date_nums", "article_codes", "site_codes", "chunk_ptr", "chunk_blob", "indptr", "term_ids",
          "tfs", "term_ptr", "post_slots", "post_tfs", "term_text_ptr", "term_blob", "term_keys", "article_order",
          "article_ptr")
_EMPTY_INT = np.zeros(0, np.int32)


class _Terms(Sequence[str]):
    """The sorted term table as a sequence of strings, decoded one at a time (for `bisect`)."""

    def __init__(self, ptr: np.ndarray, blob: np.ndarray) -> None:
        self.ptr, self.blob = ptr, blob

    def __len__(self) -> int:
        return int(self.ptr.shape[0]) - 1

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        return self.blob[int(self.ptr[i]) : int(self.ptr[i + 1])].tobytes().decode("utf-8")


class Segment:
    """Chunks (rows) with metadata, terms doc-major (`indptr`, `term_ids`, `tfs`) and term-major (`term_ptr`,
    `post_slots`, `post_tfs`); `articles`/`versions`/`sites` name the codes rows carry."""

    def __init__(self, arrays: Mapping[str, np.ndarray], articles: Sequence[str], versions: Sequence[str],
                 sites: Sequence[str]) -> None:
        for name in ARRAYS:
            setattr(self, name, arrays[name])
        self.lengths: np.ndarray
        self.date_nums: np.ndarray
        self.article_codes: np.ndarray
        self.site_codes: np.ndarray
        self.chunk_ptr: np.ndarray
        self.chunk_blob: np.ndarray
        self.indptr: np.ndarray
        self.term_ids: np.ndarray
        self.tfs: np.ndarray
        self.term_ptr: np.ndarray
        self.post_slots: np.ndarray
        self.post_tfs: np.ndarray
        self.term_text_ptr: np.ndarray
        self.term_blob: np.ndarray
        self.term_keys: np.ndarray
        self.article_order: np.ndarray
        self.article_ptr: np.ndarray
        self.articles, self.versions, self.sites = list(articles), list(versions), list(sites)
        self.terms = _Terms(self.term_text_ptr, self.term_blob)
        self._article_code: dict[str, int] | None = None

    def __len__(self) -> int:
        return int(self.lengths.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAYS}

    # ------------------------------------------------------------------ lookups
    def find(self, term: str) -> int:
        """The id of `term`, -1 when no chunk of this segment holds it."""
        key = int.from_bytes(term.encode("utf-8")[:8].ljust(8, b"\0"), "big")
        lo, hi = np.searchsorted(self.term_keys, np.asarray([key, key + 1], np.uint64)).tolist()  # terms sharing those bytes
        at = bisect.bisect_left(self.terms, term, lo, hi)
        return at if at < hi and self.terms[at] == term else -1

    def postings(self, term_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, term frequencies) of the chunks holding term `term_id`, in row order."""
        lo, hi = int(self.term_ptr[term_id]), int(self.term_ptr[term_id + 1])
        return self.post_slots[lo:hi], self.post_tfs[lo:hi]

    def row_terms(self, row: int) -> tuple[list[str], np.ndarray]:
        lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
        return [self.terms[int(t)] for t in self.term_ids[lo:hi]], np.asarray(self.tfs[lo:hi])

    def term_texts(self, ids: np.ndarray) -> list[str]:
        """The terms with these ids (decoded from one copy of the table: far cheaper than one by one)."""
        raw, ptr = self.term_blob.tobytes(), self.term_text_ptr
        return [raw[a:b].decode("utf-8") for a, b in zip(ptr[ids].tolist(), ptr[np.asarray(ids) + 1].tolist())]

    def chunk_id(self, row: int) -> str:
        return self.chunk_blob[int(self.chunk_ptr[row]) : int(self.chunk_ptr[row + 1])].tobytes().decode("utf-8")

    def chunk_ids(self) -> list[str]:
        text = self.chunk_blob.tobytes().decode("utf-8")
        ptr = self.chunk_ptr.tolist()
        if text.isascii():
            return [text[a:b] for a, b in zip(ptr, ptr[1:])]
        return [self.chunk_id(r) for r in range(len(self))]

    def article_code(self) -> dict[str, int]:
        """article id -> its code in this segment."""
        if self._article_code is None:
            self._article_code = {a: i for i, a in enumerate(self.articles)}
        return self._article_code

    def article_rows(self, codes: Sequence[int]) -> np.ndarray:
        """The rows of the articles with these codes."""
        parts = [self.article_order[int(self.article_ptr[c]) : int(self.article_ptr[c + 1])] for c in codes]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def articles_present(self) -> np.ndarray:
        """Which article codes have rows (an article code of a segment always has)."""
        return np.diff(self.article_ptr) > 0


def from_docs(docs: Sequence[Any]) -> Segment:
    """A segment of counted `ChunkDoc`s, in their order (Python work proportional to the docs)."""
    vocab: dict[str, int] = {}
    ids: list[int] = []
    tfs: list[int] = []
    nnz: list[int] = []
    lengths: list[int] = []
    for doc in docs:
        counts = doc.counted().counts or ()
        for term, tf in counts:
            ids.append(vocab.setdefault(term, len(vocab)))
            tfs.append(tf)
        nnz.append(len(counts))
        lengths.append(sum(tf for _, tf in counts))
    order = sorted(vocab)
    rank = np.zeros(len(vocab), np.int32)
    rank[[vocab[t] for t in order]] = np.arange(len(order), dtype=np.int32)
    term_ids = rank[np.asarray(ids, np.int64)] if ids else _EMPTY_INT
    articles = list(dict.fromkeys(d.article_id for d in docs))
    code = {a: i for i, a in enumerate(articles)}
    version = {d.article_id: d.version for d in docs}
    sites = list(dict.fromkeys(d.site_key for d in docs))
    site = {s: i for i, s in enumerate(sites)}
    rows = {"lengths": np.asarray(lengths, np.float32), "date_nums": np.asarray([d.date_num for d in docs], np.int32),
            "article_codes": np.asarray([code[d.article_id] for d in docs], np.int32),
            "site_codes": np.asarray([site[d.site_key] for d in docs], np.int32)}
    chunk_ptr, chunk_blob = pack(d.chunk_id for d in docs)
    text_ptr, term_blob = pack(order)
    return build(rows, chunk_ptr, chunk_blob, _ptr(np.asarray(nnz, np.int64)), term_ids, np.asarray(tfs, np.float32),
                 text_ptr, term_blob, articles, [version[a] for a in articles], sites)


def build(rows: dict[str, np.ndarray], chunk_ptr: np.ndarray, chunk_blob: np.ndarray, indptr: np.ndarray,
          term_ids: np.ndarray, tfs: np.ndarray, text_ptr: np.ndarray, term_blob: np.ndarray,
          articles: Sequence[str], versions: Sequence[str], sites: Sequence[str],
          postings: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> Segment:
    """A segment from its doc-major rows and, when not given, the term-major `postings` (term of each entry, row,
    tf; ordered by term, then row) derived from them; the article index is derived here."""
    n_terms = int(text_ptr.shape[0]) - 1
    if postings is None:
        counts = np.bincount(term_ids, minlength=n_terms) if n_terms else np.zeros(0, np.int64)
        post_slots, post_tfs = by_term(term_ids, tfs, indptr, n_terms)
    else:
        counts = np.bincount(postings[0], minlength=n_terms) if n_terms else np.zeros(0, np.int64)
        post_slots, post_tfs = postings[1].astype(np.int32), postings[2].astype(np.float32)
    article_counts = np.bincount(rows["article_codes"], minlength=len(articles)) if articles else np.zeros(0, np.int64)
    arrays = {**rows, "chunk_ptr": chunk_ptr, "chunk_blob": chunk_blob, "indptr": indptr, "term_ids": term_ids,
              "tfs": tfs, "term_ptr": _ptr(counts), "post_slots": post_slots, "post_tfs": post_tfs,
              "term_text_ptr": text_ptr, "term_blob": term_blob, "term_keys": _keys(text_ptr, term_blob),
              "article_order": np.argsort(rows["article_codes"], kind="stable").astype(np.int32),
              "article_ptr": _ptr(article_counts)}
    return Segment(arrays, articles, versions, sites)


def empty() -> Segment:
    return from_docs([])


def merge(parts: Sequence[tuple[Segment, np.ndarray | None]]) -> Segment:
    """One segment of the live rows (mask True; None: all) of `parts`, in order; terms no live row holds are left out.

    Linear in the entries, no sort: every segment's term table is sorted, so the merged one maps each part's
    term ids in order, and each part's term-major postings stay ordered by (term, row); the parts' runs are then
    merged by term (a later part's rows come after an earlier part's)."""
    parts = [(s, live) for s, live in parts if len(s) and (live is None or bool(live.any()))]
    if len(parts) == 1 and parts[0][1] is None:
        return parts[0][0]
    if not parts:
        return empty()
    runs = [_live_runs(s, live) for s, live in parts]
    part_ids = [_take(s.term_ids, s.indptr, r) for (s, _), r in zip(parts, runs)]
    used = [np.flatnonzero(np.bincount(ids, minlength=len(s.terms))) for (s, _), ids in zip(parts, part_ids)]
    texts = [s.term_texts(u) for (s, _), u in zip(parts, used)]
    order = sorted(set().union(*texts))
    new_id = {t: i for i, t in enumerate(order)}
    remaps = []
    for (s, _), u, words in zip(parts, used, texts):
        remap = np.full(len(s.terms), -1, np.int32)
        remap[u] = np.asarray([new_id[w] for w in words], np.int32)
        remaps.append(remap)
    articles, versions, article_codes = _merge_table(parts, "article_codes", lambda s: s.articles, lambda s: s.versions)
    sites, _, site_codes = _merge_table(parts, "site_codes", lambda s: s.sites, lambda s: s.sites)
    masks = [np.ones(len(s), bool) if live is None else np.asarray(live, bool) for s, live in parts]
    rows = {"lengths": np.concatenate([np.asarray(s.lengths)[m] for (s, _), m in zip(parts, masks)]).astype(np.float32),
            "date_nums": np.concatenate([np.asarray(s.date_nums)[m] for (s, _), m in zip(parts, masks)]).astype(np.int32),
            "article_codes": article_codes, "site_codes": site_codes}
    chunk_ptr = _ptr(np.concatenate([np.diff(np.asarray(s.chunk_ptr))[m] for (s, _), m in zip(parts, masks)]))
    chunk_blob = np.concatenate([_take(s.chunk_blob, s.chunk_ptr, r) for (s, _), r in zip(parts, runs)])
    indptr = _ptr(np.concatenate([np.diff(np.asarray(s.indptr))[m] for (s, _), m in zip(parts, masks)]))
    term_ids = np.concatenate([remap[ids] for remap, ids in zip(remaps, part_ids)]).astype(np.int32)
    tfs = np.concatenate([_take(s.tfs, s.indptr, r) for (s, _), r in zip(parts, runs)]).astype(np.float32)
    text_ptr, term_blob = pack(order)
    return build(rows, chunk_ptr, chunk_blob, indptr, term_ids, tfs, text_ptr, term_blob, articles, versions, sites,
                 _merged_postings(parts, masks, remaps))


def _merged_postings(parts: Sequence[tuple[Segment, np.ndarray | None]], masks: Sequence[np.ndarray],
                     remaps: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(term, row, tf) of every live entry of the parts, ordered by merged term, then merged row."""
    merged: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    offset = 0
    for (s, live), mask, remap in zip(parts, masks, remaps):
        terms = np.repeat(remap, np.diff(np.asarray(s.term_ptr)))
        slots, tfs = np.asarray(s.post_slots), np.asarray(s.post_tfs)
        if live is not None:
            keep = mask[slots]
            new_row = np.cumsum(mask, dtype=np.int64) - 1
            terms, rows, tfs = terms[keep], new_row[slots[keep]] + offset, tfs[keep]
        else:
            rows = slots.astype(np.int64) + offset
        offset += int(mask.sum())
        if merged is None:
            merged = (terms, rows, tfs)
            continue
        at = np.searchsorted(merged[0], terms, side="right")  # after the earlier parts' entries of the same term
        merged = (np.insert(merged[0], at, terms), np.insert(merged[1], at, rows), np.insert(merged[2], at, tfs))
    assert merged is not None
    return merged


def _live_runs(segment: Segment, live: np.ndarray | None) -> list[tuple[int, int]]:
    """The live rows of a segment as [start, end) runs (deletions are few, so the runs are too)."""
    if live is None:
        return [(0, len(segment))]
    edges = np.flatnonzero(np.diff(np.concatenate([[0], np.asarray(live, np.int8), [0]]))).tolist()
    return list(zip(edges[::2], edges[1::2]))


def _take(values: np.ndarray, ptr: np.ndarray, runs: Sequence[tuple[int, int]]) -> np.ndarray:
    """The entries of `values` (grouped by row through `ptr`) of the rows in `runs`."""
    return np.concatenate([np.asarray(values[int(ptr[a]) : int(ptr[b])]) for a, b in runs] or [np.asarray(values[:0])])


def _merge_table(kept: Sequence[tuple[Segment, np.ndarray | None]], field: str, names: Any,
                 values: Any) -> tuple[list[str], list[str], np.ndarray]:
    """A merged code table (articles or sites) of the live rows, and the rows' new codes."""
    table: dict[str, int] = {}
    out_values: list[str] = []
    codes = []
    for s, live in kept:
        old = np.asarray(getattr(s, field)) if live is None else np.asarray(getattr(s, field))[live]
        present = np.unique(old)
        remap = np.zeros(len(names(s)) or 1, np.int32)
        for c in present.tolist():
            name = names(s)[c]
            if name not in table:
                table[name] = len(table)
                out_values.append(values(s)[c])
            remap[c] = table[name]
        codes.append(remap[old])
    return list(table), out_values, np.concatenate(codes).astype(np.int32)


def _keys(ptr: np.ndarray, blob: np.ndarray) -> np.ndarray:
    """Each string's first 8 bytes as a big-endian number (zero-padded): sorted strings give sorted keys."""
    starts, sizes = ptr[:-1], np.diff(ptr)
    at = starts[:, None] + np.arange(8, dtype=np.int64)
    inside = np.arange(8, dtype=np.int64) < sizes[:, None]
    raw = np.where(inside, np.asarray(blob)[np.minimum(at, max(len(blob) - 1, 0))] if len(blob) else 0, 0).astype(np.uint64)
    return (raw << (np.uint64(8) * np.arange(7, -1, -1, dtype=np.uint64))).sum(axis=1, dtype=np.uint64)


def pack(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, UTF-8 bytes) of strings."""
    encoded = [v.encode("utf-8") for v in values]
    return _ptr(np.asarray([len(e) for e in encoded], np.int64)), np.frombuffer(b"".join(encoded), np.uint8).copy()


def _ptr(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)


def by_term(term_ids: np.ndarray, tfs: np.ndarray, indptr: np.ndarray, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, tfs) of every entry ordered by term, then row.

    Where they fit, (term, row, tf) are packed into one int64 key per entry and sorted: one SIMD sort,
    several times faster than a stable argsort (term frequencies are whole counts).
    """
    slots = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64), np.diff(indptr))
    n_docs = max(len(indptr) - 1, 1)
    fits = n_terms * n_docs < 2 ** (63 - _TF_BITS) and (
        tfs.size == 0 or (float(tfs.min()) >= 0 and float(tfs.max()) < 2**_TF_BITS and bool(np.all(tfs == np.floor(tfs)))))
    if not fits:
        order = np.argsort(term_ids, kind="stable")
        return slots[order].astype(np.int32), np.asarray(tfs[order], np.float32)
    keys = np.sort(((term_ids.astype(np.int64) * n_docs + slots) << _TF_BITS) | tfs.astype(np.int64))
    return ((keys >> _TF_BITS) % n_docs).astype(np.int32), (keys & (2**_TF_BITS - 1)).astype(np.float32)
