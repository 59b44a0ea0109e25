"""The article library behind the chat: list and search articles, check and store uploads, add URLs, delete.

Plain functions over `rag` and `index` (no Gradio here), so the screen code stays thin and testable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from index import uploads
from rag.records import ArticleInfo
from rag.settings import Settings

if TYPE_CHECKING:
    from rag import Assistant

UPLOAD_DIR = uploads.UPLOAD_DIR

Progress = Callable[[float, str], None]  # (fraction done, what is happening)


@dataclass(frozen=True)
class Collection:
    """What the stored articles cover: counts, sites (most articles first) and the date span."""

    articles: int
    chunks: int
    sites: tuple[str, ...]
    first_date: str | None
    last_date: str | None

    @property
    def summary(self) -> str:
        if not self.articles:
            return "The library is empty: add articles in the Library tab."
        span = f", {self.first_date} to {self.last_date}" if self.first_date and self.last_date else ""
        sites = f" from {len(self.sites)} source{'s' if len(self.sites) != 1 else ''}" if self.sites else ""
        return f"{self.articles} article{'s' if self.articles != 1 else ''}{sites}{span}"


def describe(articles: Sequence[ArticleInfo]) -> Collection:
    sites = Counter(a.site for a in articles if a.site)
    dates = sorted(a.date[:10] for a in articles if a.date)
    return Collection(
        articles=len(articles), chunks=sum(a.chunks for a in articles),
        sites=tuple(site for site, _ in sorted(sites.items(), key=lambda kv: (-kv[1], kv[0]))),
        first_date=dates[0] if dates else None, last_date=dates[-1] if dates else None,
    )


def search_articles(articles: Sequence[ArticleInfo], query: str) -> list[ArticleInfo]:
    """The articles whose title, site, date, url or id contain every word of `query` (any case)."""
    words = query.lower().split()
    if not words:
        return list(articles)

    def haystack(a: ArticleInfo) -> str:
        return " ".join(x or "" for x in (a.title, a.site, a.date, a.url, a.article_id, a.author)).lower()

    return [a for a in articles if all(w in haystack(a) for w in words)]


# ---------------------------------------------------------------- uploads and URLs
def allowed_types() -> list[str]:
    """The file suffixes the ingestion pipeline can read (".txt", ".md", ...)."""
    return uploads.allowed_types()


_FAMILIES = {".txt": "text", ".text": "text", ".md": "Markdown", ".markdown": "Markdown", ".html": "HTML",
             ".htm": "HTML", ".xhtml": "HTML", ".json": "JSON", ".jsonl": "JSON lines", ".ndjson": "JSON lines",
             ".csv": "CSV", ".pdf": "PDF"}


def type_names(allowed: Sequence[str]) -> str:
    """The accepted types in words: "text, Markdown, HTML or PDF"."""
    order = list(_FAMILIES.values())
    names = sorted({_FAMILIES.get(s, s) for s in allowed}, key=lambda n: (order.index(n) if n in order else 99, n))
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


size_text = uploads.size_text
check_upload = uploads.check_upload
save_upload = uploads.save_upload


def parse_urls(text: str) -> tuple[list[str], list[str]]:
    """The web addresses in `text` (one per line or separated by spaces), and one error per bad entry."""
    urls, errors = [], []
    for item in text.replace(",", " ").split():
        parsed = urlparse(item)
        if parsed.scheme in ("http", "https") and parsed.netloc:
            urls.append(item)
        else:
            errors.append(f"“{item}” is not a web address; give full addresses starting with https://")
    return list(dict.fromkeys(urls)), errors


def add_articles(targets: Sequence[str], assistant: Assistant, progress: Progress | None = None):  # type: ignore[no-untyped-def]
    """Ingest files and URLs into the assistant's store, with its loaded embedding model; returns the IngestReport.

    Saved uploads whose ingest failed are deleted again, so a refused file leaves nothing behind.
    """
    import index

    settings = assistant.settings

    total = max(1, len(targets))
    if progress:
        progress(0.02, f"Reading and embedding {len(targets)} item{'s' if len(targets) != 1 else ''}…")

    def step(origin: str, articles: int, chunks: int = 0, *_: object) -> None:
        if progress:  # a .jsonl or a feed holds many articles: the bar then creeps towards the end
            progress(articles / max(total, articles + 1), f"Stored {articles} article{'s' if articles != 1 else ''} "
                     f"({chunks} chunks), last: {Path(origin.split('#', 1)[0]).name}")

    saved = [Path(t) for t in targets if "://" not in t]
    try:
        return index.ingest(list(targets), settings=settings, progress=step, embedder=assistant.embedder)
    finally:
        if saved:  # the registry as the ingest left it, read through the assistant's own store
            uploads.discard_unused(saved, dict(assistant.store.registry_records()), Path(settings.store))


def delete_articles(article_ids: Iterable[str], articles: Sequence[ArticleInfo], settings: Settings):  # type: ignore[no-untyped-def]
    """Remove articles from the store, and their uploaded files from the uploads folder."""
    return uploads.remove_articles(list(article_ids), settings)
