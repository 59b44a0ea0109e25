"""The ingest pipeline: load -> clean -> chunk -> embed -> store, idempotent and incremental."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.embedder import Embedder, token_counter
from rag.errors import IngestError
from rag.lexical import sync as sync_lexical
from rag.settings import Settings
from rag.store import ArticleRow, ChunkRow, Store

from .chunking import chunk_article
from .cleaning import clean_article
from .loading import RawArticle, discover, load, supported
from .report import IngestReport

Progress = Callable[[str, int, int], None]  # (origin, articles done, chunks done)

CHUNKER_VERSION = "1"
EMBED_BATCH_CHUNKS = 256


@dataclass
class _Pending:
    article: ArticleRow
    chunks: list[ChunkRow]
    is_update: bool


def ingest(
    paths: Iterable[str | Path],
    store: str | Path | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> IngestReport:
    """Store the articles found under `paths`; unchanged articles are not embedded again."""
    settings = (settings or Settings()).with_overrides(store=store)
    started = time.perf_counter()
    embedder = Embedder(settings)
    report = IngestReport(store=settings.chroma_url or str(settings.store))
    targets = [str(p) for p in paths]
    if not targets:
        raise IngestError("nothing to ingest: give at least one file, folder, glob or URL")
    chroma = Store(settings, create=True, dimension=embedder.dimension)
    with chroma.write_lock():
        chroma.repair()
        raws = _read_all(targets, settings, report)
        pending = _changed(raws, chroma, settings, report)
        _embed_and_write(pending, chroma, embedder, report, progress)
        sync_lexical(chroma, settings)
    report.seconds = time.perf_counter() - started
    return report


def _read_all(targets: list[str], settings: Settings, report: IngestReport) -> Iterator[RawArticle]:
    for target in targets:
        try:
            files = list(discover(target))
        except IngestError as exc:
            report.failed.append((target, str(exc)))
            continue
        explicit = len(files) == 1 and Path(target).is_file()
        for path in files:
            if not supported(path):
                if explicit:
                    report.failed.append((str(path), f"{path}: unsupported file type {path.suffix or '(none)'}"))
                else:
                    report.skipped.append((str(path), "unsupported file type"))
                continue
            try:
                yield from load(path, settings.max_article_bytes)
            except IngestError as exc:
                report.failed.append((str(path), str(exc)))


def article_id_for(raw: RawArticle, url: str | None) -> str:
    """Stable id: from the canonical URL when there is one, else from where the article was read."""
    key = f"url:{url}" if url else f"origin:{Path(raw.origin).resolve() if '://' not in raw.origin else raw.origin}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _content_hash(row: dict[str, Any], settings: Settings) -> str:
    parts = [row[k] or "" for k in ("title", "text", "url", "date", "site", "author")]
    parts += [CHUNKER_VERSION, str(settings.chunk_tokens), str(settings.chunk_overlap_sentences), settings.embedding_model]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _changed(raws: Iterator[RawArticle], chroma: Store, settings: Settings, report: IngestReport) -> Iterator[_Pending]:
    counter = token_counter(settings.embedding_model)
    seen: set[str] = set()
    for raw in raws:
        try:
            clean = clean_article(raw)
        except IngestError as exc:
            report.failed.append((raw.origin, str(exc)))
            continue
        article_id = article_id_for(raw, clean.url)
        if article_id in seen:
            report.skipped.append((raw.origin, f"duplicate of an article earlier in this batch ({article_id})"))
            continue
        seen.add(article_id)
        fields = {"title": clean.title, "text": clean.text, "url": clean.url, "date": clean.date,
                  "site": clean.site, "author": clean.author}
        content_hash = _content_hash(fields, settings)
        stored = chroma.article_hashes([article_id]).get(article_id)
        if stored == content_hash:
            report.unchanged += 1
            continue
        chunks = chunk_article(clean.text, clean.comments_start, counter.count, settings.chunk_tokens,
                               settings.chunk_overlap_sentences)
        row = ArticleRow(article_id=article_id, content_hash=content_hash, origin=raw.origin,
                         urls=(clean.url,) if clean.url else (), **fields)  # type: ignore[arg-type]
        yield _Pending(row, chunks, is_update=stored is not None)


def _embed_and_write(pending: Iterator[_Pending], chroma: Store, embedder: Embedder, report: IngestReport,
                     progress: Progress | None) -> None:
    batch: list[_Pending] = []
    for item in pending:
        batch.append(item)
        if sum(len(p.chunks) for p in batch) >= EMBED_BATCH_CHUNKS:
            _flush(batch, chroma, embedder, report, progress)
            batch = []
    _flush(batch, chroma, embedder, report, progress)


def _flush(batch: list[_Pending], chroma: Store, embedder: Embedder, report: IngestReport,
           progress: Progress | None) -> None:
    if not batch:
        return
    vectors = embedder.embed_documents([c.text for p in batch for c in p.chunks])
    offset = 0
    for item in batch:
        count = len(item.chunks)
        chroma.put_article(item.article, item.chunks, vectors[offset : offset + count])
        offset += count
        report.chunks += count
        if item.is_update:
            report.updated += 1
        else:
            report.added += 1
        if progress:
            progress(item.article.origin, report.added + report.updated, report.chunks)


def remove(article_ids: Iterable[str], store: str | Path | None = None, settings: Settings | None = None) -> IngestReport:
    """Delete articles and all their chunks from the store."""
    settings = (settings or Settings()).with_overrides(store=store)
    report = IngestReport(store=settings.chroma_url or str(settings.store))
    started = time.perf_counter()
    chroma = Store(settings)
    with chroma.write_lock():
        for article_id in article_ids:
            if chroma.delete_article(article_id):
                report.removed += 1
            else:
                report.failed.append((article_id, f"{article_id}: no such article in {report.store}"))
        sync_lexical(chroma, settings)
    report.seconds = time.perf_counter() - started
    return report
