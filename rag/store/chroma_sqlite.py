"""Embedded Chroma's `chroma.sqlite3`, read with Python's sqlite3 (never Chroma's native code).

The store check reads which records each collection holds and what the write log still has to apply;
`newsrag repair` reads the records themselves (ids, documents, metadata) and the vectors the log still
carries. Damaged pages are skipped a range of rows at a time, so what survives can still be read.
`string_values` reads one key of every record of a collection (the registry's versions: 12 ms for 4,078
records, where Chroma's `get` converts all 18 keys of each, 0.5 s).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

DOCUMENT_KEY = "chroma:document"
ADD, UPDATE, UPSERT, DELETE = 0, 1, 2, 3
T = TypeVar("T")
ROWS = 500  # rows read per query when salvaging: one damaged page costs at most this many records


class SqliteDamaged(Exception):
    """chroma.sqlite3 cannot be opened or fails SQLite's own check."""


@dataclass(frozen=True)
class CollectionInfo:
    """One Chroma collection and its two segments."""

    id: str
    name: str
    dimension: int
    metadata: dict[str, Any]
    vector_segment: str
    metadata_segment: str


@dataclass(frozen=True)
class LogEntry:
    """One write that the log holds (`vector` and `metadata` are None where it carries none)."""

    seq: int
    operation: int
    id: str
    vector: np.ndarray | None
    metadata: dict[str, Any] | None


