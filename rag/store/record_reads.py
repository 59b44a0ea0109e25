"""Records of an embedded store read by id straight from `chroma.sqlite3` (documents and metadata, no vectors).

A query reads 40 candidate chunks and their neighbours, then their articles' texts. Chroma's `get` builds each
record through its native code (about 0.15 ms a record: 6.8 ms for 40 chunks); the same rows read with Python's
sqlite3 on a connection kept open (its page cache stays warm) take about 1 ms. The values are those Chroma
returns: its metadata segment holds them. The reader gives up (None: the caller asks Chroma) when the write log
holds a write that segment has not applied yet to one of the records asked for, or when the file cannot be read.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .chroma_sqlite import DOCUMENT_KEY, applied_seq, log_topic, metadata_value

BATCH = 500  # ids per query (SQLite allows 999 parameters in older builds)
Record = tuple[str | None, dict[str, Any] | None]  # (document, metadata) as Chroma's get gives them
Row = tuple[str, str | None, dict[str, Any] | None]  # (id, document, metadata)


def chunk_rows(chunks: Any, reader: RecordReader | None, ids: list[str],
               vectors: bool) -> tuple[list[Row], list[tuple[str, Any]] | None]:
    """The rows of these chunks in the order asked (those found), and, when `vectors` and they were read in the
    same call, their (id, vector) pairs (None: not read; `stored_vectors` reads those of the chunks kept).

    From `chroma.sqlite3` through `reader` when it can, else one Chroma call for everything."""
    direct = reader.records(chunks.name, ids) if reader is not None else None
    if direct is not None:
        return [(i, *direct[i]) for i in ids if i in direct], None
    try:  # vectors another process wrote may be unreadable here (see Store.hits_by_ids)
        got = chunks.get(ids=ids, include=["documents", "metadatas", *(["embeddings"] if vectors else [])])
    except Exception:  # noqa: BLE001 - chroma: "Error finding id"
        got, vectors = chunks.get(ids=ids, include=["documents", "metadatas"]), False
    rows = list(zip(got["ids"], got["documents"], got["metadatas"]))
    return rows, (list(zip(got["ids"], got["embeddings"])) if vectors else None)


def stored_vectors(chunks: Any, ids: list[str]) -> list[tuple[str, Any]]:
    """(id, vector) of these chunks as far as this process can read them (see Store.hits_by_ids)."""
    if not ids:
        return []
    try:
        got = chunks.get(ids=ids, include=["embeddings"])
    except Exception:  # noqa: BLE001 - as in chunk_rows
        return []
    return list(zip(got["ids"], got["embeddings"]))


def registry_rows(registry: Any, reader: RecordReader | None, ids: list[str]) -> list[Row]:
    """The registry records (article text, metadata) of these articles: from `chroma.sqlite3` when it can."""
    direct = reader.records(registry.name, ids) if reader is not None else None
    if direct is not None:
        return [(i, *direct[i]) for i in ids if i in direct]
    got = registry.get(ids=ids, include=["documents", "metadatas"])
    return list(zip(got["ids"], got["documents"], got["metadatas"]))


class RecordReader:
    """Reads records by id from one `chroma.sqlite3`, on one read-only connection per thread.

    A connection is opened again when the file is another one (a repair or restore swaps it), and `close`
    closes them all (the process lets go of the store)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[sqlite3.Connection] = []

    def records(self, collection: str, ids: Sequence[str]) -> dict[str, Record] | None:
        """id -> (document, metadata or None) of the records of `collection` among `ids` (absent ids are left
        out); None when the file cannot be read so, or its log holds a write to one of them not applied yet."""
        try:
            db = self._connection()
            db.execute("BEGIN")  # one snapshot for the log check and the rows
            try:
                return _read(db, collection, ids)
            finally:
                db.execute("COMMIT")
        except (OSError, sqlite3.Error):
            return None

    def collection_metadata(self, collection: str) -> dict[str, Any] | None:
        """A collection's metadata as Chroma's `get_collection` gives it (None: cannot be read so, or no such
        collection)."""
        try:
            db = self._connection()
            if db.execute("SELECT 1 FROM collections WHERE name = ?", (collection,)).fetchone() is None:
                return None
            return {str(key): metadata_value(s, i, f, b) for key, s, i, f, b in db.execute(
                "SELECT m.key, m.str_value, m.int_value, m.float_value, m.bool_value FROM collection_metadata m "
                "JOIN collections c ON c.id = m.collection_id WHERE c.name = ?", (collection,))}
        except (OSError, sqlite3.Error):
            return None

    def close(self) -> None:
        with self._lock:
            held, self._open = self._open, []
        for db in held:
            db.close()  # a thread still holding it gets sqlite3.ProgrammingError next time: its read falls back
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        stat = os.stat(self.path)
        key = (stat.st_dev, stat.st_ino)
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == key:
            return held[1]  # type: ignore[no-any-return]
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30, check_same_thread=False,
                             isolation_level=None)
        with self._lock:
            self._open.append(db)
        self._local.held = (key, db)
        return db


def _read(db: sqlite3.Connection, collection: str, ids: Sequence[str]) -> dict[str, Record] | None:
    row = db.execute("SELECT s.id, c.id FROM segments s JOIN collections c ON c.id = s.collection "
                     "WHERE c.name = ? AND s.scope = 'METADATA'", (collection,)).fetchone()
    if row is None:
        return None
    segment, collection_id = row
    wanted = set(ids)
    if not wanted.isdisjoint(_pending(db, segment, collection_id)):
        return None  # a write Chroma has logged but its metadata segment has not applied yet
    return _records(db, segment, list(wanted))


def _pending(db: sqlite3.Connection, segment: str, collection_id: str) -> set[str]:
    """The ids of the collection's logged writes that the metadata segment has not applied."""
    return {str(uid) for (uid,) in db.execute("SELECT id FROM embeddings_queue WHERE seq_id > ? AND topic = ?",
                                              (applied_seq(db, segment), log_topic(collection_id)))}


def _records(db: sqlite3.Connection, segment: str, ids: list[str]) -> dict[str, Record]:
    metas: dict[str, dict[str, Any]] = {}
    for lo in range(0, len(ids), BATCH):
        batch = ids[lo : lo + BATCH]
        found = db.execute(
            "SELECT e.embedding_id, m.key, m.string_value, m.int_value, m.float_value, m.bool_value "
            "FROM embeddings e LEFT JOIN embedding_metadata m ON m.id = e.id "
            f"WHERE e.segment_id = ? AND e.embedding_id IN ({','.join('?' * len(batch))})", (segment, *batch))
        for uid, key, s, i, f, b in found:
            meta = metas.setdefault(str(uid), {})
            if key is not None:
                meta[str(key)] = metadata_value(s, i, f, b)
    out: dict[str, Record] = {}
    for uid, meta in metas.items():
        document = meta.pop(DOCUMENT_KEY, None)
        out[uid] = (None if document is None else str(document), meta or None)
    return out
