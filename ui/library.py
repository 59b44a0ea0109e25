"""The article library behind the chat: list and search articles, check and store uploads, add URLs, delete.

Plain functions over `rag` and `index` (no Gradio here), so the screen code stays thin and testable.
"""

from __future__ import annotations

import hashlib
import random
import re
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from rag.records import ArticleInfo
from rag.settings import Settings

UPLOAD_DIR = "uploads"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

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


def example_questions(articles: Sequence[ArticleInfo], count: int = 4, seed: int | None = None) -> list[str]:
    """Questions a reader could ask, drawn from the stored articles: recent ones, different sites first."""
    rng = random.Random(seed)
    recent = [a for a in articles if a.title][:40]
    rng.shuffle(recent)
    picked: list[ArticleInfo] = []
    seen_sites: set[str | None] = set()
    for article in recent:  # one per site first, then fill up
        if article.site not in seen_sites:
            picked.append(article)
            seen_sites.add(article.site)
    picked += [a for a in recent if a not in picked]
    return [question_about(a.title) for a in picked[:count]]


def question_about(title: str) -> str:
    """A question whose answer is the article with this title."""
    title = " ".join(title.split()).rstrip(".?!:;")
    if len(title) > 90:
        title = title[:90].rsplit(" ", 1)[0] + "…"
    return f"What happened: {title}?"


# ---------------------------------------------------------------- uploads and URLs
def allowed_types() -> list[str]:
    """The file suffixes the ingestion pipeline can read (".txt", ".md", ...)."""
    from index import loading

    suffixes = getattr(loading, "SUFFIXES", None) or getattr(loading, "LOADERS", None) or (".txt", ".md")
    return sorted(suffixes)


_FAMILIES = {".txt": "text", ".text": "text", ".md": "Markdown", ".markdown": "Markdown", ".html": "HTML",
             ".htm": "HTML", ".xhtml": "HTML", ".json": "JSON", ".jsonl": "JSON lines", ".ndjson": "JSON lines",
             ".csv": "CSV", ".pdf": "PDF"}


def type_names(allowed: Sequence[str]) -> str:
    """The accepted types in words: "text, Markdown, HTML or PDF"."""
    order = list(_FAMILIES.values())
    names = sorted({_FAMILIES.get(s, s) for s in allowed}, key=lambda n: (order.index(n) if n in order else 99, n))
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def size_text(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


def check_upload(path: Path, name: str, max_bytes: int, allowed: Sequence[str]) -> str | None:
    """Why this upload cannot be added (one clear sentence), or None when it can."""
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        return (f"“{name}” is a {suffix or 'file without a type'} file; the library accepts "
                f"{', '.join(allowed)} files.")
    size = path.stat().st_size
    if size > max_bytes:
        return (f"“{name}” is {size_text(size)}; the upload limit is {size_text(max_bytes)} per file "
                "(NEWSRAG_MAX_ARTICLE_BYTES).")
    if size == 0:
        return f"“{name}” is empty."
    return None


def save_upload(path: Path, name: str, store: Path) -> Path:
    """Copy an upload into the store's uploads folder under a safe name; the same file always lands on the same path."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    stem = _SAFE_NAME.sub("-", Path(name).stem).strip("-.")[:80] or "article"
    target = store / UPLOAD_DIR / f"{stem}-{digest}{Path(name).suffix.lower()}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        shutil.copyfile(path, target)
    return target


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


def add_articles(targets: Sequence[str], settings: Settings, progress: Progress | None = None):  # type: ignore[no-untyped-def]
    """Ingest files and URLs into the store; returns the IngestReport."""
    import index

    total = max(1, len(targets))
    if progress:
        progress(0.02, f"Reading and embedding {len(targets)} item{'s' if len(targets) != 1 else ''}…")

    def step(origin: str, articles: int, chunks: int = 0, *_: object) -> None:
        if progress:  # a .jsonl or a feed holds many articles: the bar then creeps towards the end
            progress(articles / max(total, articles + 1), f"Stored {articles} article{'s' if articles != 1 else ''} "
                     f"({chunks} chunks), last: {Path(origin.split('#', 1)[0]).name}")

    return index.ingest(list(targets), settings=settings, progress=step)


def delete_articles(article_ids: Iterable[str], articles: Sequence[ArticleInfo], settings: Settings):  # type: ignore[no-untyped-def]
    """Remove articles from the store, and their uploaded files from the uploads folder."""
    import index

    ids = list(article_ids)
    report = index.remove(ids, settings=settings)
    uploads = (Path(settings.store) / UPLOAD_DIR).resolve()
    for article in articles:
        origin = Path(article.origin.split("#", 1)[0]) if article.origin else None
        if article.article_id in ids and origin is not None and origin.resolve().parent == uploads:
            origin.unlink(missing_ok=True)
    return report
