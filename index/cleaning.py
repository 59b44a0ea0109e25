"""Cleaning: normalise an article's text, read its header, and separate reader comments from the story."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

from rag import text as tx
from rag.errors import IngestError

from .items import RawArticle

_HEADER_KEYS = {
    "title": "title", "headline": "title", "date": "date", "published": "date", "url": "url",
    "link": "url", "source": "site", "site": "site", "publisher": "site", "author": "author", "by": "author",
}
_HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z _-]{0,20}):\s*(.*)$")
_COMMENTS_HEADING = re.compile(
    r"^(?:#+\s*)?(?:\d+\s+)?(?:reader\s+)?(?:comments?|responses?|discussion|leave a (?:reply|comment))"
    r"(?:\s*\(\d+\))?\s*:?$",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:I|I['’](?:m|d|ve|ll)|me|my|mine|we|We|we['’]\w+|We['’]\w+|our|Our|ours|us|you|You|your|Your|yours)\b")
_ATTRIBUTION = re.compile(r"\b(?:said|says|told|according to|reported|announced|claimed|stated)\b")
_URL = re.compile(r"https?://\S+|www\.\S+")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class CleanArticle:
    """A cleaned article: `text` holds the story, then (from `comments_start`) the reader comments."""

    text: str
    title: str
    url: str | None
    date: str | None
    site: str | None
    author: str | None
    comments_start: int | None = None


_STRUCTURED = frozenset({"html", "record", "pdf"})  # metadata came with the text: no header block to read


def clean_article(raw: RawArticle) -> CleanArticle:
    """Normalise text and metadata; raises IngestError when no article text is left."""
    text = tx.normalize(raw.text)
    header: dict[str, str] = {}
    if raw.fmt not in _STRUCTURED:
        header, text = split_header(text)
    if raw.fmt == "markdown":
        text = strip_markdown(text)
    meta = {"title": raw.title, "url": raw.url, "date": raw.date, "site": raw.site, "author": raw.author}
    meta.update({k: v for k, v in header.items() if v})
    body, title = _take_title(text, meta.get("title"), raw)
    if raw.fmt not in _STRUCTURED:
        late_header, body = split_header(body)  # a header block right under a markdown heading
        meta.update({k: v for k, v in late_header.items() if v and not meta.get(k)})
    if raw.comments:
        story = "\n".join(p.strip() for p in body.split("\n") if p.strip())
        comments = "\n".join(p.strip() for p in tx.normalize(raw.comments).split("\n") if p.strip())
    else:
        story, comments = split_comments(body, title)
    if not story.strip():
        raise IngestError(f"{raw.origin}: no article text after cleaning")
    text = story if not comments else f"{story}\n\n{comments}"
    url = normalize_url(meta.get("url"))
    return CleanArticle(
        text=text,
        title=" ".join(title.split()),
        url=url,
        date=normalize_date(meta.get("date"), raw.origin),
        site=_one_line(meta.get("site")) or site_of(url),
        author=_one_line(meta.get("author")),
        comments_start=len(story) + 2 if comments else None,
    )


def _one_line(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def split_header(text: str) -> tuple[dict[str, str], str]:
    """Leading 'Key: value' lines (or a --- fenced block of them) as metadata, and the rest."""
    lines = text.split("\n")
    fenced = bool(lines) and lines[0].strip() == "---"
    start = 1 if fenced else 0
    header: dict[str, str] = {}
    end = start
    while end < len(lines):
        line = lines[end].strip()
        if fenced and line == "---":
            end += 1
            break
        match = _HEADER_LINE.match(line)
        key = _HEADER_KEYS.get(match.group(1).strip().lower()) if match else None
        if key is None:
            if not fenced:
                break
        else:
            header[key] = match.group(2).strip().strip('"')  # type: ignore[union-attr]
        end += 1
    if not header:
        return {}, text
    return header, "\n".join(lines[end:]).strip()


def strip_markdown(text: str) -> str:
    """Markdown to plain text: headings, emphasis and link syntax removed, link text kept."""
    text = _MD_LINK.sub(r"\1", text)
    text = re.sub(r"^#{1,6}\s+", "# ", text, flags=re.MULTILINE)  # keep one mark so the title can be found
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?!\w)", r"\1", text)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^>\s?", "", text, flags=re.MULTILINE)
    return text


def _take_title(body: str, title: str | None, raw: RawArticle) -> tuple[str, str]:
    lines = body.split("\n")
    if lines and lines[0].startswith("# "):  # a markdown heading
        heading = lines[0][2:].strip()
        return "\n".join(lines[1:]).strip(), title or heading
    body = re.sub(r"^# ", "", body, flags=re.MULTILINE)
    if title:
        return body, title
    first = lines[0].strip() if lines else ""
    if first and looks_like_title(first) and len(lines) > 1:
        return "\n".join(lines[1:]).strip(), first
    for line in lines[1:]:  # page chrome often repeats the headline further down
        if looks_like_title(line.strip()):
            return body, line.strip()
    stem = Path(urlparse(raw.origin).path).stem or raw.origin
    return body, re.sub(r"[-_]+", " ", stem).strip().capitalize()


def looks_like_title(line: str) -> bool:
    """A short line in headline case with no closing full stop."""
    words = line.split()
    if not 3 <= len(words) <= 20 or len(line) > 160 or line[-1] in ".!?:;,\"”" or _URL.search(line):
        return False
    significant = [w for w in words if len(w) > 3]
    capitalised = [w for w in significant if w[0].isupper() or w[0].isdigit()]
    return bool(significant) and len(capitalised) / len(significant) >= 0.7


def split_comments(body: str, title: str) -> tuple[str, str]:
    """The story and the reader comments under it ('' when there are none)."""
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    for i, paragraph in enumerate(paragraphs):
        if i > 0 and _COMMENTS_HEADING.match(paragraph):
            return "\n".join(paragraphs[:i]), "\n".join(paragraphs[i + 1 :])
    cut = comment_boundary(paragraphs, title)
    if cut is None:
        return "\n".join(p for p in paragraphs), ""
    comments = [p for p in paragraphs[cut:] if p != title]  # drop the headline repeated by page chrome
    return "\n".join(paragraphs[:cut]), "\n".join(comments)


def comment_boundary(paragraphs: list[str], title: str) -> int | None:
    """Index of the first comment paragraph when the tail reads like reader comments, else None.

    Each paragraph gets a score (first/second person outside quotes, links, questions, short lines and
    repeated headlines point to comments; attribution and length point to reporting). The cut is the
    split that maximises the comment score of the tail, accepted only when the two sides clearly differ.
    """
    if len(paragraphs) < 4:
        return None
    scores = [_comment_score(p, title) for p in paragraphs]
    best_cut, best_gain = None, 0.0
    for cut in range(1, len(paragraphs)):
        gain = sum(scores[cut:])
        if gain > best_gain:
            best_cut, best_gain = cut, gain
    if best_cut is None:
        return None
    head, tail = scores[:best_cut], scores[best_cut:]
    head_chars = sum(len(p) for p in paragraphs[:best_cut])
    tail_positive = sum(1 for s in tail if s > 0)
    if (
        best_gain < 3
        or tail_positive < 2
        or sum(head) / len(head) > 0.25
        or sum(tail) / len(tail) < 0.75
        or head_chars < 0.3 * sum(len(p) for p in paragraphs)
    ):
        return None
    return best_cut


def _comment_score(paragraph: str, title: str) -> float:
    outside_quotes = tx.strip_quotes(paragraph)
    score = 1.5 * min(len(_FIRST_PERSON.findall(outside_quotes)), 2)
    if _URL.search(paragraph):
        score += 2.0
    if "?" in outside_quotes or outside_quotes.rstrip().endswith("!"):
        score += 1.0
    if len(paragraph) < 60:
        score += 0.5
    if paragraph == title or (looks_like_title(paragraph) and not paragraph.endswith(".")):
        score += 1.0
    if paragraph.endswith(":"):
        score += 0.5
    if _ATTRIBUTION.search(paragraph):
        score -= 1.0
    if len(paragraph) > 200:
        score -= 0.5
    return score


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y", "%d %b %Y", "%B %d %Y")
_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|mc_cid|mc_eid|ocid|cmpid|smid)$", re.IGNORECASE)


def normalize_date(value: str | None, origin: str = "") -> str | None:
    """An ISO yyyy-mm-dd date from common formats, else by dateparser; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for fmt in _DATE_FORMATS:
        for candidate in (value, value[:10]):
            try:
                return datetime.strptime(candidate, fmt).date().isoformat()
            except ValueError:
                continue
    return _dateparser(value)


@lru_cache(maxsize=4096)
def _dateparser(value: str) -> str | None:
    import dateparser

    parsed = dateparser.parse(
        value, languages=["en", "de", "fr", "es", "it", "pt", "nl"],
        settings={"PREFER_DAY_OF_MONTH": "first", "RETURN_AS_TIMEZONE_AWARE": False,
                  "PARSERS": ["timestamp", "custom-formats", "absolute-time"]},
    )
    return parsed.date().isoformat() if parsed else None


def normalize_url(url: str | None) -> str | None:
    """A canonical form of an article URL: lower-case host, no fragment, no tracking parameters."""
    if not url or not url.strip():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url.strip()
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", query, ""))


def site_of(url: str | None) -> str | None:
    """The site name of a URL: its host without www. or news. prefixes."""
    if not url:
        return None
    host = (urlparse(url).hostname or "").lower()
    for prefix in ("www.", "news.", "m."):
        if host.startswith(prefix) and host.count(".") > 1:
            host = host[len(prefix) :]
    return host or None
