"""Loading: find article sources (files, folders, globs, URLs) and read each into raw articles.

A loader turns one source into `RawArticle`s and `Problem`s (a record that could not be used), so a
bad record never costs the rest of the file. Formats live in `index.formats`, URLs in `index.web`.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Iterator
from pathlib import Path

from rag.errors import IngestError

from . import formats, pdf
from .items import DEFAULT_FIELDS, Item, Loader, LoadOptions, Problem, RawArticle, decode_text, read_bytes, read_text

__all__ = ["DEFAULT_FIELDS", "SUFFIXES", "Item", "LoadOptions", "Problem", "RawArticle", "decode_text", "discover",
           "is_url", "load", "load_items", "looks_like_web_address", "read_bytes", "read_text", "supported"]


def load_plain(path: Path, options: LoadOptions) -> Iterator[Item]:
    """A .txt file: one article; 'Title:', 'Date:', 'URL:', 'Source:', 'Author:' header lines are metadata."""
    yield RawArticle(origin=str(path), text=read_text(path, options.max_bytes), fmt="text")


def load_markdown(path: Path, options: LoadOptions) -> Iterator[Item]:
    """A .md file: one article; YAML-style front matter or a header block, '# Heading' as the title."""
    yield RawArticle(origin=str(path), text=read_text(path, options.max_bytes), fmt="markdown")


def _loaders() -> dict[str, Loader]:
    return {
        ".txt": load_plain, ".text": load_plain, ".md": load_markdown, ".markdown": load_markdown,
        ".html": formats.load_html, ".htm": formats.load_html, ".xhtml": formats.load_html,
        ".json": formats.load_json, ".jsonl": formats.load_jsonl, ".ndjson": formats.load_jsonl,
        ".csv": formats.load_csv, ".pdf": pdf.load_pdf,
    }


SUFFIXES = frozenset(
    (".txt", ".text", ".md", ".markdown", ".html", ".htm", ".xhtml", ".json", ".jsonl", ".ndjson", ".csv", ".pdf")
)


def is_url(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


_WEB_ADDRESS = re.compile(r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?(?:[/?#]|$)", re.IGNORECASE)


def looks_like_web_address(target: str) -> bool:
    """Whether `target` reads as a web address without its scheme ("example.org/story", "www.example.org")."""
    if not _WEB_ADDRESS.match(target):
        return False
    return target.lower().startswith("www.") or "/" in target or Path(target).suffix.lower() not in SUFFIXES


def discover(target: str) -> Iterator[Path]:
    """Files named by `target`: a file, a folder (recursively, hidden entries skipped), or a glob pattern."""
    if any(ch in target for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(target, recursive=True))
        if not matches:
            raise IngestError(f"{target}: no files match this pattern")
        for match in matches:
            yield from (discover(str(match)) if match.is_dir() else [match])
        return
    path = Path(target).expanduser()
    if not path.exists():
        hint = f"; for a web page write the full address, https://{target}" if looks_like_web_address(target) else ""
        raise IngestError(f"{target}: no such file or folder{hint}")
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
            yield child


def supported(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def load(path: Path, options: LoadOptions | int) -> list[RawArticle]:
    """The articles of one file (problems with single records are dropped; see `load_items`)."""
    return [item for item in load_items(path, options) if isinstance(item, RawArticle)]


def load_items(path: Path, options: LoadOptions | int) -> Iterator[Item]:
    """Read one file with the loader for its type: articles, and problems with single records."""
    if isinstance(options, int):
        options = LoadOptions(max_bytes=options)
    loader = _loaders().get(path.suffix.lower())
    if loader is None:
        raise IngestError(
            f"{path}: unsupported file type {path.suffix or '(none)'}; supported: {', '.join(sorted(SUFFIXES))}"
        )
    yield from loader(path, options)
