"""The committed version of every article (`Store.versions()`), kept current without re-reading the registry.

Readers ask for the map once per question and BM25 once per update. It is read whole only when this process
has no map yet, or when the revision moved in a way it cannot follow:
- the store's own writer hands each commit over (`follow`): the map moves to the new revision from the rows
  written, with no read. The map is shared by every `Store` of the collection in this process (`of`), so the
  server's store sees what an upload's or admin ingest's writer committed.
- a revision moved by another process (a Chroma server's other clients, a process that wrote while this one
  had let go of the store) is followed by reading the ids alone (added and removed articles) and the records
  stamped with a commit number (`seq`) above the map's. The writer stamps each record it commits and the
  registry metadata (`seq`, and `seq_revision`: the revision that stamp belongs to); `seq_floor` is the
  first stamp after a revision moved unstamped (a repair, a migration, an older newsrag), below which a map
  may miss changes. A map older than the floor, a revision moved unstamped, a number gone backwards, or a
  store opened again after this process let go of it (it may have been restored meanwhile) is read whole.
- reading it whole reads only each record's `version` (`Store.registry_versions`: straight from an embedded
  store's SQLite, 12 ms for 4,078 records where Chroma's `get` of every record's metadata took 0.5 s).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from .commits import Commit
from .rows import PAGE, pages

SEQ, SEQ_REVISION, SEQ_FLOOR = "seq", "seq_revision", "seq_floor"


class Registry(Protocol):
    """What the map reads from a store (`collection.Store`)."""

    registry: Any

    def registry_metadata(self) -> dict[str, Any]: ...

    def registry_records(self) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def registry_versions(self) -> dict[str, str]: ...


def stamp(before: Mapping[str, Any], seq: int | None, revision: str) -> dict[str, Any]:
    """The registry metadata after a commit that stamped its records with `seq` (None: the next number)."""
    stamped = _stamp(before)
    seq = max(int(before.get(SEQ, 0)) + 1, seq or 0)
    floor = int(before.get(SEQ_FLOOR, seq)) if stamped is not None else seq
    return {**before, "revision": revision, SEQ: seq, SEQ_REVISION: revision, SEQ_FLOOR: floor}


def next_seq(meta: Mapping[str, Any]) -> int:
    """The commit number the next commit stamps its records with."""
    return int(meta.get(SEQ, 0)) + 1


def _stamp(meta: Mapping[str, Any]) -> int | None:
    """The commit number of the current revision, None when it was moved unstamped."""
    if SEQ not in meta or meta.get(SEQ_REVISION) != meta.get("revision"):
        return None
    return int(meta[SEQ])


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
        self._seq: int | None = None  # the commit number the map is complete up to (None: unknown)
        self._lock = threading.Lock()
        self.full_reads = 0  # whole-registry reads (for tests and benchmarks)
        self.partial_reads = 0  # ids plus the records stamped since the map's commit number

    def at(self, revision: str, store: Registry) -> dict[str, str]:
        """The map at `revision`, read from `store` when this one is not at that revision."""
        if revision == self._revision:
            return self._versions
        with self._lock:
            if revision != self._revision:
                self._read(store)
            return self._versions

    def forget(self) -> None:
        """Read the map whole next time: the store may have been replaced (restored, repaired) meanwhile."""
        with self._lock:
            self._revision, self._seq = None, None

    def follow(self, commit: Commit, seq: int | None) -> None:
        """Move the map over a commit of this process's writer, when it is at the commit's starting revision."""
        with self._lock:
            if not commit.known or self._revision != commit.before:
                return
            versions = dict(self._versions)  # a copy: a reader may be holding the old map for its question
            for article_id in commit.removed:
                versions.pop(article_id, None)
            versions.update({a: w.version for a, w in commit.written.items()})
            self._versions, self._revision, self._seq = versions, commit.revision, seq

    def _read(self, store: Registry) -> None:
        meta = store.registry_metadata()  # before the records: whatever is committed after it has a higher stamp
        seq = _stamp(meta)
        revision = str(meta.get("revision", "0"))
        if seq is not None and self._seq is not None and seq >= self._seq >= int(meta.get(SEQ_FLOOR, seq)):
            changed = _since(store.registry, self._seq, self._versions)
            if changed is not None:
                self._versions, self._revision, self._seq = changed, revision, seq
                self.partial_reads += 1
                return
        self._versions = store.registry_versions()
        self._revision, self._seq = revision, seq
        self.full_reads += 1


def _since(registry: Any, seq: int, known: dict[str, str]) -> dict[str, str] | None:
    """The map from the registry's ids and its records stamped above `seq`; None when an id is in neither."""
    changed: dict[str, str] = {}
    offset = 0
    while True:
        got = registry.get(where={SEQ: {"$gt": seq}}, limit=PAGE, offset=offset, include=["metadatas"])
        changed.update((i, str(m.get("version"))) for i, m in zip(got["ids"], got["metadatas"]))
        if len(got["ids"]) < PAGE:
            break
        offset += PAGE
    versions: dict[str, str] = {}
    for ids, _, _ in pages(registry, include=[]):
        for article_id in ids:
            version = changed.get(article_id) or known.get(article_id)
            if version is None:
                return None
            versions[article_id] = version
    return versions
