"""The files of a saved BM25 index: where they live, and the temp files a writer that died left behind."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from ..settings import Settings
from ..store.ownership import process_alive


def index_path(settings: Settings) -> Path:
    """Where the BM25 index of this collection lives: under the store dir, also for a Chroma server."""
    name = settings.collection
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        name = f"{url.hostname}-{url.port or (443 if url.scheme == 'https' else 8000)}-{name}"
    return Path(settings.store) / "bm25" / (re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npz")


def remove_abandoned_temps(path: Path) -> None:
    """Delete temp files of this index left by writers that died mid-save (`.<name>.<pid>.<thread>.tmp`)."""
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            tmp.unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    """Make a rename in this folder durable (best effort: some file systems cannot fsync a folder)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
