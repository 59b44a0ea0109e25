"""The ingest pipeline: load -> clean -> chunk -> embed -> store, idempotent and incremental.

Three stages overlap: a reader thread loads, cleans, checks and chunks articles (tokenising each
sentence once; the chunks carry their token ids); an embedding thread turns batches of chunks into
vectors from those ids; the calling thread writes each batch to the store in one call
(`Store.put_articles`: chunks, then each article's registry record as its commit point). Killing the
process at any moment leaves committed articles whole and only invisible orphans, removed by the next run.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from rag import tracing
from rag.composition import open_store
from rag.embedding.embedder import Embedder, canonical_model_name, token_counter
from rag.errors import IngestError
from rag.logs import fields
from rag.settings import Settings
from rag.store.collection import Store
from rag.store.owner_client import OwnerClient, routed

from .planning import Batch, LinkUpdate, Planner
from .report import IngestReport, report_from_dict
from .sources import load_options, read_sources

Progress = Callable[[str, int, int], None]  # (origin, articles done, chunks written)
T = TypeVar("T")
INGEST_OPTIONS = ("record_fields", "records_field", "max_article_bytes", "fetch_timeout")  # sent to an owner
log = logging.getLogger(__name__)


def ingest(
    paths: Iterable[str | Path],
    store: str | Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
    feeds: Iterable[str] = (),
    embedder: Embedder | None = None,
) -> IngestReport:
    """Store the articles found under `paths` (files, folders, globs, URLs) and in `feeds`.

    Unchanged articles are not embedded again; changed ones replace their chunks; near-duplicates of
    stored articles add their url to that article. Problems are in the report, never raised, except
    when nothing at all was given. Pass the `embedder` a server already loaded to save loading it again
    (it must run the store's embedding model). When a serving process owns the store, it does the
    ingest (rag.store.owner_client); the report is its report.
    """
    settings = (settings or Settings()).with_overrides(store=store)
    started = time.perf_counter()
    targets, feed_urls = [str(p) for p in paths], [str(f) for f in feeds]
    if not targets and not feed_urls:
        raise IngestError("nothing to ingest: give at least one file, folder, glob, URL or --feed URL")
    return routed(settings, lambda: _ingest_here(targets, feed_urls, settings, progress, embedder, started),
                  lambda owner: _ingest_there(owner, targets, feed_urls, settings))


def _ingest_there(owner: OwnerClient, targets: list[str], feeds: list[str], settings: Settings) -> IngestReport:
    """Send the ingest to the process that owns the store; local paths go as absolute paths."""
    paths = [t if "://" in t else os.path.abspath(os.path.expanduser(t)) for t in targets]
    options = {name: getattr(settings, name) for name in INGEST_OPTIONS}
    data = owner.ingest(paths, feeds, options)
    return report_from_dict(data, f"{data.get('store') or settings.store} (through {owner.describe()})")


def _ingest_here(targets: list[str], feed_urls: list[str], settings: Settings, progress: Progress | None,
                 embedder: Embedder | None, started: float) -> IngestReport:
    report = IngestReport(store=settings.chroma_url or str(settings.store))
    if embedder is None or embedder.name != canonical_model_name(settings.embedding_model):
        embedder = Embedder(settings)
    chroma = open_store(settings, create=True, dimension=embedder.dimension)
    tracing.configure(settings)
    with chroma.writer.write_lock("ingest"), tracing.stage("ingest", **{"newsrag.targets": len(targets)}):
        report.repaired = chroma.writer.repair()
        _rebuild_first(chroma, settings, embedder, report, progress)
        planner = Planner(chroma, settings, report, progress)
        raws = read_sources(targets, feed_urls, load_options(settings), report)
        batches = _background(lambda: planner.batches(raws))
        embedded = _background(lambda: (_embed(batch, embedder, settings) for batch in batches))
        try:
            for batch in embedded:
                with tracing.stage("write_batch", **{"newsrag.articles": len(batch.items)}):
                    _write(batch, chroma, report, progress)
        finally:  # a write that failed stops the reading and embedding threads before the error goes on
            embedded.close()
            batches.close()
    report.seconds = time.perf_counter() - started
    log.info("ingested", extra=fields(targets=len(targets), feeds=len(feed_urls), added=report.added,
                                      updated=report.updated, unchanged=report.unchanged, failed=len(report.failed),
                                      chunks=report.chunks, seconds=round(report.seconds, 2)))
    return report


def _rebuild_first(chroma: Store, settings: Settings, embedder: Embedder, report: IngestReport,
                   progress: Progress | None) -> None:
    """Stored articles built with other settings are rebuilt before anything new is written (index.rebuild)."""
    from .rebuilding import rebuild_stale

    rebuilt = rebuild_stale(chroma, settings, embedder, progress)
    if rebuilt is not None:
        report.rebuilt, report.build_changes = rebuilt.rebuilt, rebuilt.changes
        report.chunks += rebuilt.chunks
        report.embed_seconds += rebuilt.embed_seconds


def embedding_text(title: str, chunk_text: str, settings: Settings) -> str:
    """What a chunk is embedded as: its text, or with `embed_title` its article's title and its text, so a
    passage that never names its subject still matches questions about the story (contextual chunks)."""
    return f"{title}. {chunk_text}" if settings.embed_title and title else chunk_text


def _embed(batch: Batch, embedder: Embedder, settings: Settings) -> Batch:
    """The batch's vectors; from the ids the chunker made when every chunk has them (no second tokenising)."""
    texts = [embedding_text(item.article.title, chunk.text, settings) for item in batch.articles for chunk in item.chunks]
    ids = _token_ids(batch, settings)
    started = time.perf_counter()
    with tracing.stage("embed_batch", **{"embedding.model_name": embedder.name, "newsrag.chunks": len(texts)}):
        batch.vectors = embedder.embed_documents(texts, token_ids=ids) if texts else None
    batch.embed_seconds = time.perf_counter() - started
    return batch


def _token_ids(batch: Batch, settings: Settings) -> list[tuple[int, ...]] | None:
    """Each chunk's ids as `embedding_text` would tokenise (the title's ids first with `embed_title`), or None."""
    if not all(chunk.token_ids for item in batch.articles for chunk in item.chunks):
        return None
    titled = [item for item in batch.articles if settings.embed_title and item.article.title]
    counter = token_counter(settings.embedding_model)
    prefix = dict(zip((i.article.article_id for i in titled),
                      counter.ids([f"{i.article.title}." for i in titled]))) if titled else {}
    return [(*prefix.get(item.article.article_id, ()), *chunk.token_ids)
            for item in batch.articles for chunk in item.chunks]


def _write(batch: Batch, chroma: Store, report: IngestReport, progress: Progress | None) -> None:
    """Every article of the batch in one store write (chunks, then each article's record: its commit point),
    then the new links of articles written before."""
    report.embed_seconds += batch.embed_seconds
    pending = batch.articles
    if pending:
        assert batch.vectors is not None
        bounds = np.cumsum([0, *(len(item.chunks) for item in pending)])
        chroma.writer.put_articles([(item.article, item.chunks, batch.vectors[lo:hi])
                             for item, lo, hi in zip(pending, bounds[:-1], bounds[1:])],
                            replacing={item.article.article_id for item in pending if item.is_update})
    for item in batch.items:
        if isinstance(item, LinkUpdate):
            chroma.writer.set_links(item.article_id, item.urls, item.copies)
            continue
        log.debug("stored", extra=fields(article_id=item.article.article_id, origin=item.article.origin,
                                         chunks=len(item.chunks)))
        report.chunks += len(item.chunks)
        if item.is_update:
            report.updated += 1
        else:
            report.added += 1
        if progress:
            progress(item.article.origin, report.done, report.chunks)


def _background(produce: Callable[[], Iterable[T]], depth: int = 2) -> Generator[T, None, None]:
    """Run `produce()` in a thread, `depth` items ahead of the consumer; its errors re-raise here.

    Closing the generator stops the thread after the item in hand and waits for it: a thread left in the
    embedding model's native code when the interpreter exits aborts the process.
    """
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in produce():
                if not _offer(items, ("item", item), stop):
                    return
            _offer(items, ("done", None), stop)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            _offer(items, ("error", exc), stop)

    context = contextvars.copy_context()  # the thread's trace spans nest under the ingest span
    thread = threading.Thread(target=context.run, args=(run,), name="newsrag-ingest", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=300)


def _offer(items: queue.Queue[tuple[str, Any]], entry: tuple[str, Any], stop: threading.Event) -> bool:
    """Put `entry` on the queue unless the consumer stopped first."""
    while not stop.is_set():
        try:
            items.put(entry, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False


def remove(
    targets: Iterable[str],
    store: str | Path | None = None,
    settings: Settings | None = None,
    missing: bool = False,
) -> IngestReport:
    """Delete articles and all their chunks: by article id, url, or the file/folder they came from.

    With `missing`, also every article read from a local file that no longer exists.
    """
    settings = (settings or Settings()).with_overrides(store=store)
    targets = list(targets)
    return routed(settings, lambda: _remove_here(targets, settings, missing),
                  lambda owner: report_from_dict(owner.remove([_absolute(t) for t in targets], missing),
                                                 f"{settings.store} (through {owner.describe()})"))


def _absolute(target: str) -> str:
    """A file or folder target as an absolute path (the owner runs elsewhere); ids and urls as given."""
    path = Path(target).expanduser()
    return str(path.resolve()) if "://" not in target and path.exists() else target


def _remove_here(targets: list[str], settings: Settings, missing: bool) -> IngestReport:
    report = IngestReport(store=settings.chroma_url or str(settings.store))
    started = time.perf_counter()
    chroma = open_store(settings)
    with chroma.writer.write_lock("remove"):
        records = dict(chroma.registry_records())
        doomed: list[str] = []
        for target in targets:
            matched = match_articles(target, records)
            if not matched:
                report.failed.append((target, f"{target}: no stored article has this id, url or source path"))
            doomed.extend(a for a in matched if a not in doomed)
        if missing:
            doomed.extend(a for a in _missing_sources(records) if a not in doomed)
        for article_id in doomed:
            if chroma.writer.delete_article(article_id):
                report.removed += 1
    report.seconds = time.perf_counter() - started
    log.info("removed", extra=fields(targets=len(doomed), removed=report.removed, failed=len(report.failed)))
    return report


def match_articles(target: str, records: dict[str, dict[str, Any]]) -> list[str]:
    """Ids of the stored articles `target` names: an id, one of their urls, or their source file/folder."""
    from .cleaning import normalize_url

    if target in records:
        return [target]
    url = normalize_url(target) if "://" in target else None
    if url:
        return [i for i, m in records.items() if url in _urls(m) or m.get("origin") == target]
    path = str(Path(target).expanduser().resolve())
    return [i for i, m in records.items() if _source_path(str(m.get("origin", ""))) in (path,)
            or _source_path(str(m.get("origin", ""))).startswith(path.rstrip("/") + "/")]


def _urls(meta: dict[str, Any]) -> list[str]:
    import json

    try:
        return list(json.loads(meta.get("urls") or "[]"))
    except (TypeError, ValueError):
        return []


def _source_path(origin: str) -> str:
    """The local file an origin names ('' for URLs); records carry '#...' after the file name."""
    if "://" in origin or not origin:
        return ""
    return str(Path(origin.split("#", 1)[0]).expanduser().resolve())


def _missing_sources(records: dict[str, dict[str, Any]]) -> list[str]:
    return [i for i, m in records.items()
            if (path := _source_path(str(m.get("origin", "")))) and not Path(path).exists()]

