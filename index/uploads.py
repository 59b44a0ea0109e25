"""Uploaded files: checked (type, size, empty) and kept in the store's uploads folder under a safe name.

The name a browser or an HTTP client gives a file is never used as a path: only its suffix (checked
against the supported types) and a cleaned stem survive, and the content hash makes the name unique,
so the same file always lands on the same path and nothing can be written outside the folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from .loading import SUFFIXES

UPLOAD_DIR = "uploads"
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
        return (f"“{name}” is {size_text(size)}; the upload limit is {size_text(max_bytes)} per file "
                "(NEWSRAG_MAX_ARTICLE_BYTES).")
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
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
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
    from rag.store import Store

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
