"""What loading produces and reads with: raw articles, problems, load options, and reading a file's bytes
and text safely. Shared by the loaders (`index.loading`, `index.formats`, `index.pdf`, `index.web`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import IngestError

# Record fields tried in order for JSON, JSONL and CSV articles (override with Settings.record_fields).
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "title": ("title", "headline", "name"),
    "text": ("text", "body", "content", "article", "maintext", "full_text", "story"),
    "url": ("url", "link", "canonical_url", "href"),
    "date": ("date", "published", "publish_date", "published_at", "pubDate", "datePublished", "date_publish"),
    "author": ("author", "authors", "byline", "creator"),
    "site": ("site", "source", "publisher", "site_name", "sitename", "domain"),
}


@dataclass
class RawArticle:
    """An article as read from its source, before cleaning."""

    origin: str  # where it came from: a file path or URL, plus #n for one of many in a file
    text: str
    title: str | None = None
    url: str | None = None
    date: str | None = None
    author: str | None = None
    site: str | None = None
    fmt: str = "text"  # text | markdown | html | record | pdf: how much cleaning the text needs
    comments: str | None = None  # reader comments found apart from the story (HTML pages)
    source_file: str | None = None  # the file this record came from, when one file holds many articles
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A source or record that gave no article: `failed` ones make the ingest exit non-zero."""

    origin: str
    reason: str
    failed: bool = True


@dataclass(frozen=True)
class LoadOptions:
    """How sources are read: limits, record field names, where the articles sit in a JSON object."""

    max_bytes: int = 20_000_000
    fields: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_FIELDS))
    records_field: str | None = None  # e.g. "search_result" for RealTimeQA *_gcs.jsonl (found automatically)
    timeout: float = 20.0  # seconds per URL
    max_redirects: int = 5
    allow_networks: tuple[str, ...] = ()  # private networks URL ingest may fetch from (SSRF guard)


Item = RawArticle | Problem
Loader = Callable[[Path, LoadOptions], Iterator[Item]]


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; unreadable, empty or oversized files raise IngestError."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit (NEWSRAG_MAX_ARTICLE_BYTES)")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise IngestError(f"{path}: the file is empty")
    return data


def decode_text(data: bytes, where: str | Path) -> str:
    """UTF-8 (or UTF-16 with a BOM) text; binary or wrongly encoded data raises IngestError."""
    utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
    if b"\x00" in data[:8192] and not utf16:
        raise IngestError(f"{where}: binary file, not text; convert it to .txt or .md first")
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{where}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            f"re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8"
        ) from None


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text as UTF-8; binary, empty, oversized or wrongly encoded files raise IngestError."""
    return decode_text(read_bytes(path, max_bytes), path)
