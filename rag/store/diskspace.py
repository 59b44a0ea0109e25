"""Disk space for store writes: checked before a write starts, and a full disk said in one line.

Chroma answers a full disk with tracebacks ("Failed to apply logs to the metadata segment") or, inside
its native index code, by aborting the process. So every batch of writes first checks that the disk
holding the store has room for it (an estimate from what a stored chunk costs: its text several times
over in SQLite's tables, indexes and write log, its vector in the log and the index, and the metadata);
a write that fills the disk anyway becomes the same one error.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ..errors import StoreError

CHUNK_BYTES = 8 * 1024  # vector (log + index), metadata, row and index overhead of one stored chunk
ARTICLE_BYTES = 4 * 1024  # a registry record's vector, metadata and overhead
TEXT_FACTOR = 4  # text is stored in the records, their string index and the write log
MARGIN = 2 * 1024 * 1024  # SQLite's journal and a new index file need some room of their own
FULL_MESSAGES = ("database or disk is full", "no space left on device", "disk is full")


class DiskFull(StoreError):
    """The disk holding the store has no room for a write."""


def write_estimate(chunks: int, articles: int, text_bytes: int) -> int:
    """Bytes a write of this many chunks and articles (with this much text in all) adds to a store."""
    return chunks * CHUNK_BYTES + articles * ARTICLE_BYTES + TEXT_FACTOR * text_bytes


def free_bytes(path: Path) -> int:
    """Free space on the disk that holds `path` (or its nearest existing parent)."""
    path = Path(path)
    while not path.exists() and path.parent != path:
        path = path.parent
    return shutil.disk_usage(path).free


def ensure_space(path: Path, needed: int) -> None:
    """DiskFull, before anything is written, when the disk holding `path` lacks `needed` bytes plus a margin."""
    free = free_bytes(path)
    if free < needed + MARGIN:
        raise DiskFull(f"not enough disk space for the store at {path}: this write needs about "
                       f"{_mb(needed + MARGIN)}, {_mb(free)} is free; free at least {_mb(needed + MARGIN - free)} "
                       "(or use a --store on a larger disk) and run the command again; what is stored is kept")


def is_disk_full(exc: BaseException, path: Path) -> bool:
    """Whether a failed write failed for want of space: it says so, or the disk holding `path` is (nearly) full.

    Chroma does not always say (its log compaction fails with "Failed to apply logs to the metadata segment").
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if any(text in str(seen).lower() for text in FULL_MESSAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    try:
        return free_bytes(path) < MARGIN
    except OSError:
        return False


def disk_full(path: Path, exc: BaseException) -> DiskFull:
    """The one error for a write that filled the disk anyway."""
    return DiskFull(f"the disk holding the store at {path} filled up during the write ({_mb(free_bytes(path))} "
                    f"free; {type(exc).__name__}: {str(exc)[:120]}); free some space and run the command again: "
                    "the store was put back to a consistent state, and what was stored before is kept")


def _mb(size: int) -> str:
    return f"{max(size, 0) / (1024 * 1024):.1f} MB"
