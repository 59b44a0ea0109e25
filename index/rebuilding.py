"""Re-embedding as a first-class operation: rebuild every stored article's chunks and vectors from its stored text.

When the build settings (rag.store.build: chunker, model, max_seq_length, chunk_tokens, chunk_overlap_sentences,
embed_title) differ from the store's recorded build, each article is chunked again from the cleaned text in
its registry record and embedded again; its new version is written like any update (chunks, then the registry
record as the commit point, then the old chunks dropped), so readers see every article whole, in its old or its
new build. The store records the target build before the first article and the new build after the last: a
rebuild cut short is known as unfinished (`newsrag status`) until the next ingest or rebuild finishes it. That
one skips the articles already rebuilt: an article's content hash covers the build settings.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rag.composition import open_store
from rag.embedding.embedder import Embedder, token_counter
from rag.settings import Settings
from rag.store.build import build_record, differences
from rag.store.collection import Store
from rag.store.owner_client import OwnerClient, routed
from rag.store.rows import PAGE, ArticleRow

from .chunking import chunk_article
from .pipeline import _background, _embed
from .planning import Batch, Pending, _json_list, article_hash

Progress = Callable[[str, int, int], None]  # (origin, articles rebuilt, chunks written)
FETCH = 50  # registry records read at a time while rebuilding
log = logging.getLogger(__name__)


@dataclass
class RebuildReport:
    """What a rebuild found and did."""

    store: str
    changes: list[str] = field(default_factory=list)  # "chunk_tokens 120 -> 60"; empty: nothing differed
    build: dict[str, Any] = field(default_factory=dict)  # the build the store has now
    articles: int = 0  # stored articles
    rebuilt: int = 0  # chunked and embedded again
    current: int = 0  # already built with these settings (say, before an interrupted rebuild stopped)
    chunks_before: int = 0
    chunks_after: int = 0
    chunks: int = 0  # chunks embedded
    seconds: float = 0.0
    embed_seconds: float = 0.0

    def summary(self) -> str:
        if not self.changes and not self.rebuilt:
            return f"the store at {self.store} is built with these settings; nothing to rebuild"
        rate = self.chunks / self.seconds if self.seconds > 0 else 0.0
        return (f"rebuilt {self.rebuilt} of {self.articles} articles ({'; '.join(self.changes) or 'unfinished rebuild'}); "
                f"{self.current} were current; chunks {self.chunks_before} -> {self.chunks_after}; "
                f"{self.chunks} chunks embedded in {self.seconds:.1f}s ({rate:.1f} chunks/s) -> {self.store}")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 3), "embed_seconds": round(self.embed_seconds, 3)}


def rebuild(store: str | Path | None = None, settings: Settings | None = None, progress: Progress | None = None,
            embedder: Embedder | None = None) -> RebuildReport:
    """Rebuild the stored articles whose chunks were made with other build settings than `settings`.

    Nothing is fetched again: the chunks come from the article text the store keeps. A store already built with
    these settings is left alone. When a serving process owns the store, it rebuilds with its own settings.
    """
    settings = (settings or Settings()).with_overrides(store=store)
    return routed(settings, lambda: _rebuild_here(settings, progress, embedder),
                  lambda owner: _rebuild_there(owner, settings))


def _rebuild_there(owner: OwnerClient, settings: Settings) -> RebuildReport:
    """The owner rebuilds with the settings it was started with; say so when they are not the caller's."""
    report = RebuildReport(**{**owner.rebuild(), "store": f"{settings.store} (through {owner.describe()})"})
    ignored = differences(build_record(settings), report.build)
    if ignored:
        log.warning("%s builds with the settings it was started with (%s); restart it with the new settings to "
                    "rebuild with them", owner.describe(), "; ".join(ignored))
    return report


def _rebuild_here(settings: Settings, progress: Progress | None, embedder: Embedder | None) -> RebuildReport:
    started = time.perf_counter()
    chroma = open_store(settings)
    if embedder is None or embedder.name != chroma.model:
        embedder = Embedder(settings)
    with chroma.writer.write_lock("rebuild"):
        chroma.writer.repair()
        report = rebuild_stale(chroma, settings, embedder, progress)
        if report is None:
            report = RebuildReport(store=chroma.location, build=chroma.build_state().built or {},
                                   articles=chroma.count_articles(), current=chroma.count_articles())
            report.chunks_before = report.chunks_after = chroma.count_chunks()
    report.seconds = time.perf_counter() - started
    return report


def rebuild_stale(chroma: Store, settings: Settings, embedder: Embedder,
                  progress: Progress | None = None) -> RebuildReport | None:
    """Under the caller's `write_lock`: rebuild when the store's build is not `settings`' (None when it is)."""
    state = chroma.build_state()
    if state.current:
        return None
    started = time.perf_counter()
    running = build_record(settings, embedder.dimension)
    report = RebuildReport(store=chroma.location, changes=state.changes if state.built else ["build not recorded"],
                           build=running, chunks_before=chroma.count_chunks())
    if state.target is not None:
        log.warning("the store at %s holds an unfinished rebuild (it was cut short); finishing it with the running "
                    "settings (%s)", chroma.location, "; ".join(state.changes) or "the recorded build")
    elif state.built is None:
        log.warning("the store at %s does not record the settings it was built with; checking every article "
                    "against the running settings", chroma.location)
    else:
        log.warning("the store at %s was built with other settings (%s); rebuilding its chunks and vectors from "
                    "the stored article text", chroma.location, "; ".join(state.changes))
    chroma.writer.mark_build(target=running)
    stale = _stale_articles(chroma, settings, report)
    if stale:
        log.warning("rebuilding %d of %d articles", len(stale), report.articles)
    batches = _background(lambda: _batches(chroma, settings, stale))
    embedded = _background(lambda: (_embed(batch, embedder, settings) for batch in batches))
    try:
        for batch in embedded:
            _write(batch, chroma, report, progress)
    finally:  # a failed write stops the reading and embedding threads before the error goes on
        embedded.close()
        batches.close()
    chroma.writer.mark_build(built=running)
    report.chunks_after = chroma.count_chunks()
    report.seconds = time.perf_counter() - started
    return report


