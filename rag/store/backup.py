"""`newsrag backup DIR` and `newsrag restore DIR`: a consistent copy of a store, taken while it serves.

A backup is a store directory (Chroma's files, the BM25 index, uploaded files, feedback) that newsrag
opens like any other. It is taken by the process that holds the store, under its write lock, after
Chroma has applied its write log (so no reader rewrites the vector index during the copy); SQLite is
copied with its online backup API; the copy must pass the store check before it is kept, and appears
under DIR only when complete. Restore checks the backup the same way and swaps it in whole
(rag.store.files); the store it replaces is kept beside it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, StoreError
from . import files as store_files
from . import ownership
from .check import CHECK_FILE, SQLITE, find_problem
from .chroma_sqlite import ChromaSqlite, SqliteDamaged
from .journal import WriteJournal

if TYPE_CHECKING:
    from ..settings import Settings
    from .collection import Store

EXTRAS = ("bm25", "uploads", "feedback.jsonl")  # copied beside Chroma's files; locks, journals and secrets are not


def backup(store: Store, target: Path) -> dict[str, Any]:
    """Copy the open embedded `store` into the new directory `target`; returns what was copied."""
    if store.settings.chroma_url:
        raise ConfigError("backup copies an embedded store; back up a Chroma server with Chroma's own tools")
    target = Path(target).expanduser().resolve()
    root = Path(store.settings.store).resolve()
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"backup folder {target} is not empty; give a new folder")
    if target == root or root in target.parents:
        raise ConfigError(f"backup folder {target} is inside the store {root}; give a folder outside it")
    partial = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with store.writer.write_lock("backup"):
            store.chunks.count()  # Chroma applies its write log now, so no reader saves the index mid-copy
            store.registry.count()
            copy_chroma(root / "chroma", partial / "chroma")
            _copy_extras(root, partial)
        problem = find_problem(partial / "chroma")
        if problem:
            raise StoreError(f"the backup of {root} did not pass the store check ({problem}); nothing was kept")
        if target.exists():
            target.rmdir()
        os.replace(partial, target)
    except OSError as exc:
        raise StoreError(f"cannot write the backup to {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return {"backup": str(target), "store": str(root), **_counts(target / "chroma"), "bytes": _size(target)}


def restore(settings: Settings, source: Path) -> dict[str, Any]:
    """Replace the embedded store of `settings` with the backup at `source` (the replaced one is kept)."""
    source = Path(source).expanduser().resolve()
    root = Path(settings.store).resolve()
    if not (source / "chroma" / SQLITE).is_file():
        raise ConfigError(f"{source} is not a newsrag backup (it has no chroma/{SQLITE})")
    problem = find_problem(source / "chroma")
    if problem:
        raise StoreError(f"the backup at {source} is damaged ({problem}); it was not restored")
    root.mkdir(parents=True, exist_ok=True)
    ownership.hold(root, settings.store_wait_seconds)  # refuses when a server owns the store: stop it first
    journal = WriteJournal(root)
    with journal.locked():
        store_files.finish_swap(root)
        copy_chroma(source / "chroma", store_files.new_dir(root))
        store_files.mark_ready(root / store_files.NEW)
        kept = store_files.swap_in(root, "chroma.before-restore")
        shutil.rmtree(root / "bm25", ignore_errors=True)  # rebuilt from the restored store at its next use
        _copy_extras(source, root, overwrite=False)
        (root / CHECK_FILE).unlink(missing_ok=True)
        journal.end()  # an interrupted write of the replaced store no longer matters
    return {"restored": str(source), "store": str(root), **_counts(root / "chroma"),
            "previous": str(kept) if kept else None}


def copy_chroma(source: Path, target: Path) -> None:
    """Copy a Chroma directory: SQLite through its backup API, each vector segment's files as they are."""
    target.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{source / SQLITE}?mode=ro", uri=True)
    dst = sqlite3.connect(target / SQLITE)
    try:
        src.backup(dst)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot copy {source / SQLITE}: {exc}") from exc
    finally:
        dst.close()
        src.close()
    for segment in source.iterdir():
        if segment.is_dir() and not segment.name.startswith("."):
            shutil.copytree(segment, target / segment.name)


def _copy_extras(source: Path, target: Path, overwrite: bool = True) -> None:
    """Copy the BM25 index, uploads and feedback (without `overwrite`, only files the target lacks)."""
    for name in EXTRAS:
        path = source / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else []
        for file in files:
            dest = target / file.relative_to(source)
            if overwrite or not dest.exists():
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, dest)


def _counts(chroma: Path) -> dict[str, int]:
    """Articles and chunks in a Chroma directory, read from SQLite."""
    try:
        db = ChromaSqlite(chroma / SQLITE)
    except SqliteDamaged:
        return {}
    try:
        out = {"articles": 0, "chunks": 0}
        for name, info in db.collections().items():
            out["articles" if name.endswith("-articles") else "chunks"] += len(db.record_ids(info.metadata_segment))
        return out
    finally:
        db.close()


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
