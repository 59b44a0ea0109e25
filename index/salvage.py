"""What survives in a damaged store: records from SQLite (after the write log), vectors from the log and the index.

Only Python reads the damaged files (rag.store.chroma_sqlite, rag.store.hnsw_files); Chroma's native code never
touches them. A stored vector is used only when it is finite, unit length, and the vectors of a sample
of chunks agree with the embedding model; every other chunk is embedded again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import StoreError
from rag.store.chroma_sqlite import (
    ADD,
    DELETE,
    UPDATE,
    UPSERT,
    ChromaSqlite,
    CollectionInfo,
    SqliteDamaged,
)
from rag.store.hnsw_files import SegmentDamaged, read_segment, segment_vectors

Record = tuple[str | None, dict[str, Any]]  # (document, metadata)
SAMPLE = 8  # salvaged vectors compared with the model's before any is trusted


@dataclass
class Salvage:
    """The records and vectors of one collection that could be read."""

    info: CollectionInfo
    records: dict[str, Record]
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)  # row ranges SQLite could not read


def read_collections(chroma: Path, name: str) -> tuple[Salvage, Salvage]:
    """The chunk collection `name` and its article registry, as far as they can be read."""
    db = ChromaSqlite(chroma / "chroma.sqlite3")
    try:
        infos = db.collections()
        missing = [n for n in (name, f"{name}-articles") if n not in infos]
        if missing:
            raise StoreError(f"the store at {chroma.parent} has no collection {missing[0]!r} left to repair from; "
                             "restore a backup (newsrag restore DIR) or ingest your sources into a new store")
        return _collection(db, chroma, infos[name]), _collection(db, chroma, infos[f"{name}-articles"])
    finally:
        db.close()


def _collection(db: ChromaSqlite, chroma: Path, info: CollectionInfo) -> Salvage:
    unreadable: list[str] = []
    records: dict[str, Record] = {uid: (doc, meta) for uid, doc, meta in db.records(info.metadata_segment, unreadable)}
    logged: dict[str, np.ndarray] = {}
    try:
        applied = db.max_seq_id(info.metadata_segment)
    except SqliteDamaged as exc:
        unreadable.append(str(exc))
        applied = 0  # apply the whole log: its writes are the newest anyway
    for entry in db.log(info.id, 0, unreadable):
        if entry.operation != DELETE and entry.vector is not None:
            logged[entry.id] = entry.vector
        if entry.seq > applied:
            _apply(records, entry.operation, entry.id, entry.metadata)
    salvage = Salvage(info, records, unreadable=unreadable)
    salvage.vectors = {**_index_vectors(chroma / info.vector_segment, info, set(records)), **logged}
    return salvage


def _apply(records: dict[str, Record], operation: int, uid: str, metadata: dict[str, Any] | None) -> None:
    """One logged write that SQLite's records do not show yet."""
    meta = dict(metadata or {})
    document = meta.pop("chroma:document", None)
    if operation == DELETE:
        records.pop(uid, None)
    elif operation == UPSERT or (operation == ADD and uid not in records):
        records[uid] = (document, meta)
    elif operation == UPDATE and uid in records:
        old_doc, old_meta = records[uid]
        merged = {k: v for k, v in {**old_meta, **meta}.items() if v is not None}
        records[uid] = (document if document is not None else old_doc, merged)


def _index_vectors(folder: Path, info: CollectionInfo, ids: set[str]) -> dict[str, np.ndarray]:
    """Vectors the index files still hold (none when their header or id map cannot be read)."""
    if not folder.is_dir():
        return {}
    try:
        return segment_vectors(read_segment(folder, info.dimension), ids)
    except (SegmentDamaged, OSError, ValueError):
        return {}


def usable(vectors: dict[str, np.ndarray], dimension: int) -> dict[str, np.ndarray]:
    """The vectors that can stand for a model's output: the right size, finite, unit length."""
    out = {}
    for uid, vector in vectors.items():
        if vector.shape == (dimension,) and np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1) < 0.02:
            out[uid] = vector.astype(np.float32)
    return out


def agree_with_model(vectors: dict[str, np.ndarray], texts: dict[str, str], embed: Any) -> bool:
    """Whether a sample of salvaged vectors matches what the model makes of their texts (cosine >= 0.98)."""
    ids = sorted(i for i in vectors if texts.get(i))
    sample = ids[:: max(1, len(ids) // SAMPLE)][:SAMPLE]
    if not sample:
        return True
    fresh = embed([texts[i] for i in sample])
    return all(float(np.dot(fresh[n], vectors[i])) >= 0.98 for n, i in enumerate(sample))
