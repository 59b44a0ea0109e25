"""Loading: find article files under the given paths and read each into raw text plus header metadata."""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import IngestError


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
    fmt: str = "text"
    meta: dict[str, str] = field(default_factory=dict)


Loader = Callable[[Path], list[RawArticle]]


def read_text(path: Path, max_bytes: int) -> str:
    """The file's text as UTF-8; binary, empty, oversized or wrongly encoded files raise IngestError."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise IngestError(f"{path}: {size:,} bytes is over the {max_bytes:,}-byte limit (NEWSRAG_MAX_ARTICLE_BYTES)")
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise IngestError(f"{path}: the file is empty")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{path}: binary file, not text; convert it to .txt or .md first")
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            bad = exc
    raise IngestError(
        f"{path}: not UTF-8 text (byte 0x{data[bad.start]:02x} at offset {bad.start}); "
        f"re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8"
    )


def load_plain(path: Path, max_bytes: int) -> list[RawArticle]:
    """A .txt file: one article; 'Title:', 'Date:', 'URL:', 'Source:', 'Author:' header lines are metadata."""
    return [RawArticle(origin=str(path), text=read_text(path, max_bytes), fmt="text")]


def load_markdown(path: Path, max_bytes: int) -> list[RawArticle]:
    """A .md file: one article; YAML-style front matter or a header block, '# Heading' as the title."""
    return [RawArticle(origin=str(path), text=read_text(path, max_bytes), fmt="markdown")]


# suffix -> loader(path, max_bytes)
LOADERS: dict[str, Callable[[Path, int], list[RawArticle]]] = {
    ".txt": load_plain,
    ".text": load_plain,
    ".md": load_markdown,
    ".markdown": load_markdown,
}


def discover(target: str) -> Iterator[Path]:
    """Files named by `target`: a file, a folder (recursively), or a glob pattern."""
    if any(ch in target for ch in "*?["):
        matches = sorted(Path(p) for p in glob.glob(target, recursive=True))
        if not matches:
            raise IngestError(f"{target}: no files match this pattern")
        yield from (p for p in matches if p.is_file())
        return
    path = Path(target).expanduser()
    if not path.exists():
        raise IngestError(f"{target}: no such file or folder")
    if path.is_file():
        yield path
        return
    for child in sorted(path.rglob("*")):
        if child.is_file() and not any(part.startswith(".") for part in child.relative_to(path).parts):
            yield child


def supported(path: Path) -> bool:
    return path.suffix.lower() in LOADERS


def load(path: Path, max_bytes: int) -> list[RawArticle]:
    """Read one file with the loader for its type."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise IngestError(
            f"{path}: unsupported file type {path.suffix or '(none)'}; supported: {', '.join(sorted(LOADERS))}"
        )
    return loader(path, max_bytes)
