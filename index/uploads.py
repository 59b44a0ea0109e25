"""Uploaded files: checked (type, size, empty) and kept in the store's uploads folder under a safe name.

The name a browser or an HTTP client gives a file is never used as a path: only its suffix (checked
against the supported types) and a cleaned stem survive, and the content hash makes the name unique,
so the same file always lands on the same path and nothing can be written outside the folder.
A server killed during an upload leaves files behind; `recover_uploads` at the next start ingests the
complete ones and deletes half-written ones (their names carry the writer's process id).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .loading import SUFFIXES

UPLOAD_DIR = "uploads"
INCOMING = ".incoming-"  # + the writing process id + "-" + anything: a file still being written
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def allowed_types() -> list[str]:
    """The file suffixes ingestion can read (".csv", ".html", ...)."""
    return sorted(SUFFIXES)


def size_text(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size):,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def size_and_limit(size: int, limit: int) -> tuple[str, str]:
    """Both sizes in words, exact to the byte when rounding would make them look the same ("19.1 MB" twice)."""
    shown, allowed = size_text(size), size_text(limit)
    return (f"{size:,} bytes", f"{limit:,} bytes") if shown == allowed else (shown, allowed)


def base_name(name: str) -> str:
    """The last part of a client-given file name, whichever separators it uses (never a path)."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name
    return "".join(ch for ch in name if ch.isprintable()).strip() or "upload"


def check_upload(path: Path, name: str, max_bytes: int, allowed: Sequence[str]) -> str | None:
    """Why this upload cannot be added (one clear sentence), or None when it can."""
    name = base_name(name)
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        return (f"“{name}” is a {suffix or 'file without a type'} file; the library accepts "
                f"{', '.join(allowed)} files.")
    size = path.stat().st_size
    if size > max_bytes:
        shown, limit = size_and_limit(size, max_bytes)
        return f"“{name}” is {shown}; the upload limit is {limit} per file (NEWSRAG_MAX_ARTICLE_BYTES)."
    if size == 0:
        return f"“{name}” is empty."
    return None


def upload_path(data_hash: str, name: str, store: Path) -> Path:
    """Where an upload with this content hash and client-given name is kept."""
    name = base_name(name)
    stem = _SAFE_NAME.sub("-", Path(name).stem).strip("-.")[:80] or "article"
    suffix = _SAFE_NAME.sub("", Path(name).suffix.lower())[:12]
    return Path(store) / UPLOAD_DIR / f"{stem}-{data_hash[:10]}{suffix}"


def save_upload(path: Path, name: str, store: Path) -> Path:
    """Copy an upload into the store's uploads folder under a safe name (atomically); returns where."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    target = upload_path(digest.hexdigest(), name, store)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_name(f"{INCOMING}{os.getpid()}-{target.name}.tmp")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    return target


def discard_unused(saved: Sequence[Path], records: dict[str, dict[str, Any]], store: Path) -> list[Path]:
    """Delete the saved uploads no stored article came from (their ingest failed); returns those deleted.

    `records` are the store's registry records after the ingest (`Store.registry_records()`).
    """
    from .pipeline import match_articles

    folder = (Path(store) / UPLOAD_DIR).resolve()
    gone = []
    for path in saved:
        if path.resolve().parent == folder and not match_articles(str(path), records):
            path.unlink(missing_ok=True)
            gone.append(path)
    return gone


def remove_articles(article_ids: Sequence[str], settings: Any) -> Any:
    """Remove articles (`index.remove`) and the uploaded files they came from that no other article uses."""
    from rag.store.collection import Store

    from .pipeline import _source_path, remove

    store = Store(settings)
    before = dict(store.registry_records())
    report = remove(list(article_ids), settings=settings)
    after = dict(Store(settings).registry_records())
    folder = (Path(settings.store) / UPLOAD_DIR).resolve()
    sources = {_source_path(str(before[i].get("origin", ""))) for i in article_ids if i in before and i not in after}
    still_used = {_source_path(str(m.get("origin", ""))) for m in after.values()}
    for source in sources - still_used:
        if source and Path(source).parent == folder:
            Path(source).unlink(missing_ok=True)
    return report


def incoming_path(folder: Path) -> Path:
    """A new temporary name in the uploads folder for a file being received by this process."""
    return folder / f"{INCOMING}{os.getpid()}-{uuid.uuid4().hex}"


def recover_uploads(settings: Any, embedder: Any = None) -> tuple[Any, list[Path]]:
    """Finish what a killed server left in the uploads folder: (ingest report of the picked-up files, deleted files).

    Half-written files of processes that are gone are deleted; complete uploads no stored article came from
    are ingested (with `embedder` when given), and those whose ingest fails are deleted as usual.
    """
    from rag.store.collection import Store

    from .pipeline import ingest, match_articles

    folder = Path(settings.store) / UPLOAD_DIR
    if not folder.is_dir():
        return None, []
    deleted = [path for path in folder.iterdir() if path.name.startswith(".") and not _writer_alive(path.name)]
    for path in deleted:
        path.unlink(missing_ok=True)
    records = dict(Store(settings).registry_records())
    waiting = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                     and not match_articles(str(p), records))
    if not waiting:
        return None, deleted
    try:
        report = ingest([str(p) for p in waiting], settings=settings, embedder=embedder)
    finally:
        deleted += discard_unused(waiting, dict(Store(settings).registry_records()), Path(settings.store))
    return report, deleted


def _writer_alive(name: str) -> bool:
    """Whether the process writing this temporary file still runs (no process id in the name, or ours: no,
    since recovery runs before this process receives anything)."""
    match = re.match(rf"^{re.escape(INCOMING)}(\d+)-", name)
    if not match or int(match.group(1)) == os.getpid():
        return False
    from rag.store.ownership import process_alive

    return process_alive(int(match.group(1)))
