"""The BM25 side of hybrid search: an index kept in step with the Chroma collection and saved beside it.

The index file (`<store>/bm25/<collection>.npz`) records which version of each article it holds and
the store revision it was synced at. The store's writer hands each commit to the index (`committed`, registered
by `rag.composition.open_store`), which applies it from the rows written when it was in step before it. Otherwise
`sync` (before every search) compares the index with the article registry and applies
per-article deltas (new versions in, removed or replaced ones out), so nothing is rebuilt from
scratch when the collection grows or another process wrote to it. A delta is appended to the index's
log (`<collection>.log`, `rag.retrieval.bm25_log`) rather than rewriting the whole file, and kept in memory
as tombstones on the base segment plus a small tail segment (`rag.retrieval.bm25`); the file is rewritten
(compacted: base minus tombstones plus tail as a new base; temp file, fsync, atomic rename; temp files of a
writer that died mid-save are removed at the next save) only when the log has grown to a quarter of it,
the tail to `TAIL_RATIO` of the index, or the log was found damaged. The file is opened with mmap: its
term-major postings are used as written, nothing is derived at load. A file of the older format is read
whole and written in the current one once the index is in step (a migration, once). A damaged or foreign
file is detected on load and rebuilt from the collection; a torn or damaged log record is ignored, with
everything after it, and the index caught up from the store.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import dataclass

from ..errors import StoreError
from ..records import Filters
from ..settings import Settings
from ..store.collection import Store
from ..store.commits import Commit
from . import bm25_format, bm25_log
from .bm25 import FORMAT, BM25Index, ChunkDoc, lexical_terms
from .bm25_docs import complete_docs, written_docs
from .bm25_files import fsync_dir, index_path, remove_abandoned_temps
from .bm25_log import log_path
from .bm25_log import stat as _stat
from .feedback import expanded_search

log = logging.getLogger(__name__)

COMPACT_RATIO = 0.25  # the log is folded into a new index file once it is this large against the file
COMPACT_MIN_BYTES = 1 << 20
TAIL_RATIO = 0.02  # ... or once the tail holds this share of the chunks (each change rebuilds the tail)
TAIL_MIN_ROWS = 2000


@dataclass
class SyncStats:
    """What this process did to the index."""

    loads: int = 0
    full_builds: int = 0
    deltas: int = 0
    saves: int = 0  # whole index files written (full builds and compactions)
    appends: int = 0  # deltas appended to the log
    followed: int = 0  # log records read (written by another process, or found on load)
    damaged: int = 0
    articles_added: int = 0
    articles_dropped: int = 0


class LexicalIndex:
    """BM25 search over one collection; every search first checks the index is in step with the store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = index_path(settings)
        self.stats = SyncStats()
        self.log = log_path(self.path)
        self._index: BM25Index | None = None
        self._revision: str | None = None  # store revision the in-memory index is known to match
        self._file_state: tuple[int, int, int] | None = None
        self._log_state: tuple[int, int, int] | None = None
        self._log_end = 0  # bytes of the log this process has applied (or written)
        self._disk_token: str | None = None  # the index state the files on disk add up to, as far as read
        self._compact = False  # the log is damaged or untrusted: the next save writes a new index file
        self._migrate = False  # the file is of an older format: written anew once the index is in step
        self._lock = threading.Lock()
        self._counted: dict[str, ChunkDoc] = {}  # chunk id -> counted doc, from `prepare` until `committed`

    def search(self, store: Store, question: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """The k chunk ids with the best BM25 score for `question` among those passing `filters` (with
        pseudo-relevance feedback when `bm25_feedback_terms` is set: `rag.retrieval.feedback`)."""
        return expanded_search(self.sync(store), lexical_terms(question), k, filters, self.settings)

    def sync(self, store: Store) -> BM25Index:
        """Bring the index in step with the store's committed article versions; returns it."""
        revision = store.revision()
        if self._index is not None and revision == self._revision:
            return self._index
        with self._lock:
            if self._index is not None and revision == self._revision:
                return self._index
            if self._index is None or self._file_changed():
                self._load()
            if self._index is None or self._index.meta.get("revision") != revision:
                self._index, self._revision = self._apply_delta(store, revision), None
            if self._index.meta.get("revision") == revision:
                self._revision = revision
                if self._migrate:
                    self._index = self._write(self._index)
            return self._index

    def prepare(self, commit: Commit) -> None:
        """Count the terms of a commit's chunks now, on the writer's thread (`committed` follows at the block's end)."""
        self._counted.update((d.chunk_id, d.counted()) for d in written_docs(commit))

    def committed(self, store: Store, commit: Commit) -> None:
        """Follow a commit of the store's writer (`StoreWriter.follow`): from the rows it wrote when this index
        was in step just before it (no chunk is read back from Chroma), else by catching up from the store."""
        try:
            with self._lock:
                if self._index is None or self._file_changed():
                    self._load()
                index = self._from_rows(store, commit)
                if index is not None:
                    self._index, self._revision = index, commit.revision
                    return
            self.sync(store)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot update the BM25 index {self.path}: {exc}") from exc
        finally:
            self._counted.clear()

    def _from_rows(self, store: Store, commit: Commit) -> BM25Index | None:
        """The index after `commit`, from its rows: when the index was at its starting revision, or when there is
        no index and the commit wrote every committed article (a new store); None otherwise."""
        index = self._index
        at = None if index is None else index.meta.get("revision")
        if index is not None and at == commit.revision:
            return index
        if index is not None and at == commit.before:
            return self._advance(index, sorted(commit.removed), self._docs(commit), commit.revision)
        if index is None and store.revision() == commit.revision and all(
                a in commit.written and commit.written[a].version == v for a, v in store.versions().items()):
            self.stats.full_builds += 1
            return self._advance(BM25Index(meta={"full_builds": 1, "deltas": 0}), [], self._docs(commit), commit.revision)
        return None

    def _docs(self, commit: Commit) -> list[ChunkDoc]:
        """The counted documents of the chunks a commit wrote (counted by `prepare` when it was made)."""
        return [self._counted.get(d.chunk_id) or d.counted() for d in written_docs(commit)]

    # ------------------------------------------------------------------ deltas
    def _apply_delta(self, store: Store, revision: str) -> BM25Index:
        base = self._index
        if base is None:
            base = BM25Index(meta={"full_builds": 0, "deltas": 0})
            base.meta["full_builds"] += 1
            self.stats.full_builds += 1
        versions = store.versions()
        indexed = base.article_versions()
        drop = [a for a, v in indexed.items() if versions.get(a) != v]
        fetch = [a for a, v in versions.items() if indexed.get(a) != v]
        docs, complete = complete_docs(store.committed_chunks(fetch), fetch)
        # an article caught mid-write is fetched again at the next search (its writer bumps the revision)
        return self._advance(base, drop, [d.counted() for d in docs], revision if complete else None)

    def _advance(self, base: BM25Index, drop: list[str], docs: list[ChunkDoc], revision: str | None) -> BM25Index:
        """`base` without the chunks of `drop` and with `docs` (counted), at `revision`, saved."""
        parent = base.meta.get("token")
        if not drop and not docs and base is self._index:
            index = base  # only the revision moves
        else:
            index = base.apply(drop, docs)
            index.meta["deltas"] = int(index.meta.get("deltas", 0)) + 1
            self.stats.deltas += 1
            self.stats.articles_added += len({d.article_id for d in docs})
            self.stats.articles_dropped += len(drop)
        index.meta.update(revision=revision, collection=self.settings.collection, location=_location(self.settings),
                          token=uuid.uuid4().hex)
        return self._save(index, parent, drop, docs)

    # ------------------------------------------------------------------ files
    def _file_changed(self) -> bool:
        return _stat(self.path) != self._file_state or _stat(self.log) != self._log_state

    def _load(self) -> None:
        """Map the index file when it belongs to this collection (a damaged one is ignored), then replay its log;
        only the log's new records when the file is the one already read."""
        state = _stat(self.path)
        if state is None:
            self._file_state = None  # deleted: keep what is in memory (if anything); the next save rewrites it
            return
        if self._index is not None and state == self._file_state and not self._compact:
            self._follow_log(self._index, self._log_end)
            return
        try:
            index = BM25Index.open(self.path)
            if index.meta.get("collection") != self.settings.collection:
                raise ValueError(f"the file belongs to collection {index.meta.get('collection')!r}")
        except (OSError, ValueError) as exc:
            log.warning("BM25 index %s is damaged (%s); it is rebuilt from the collection", self.path, exc)
            self.stats.damaged += 1
            self._file_state, self._compact = state, True  # the next save writes a whole new file
            return
        self._file_state, self._compact = state, False
        self._migrate = index.meta.get("format") != FORMAT
        self.stats.loads += 1
        self._follow_log(index, 0)

    def _follow_log(self, index: BM25Index, offset: int) -> None:
        """Apply the log's records after `offset` to `index` and keep the result."""
        self._log_state = _stat(self.log)
        replay = bm25_log.read(self.log, str(index.meta.get("segment")), str(index.meta.get("token")), offset)
        if replay.records:
            self.stats.followed += replay.records
            index = index.apply(replay.drop, replay.docs())
            index.meta.update(replay.meta, token=replay.token, revision=replay.revision)
        if replay.damaged:
            log.warning("BM25 log %s has a torn or damaged record after %d bytes; it is ignored from there, the "
                        "index is caught up from the store and compacted", self.log, replay.end)
            self.stats.damaged += 1
        self._compact = self._compact or replay.damaged or not replay.trusted
        self._index, self._log_end, self._disk_token = index, replay.end, replay.token

    def _save(self, index: BM25Index, parent: object, drop: list[str], docs: list[ChunkDoc]) -> BM25Index:
        """Append the delta that made `index` to the log when the files on disk are its parent state and the
        log and the tail are still small; otherwise write the whole index file. Failure only costs a resync.
        Returns the index to keep (after a compaction: the new base, mapped from its file)."""
        record = bm25_log.Record(str(index.meta.get("segment")), str(parent), str(index.meta["token"]),
                                 index.meta.get("revision"), drop, docs,
                                 {k: index.meta[k] for k in ("deltas", "full_builds") if k in index.meta})
        data = record.encode() if self._appendable(index, parent) else b""  # encoded only when it may be appended
        if data and self._appendable(index, parent, len(data)):
            try:
                end = bm25_log.append(self.log, data, self._log_end, self.path, self._file_state)
            except OSError as exc:
                log.warning("cannot append to the BM25 log %s (%s); the index is kept in memory", self.log, exc)
                return index
            if end is not None:
                self._log_end, self._log_state, self._disk_token = end, _stat(self.log), record.token
                self.stats.appends += 1
                remove_abandoned_temps(self.path)
            return index  # None: another process wrote since this one read; the next reader catches up from the store
        return self._write(index)

    def _appendable(self, index: BM25Index, parent: object, size: int = 0) -> bool:
        """Whether a record of `size` bytes made from state `parent` may go to the log (else the file is written)."""
        if self._compact or self._migrate or self._file_state is None or parent != self._disk_token or parent is None:
            return False
        return len(index.tail) <= max(TAIL_MIN_ROWS, TAIL_RATIO * len(index)) and (
            self._log_end + size <= max(COMPACT_MIN_BYTES, self._file_state[1] * COMPACT_RATIO))

    def _write(self, index: BM25Index) -> BM25Index:
        """Write the index as a new file (a new segment: the old log no longer applies): temp file, fsync,
        atomic rename, then the log is removed, all under the log's lock. Returns the new base, mapped from
        the file (the index itself when it could not be written)."""
        compacted = index.compacted()
        compacted.meta["segment"] = uuid.uuid4().hex
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as handle:
                bm25_format.write(handle, compacted.base, compacted.file_meta())
                handle.flush()
                os.fsync(handle.fileno())
            with bm25_log.locked(self.log):
                os.replace(tmp, self.path)
                self.log.unlink(missing_ok=True)
                fsync_dir(self.path.parent)
            mapped = BM25Index.open(self.path)
        except (OSError, ValueError) as exc:
            log.warning("cannot save the BM25 index to %s (%s); it is kept in memory", self.path, exc)
            tmp.unlink(missing_ok=True)
            return index
        self._file_state, self._log_state, self._log_end = _stat(self.path), None, 0
        self._disk_token, self._compact, self._migrate = compacted.meta.get("token"), False, False
        self.stats.saves += 1
        remove_abandoned_temps(self.path)
        return mapped


def read_saved(settings: Settings) -> BM25Index | None:
    """The index as saved, without syncing: its file with the log's records applied (what a new process
    loads first); None when there is no readable file."""
    lexical = LexicalIndex(settings)
    lexical._load()
    return lexical._index


def upgrade_saved(settings: Settings) -> bool:
    """Write a saved index of an older file format in the current one, its log folded in and its revision kept
    (nothing is read from the store: `newsrag bench` upgrades a cached store's copy so); whether it was written."""
    lexical = LexicalIndex(settings)
    lexical._load()
    return lexical._index is not None and lexical._migrate and lexical._write(lexical._index) is not lexical._index


def sync(store: Store, settings: Settings | None = None) -> LexicalIndex:
    """Bring the collection's saved BM25 index in step with the store (a store from `rag.composition.open_store`
    needs no call: its writer's commits keep the index in step)."""
    lexical = LexicalIndex(settings or store.settings)
    try:
        lexical.sync(store)
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(f"cannot update the BM25 index {lexical.path}: {exc}") from exc
    return lexical


def _location(settings: Settings) -> str:
    return settings.chroma_url or str(settings.store)
