"""The write lock and write journal of a store directory: one writer at a time, and a crash is noticed.

A writer takes an exclusive `flock` on `<store>/write.lock` and records what it does in
`<store>/write.journal` until it is done. A journal that is still there while nobody holds the lock
was left by a writer that died (SIGKILL, power loss): the next process to open the store repairs it
(`Store.recover`: orphan chunks removed, the revision moved so every reader and the BM25 index resync).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

LOCK_FILE = "write.lock"
JOURNAL_FILE = "write.journal"


class WriteJournal:
    """The lock and journal files of one store directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.lock_path = self.directory / LOCK_FILE
        self.path = self.directory / JOURNAL_FILE

    def pending(self) -> dict[str, Any] | None:
        """What the journal says an unfinished writer was doing, or None when there is no journal."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cannot read the write journal %s (%s)", self.path, exc)
            return None
        try:
            data = json.loads(text)
        except ValueError:
            data = {"operation": "unknown (the journal itself was cut short)"}
        return data if isinstance(data, dict) else {"operation": "unknown"}

    @contextlib.contextmanager
    def locked(self, blocking: bool = True) -> Iterator[bool]:
        """Hold the exclusive lock; yields False (without the lock) when `blocking` is off and another holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "ab") as handle:
            if not _lock(handle, blocking):
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def begin(self, operation: str) -> None:
        """Record that a write started (call with the lock held)."""
        entry = {"operation": operation, "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        for stale in self.directory.glob(f".{JOURNAL_FILE}.*.tmp"):  # only the lock holder writes one: a writer died
            stale.unlink(missing_ok=True)
        tmp = self.path.with_name(f".{JOURNAL_FILE}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(entry, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    def end(self) -> None:
        """Record that the write finished and the store is consistent again."""
        self.path.unlink(missing_ok=True)


def _lock(handle: BinaryIO, blocking: bool) -> bool:
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True
