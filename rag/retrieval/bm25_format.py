"""The BM25 index file: one segment's arrays laid out so that a reader maps them (mmap) instead of parsing them.

    b"NRBM25\\0\\2" | header length (uint64 LE) | CRC-32 of the header (uint32 LE) | 4 zero bytes
    | header (JSON: meta, the article/version/site tables, each array's dtype, length, offset, CRC-32, file size)
    | the arrays, each at a 64-byte aligned offset from the end of the header, zeros up to the next one

Opening checks the header (CRC), the file's size, every array's bounds and the offsets that tie them together
and the CRC of every array up to 1 MB (nothing proportional to the postings is read), so a torn, truncated or
foreign file is refused; `verify=True` (`from_bytes`) also checks the CRC of the large arrays. Format 1 (the
`.npz` of doc-major arrays an older newsrag wrote) is still read, deriving what format 2 stores; the index
is then written in format 2 at its next save (`LexicalIndex` migrates it once it is in step).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from .bm25_segment import ARRAYS, Segment, build, pack

FORMAT = 2
MAGIC = b"NRBM25\x00\x02"
_HEAD = struct.Struct("<8sQI4x")
_ALIGN = 64
_TRUST_SMALL = 1 << 20  # arrays up to this size are CRC-checked even when opened without `verify`
_LEGACY_NUMERIC = ("indptr", "term_ids", "tfs", "lengths", "date_nums")
_LEGACY_STRINGS = ("chunk_ids", "articles", "versions", "site_keys")


def write(handle: IO[bytes], segment: Segment, meta: dict[str, Any]) -> None:
    """Write `segment` with `meta` to an open binary file (the caller fsyncs and renames it into place)."""
    arrays = {name: np.ascontiguousarray(a) for name, a in segment.arrays().items()}
    offsets, offset = {}, 0
    for name in ARRAYS:
        offsets[name] = offset
        offset = _aligned(offset + arrays[name].nbytes)
    layout = {name: [arrays[name].dtype.str, int(arrays[name].shape[0]), offsets[name],
                     zlib.crc32(bytes(_padding(arrays[name].nbytes)), zlib.crc32(_raw(arrays[name])))]
              for name in ARRAYS}
    header = {"format": FORMAT, "meta": meta, "articles": segment.articles, "versions": segment.versions,
              "sites": segment.sites, "arrays": layout, "data_bytes": offset}
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    start = _aligned(_HEAD.size + len(head))
    handle.write(_HEAD.pack(MAGIC, len(head), zlib.crc32(head)) + head + bytes(start - _HEAD.size - len(head)))
    for name in ARRAYS:  # each array, then zeros up to the next 64-byte boundary (covered by its CRC)
        handle.write(_raw(arrays[name]))
        handle.write(bytes(_padding(arrays[name].nbytes)))


def to_bytes(segment: Segment, meta: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    write(buffer, segment, meta)
    return buffer.getvalue()


def open_file(path: Path, verify: bool = False) -> tuple[Segment, dict[str, Any]]:
    """The segment and meta of an index file, its arrays mapped from the file (format 1 is read whole)."""
    with open(path, "rb") as handle:
        start = handle.read(len(MAGIC))
    if start != MAGIC:
        return from_bytes(path.read_bytes())
    try:  # plain ndarray views of the mapping (np.memmap's Python hooks would run on every operation)
        data = np.asarray(np.memmap(path, dtype=np.uint8, mode="r"))
    except (ValueError, OSError) as exc:
        raise ValueError(f"unreadable index file: {exc}") from exc
    return _parse(data, verify)


def from_bytes(data: bytes, verify: bool = True) -> tuple[Segment, dict[str, Any]]:
    """Parse and check an index file's bytes (either format); raises ValueError when damaged or foreign."""
    if data[: len(MAGIC)] != MAGIC:
        return _legacy(data)
    return _parse(np.frombuffer(data, np.uint8), verify)


def _parse(data: np.ndarray, verify: bool) -> tuple[Segment, dict[str, Any]]:
    try:
        magic, size, crc = _HEAD.unpack_from(data[: _HEAD.size].tobytes())
        head = data[_HEAD.size : _HEAD.size + size].tobytes()
        if magic != MAGIC or len(head) != size or zlib.crc32(head) != crc:
            raise ValueError("the header is torn or damaged")
        header = json.loads(head.decode("utf-8"))
        start = _aligned(_HEAD.size + size)
        if header.get("format") != FORMAT or data.shape[0] != start + int(header["data_bytes"]):
            raise ValueError(f"{data.shape[0]} bytes where the header describes {start + int(header['data_bytes'])}")
        arrays = {}
        for name in ARRAYS:
            dtype, length, offset, crc = header["arrays"][name]
            nbytes = np.dtype(dtype).itemsize * int(length)
            region = data[start + offset : start + _aligned(offset + nbytes)]
            raw = region[:nbytes]
            if region.shape[0] != _aligned(offset + nbytes) - offset:
                raise ValueError(f"array {name} runs past the end of the file")
            if (verify or nbytes <= _TRUST_SMALL) and zlib.crc32(_raw(region)) != crc:
                raise ValueError(f"array {name} is damaged (CRC)")
            arrays[name] = raw.view(np.dtype(dtype))
        segment = Segment(arrays, header["articles"], header["versions"], header["sites"])
    except (struct.error, KeyError, TypeError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"unreadable index file: {exc}") from exc
    check(segment, full=verify)
    return segment, dict(header["meta"])


