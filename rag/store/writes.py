"""The writer of a store (`Store.writer`): journaled, locked writes whose registry record is the commit point.

A new article version is written as chunks first, then its registry record (from then on readers see it),
then its old chunks are dropped; a write cut short is repaired by `recover` (at the next open or write).
Each write ends by moving the revision with a `commits.Commit` naming what it wrote, which keeps the store's
versions map and its followers (the BM25 index) in step: followers get the commits of a `write_lock` block
folded into one when the block ends, inside the journaled write (a crash before they are done is repaired
like any other interrupted write).
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import StoreError
from .build import BUILD_KEY, TARGET_KEY, encode
from .check import distrust
from .commits import Commit, CommitFollower, WrittenArticle
from .diskspace import DiskFull, disk_full, ensure_space, is_disk_full, write_estimate
from .rows import PAGE, ArticleRow, ChunkRow, chunk_meta, pages, utc_now
from .versions import next_seq, stamp

if TYPE_CHECKING:
    from .collection import Store

log = logging.getLogger("rag.store")


class StoreWriter:
    """Every write to one `Store`: it reads through the store it is given and tells it when the revision moved."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.followers: dict[str, CommitFollower] = {}
        self._held: list[Commit] | None = None  # the commits of the `write_lock` block under way

    def follow(self, name: str, follower: CommitFollower) -> None:
        """Keep `follower` in step with this store's commits (replacing the one registered under `name`)."""
        self.followers[name] = follower

    @contextlib.contextmanager
    def write_lock(self, operation: str = "write") -> Iterator[None]:
        """One writer at a time per store directory (other processes wait), journaled.

        Inside, this process sees everything committed before; a journal left by a writer that died is
        repaired first; if the block raises, whatever it left half-done is repaired before the lock is released.
        """
        try:
            with self.store.journal.locked():
                self.store.refresh_view(self.store.revision())
                if self.store.journal.pending() is not None:
                    self.recover()
                self.store.journal.begin(operation)
                self._held = []
                try:
                    yield
                    held, self._held = self._held, None
                    self._deliver(Commit.fold(held))
                except BaseException:
                    self._held = None  # followers behind the store catch up from it (its revision moved)
                    if not self.store.settings.chroma_url:  # the next open checks the files in full
                        distrust(Path(self.store.settings.store))
                    with contextlib.suppress(Exception):  # the journal stays: the next opener repairs
                        self.recover()
                    raise
                self.store.journal.end()
        except DiskFull:
            raise
        except Exception as exc:
            if is_disk_full(exc, self.store.journal.directory):
                raise disk_full(self.store.journal.directory, exc) from exc
            raise

    def recover(self) -> int:
        """Bring the store back to a consistent state after an interrupted write; returns orphan chunks removed.

        Orphans (chunks of versions never committed, or of articles deleted) are removed, and the revision
        moves, so every reader, and the BM25 index at its next sync, re-reads the registry.
        """
        pending = self.store.journal.pending()
        removed = self.repair()
        self.bump()
        self.store.journal.end()
        if pending is not None:
            log.warning("recovered the store at %s after an interrupted %s (pid %s): %d orphan chunks removed",
                        self.store.location, pending.get("operation"), pending.get("pid"), removed)
        return removed

    def recover_if_abandoned(self) -> None:
        """At open: repair a write that a dead process left half-done (skipped while a writer is active)."""
        if self.store.journal.pending() is None:
            return
        try:
            with self.store.journal.locked(blocking=False) as held:
                if held and self.store.journal.pending() is not None:
                    self.store.refresh_view(self.store.revision())
                    self.recover()
        except OSError as exc:  # a read-only store: readers still see only committed versions
            log.warning("cannot repair the interrupted write in %s (%s)", self.store.location, exc)

    def put_article(self, article: ArticleRow, chunks: Sequence[ChunkRow], vectors: np.ndarray) -> None:
        """Write a new version of an article: chunks first, then the registry record, then drop the old."""
        self.put_articles([(article, chunks, vectors)])

    def put_articles(self, items: Sequence[tuple[ArticleRow, Sequence[ChunkRow], np.ndarray]],
                     replacing: Collection[str] | None = None) -> None:
        """Write new versions of several articles: all their chunks, then their registry records (each one
        the commit point of its article), then drop their old versions; one revision bump. `replacing`, when
        given, names the only articles that may have an older version stored (a writer holding the write
        lock knows which are new), so the others' chunks are not read back to look for one.

        Chroma's cost is mostly per call, so writing many articles in one call is several times faster
        than writing them one by one (see docs/benchmarks.md, scale).
        """
        if not items:
            return
        ids: list[str] = []
        documents: list[str] = []
        metas: list[dict[str, Any]] = []
        written: dict[str, WrittenArticle] = {}
        for article, chunks, _ in items:
            if not chunks:
                raise StoreError(f"article {article.article_id} has no chunks to store")
            version = article.content_hash[:16]
            base = chunk_meta(article, version)
            made = WrittenArticle(article.article_id, version, tuple(f"{article.article_id}:{version}:{c.index}" for c in chunks),
                                  tuple(c.text for c in chunks), base)
            written[article.article_id] = made
            ids.extend(made.chunk_ids)
            documents.extend(made.texts)
            metas.extend({**base, "chunk_index": c.index, "start": c.start, "end": c.end, "kind": c.kind} for c in chunks)
        vectors = np.concatenate([np.asarray(v, dtype=np.float32) for _, _, v in items])
        if not self.store.settings.chroma_url:  # nothing is written unless the disk has room for all of it
            text = sum(len(d.encode("utf-8")) for d in documents) + sum(len(a.text.encode("utf-8")) for a, _, _ in items)
            ensure_space(self.store.journal.directory, write_estimate(len(ids), len(items), text))
        step = max(1, min(self._max_batch(), 5000))
        for lo in range(0, len(ids), step):
            self.store.chunks.upsert(ids=ids[lo : lo + step], embeddings=vectors[lo : lo + step],
                               documents=documents[lo : lo + step], metadatas=metas[lo : lo + step])
        seq = next_seq(self.store.registry_metadata())
        for lo in range(0, len(items), step):
            self._commit(items[lo : lo + step], seq)
        self._drop_old_versions({a.article_id: a.content_hash[:16] for a, _, _ in items
                                 if replacing is None or a.article_id in replacing})
        self.bump(Commit("", "", written=written, seq=seq))

    def _commit(self, items: Sequence[tuple[ArticleRow, Sequence[ChunkRow], np.ndarray]], seq: int) -> None:
        """Upsert the registry records of these articles, stamped `seq`: from now on readers see their new versions."""
        means, records = [], []
        for article, chunks, vectors in items:
            mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
            means.append(mean / (np.linalg.norm(mean) or 1.0))
            urls = list(article.urls or ([article.url] if article.url else []))
            records.append({**chunk_meta(article, article.content_hash[:16]), "chunks": len(chunks),
                            "chars": len(article.text), "content_hash": article.content_hash, "origin": article.origin,
                            "urls": json.dumps(urls), "copies": json.dumps(list(article.copies)),
                            "fingerprint": article.fingerprint, "ingested_at": utc_now(),
                            "comments_start": -1 if article.comments_start is None else article.comments_start,
                            "seq": seq})
        self.store.registry.upsert(ids=[a.article_id for a, _, _ in items], embeddings=np.asarray(means),
                             documents=[a.text for a, _, _ in items], metadatas=records)

    def _drop_old_versions(self, versions: dict[str, str]) -> None:
        """Delete the chunks of these articles whose version is not the given (just committed) one."""
        article_ids = list(versions)
        for lo in range(0, len(article_ids), 500):
            got = self.store.chunks.get(where={"article_id": {"$in": article_ids[lo : lo + 500]}}, include=["metadatas"])
            stale = [i for i, m in zip(got["ids"], got["metadatas"]) if versions.get(str(m.get("article_id"))) != m.get("version")]
            for start in range(0, len(stale), PAGE):
                self.store.chunks.delete(ids=stale[start : start + PAGE])

    def delete_article(self, article_id: str) -> bool:
        """Remove an article and all its chunks; False when it was not stored."""
        if not self.store.registry.get(ids=[article_id], include=[])["ids"]:
            return False
        self.store.registry.delete(ids=[article_id])
        self.store.chunks.delete(where={"article_id": article_id})
        self.bump(Commit("", "", removed={article_id}))
        return True

    def mark_build(self, *, target: dict[str, Any] | None = None, built: dict[str, Any] | None = None) -> None:
        """Record a rebuild under way (`target`), or the build every article now has (`built`, ending the rebuild).

        Call it under `write_lock`: the rebuild's target is written before its first article, the build after its last.
        """
        meta = self.store.store_metadata()
        if target is not None:
            meta[TARGET_KEY] = encode(target)
        if built is not None:
            meta[BUILD_KEY] = encode(built)
            meta.pop(TARGET_KEY, None)
        self.store.chunks.modify(metadata=meta)

    def set_links(self, article_id: str, urls: Sequence[str], copies: Sequence[str]) -> bool:
        """Record the urls and copy origins of a stored article (its chunks stay as they are)."""
        got = self.store.registry.get(ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return False
        meta = {**got["metadatas"][0], "urls": json.dumps(list(urls)), "copies": json.dumps(list(copies))}
        self.store.registry.update(ids=[article_id], metadatas=[meta])
        self.bump(Commit("", ""))  # no version changed
        return True

    def repair(self) -> int:
        """Delete chunks no committed article version points at (left by a crash); returns how many."""
        versions = self.store.versions()
        orphans = [
            chunk_id
            for ids, metas, _ in pages(self.store.chunks, include=["metadatas"])
            for chunk_id, meta in zip(ids, metas)
            if versions.get(str(meta.get("article_id"))) != meta.get("version")
        ]
        for lo in range(0, len(orphans), PAGE):
            self.store.chunks.delete(ids=orphans[lo : lo + PAGE])
        return len(orphans)

    def bump(self, change: Commit | None = None) -> None:
        """Move the store's revision over `change` (its revisions are filled in here; none: changes the writer
        cannot name, and every reader re-reads): the store's views and versions map follow, and the followers,
        at once or when the `write_lock` block ends."""
        meta = self.store.registry_metadata()
        commit = change or Commit("", "", known=False)
        commit.before, commit.revision = str(meta.get("revision", "0")), uuid.uuid4().hex
        after = stamp(meta, commit.seq, commit.revision) if commit.known else {**meta, "revision": commit.revision}
        commit.seq = after.get("seq") if commit.known else None
        self.store.registry.modify(metadata=after)
        self.store.wrote(commit)
        if self._held is None:
            self._deliver(commit)
            return
        self._held.append(commit)
        for follower in list(self.followers.values()) if commit.known else []:
            follower.prepare(commit)

    def _deliver(self, commit: Commit | None) -> None:
        """Hand a commit to the followers (a commit whose changes are unknown is not: they catch up by reading)."""
        if commit is None or not commit.known:
            return
        for follower in list(self.followers.values()):
            follower.committed(self.store, commit)

    def _max_batch(self) -> int:
        try:
            return int(self.store.client.get_max_batch_size())
        except Exception:  # noqa: BLE001 - older servers lack the call
            return 1000