def _stale_articles(chroma: Store, settings: Settings, report: RebuildReport) -> list[tuple[str, int | None, str]]:
    """(article id, comments start, new content hash) of every article not built with `settings`."""
    stale: list[tuple[str, int | None, str]] = []
    offset = 0
    while True:
        got = chroma.registry.get(limit=PAGE, offset=offset, include=["metadatas", "documents"])
        if not got["ids"]:
            return stale
        offset += len(got["ids"])
        derived = _comment_starts(chroma, [(i, m) for i, m in zip(got["ids"], got["metadatas"])
                                           if "comments_start" not in m])
        for article_id, meta, text in zip(got["ids"], got["metadatas"], got["documents"]):
            comments = derived.get(article_id) if "comments_start" not in meta else _start(meta["comments_start"])
            digest = article_hash(str(meta.get("title", "")), text or "", meta.get("url"), meta.get("date"),
                                  meta.get("site"), meta.get("author"), comments, settings)
            report.articles += 1
            if digest == meta.get("content_hash"):
                report.current += 1
            else:
                stale.append((article_id, comments, digest))


def _start(value: Any) -> int | None:
    return None if value is None or int(value) < 0 else int(value)


def _comment_starts(chroma: Store, records: list[tuple[str, dict[str, Any]]]) -> dict[str, int | None]:
    """Where the comments begin, for records written before registry records kept it: the first comment chunk."""
    versions = {article_id: meta.get("version") for article_id, meta in records}
    starts: dict[str, int | None] = dict.fromkeys(versions)
    ids = list(versions)
    for lo in range(0, len(ids), 500):
        got = chroma.chunks.get(where={"$and": [{"article_id": {"$in": ids[lo : lo + 500]}}, {"kind": "comment"}]},
                                include=["metadatas"])
        for meta in got["metadatas"]:
            article_id, start = str(meta.get("article_id")), int(meta.get("start", 0))
            if meta.get("version") == versions.get(article_id):
                known = starts.get(article_id)
                starts[article_id] = start if known is None else min(known, start)
    return starts


def _batches(chroma: Store, settings: Settings, stale: list[tuple[str, int | None, str]]) -> Iterator[Batch]:
    """The stale articles chunked again from their stored text, in batches for the embedding stage."""
    counter = token_counter(settings.embedding_model)
    batch = Batch()
    for lo in range(0, len(stale), FETCH):
        part = stale[lo : lo + FETCH]
        got = chroma.registry.get(ids=[a for a, _, _ in part], include=["metadatas", "documents"])
        records = {i: (m, d or "") for i, m, d in zip(got["ids"], got["metadatas"], got["documents"])}
        for article_id, comments, digest in part:
            if article_id not in records:
                continue  # removed meanwhile (cannot happen under the write lock; nothing to rebuild then)
            meta, text = records[article_id]
            chunks = chunk_article(text, comments, counter.ids, settings.chunk_tokens, settings.chunk_overlap_sentences,
                                   joinable=counter.joinable)  # as ingest chunks: the encoder gets these ids
            batch.items.append(Pending(_row(article_id, meta, text, comments, digest), chunks, is_update=True))
            if batch.chunk_count >= settings.ingest_batch_chunks:
                yield batch
                batch = Batch()
    if batch.items:
        yield batch


def _row(article_id: str, meta: dict[str, Any], text: str, comments: int | None, digest: str) -> ArticleRow:
    """The article as its registry record has it, with the content hash of the new build."""
    return ArticleRow(article_id=article_id, title=str(meta.get("title", "")), text=text, content_hash=digest,
                      url=meta.get("url"), date=meta.get("date"), site=meta.get("site"), author=meta.get("author"),
                      origin=str(meta.get("origin", "")), urls=tuple(_json_list(meta.get("urls"))),
                      fingerprint=str(meta.get("fingerprint") or ""), copies=tuple(_json_list(meta.get("copies"))),
                      comments_start=comments)


def _write(batch: Batch, chroma: Store, report: RebuildReport, progress: Progress | None) -> None:
    """Each article's new version: chunks, then its registry record (the commit point), then the old chunks go."""
    report.embed_seconds += batch.embed_seconds
    offset = 0
    assert batch.vectors is not None
    for item in batch.articles:
        count = len(item.chunks)
        chroma.writer.put_article(item.article, item.chunks, batch.vectors[offset : offset + count])
        offset += count
        report.rebuilt += 1
        report.chunks += count
        if progress:
            progress(item.article.origin, report.rebuilt, report.chunks)
