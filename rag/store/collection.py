"""The Chroma store: chunk vectors plus an article registry whose record is the commit point of every update.

Readers only see chunks whose version matches the registry, so an article is seen whole in its old
or its new version, never half; chunks left behind by a crash are invisible and removed by `repair`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..embedding.embedder import canonical_model_name
from ..errors import StoreError
from ..records import ArticleInfo, Filters
from ..settings import Settings
from . import ownership
from .build import BuildState
from .check import outcome
from .chroma_sqlite import pending_vector_writes, string_values
from .commits import Commit
from .journal import WriteJournal
from .opening import connect, open_collections, release, take_embedded
from .record_reads import RecordReader, chunk_rows, registry_rows, stored_vectors
from .rows import ChunkHit, article_info, chunk_hit, is_committed, pages, where_clause
from .versions import CommittedVersions
from .writes import StoreWriter

_REOPENING = threading.Lock()
log = logging.getLogger(__name__)


class _Reopened:
    """A Store attribute that opens the store again first when this process let go of it (`Store.close`)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, store: Store | None, owner: type | None = None) -> Any:
        if store is None:  # looked up on the class (introspection, mock.patch.object): the descriptor
            return self
        store._current()
        return getattr(store, self.slot)

    def __set__(self, store: Store, value: Any) -> None:
        setattr(store, self.slot, value)