class ChromaSqlite:
    """Read access to one chroma.sqlite3 (the caller holds the store, so nobody else writes it)."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = Path(path)
        try:
            self.db = sqlite3.connect(f"file:{self.path}?mode={'ro' if read_only else 'rw'}", uri=True, timeout=30)
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise SqliteDamaged(f"{self.path.name} cannot be opened ({exc})") from exc

    def close(self) -> None:
        self.db.close()

    def quick_check(self) -> None:
        """SQLite's own consistency check (pages, indexes); SqliteDamaged with its first finding."""
        try:
            found = [row[0] for row in self.db.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as exc:
            raise SqliteDamaged(f"{self.path.name} fails SQLite's check ({exc})") from exc
        if found != ["ok"]:
            raise SqliteDamaged(f"{self.path.name} fails SQLite's check ({'; '.join(found)[:300]})")

    def collections(self) -> dict[str, CollectionInfo]:
        """name -> the collection, with its metadata and segment ids."""
        try:
            out: dict[str, CollectionInfo] = {}
            for cid, name, dimension in self.db.execute("SELECT id, name, dimension FROM collections"):
                segments = dict(self.db.execute("SELECT scope, id FROM segments WHERE collection = ?", (cid,)).fetchall())
                meta = {key: metadata_value(s, i, f, b) for key, s, i, f, b in self.db.execute(
                    "SELECT key, str_value, int_value, float_value, bool_value FROM collection_metadata "
                    "WHERE collection_id = ?", (cid,))}
                out[name] = CollectionInfo(cid, name, int(dimension or 0), meta, segments.get("VECTOR", ""),
                                           segments.get("METADATA", ""))
            return out
        except sqlite3.Error as exc:
            raise SqliteDamaged(f"{self.path.name}: the collection tables cannot be read ({exc})") from exc

    def config_json(self, collection_id: str) -> dict[str, Any]:
        row = self.db.execute("SELECT config_json_str FROM collections WHERE id = ?", (collection_id,)).fetchone()
        try:
            return dict(json.loads(row[0] or "{}")) if row else {}
        except ValueError:
            return {}

    def max_seq_id(self, segment_id: str) -> int:
        """The last logged write a segment has applied (0: none)."""
        try:
            return applied_seq(self.db, segment_id)
        except sqlite3.Error as exc:
            raise SqliteDamaged(f"{self.path.name}: the segments' progress cannot be read ({exc})") from exc

    def pending(self, collection_id: str, segment_id: str) -> int:
        """How many of the collection's logged writes a segment has not saved yet (a new process applies them
        again before its first read)."""
        try:
            row = self.db.execute("SELECT count(*) FROM embeddings_queue WHERE topic = ? AND seq_id > ?",
                                  (log_topic(collection_id), applied_seq(self.db, segment_id))).fetchone()
        except sqlite3.Error as exc:
            raise SqliteDamaged(f"{self.path.name}: the write log cannot be read ({exc})") from exc
        return int(row[0])

    def record_ids(self, segment_id: str) -> set[str]:
        """The ids of the records a metadata segment holds."""
        try:
            return {row[0] for row in self.db.execute("SELECT embedding_id FROM embeddings WHERE segment_id = ?",
                                                      (segment_id,))}
        except sqlite3.Error as exc:
            raise SqliteDamaged(f"{self.path.name}: the records cannot be read ({exc})") from exc

    def log(self, collection_id: str, after: int, lost: list[str] | None = None) -> Iterator[LogEntry]:
        """The collection's logged writes with a sequence number above `after`, oldest first.

        With `lost`, ranges of the log that cannot be read are noted there and skipped; without, SqliteDamaged.
        """
        topic = log_topic(collection_id)
        try:
            low, high = self.db.execute("SELECT min(seq_id), max(seq_id) FROM embeddings_queue").fetchone()
        except sqlite3.Error as exc:
            if lost is None:
                raise SqliteDamaged(f"{self.path.name}: the write log cannot be read ({exc})") from exc
            lost.append(f"the write log ({exc})")
            return
        for start in range(max(after + 1, int(low or 0)), int(high or -1) + 1, ROWS):
            try:
                rows = self.db.execute(
                    "SELECT seq_id, operation, id, vector, encoding, metadata FROM embeddings_queue "
                    "WHERE seq_id >= ? AND seq_id < ? AND topic = ? ORDER BY seq_id", (start, start + ROWS, topic),
                ).fetchall()
            except sqlite3.Error as exc:
                if lost is None:
                    raise SqliteDamaged(f"{self.path.name}: the write log cannot be read ({exc})") from exc
                lost.append(f"write log entries {start}..{start + ROWS - 1} ({exc})")
                continue
            for seq, operation, uid, vector, encoding, metadata in rows:
                yield _entry(seq, operation, uid, vector, encoding, metadata)

    def records(self, segment_id: str, lost: list[str]) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
        """(id, document, metadata) of every readable record; ranges of rows that cannot be read go to `lost`."""
        try:
            low, high = self.db.execute("SELECT min(id), max(id) FROM embeddings").fetchone()
        except sqlite3.Error as exc:
            lost.append(f"every record ({exc})")
            return
        for start in range(int(low or 0), int(high or -1) + 1, ROWS):
            try:
                batch = self._record_batch(segment_id, start, start + ROWS)
            except sqlite3.Error as exc:
                lost.append(f"records {start}..{start + ROWS - 1} ({exc})")
                continue
            yield from batch

    def _record_batch(self, segment_id: str, start: int, stop: int) -> list[tuple[str, str | None, dict[str, Any]]]:
        ids = dict(self.db.execute("SELECT id, embedding_id FROM embeddings WHERE segment_id = ? AND id >= ? AND id < ?",
                                   (segment_id, start, stop)).fetchall())
        metas: dict[int, dict[str, Any]] = {row: {} for row in ids}
        for row, key, s, i, f, b in self.db.execute(
                "SELECT id, key, string_value, int_value, float_value, bool_value FROM embedding_metadata "
                "WHERE id >= ? AND id < ?", (start, stop)):
            if row in metas:
                metas[row][key] = metadata_value(s, i, f, b)
        out = []
        for row, uid in ids.items():
            meta = metas[row]
            document = meta.pop(DOCUMENT_KEY, None)
            out.append((str(uid), None if document is None else str(document), meta))
        return out


def log_topic(collection_id: str) -> str:
    """The `topic` of a collection's rows in Chroma's write log (`embeddings_queue`)."""
    return f"persistent://default/default/{collection_id}"


def applied_seq(db: sqlite3.Connection, segment_id: str) -> int:
    """The sequence number of the last logged write a segment has applied (0: none)."""
    row = db.execute("SELECT seq_id FROM max_seq_id WHERE segment_id = ?", (segment_id,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def pending_vector_writes(path: Path, collection: str) -> int | None:
    """How many logged writes `collection`'s vector index has not saved (a new process applies them before its
    first search); None when the file cannot be read so."""
    return _read_collection(path, collection, lambda db, info: db.pending(info.id, info.vector_segment))


def string_values(path: Path, collection: str, key: str) -> dict[str, str] | None:
    """record id -> the string value of metadata `key` of every record of `collection`, with the writes its log
    still has to apply; None when the file cannot be read so (the caller asks Chroma instead)."""
    def read(db: ChromaSqlite, info: CollectionInfo) -> dict[str, str]:
        values = {str(uid): str(value) for uid, value in db.db.execute(
            "SELECT e.embedding_id, m.string_value FROM embeddings e JOIN embedding_metadata m ON m.id = e.id "
            "WHERE e.segment_id = ? AND m.key = ?", (info.metadata_segment, key))}
        for entry in db.log(info.id, db.max_seq_id(info.metadata_segment)):
            if entry.operation == DELETE:
                values.pop(entry.id, None)
            elif entry.metadata is not None and isinstance(entry.metadata.get(key), str):
                values[entry.id] = entry.metadata[key]
        return values

    return _read_collection(path, collection, read)


def _read_collection(path: Path, collection: str, read: Callable[[ChromaSqlite, CollectionInfo], T]) -> T | None:
    """`read` of one collection of the file, opened read-only; None when the file or the collection cannot be read."""
    try:
        db = ChromaSqlite(path, read_only=True)
    except SqliteDamaged:
        return None
    try:
        info = db.collections().get(collection)
        return None if info is None else read(db, info)
    except (sqlite3.Error, SqliteDamaged):
        return None
    finally:
        db.close()


def _entry(seq: Any, operation: Any, uid: Any, vector: Any, encoding: Any, metadata: Any) -> LogEntry:
    array = None
    if vector is not None and (encoding or "FLOAT32").upper() == "FLOAT32" and len(vector) % 4 == 0:
        array = np.frombuffer(vector, dtype="<f4").copy()
    try:
        meta = json.loads(metadata) if metadata else None
    except ValueError:
        meta = None
    return LogEntry(int(seq), int(operation), str(uid), array, meta if isinstance(meta, dict) else None)


def metadata_value(s: Any, i: Any, f: Any, b: Any) -> Any:
    if s is not None:
        return s
    if i is not None:
        return int(i)
    if f is not None:
        return float(f)
    return None if b is None else bool(b)
