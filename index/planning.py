"""Deciding what an ingest must write: new, changed, unchanged, duplicate; then chunking, in batches.

Article ids are stable: from the canonical URL; else from the file the article came from (records of a
multi-article file: the file plus the record's title and date, or its text). A content hash over
the cleaned article and the chunking settings says whether a stored article changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.embedder import token_counter
from rag.errors import IngestError
from rag.settings import Settings
from rag.store.build import CHUNKER_VERSION
from rag.store.collection import Store
from rag.store.rows import ArticleRow, ChunkRow

from .chunking import chunk_article
from .cleaning import CleanArticle, clean_article
from .dedup import DuplicateIndex, fingerprint
from .loading import RawArticle
from .report import IngestReport


@dataclass
class Pending:
    """An article to (re)write with its chunks."""

    article: ArticleRow
    chunks: list[ChunkRow]
    is_update: bool


@dataclass(frozen=True)
class LinkUpdate:
    """New urls/copies for an article already written: its chunks stay."""

    article_id: str
    urls: tuple[str, ...]
    copies: tuple[str, ...]


@dataclass
class Batch:
    """Work for the embedding and writing stages, in order."""

    items: list[Pending | LinkUpdate] = field(default_factory=list)
    vectors: np.ndarray | None = None
    embed_seconds: float = 0.0

    @property
    def articles(self) -> list[Pending]:
        return [i for i in self.items if isinstance(i, Pending)]

    @property
    def chunk_count(self) -> int:
        return sum(len(p.chunks) for p in self.articles)


@dataclass
class Known:
    """What the registry holds about an article (or what this run will write)."""

    content_hash: str
    title: str
    urls: list[str]
    copies: list[str]


def article_id_for(raw: RawArticle, url: str | None, clean: CleanArticle | None = None) -> str:
    """Stable id: canonical URL; else the source file (plus the record's title and date, or its text)."""
    if url:
        key = f"url:{url}"
    elif "://" in raw.origin:
        key = f"origin:{raw.origin}"
    elif raw.source_file:
        what = f"{clean.title}|{clean.date}" if clean and raw.title else f"text:{_sha(raw.text)}"
        key = f"record:{Path(raw.source_file).resolve()}:{what}"
    else:
        key = f"origin:{Path(raw.origin).resolve()}"
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_hash(clean: CleanArticle, settings: Settings) -> str:
    """The hash of a cleaned article and the build settings its chunks are made with (rag.store.build)."""
    return article_hash(clean.title, clean.text, clean.url, clean.date, clean.site, clean.author,
                        clean.comments_start, settings)


def article_hash(title: str, text: str, url: str | None, date: str | None, site: str | None, author: str | None,
                 comments_start: int | None, settings: Settings) -> str:
    """`content_hash` from an article's parts (a rebuild computes it from the stored record)."""
    parts = [title, text, url or "", date or "", site or "", author or "", str(comments_start), CHUNKER_VERSION,
             str(settings.chunk_tokens), str(settings.chunk_overlap_sentences), str(settings.max_seq_length),
             settings.embedding_model, *(["embed_title"] if settings.embed_title else [])]
    return _sha("\x1f".join(parts))


class Planner:
    """Turns raw articles into batches of writes, recording unchanged, duplicate and failed ones."""

    def __init__(self, store: Store, settings: Settings, report: IngestReport,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.settings, self.report, self.progress = settings, report, progress
        self.counter = token_counter(settings.embedding_model)
        self.known: dict[str, Known] = {}
        self.duplicates = DuplicateIndex()
        for article_id, meta in store.registry_records():
            self.known[article_id] = Known(str(meta.get("content_hash")), str(meta.get("title", "")),
                                           _json_list(meta.get("urls")), _json_list(meta.get("copies")))
            self.duplicates.add(article_id, str(meta.get("fingerprint") or ""))
        self.seen: dict[str, str] = {}  # id -> origin, for this run
        self.open_batch: dict[str, Pending] = {}

    def batches(self, raws: Iterator[RawArticle]) -> Iterator[Batch]:
        batch = Batch()
        for raw in raws:
            item = self._plan(raw)
            if item is not None:
                batch.items.append(item)
                if isinstance(item, Pending):
                    self.open_batch[item.article.article_id] = item
            if batch.chunk_count >= self.settings.ingest_batch_chunks:
                yield batch
                batch, self.open_batch = Batch(), {}
        if batch.items:
            yield batch

    def _plan(self, raw: RawArticle) -> Pending | LinkUpdate | None:
        try:
            clean = clean_article(raw)
        except IngestError as exc:
            self.report.failed.append((raw.origin, str(exc)))
            return None
        article_id = article_id_for(raw, clean.url, clean)
        if article_id in self.seen:
            self._skip(raw, f"the same article as {self.seen[article_id]} earlier in this run")
            return None
        self.seen[article_id] = raw.origin
        digest = content_hash(clean, self.settings)
        stored = self.known.get(article_id)
        if stored is not None and stored.content_hash == digest:
            self._unchanged(raw)
            return None
        story = clean.text[: clean.comments_start] if clean.comments_start else clean.text
        signature = fingerprint(story)
        if stored is None:
            original = self.duplicates.find(signature)
            if original is not None:
                return self._duplicate(raw, clean, original)
        chunks = chunk_article(clean.text, clean.comments_start, self.counter.ids, self.settings.chunk_tokens,
                               self.settings.chunk_overlap_sentences, joinable=self.counter.joinable)
        urls = list(stored.urls) if stored else []
        if clean.url and clean.url not in urls:
            urls.insert(0, clean.url)
        row = ArticleRow(article_id=article_id, title=clean.title, text=clean.text, content_hash=digest,
                         url=clean.url, date=clean.date, site=clean.site, author=clean.author, origin=raw.origin,
                         urls=tuple(urls), fingerprint=signature, copies=tuple(stored.copies) if stored else (),
                         comments_start=clean.comments_start)
        self.known[article_id] = Known(digest, clean.title, urls, list(row.copies))
        if stored is None:
            self.duplicates.add(article_id, signature)
        return Pending(row, chunks, is_update=stored is not None)

    def _duplicate(self, raw: RawArticle, clean: CleanArticle, original: str) -> LinkUpdate | None:
        known = self.known[original]
        link = clean.url or raw.origin
        if link in known.urls or link in known.copies:
            self._unchanged(raw)
            return None
        if clean.url:
            known.urls.append(clean.url)
        else:
            known.copies.append(raw.origin)
        self._skip(raw, f"near-duplicate of article {original} ({known.title[:60]}); its address was added there")
        pending = self.open_batch.get(original)
        if pending is not None:  # not handed to the writer yet: write the links with the article
            pending.article = replace(pending.article, urls=tuple(known.urls), copies=tuple(known.copies))
            return None
        return LinkUpdate(original, tuple(known.urls), tuple(known.copies))

    def _unchanged(self, raw: RawArticle) -> None:
        self.report.unchanged += 1
        self._tick(raw)

    def _skip(self, raw: RawArticle, reason: str) -> None:
        self.report.skipped.append((raw.origin, reason))
        self._tick(raw)

    def _tick(self, raw: RawArticle) -> None:
        if self.progress:
            self.progress(raw.origin, self.report.done, self.report.chunks)


def _json_list(value: Any) -> list[str]:
    try:
        items = json.loads(value or "[]")
    except (TypeError, ValueError):
        return []
    return [str(v) for v in items] if isinstance(items, list) else []