class Store:
    """One newsrag collection in Chroma (embedded in the store dir, or a Chroma server); `writer` writes to it."""

    def __init__(self, settings: Settings, *, create: bool = False, dimension: int | None = None) -> None:
        self.settings = settings
        self.model = canonical_model_name(settings.embedding_model)
        self.location = settings.chroma_url or str(settings.store)
        self.journal = WriteJournal(Path(settings.store))
        self.committed = CommittedVersions.of(settings.chroma_url or str(Path(settings.store).resolve()), settings.collection)
        self._lock = threading.Lock()
        self._local = threading.local()  # the revision pinned by `one_view`
        self._open(create, dimension)
        self._view = self.revision()  # the revision up to which this process's Chroma view is complete
        self.writer = StoreWriter(self)
        self.writer.recover_if_abandoned()

    # ------------------------------------------------------------------ opening
    def _open(self, create: bool = False, dimension: int | None = None) -> None:
        """Take the store (embedded), connect, and open the collections (see rag.store.opening)."""
        if not self.settings.chroma_url:
            take_embedded(self.settings, create)
        self._generation = ownership.generation(Path(self.settings.store))
        old = getattr(self, "_records", None)
        if old is not None:
            old.close()
        self._records = None if self.settings.chroma_url else RecordReader(
            Path(self.settings.store) / "chroma" / "chroma.sqlite3")
        self.client = connect(self.settings)
        self.chunks, self.registry = open_collections(self.client, self.settings, self.model, self.journal,
                                                      create, dimension)

    def _current(self) -> None:
        """Open the store again when this process let go of it since (`close`, then any use)."""
        if self.settings.chroma_url or ownership.generation(Path(self.settings.store)) == self._generation:
            return
        with _REOPENING:
            if ownership.generation(Path(self.settings.store)) != self._generation:
                self._open()
                self.committed.forget()  # it may have been restored or repaired while this process let go
                log.debug("opened the store at %s again", self.location)

    chunks: Any = _Reopened()  # the chunk collection
    registry: Any = _Reopened()  # the article registry collection
    client: Any = _Reopened()  # the Chroma client

    def close(self) -> None:
        """Let go of an embedded store for other processes; this process's Stores open it again when next used."""
        if not self.settings.chroma_url:
            if self._records is not None:
                self._records.close()
            release(Path(self.settings.store))

    def let_go_when_idle(self) -> bool:
        """`close`, unless a write is under way (another thread or process holds the write lock, or a write was
        left unfinished): a server shutting down calls it, and a store closed mid-write must not be signed as
        sound. Returns whether it let go."""
        if self.settings.chroma_url:
            return False
        with self.journal.locked(blocking=False) as held:
            if not held or self.journal.pending() is not None:
                log.info("a write is under way in %s; the next open checks the store in full", self.location)
                return False
            self.close()
            return True

    def check_outcome(self) -> dict[str, Any]:
        """What the file check did when this process opened the embedded store (rag.store.check; {} for a server)."""
        return {} if self.settings.chroma_url else outcome(Path(self.settings.store))

    def vector_index_state(self) -> dict[str, Any]:
        """Whether the chunk vector index on disk holds every logged write ({} for a Chroma server): what it lacks,
        a new process applies before its first search (rag.store.opening.index_settings)."""
        if self.settings.chroma_url:
            return {}
        pending = pending_vector_writes(Path(self.settings.store) / "chroma" / "chroma.sqlite3", self.chunks.name)
        if pending is None:
            return {"saved": "unknown"}
        return {"saved": "yes" if pending == 0 else "no", "writes_to_apply_at_open": pending}

    def refresh_view(self, revision: str) -> None:
        """Note the revision this process's view has reached: one process owns an embedded store
        (rag.store.ownership) and a Chroma server serves every client one state, so no write is missing."""
        self._view = revision

    def wrote(self, commit: Commit) -> None:
        """The writer committed: the pinned view follows, the view if it was complete, and the versions map."""
        if getattr(self._local, "revision", None) is not None:
            self._local.revision = commit.revision
        if commit.before == self._view:
            self._view = commit.revision
        self.committed.follow(commit, commit.seq)

    def _reopen(self, revision: str) -> None:
        """Fetch the collections anew from the client (the caller holds `_lock`)."""
        client = self.client
        chunks = client.get_collection(self.settings.collection, embedding_function=None)
        registry = client.get_collection(f"{self.settings.collection}-articles", embedding_function=None)
        self.chunks, self.registry = chunks, registry
        self._view = revision
        log.debug("reopened the Chroma collections at %s for revision %s", self.location, revision)

    def _query(self, **query: Any) -> Any:
        """`chunks.query`, once more on collections fetched anew when the first attempt fails: a view lagging
        behind a delete could hold vectors whose records are gone ("Error finding id"); a retry is cheap."""
        try:
            return self.chunks.query(**query)
        except Exception as exc:  # noqa: BLE001 - chroma raises InternalError, ValueError... by version
            if self.settings.chroma_url:
                raise StoreError(f"the Chroma server at {self.location} failed a search: {exc}") from exc
            log.info("search failed on a lagging view of %s (%s); reopening it", self.location, exc)
        with self._lock:
            self._reopen(self.revision())
        try:
            return self.chunks.query(**query)
        except Exception as exc:  # noqa: BLE001 - as above
            raise StoreError(f"the Chroma store at {self.location} failed a search twice: {exc}; "
                             "try again, and restart newsrag if it persists") from exc

    # ------------------------------------------------------------------ reading
    def revision(self) -> str:
        """A token that changes on every write; readers refresh their view when it does. Inside `one_view()`
        it is read once and reused, so one query sees one state of the store."""
        pinned = getattr(self._local, "revision", None)
        if pinned is not None:
            return str(pinned)
        reader = self._reader()  # an embedded store's is read from chroma.sqlite3 (0.1 ms where Chroma takes 1.5)
        meta = reader.collection_metadata(self.registry.name) if reader is not None else None
        return str((self.registry_metadata() if meta is None else meta).get("revision", "0"))

    def registry_metadata(self) -> dict[str, Any]:
        """The registry collection's metadata, read afresh (the revision)."""
        return dict(self.client.get_collection(self.registry.name, embedding_function=None).metadata or {})

    @contextlib.contextmanager
    def one_view(self) -> Iterator[None]:
        """Read the store revision once for the calls in this block (this thread only; nests)."""
        if getattr(self._local, "revision", None) is not None:
            yield
            return
        self._local.revision = self.revision()
        try:
            yield
        finally:
            self._local.revision = None

    def versions(self) -> dict[str, str]:
        """article_id -> the committed version at the current revision (rag.store.versions; do not change it)."""
        revision = self.revision()
        if revision != self._view:
            self.refresh_view(revision)
        return self.committed.at(revision, self)

    def store_metadata(self) -> dict[str, Any]:
        """The chunk collection's metadata, read afresh: schema version, model, dimension, build record (rag.store.build)."""
        return dict(self.client.get_collection(self.settings.collection, embedding_function=None).metadata or {})

    def registry_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(article_id, registry metadata) of every stored article, page by page."""
        for ids, metas, _ in pages(self.registry, include=["metadatas"]):
            yield from zip(ids, metas)

    def registry_versions(self) -> dict[str, str]:
        """article_id -> the committed version of every stored article, read whole (rag.store.versions)."""
        return self.registry_values("version")

    def registry_values(self, key: str) -> dict[str, str]:
        """article_id -> the string value of one registry key, for every article that has one: from
        `chroma.sqlite3` directly for an embedded store (one key, not every record's 18: 12 ms for 4,078 articles
        where Chroma's `get` takes 0.5 s), else through Chroma."""
        if not self.settings.chroma_url:  # (the registry's name opens the store again when this process let go)
            read = string_values(Path(self.settings.store) / "chroma" / "chroma.sqlite3", self.registry.name, key)
            if read is not None:
                return read
        return {i: str(m[key]) for i, m in self.registry_records() if isinstance(m.get(key), str)}

    def count_chunks(self) -> int:
        return int(sum(int(m.get("chunks", 0)) for _, metas, _ in pages(self.registry, include=["metadatas"]) for m in metas))

    def count_articles(self) -> int:
        return int(self.registry.count())

    def build_state(self) -> BuildState:
        """The settings the stored chunks were built with, against the running ones (rag.store.build)."""
        return BuildState.of(self.store_metadata(), self.settings)

    def articles(self) -> list[ArticleInfo]:
        """Every stored article, newest first."""
        infos = [
            article_info(article_id, meta)
            for ids, metas, _ in pages(self.registry, include=["metadatas"])
            for article_id, meta in zip(ids, metas)
        ]
        return sorted(infos, key=lambda a: (a.date or "", a.title), reverse=True)

    def article(self, article_id: str) -> tuple[ArticleInfo, str] | None:
        """An article's metadata and its cleaned text, or None."""
        got = self.registry.get(ids=[article_id], include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        return article_info(article_id, got["metadatas"][0]), got["documents"][0] or ""

    def search_ids(self, vector: np.ndarray, k: int, filters: Filters | None = None,
                   versions: dict[str, str] | None = None) -> list[tuple[str, float]]:
        """The ids of the k committed chunks nearest to `vector` with their cosine similarity, best first.

        Reads no text or metadata (the version is part of the id), a fraction of the cost of reading them:
        the caller reads only the chunks it keeps (`hits_by_ids`, given the same `versions`).
        """
        versions = self.versions() if versions is None else versions
        if not versions:
            return []
        fetch = k + 10
        while True:
            result = self._query(query_embeddings=[np.asarray(vector, dtype=np.float32)], n_results=fetch,
                                 where=where_clause(filters), include=["distances"])
            ids = result["ids"][0]
            hits = [(i, 1.0 - float(d)) for i, d in zip(ids, result["distances"][0]) if is_committed(i, versions)]
            if len(hits) >= k or len(ids) < fetch or fetch >= 8 * k:
                return hits[:k]
            fetch *= 2

    def hits_by_ids(self, chunk_ids: Sequence[str], vector: np.ndarray,
                    versions: dict[str, str] | None = None,
                    known: Mapping[str, float] | None = None) -> list[ChunkHit]:
        """The committed chunks among `chunk_ids`, scored by cosine similarity to `vector`.

        `known` gives scores the caller already has (dense search's cosines): when it covers every chunk,
        no stored vector is read (a quarter of the cost of the call). The score is NaN when this process
        cannot read a stored vector (embedded Chroma does not see vectors another process added since it
        last reopened the store); the caller embeds those itself.
        """
        if not chunk_ids:
            return []
        versions = self.versions() if versions is None else versions
        known = known or {}
        ids = list(chunk_ids)
        rows, stored = chunk_rows(self.chunks, self._reader(), ids, any(i not in known for i in ids))
        hits = {
            chunk_id: chunk_hit(chunk_id, text, meta, known.get(chunk_id, float("nan")))
            for chunk_id, text, meta in rows
            if meta is not None and versions.get(str(meta.get("article_id"))) == meta.get("version")
        }
        if stored is None:
            stored = stored_vectors(self.chunks, [i for i in hits if i not in known])
        query = np.asarray(vector, dtype=np.float32)
        for chunk_id, emb in stored:
            if chunk_id in hits and chunk_id not in known:
                score = float(np.dot(query, np.asarray(emb, dtype=np.float32)))
                hits[chunk_id] = dataclasses.replace(hits[chunk_id], score=score)
        return [hits[i] for i in ids if i in hits]

    def _reader(self) -> RecordReader | None:
        """The reader of `chroma.sqlite3` for an embedded store (None for a Chroma server)."""
        self._current()  # this process let go of the store since: open it again first, as every read does
        return self._records

    def committed_chunks(self, article_ids: Sequence[str]) -> list[ChunkHit]:
        """The chunks of the committed versions of these articles (score 0), in article then chunk order."""
        versions = self.versions()
        hits: list[ChunkHit] = []
        for lo in range(0, len(article_ids), 100):
            batch = list(article_ids[lo : lo + 100])
            got = self.chunks.get(where={"article_id": {"$in": batch}}, include=["documents", "metadatas"])
            hits.extend(
                chunk_hit(i, t, m, 0.0) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])
                if versions.get(str(m.get("article_id"))) == m.get("version")
            )
        return sorted(hits, key=lambda h: (h.article_id, int(h.meta.get("chunk_index", 0))))

    def article_texts(self, article_ids: Sequence[str], versions: dict[str, str] | None = None) -> dict[str, str]:
        """article_id -> cleaned article text (the text chunk offsets point into); with `versions`, only
        articles whose stored text is still that version (text and version are read in one get)."""
        if not article_ids:
            return {}
        rows = registry_rows(self.registry, self._reader(), list(article_ids))
        return {i: d or "" for i, d, m in rows if versions is None or str((m or {}).get("version")) == versions.get(i)}

    def chunks_of(self, article_id: str) -> list[ChunkHit]:
        """The committed chunks of one article in order."""
        version = self.versions().get(article_id)
        if version is None:
            return []
        got = self.chunks.get(
            where={"$and": [{"article_id": article_id}, {"version": version}]},
            include=["documents", "metadatas"],
        )
        hits = [chunk_hit(i, t, m, 0.0) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])]
        return sorted(hits, key=lambda h: h.start)
