"""The check every embedded store passes before Chroma opens it: damage is one error that names `newsrag repair`.

Chroma 1.5 crashes the process (SIGSEGV, exit 139) on some damaged vector indexes and prints tracebacks
on a damaged SQLite file. Before Chroma touches a store, this module checks, with plain Python:
  - `chroma.sqlite3` opens and passes SQLite's `quick_check`;
  - each HNSW segment's files are whole and its graph is consistent (`rag.store.hnsw_files`);
  - each collection's vector index, with the writes its log still has to apply, holds exactly the
    records SQLite holds.
A store that passed is not checked again until one of its files changes (`<store>/store-check.json`: each
file's size, times, inode). Chroma touches `chroma.sqlite3` whenever it opens a store, so the process that
holds the store signs the files again when it lets go of it cleanly (`sign_released`: its Chroma client
stopped, no write failed, the files still the ones it checked); one killed, or whose write failed, leaves no
new signature, and the next open checks the files in full. `outcome` says which it was for this process.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import StoreError
from .chroma_sqlite import ADD, DELETE, UPSERT, ChromaSqlite, CollectionInfo, SqliteDamaged
from .hnsw_files import SegmentDamaged, check_segment, exists, read_segment

log = logging.getLogger(__name__)
CHECK_FILE = "store-check.json"
SQLITE = "chroma.sqlite3"
_trusted: dict[str, list[int]] = {}  # resolved store -> identity of the files this process found sound
_outcomes: dict[str, dict[str, Any]] = {}  # resolved store -> what the last check in this process did
_guard = threading.Lock()


class StoreDamaged(StoreError):
    """The store's files are damaged; `newsrag repair` rebuilds it from what survives."""

    def __init__(self, store: Path, problem: str) -> None:
        self.store, self.problem = store, problem
        super().__init__(f"the store at {store} is damaged ({problem}); run `newsrag repair --store {store}`: it "
                         "rebuilds the store from what survives and lists anything it cannot keep")


def check_store(store: Path) -> None:
    """Raise StoreDamaged when the embedded store at `store` (a newsrag store directory) is damaged."""
    store = Path(store)
    key = str(store.resolve())
    with _guard:
        _trusted.pop(key, None)
    signature = _signature(store / "chroma")
    if signature is None:
        return
    cached = _cached(store)
    if cached.get("passed") == signature:
        _found_sound(key, store, {"check": "skipped", "why": f"files unchanged since {_since(cached)}"})
        return
    started = time.perf_counter()
    problem = find_problem(store / "chroma")
    ms = round((time.perf_counter() - started) * 1000)
    if problem:
        _outcomes[key] = {"check": "full", "ms": ms, "damaged": problem}
        raise StoreDamaged(store, problem)
    _remember(store, signature, "checked")
    _found_sound(key, store, {"check": "full", "ms": ms, "why": _why_full(cached)})


def sign_released(store: Path) -> bool:
    """Sign the files of a store this process lets go of cleanly, so that the next open skips the full check.

    Call it after this process's Chroma client for the store stopped, while it still holds the store. Nothing
    is signed when this process did not find the files sound, a write failed since (`distrust`), or they are
    no longer the files it checked (a restore or repair swapped them). Returns whether it signed.
    """
    key = str(Path(store).resolve())
    with _guard:
        identity = _trusted.pop(key, None)
    signature = _signature(Path(store) / "chroma")
    if identity is None or signature is None or identity != _identity(Path(store)):
        return False
    return _remember(Path(store), signature, "a clean close")


def distrust(store: Path) -> None:
    """A write to the store failed: whatever it left is checked in full by the next open (no signature)."""
    with _guard:
        _trusted.pop(str(Path(store).resolve()), None)


def outcome(store: Path) -> dict[str, Any]:
    """What the check did when this process opened the store: `check` full or skipped, and why (or {})."""
    return dict(_outcomes.get(str(Path(store).resolve()), {}))


def _found_sound(key: str, store: Path, what: dict[str, Any]) -> None:
    with _guard:
        _trusted[key] = _identity(store)
        _outcomes[key] = what
    log.info("store check of %s: %s", store, what)


def _identity(store: Path) -> list[int]:
    """Which files these are: a swapped-in Chroma directory or database is another inode."""
    try:
        return [(store / "chroma").stat().st_ino, (store / "chroma" / SQLITE).stat().st_ino]
    except OSError:
        return []


def _since(cached: dict[str, Any]) -> str:
    by, at = cached.get("by", "the last check"), cached.get("at")
    return f"{by} at {at}" if at else str(by)


def _why_full(cached: dict[str, Any]) -> str:
    return f"files changed since {_since(cached)}" if cached.get("passed") else "no earlier check recorded"


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
    """Size, modification and change times and inode of every file the check reads (None: no database yet).

    The change time cannot be set back (a file written and given its old mtime again still differs), and a
    copied or restored file is a new inode: such files are checked again.
    """
    try:
        if not (chroma / SQLITE).is_file():
            return None
        files = sorted(p for d in (chroma, *(d for d in chroma.iterdir() if d.is_dir())) for p in d.iterdir()
                       if p.is_file())
        return [[str(f.relative_to(chroma)), *_stat(f)] for f in files]
    except FileNotFoundError:
        return None


def _stat(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]


def _cached(store: Path) -> dict[str, Any]:
    try:
        data = json.loads((store / CHECK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(store: Path, signature: list[Any], by: str) -> bool:
    tmp = store / f".{CHECK_FILE}.{os.getpid()}.tmp"
    record = {"passed": signature, "by": by, "at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())}
    try:
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, store / CHECK_FILE)
        return True
    except OSError as exc:  # a read-only store is checked again next time
        log.debug("cannot record the store check in %s (%s)", store, exc)
        return False
