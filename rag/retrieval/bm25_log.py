"""The append-only delta log beside a saved BM25 index: a changed article costs a record, not a file rewrite.

`<index>.npz` is the base, written whole (atomically) by a full build or a compaction; each later delta
(articles dropped, chunks added with their term counts, the store revision reached) is appended to
`<index>.log` as one framed record:

    b"NRB1" | payload length (uint32 LE) | CRC-32 of the payload (uint32 LE) | payload (JSON, UTF-8)

Every record names the base it follows (`base`, the base's random id) and chains the index states: its
`parent` is the state it was computed from, its `token` the state after it. A reader replays the records
of its base in order (`replay` folds them into one delta, applied once). A record that does not chain
from the one before (a writer that did not see the latest append), a torn or corrupt record (a crash in
mid-append, a flipped byte) or one made for another base ends what is trusted: the records after a
damaged one are ignored, and the index's revision is left unknown, so the next search catches the index
up from the store itself (`LexicalIndex.sync`) and the next save compacts it into a fresh base.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bm25 import ChunkDoc

MAGIC = b"NRB1"
_HEAD = struct.Struct("<4sII")
MAX_RECORD = 1 << 30  # a length beyond this is damage, not a record


@dataclass
class Record:
    """One delta: the articles dropped, the chunks added (with their term counts), the revision reached."""

    base: str
    parent: str
    token: str
    revision: str | None
    drop: list[str] = field(default_factory=list)
    add: list[ChunkDoc] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # the index's counters after it (deltas, full builds)

    def encode(self) -> bytes:
        rows = [[d.chunk_id, d.article_id, d.version, d.date_num, d.site_key, [list(p) for p in d.counts or ()]]
                for d in self.add]
        payload = json.dumps({"base": self.base, "parent": self.parent, "token": self.token, "revision": self.revision,
                              "drop": self.drop, "add": rows, "meta": self.meta}, separators=(",", ":")).encode("utf-8")
        return _HEAD.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload

    @classmethod
    def decode(cls, payload: bytes) -> Record:
        data: dict[str, Any] = json.loads(payload.decode("utf-8"))
        add = [ChunkDoc(chunk_id=str(c), article_id=str(a), version=str(v), text="", date_num=int(n), site_key=str(s),
                        counts=tuple((str(t), int(f)) for t, f in counts))
               for c, a, v, n, s, counts in data["add"]]
        revision = data["revision"]
        return cls(str(data["base"]), str(data["parent"]), str(data["token"]),
                   None if revision is None else str(revision), [str(a) for a in data["drop"]], add, dict(data["meta"]))


@dataclass
class Replay:
    """What the records of one base add up to, and how far they can be trusted."""

    drop: set[str] = field(default_factory=set)
    add: dict[str, list[ChunkDoc]] = field(default_factory=dict)  # article id -> its chunks, last record wins
    token: str = ""
    revision: str | None = None
    trusted: bool = True  # every record chained from the one before (else the revision is unknown)
    damaged: bool = False  # a torn, corrupt or other base's record ended the replay (the next save compacts)
    records: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    end: int = 0  # bytes of the log read, up to the last whole record

    def docs(self) -> list[ChunkDoc]:
        return [doc for docs in self.add.values() for doc in docs]


def log_path(index: Path) -> Path:
    """The delta log beside an index file."""
    return index.with_suffix(".log")


def read(path: Path, base: str, token: str, offset: int = 0) -> Replay:
    """Replay the log from `offset` (bytes already applied) onto the state `token` of base `base`."""
    replay = Replay(token=token, end=offset)
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read()
    except FileNotFoundError:
        return replay
    at = 0
    while at < len(data):
        record, size = _next(data, at)
        if record is None or record.base != base:
            replay.damaged = True  # torn, corrupt or another base's: it and everything after it is ignored
            break
        _fold(replay, record)
        at += size
        replay.end = offset + at
    return replay


def _next(data: bytes, at: int) -> tuple[Record | None, int]:
    """The record at `at` and its size on disk; None when it is torn or damaged."""
    if len(data) - at < _HEAD.size:
        return None, 0
    magic, length, crc = _HEAD.unpack_from(data, at)
    payload = data[at + _HEAD.size : at + _HEAD.size + length]
    if magic != MAGIC or length > MAX_RECORD or len(payload) != length or zlib.crc32(payload) != crc:
        return None, 0
    try:
        return Record.decode(payload), _HEAD.size + length
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None, 0


def _fold(replay: Replay, record: Record) -> None:
    replay.trusted = replay.trusted and record.parent == replay.token
    for article_id in record.drop:
        replay.drop.add(article_id)
        replay.add.pop(article_id, None)
    added: dict[str, list[ChunkDoc]] = {}
    for doc in record.add:
        added.setdefault(doc.article_id, []).append(doc)
    for article_id, docs in added.items():
        replay.drop.add(article_id)
        replay.add[article_id] = docs
    replay.token = record.token
    replay.meta.update(record.meta)
    replay.revision = record.revision if replay.trusted else None
    replay.records += 1


def append(path: Path, data: bytes, expected_size: int, base: Path,
           base_state: tuple[int, int, int] | None) -> int | None:
    """Append a record (`Record.encode`) when the log still ends where this process last read it and its base is the one it
    read; the log's new size, else None.

    Under an exclusive lock on the log, so two writers never interleave, and a writer whose view is stale
    (another appended or compacted since it read) writes nothing: its state is caught up from the store by
    whoever reads the log next. Written with one write() and fsynced before the size is returned.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_size != expected_size or stat(base) != base_state:
            return None
        os.write(fd, data)
        os.fsync(fd)
        return expected_size + len(data)
    finally:
        os.close(fd)  # also releases the lock


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """The log's exclusive lock for a compaction: no record is appended while the base is replaced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def stat(path: Path) -> tuple[int, int, int] | None:
    """(mtime, size, inode) of a file, None when it does not exist: how a reader notices a change."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
