"""What the store keeps in Chroma: rows to write, hits read back, their metadata, and filters as `where` clauses.

Chunk ids are `article_id:version:index`; a chunk is visible when its version is the one its article's
registry record names (`is_committed`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..records import ArticleInfo, Filters

PAGE = 2000  # records per Chroma get when reading a whole collection


@dataclass(frozen=True)
class ChunkRow:
    """A chunk to write: its text is `article.text[start:end]`."""

    index: int
    text: str
    start: int
    end: int
    kind: str = "body"
    # the model's token ids of `text` (no special tokens) when the chunker knows them; never stored
    token_ids: tuple[int, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class ArticleRow:
    """An article to write, cleaned, with its normalised metadata."""

    article_id: str
    title: str
    text: str
    content_hash: str
    url: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd
    site: str | None = None
    author: str | None = None
    origin: str = ""
    urls: tuple[str, ...] = ()
    fingerprint: str = ""  # near-duplicate signature of the story (index.dedup)
    copies: tuple[str, ...] = ()  # origins of near-duplicates stored as this article
    comments_start: int | None = None  # where the reader comments begin in `text` (part of the content hash)


@dataclass(frozen=True)
class ChunkHit:
    """A chunk found by search, with its cosine similarity to the query."""

    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    kind: str
    score: float
    meta: dict[str, Any]


def date_number(iso: str | None) -> int | None:
    """2021-09-01 -> 20210901, the form Chroma can compare in a range filter."""
    if not iso:
        return None
    try:
        return int(iso[:10].replace("-", ""))
    except ValueError:
        return None


def site_key(site: str) -> str:
    """The form a site is matched in: lower case, no scheme, no leading www."""
    key = site.strip().lower()
    key = key.split("://", 1)[-1].split("/", 1)[0] if "://" in key else key
    return key[4:] if key.startswith("www.") else key


def source_keys(filters: Filters) -> list[str]:
    """The site keys a filter asks for (blank entries ignored)."""
    return [key for key in (site_key(s) for s in filters.sources) if key]


def where_clause(filters: Filters | None) -> dict[str, Any] | None:
    """The Chroma `where` for a Filters; articles without a date fail any date condition."""
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    if filters.since:
        clauses.append({"date_num": {"$gte": date_number(filters.since.isoformat())}})
    if filters.until:
        clauses.append({"date_num": {"$lte": date_number(filters.until.isoformat())}})
    if source_keys(filters):
        clauses.append({"site_key": {"$in": source_keys(filters)}})
    if filters.article_ids:
        clauses.append({"article_id": {"$in": list(filters.article_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def pages(collection: Any, include: list[str]) -> Iterator[tuple[list[str], list[dict[str, Any]], list[Any]]]:
    """A whole Chroma collection, PAGE records at a time: (ids, metadatas, documents)."""
    offset = 0
    while True:
        got = collection.get(limit=PAGE, offset=offset, include=include)
        if not got["ids"]:
            return
        yield got["ids"], got.get("metadatas") or [{}] * len(got["ids"]), got.get("documents") or [None] * len(got["ids"])
        offset += len(got["ids"])


def utc_now() -> str:
    """Now, as the ISO timestamp stored in records."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def chunk_meta(article: ArticleRow, version: str) -> dict[str, Any]:
    """The metadata every chunk of an article version carries (and its registry record starts from)."""
    meta: dict[str, Any] = {"article_id": article.article_id, "version": version, "title": article.title}
    optional = {"url": article.url, "date": article.date, "site": article.site, "author": article.author,
                "date_num": date_number(article.date), "site_key": site_key(article.site or "")}
    meta.update({k: v for k, v in optional.items() if v})
    return meta


def is_committed(chunk_id: str, versions: dict[str, str]) -> bool:
    """Whether a chunk id (`article_id:version:index`) belongs to its article's committed version."""
    article_id, _, rest = chunk_id.rpartition(":")[0].rpartition(":")
    return bool(article_id) and versions.get(article_id) == rest


def chunk_hit(chunk_id: str, text: str | None, meta: dict[str, Any], score: float) -> ChunkHit:
    """A ChunkHit from what Chroma returned for one chunk."""
    return ChunkHit(
        chunk_id=chunk_id, article_id=str(meta["article_id"]), text=text or "",
        start=int(meta.get("start", 0)), end=int(meta.get("end", 0)), kind=str(meta.get("kind", "body")),
        score=score, meta=meta,
    )


def article_info(article_id: str, meta: dict[str, Any]) -> ArticleInfo:
    """The public ArticleInfo of a registry record."""
    try:
        urls = tuple(json.loads(meta.get("urls", "[]")))
    except (TypeError, ValueError):
        urls = ()
    return ArticleInfo(
        article_id=article_id, title=str(meta.get("title", "")), url=meta.get("url"), date=meta.get("date"),
        site=meta.get("site"), author=meta.get("author"), chunks=int(meta.get("chunks", 0)),
        chars=int(meta.get("chars", 0)), content_hash=str(meta.get("content_hash", "")),
        origin=str(meta.get("origin", "")), urls=urls, ingested_at=meta.get("ingested_at"),
    )
