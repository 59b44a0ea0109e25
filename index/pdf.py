"""PDF documents as articles: the text of their pages, lines re-joined into paragraphs, and the title, author
and date from the document info (or the headline on the first page)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import IngestError

from .cleaning import looks_like_title
from .items import Item, LoadOptions, RawArticle, read_bytes


def load_pdf(path: Path, options: LoadOptions) -> Iterator[Item]:
    """A .pdf document: the text of its pages (lines re-joined into paragraphs), title/author/date from its info."""
    yield pdf_article(read_bytes(path, options.max_bytes), str(path))


def pdf_article(data: bytes, origin: str) -> RawArticle:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise IngestError(f"{origin}: the PDF is password-protected; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        created = _pdf_date(info)
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"{origin}: not a readable PDF ({exc})") from exc
    text = _join_lines("\n".join(pages))
    if not text.strip():
        raise IngestError(f"{origin}: the PDF has no extractable text (a scanned image?); run OCR first")
    title = (info.title or None) if info else None
    first, _, rest = text.partition("\n")
    if rest.strip() and looks_like_title(first):  # the headline on the page beats the document info
        title, text = first, rest
    return RawArticle(
        origin=origin, text=text, title=title,
        author=(info.author or None) if info else None, date=created.date().isoformat() if created else None,
        fmt="pdf",
    )


def _pdf_date(info: Any) -> Any:
    try:
        return info.creation_date if info else None
    except (ValueError, TypeError):  # a malformed date string in the document info
        return None


def _join_lines(text: str) -> str:
    """PDF text breaks lines where the page did: re-join wrapped lines, keep headings and paragraph ends."""
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    out: list[str] = []
    for line in (re.sub(r"[ \t]+", " ", raw).strip() for raw in text.split("\n")):
        if not line:
            if out and out[-1]:
                out.append("")
            continue
        previous = out[-1] if out else ""
        wrapped = previous and previous[-1] not in ".!?:;\"”’)" and (len(previous) >= 50 or line[0].islower())
        if wrapped:
            out[-1] = f"{previous} {line}"
        else:
            out.append(line)
    return "\n".join(out).strip()