def check(s: Segment, full: bool) -> None:
    """Raise ValueError unless the arrays fit together (`full`: also every term id and row in range)."""
    n, nnz, n_terms, n_articles = len(s), int(s.term_ids.shape[0]), int(s.term_ptr.shape[0]) - 1, len(s.articles)

    def ptr_ok(ptr: np.ndarray, count: int, end: int) -> bool:
        return ptr.shape == (count + 1,) and int(ptr[0]) == 0 and int(ptr[-1]) == end and bool(np.all(np.diff(ptr) >= 0))

    ok = (
        all(a.shape == (n,) for a in (s.date_nums, s.article_codes, s.site_codes, s.article_order))
        and s.tfs.shape == s.post_slots.shape == s.post_tfs.shape == (nnz,)
        and ptr_ok(s.indptr, n, nnz) and ptr_ok(s.term_ptr, n_terms, nnz) and ptr_ok(s.chunk_ptr, n, s.chunk_blob.shape[0])
        and ptr_ok(s.term_text_ptr, n_terms, s.term_blob.shape[0]) and ptr_ok(s.article_ptr, n_articles, n)
        and len(s.versions) == n_articles and (n == 0 or (0 <= int(s.article_codes.min()) and int(s.article_codes.max()) < n_articles
                                                         and 0 <= int(s.site_codes.min()) and int(s.site_codes.max()) < len(s.sites)))
    )
    if ok and full and nnz:
        ok = (0 <= int(s.term_ids.min()) and int(s.term_ids.max()) < n_terms
              and 0 <= int(s.post_slots.min()) and int(s.post_slots.max()) < n)
    if not ok:
        raise ValueError("index arrays are inconsistent")


def _legacy(data: bytes) -> tuple[Segment, dict[str, Any]]:
    """Format 1: an .npz of doc-major arrays, strings NUL-joined, terms in the order they were met."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(_unpack(npz["meta"], 1)[0])
            if meta.get("format") != 1:
                raise ValueError(f"format {meta.get('format')} is not {FORMAT} or 1")
            arrays = {name: npz[name] for name in _LEGACY_NUMERIC}
            n = arrays["lengths"].shape[0]
            strings = {name: _unpack(npz[name], n) for name in _LEGACY_STRINGS}
            terms = _unpack(npz["terms"], None)
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(f"unreadable index file: {exc}") from exc
    term_ids = arrays["term_ids"]
    if term_ids.size and (int(term_ids.min()) < 0 or int(term_ids.max()) >= len(terms)):
        raise ValueError("index arrays are inconsistent")
    order = sorted(range(len(terms)), key=terms.__getitem__)
    rank = np.zeros(len(terms), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    articles = list(dict.fromkeys(strings["articles"]))
    code = {a: i for i, a in enumerate(articles)}
    version = dict(zip(strings["articles"], strings["versions"]))
    sites = list(dict.fromkeys(strings["site_keys"]))
    site = {k: i for i, k in enumerate(sites)}
    rows = {"lengths": arrays["lengths"].astype(np.float32), "date_nums": arrays["date_nums"].astype(np.int32),
            "article_codes": np.asarray([code[a] for a in strings["articles"]], np.int32),
            "site_codes": np.asarray([site[k] for k in strings["site_keys"]], np.int32)}
    chunk_ptr, chunk_blob = pack(strings["chunk_ids"])
    text_ptr, term_blob = pack(terms[i] for i in order)
    segment = build(rows, chunk_ptr, chunk_blob, arrays["indptr"].astype(np.int64), rank[term_ids],
                    arrays["tfs"].astype(np.float32), text_ptr, term_blob, articles, [version[a] for a in articles], sites)
    check(segment, full=False)
    return segment, meta


def _unpack(packed: np.ndarray, count: int | None) -> list[str]:
    """Strings NUL-joined (format 1); `count` tells an empty list from one empty string (None: no empty strings)."""
    text = packed.tobytes().decode("utf-8")
    values = text.split("\x00") if (text or count) else []
    if count is not None and len(values) != count:
        raise ValueError(f"{len(values)} strings where {count} were expected")
    return values


def _raw(array: np.ndarray) -> memoryview:
    """An array's bytes, without a copy when it is contiguous."""
    return np.ascontiguousarray(array).view(np.uint8).data


def _padding(nbytes: int) -> int:
    return _aligned(nbytes) - nbytes


def _aligned(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN
