"""The committed version of every article (`Store.versions()`), kept current without re-reading the registry.

Readers ask for the map once per question and BM25 once per update. Reading it whole means every registry
record's metadata (575 ms at 4,078 articles on a loaded machine), so it is read whole only when this process
has no map yet, or when the revision moved in a way it cannot follow. The store's own writer hands each
commit over (`follow`): the map moves to the new revision from the rows written, with no read. The map is
shared by every `Store` of the same collection in this process (`of`), so the server's store sees what an
upload's or admin ingest's writer committed. A revision moved by another process (a Chroma server's other
clients, a process that wrote while this one had let go of the store) is read whole.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from .commits import Commit


class CommittedVersions:
    """article_id -> committed version at one revision; replaced (never changed in place) when it moves."""

    _shared: weakref.WeakValueDictionary[tuple[str, str], CommittedVersions] = weakref.WeakValueDictionary()
    _sharing = threading.Lock()

    @classmethod
    def of(cls, location: str, collection: str) -> CommittedVersions:
        """The map of this collection shared by the Stores of this process (kept while one of them lives)."""
        with cls._sharing:
            versions = cls._shared.get((location, collection))
            if versions is None:
                versions = cls._shared[(location, collection)] = cls()
            return versions

    def __init__(self) -> None:
        self._versions: dict[str, str] = {}
        self._revision: str | None = None
        self._lock = threading.Lock()
        self.full_reads = 0  # whole-registry reads (for tests and benchmarks)

    def at(self, revision: str, read: Callable[[], dict[str, str]]) -> dict[str, str]:
        """The map at `revision`; `read()` reads it from the store when this one is not at that revision."""
        if revision == self._revision:
            return self._versions
        with self._lock:
            if revision != self._revision:
                self._versions, self._revision = read(), revision
                self.full_reads += 1
            return self._versions

    def follow(self, commit: Commit) -> None:
        """Move the map over a commit of this process's writer, when it is at the commit's starting revision."""
        with self._lock:
            if not commit.known or self._revision != commit.before:
                return
            versions = dict(self._versions)  # a copy: a reader may be holding the old map for its question
            for article_id in commit.removed:
                versions.pop(article_id, None)
            versions.update({a: w.version for a, w in commit.written.items()})
            self._versions, self._revision = versions, commit.revision
