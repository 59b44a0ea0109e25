"""The check every embedded store passes before Chroma opens it: damage is one error that names `newsrag repair`.

Chroma 1.5 crashes the process (SIGSEGV, exit 139) on some damaged vector indexes and prints tracebacks
on a damaged SQLite file. Before Chroma touches a store, this module checks, with plain Python:
  - `chroma.sqlite3` opens and passes SQLite's `quick_check`;
  - each HNSW segment's files are whole and its graph is consistent (`rag.store.hnsw_files`);
  - each collection's vector index, with the writes its log still has to apply, holds exactly the
    records SQLite holds.
A store that passed is not checked again until one of its files changes (`<store>/store-check.json`).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .chroma_sqlite import ADD, DELETE, UPSERT, ChromaSqlite, CollectionInfo, SqliteDamaged
from .hnsw_files import SegmentDamaged, check_segment, exists, read_segment

log = logging.getLogger(__name__)
CHECK_FILE = "store-check.json"
SQLITE = "chroma.sqlite3"


class StoreDamaged(StoreError):
    """The store's files are damaged; `newsrag repair` rebuilds it from what survives."""

    def __init__(self, store: Path, problem: str) -> None:
        self.store, self.problem = store, problem
        super().__init__(f"the store at {store} is damaged ({problem}); run `newsrag repair --store {store}`: it "
                         "rebuilds the store from what survives and lists anything it cannot keep")


def check_store(store: Path) -> None:
    """Raise StoreDamaged when the embedded store at `store` (a newsrag store directory) is damaged."""
    store = Path(store)
    signature = _signature(store / "chroma")
    if signature is None or _cached(store) == signature:
        return
    problem = find_problem(store / "chroma")
    if problem:
        raise StoreDamaged(store, problem)
    _remember(store, signature)


def find_problem(chroma: Path) -> str | None:
    """What is wrong with a Chroma directory, in a few words, or None when it is sound."""
    try:
        db = ChromaSqlite(chroma / SQLITE)
    except SqliteDamaged as exc:
        return str(exc)
    try:
        db.quick_check()
        for info in db.collections().values():
            problem = _collection_problem(db, chroma, info)
            if problem:
                return f"collection {info.name!r}: {problem}"
        return None
    except SqliteDamaged as exc:
        return str(exc)
    finally:
        db.close()


def _collection_problem(db: ChromaSqlite, chroma: Path, info: CollectionInfo) -> str | None:
    folder = chroma / info.vector_segment
    indexed: set[str] = set()
    if info.vector_segment and exists(folder):
        try:
            segment = read_segment(folder, info.dimension)
            check_segment(segment)
        except (SegmentDamaged, OSError, ValueError) as exc:
            return f"its vector index {folder.name} is damaged: {exc}"
        indexed = set(segment.id_to_label)
    try:
        vectors = logged_ids(db, info, indexed, info.vector_segment)
        records = logged_ids(db, info, db.record_ids(info.metadata_segment), info.metadata_segment)
    except (SqliteDamaged, ValueError) as exc:
        return f"its write log cannot be read ({exc})"
    if vectors != records:
        return f"its vector index would hold {len(vectors)} vectors, its records are {len(records)}"
    return None


def logged_ids(db: ChromaSqlite, info: CollectionInfo, ids: set[str], segment: str) -> set[str]:
    """The ids a segment holds once the writes logged after its last save are applied."""
    ids = set(ids)
    for entry in db.log(info.id, db.max_seq_id(segment)):
        if entry.operation in (ADD, UPSERT):
            ids.add(entry.id)
        elif entry.operation == DELETE:
            ids.discard(entry.id)
    return ids


def _signature(chroma: Path) -> list[Any] | None:
    """Sizes and modification times of the files the check reads (None when there is no database yet)."""
    try:
        files = [chroma / SQLITE, *sorted(p for d in chroma.iterdir() if d.is_dir() for p in d.iterdir())]
        return [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    except FileNotFoundError:
        return None


def _cached(store: Path) -> Any:
    try:
        return json.loads((store / CHECK_FILE).read_text(encoding="utf-8")).get("passed")
    except (OSError, ValueError, AttributeError):
        return None


def _remember(store: Path, signature: list[Any]) -> None:
    tmp = store / f".{CHECK_FILE}.{os.getpid()}.tmp"
    try:
        tmp.write_text(json.dumps({"passed": signature}), encoding="utf-8")
        os.replace(tmp, store / CHECK_FILE)
    except OSError as exc:  # a read-only store is checked again next time
        log.debug("cannot record the store check in %s (%s)", store, exc)
