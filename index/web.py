"""Web sources: fetch a URL (timeout, size and redirect limits, public addresses only, one clear error per
URL) and read RSS/Atom feeds.

A page is read by its content type: HTML through trafilatura, JSON/JSONL records, plain text, PDF;
an RSS or Atom document found at a page URL is read as a feed. A feed's entries are fetched as pages
(a few at a time), with the feed's title, date and author as fallbacks; an entry whose page cannot be
fetched falls back to the full text the feed itself carries, or is reported as failed.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from rag.errors import IngestError

from . import formats, pdf
from .items import Item, LoadOptions, Problem, RawArticle, decode_text
from .netguard import AddressPolicy, blocked_reason, guarded_transport

USER_AGENT = "newsrag/0.1 (+https://github.com/newsrag)"
FEED_WORKERS = 4
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json")


@dataclass(frozen=True)
class Fetched:
    """A fetched URL: where it ended up after redirects, its content type and body."""

    url: str
    content_type: str
    data: bytes


def fetch(url: str, options: LoadOptions, client: httpx.Client | None = None) -> Fetched:
    """GET `url` within the timeout, size and redirect limits, from permitted addresses only (SSRF guard).

    Any failure is one IngestError naming the URL.
    """
    own = client is None
    client = client or new_client(options)
    deadline = time.monotonic() + options.timeout
    try:
        return _follow(url, options, client, deadline)
    except IngestError as exc:
        message = str(exc)
        raise IngestError(message if message.startswith(url) else f"{url}: {message}") from None
    except httpx.TimeoutException:
        raise IngestError(f"{url}: no answer within {options.timeout:g} s (NEWSRAG_FETCH_TIMEOUT)") from None
    except httpx.InvalidURL as exc:
        raise IngestError(f"{url}: not a valid URL ({exc})") from None
    except httpx.HTTPError as exc:
        blocked = blocked_reason(exc)
        if blocked:
            raise IngestError(f"{url}: {blocked}") from None
        raise IngestError(f"{url}: cannot fetch ({type(exc).__name__}: {exc or 'connection failed'})") from None
    finally:
        if own:
            client.close()


def _follow(url: str, options: LoadOptions, client: httpx.Client, deadline: float) -> Fetched:
    """Fetch, following at most `options.max_redirects` redirects; every hop's address is checked."""
    policy = AddressPolicy(options.allow_networks)
    target = httpx.URL(url)
    for _ in range(options.max_redirects + 1):
        policy.check_url(target)
        with client.stream("GET", target) as response:
            if response.is_redirect and "location" in response.headers:
                target = response.url.join(response.headers["location"])
                continue
            return _read(response, url, options, deadline)
    raise IngestError(f"{url}: more than {options.max_redirects} redirects (NEWSRAG_FETCH_MAX_REDIRECTS)")


def _read(response: httpx.Response, url: str, options: LoadOptions, deadline: float) -> Fetched:
    if response.status_code >= 400:
        raise IngestError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > options.max_bytes:
        raise IngestError(f"{url}: {int(declared):,} bytes is over the {options.max_bytes:,}-byte limit")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > options.max_bytes:
            raise IngestError(f"{url}: the response is over the {options.max_bytes:,}-byte limit")
        if time.monotonic() > deadline:
            raise IngestError(f"{url}: the download took longer than {options.timeout:g} s (NEWSRAG_FETCH_TIMEOUT)")
        chunks.append(chunk)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    return Fetched(str(response.url), content_type, b"".join(chunks))


def new_client(options: LoadOptions) -> httpx.Client:
    """An HTTP client for article pages: redirects followed by `fetch` (each hop checked), guarded connections."""
    transport = guarded_transport(AddressPolicy(options.allow_networks))
    return httpx.Client(timeout=options.timeout, follow_redirects=False, transport=transport,
                        headers={"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})


def load_url(url: str, options: LoadOptions, feed: bool = False) -> Iterator[Item]:
    """The articles at a URL: a page (by content type) or, when it is one or `feed` is set, a feed."""
    with new_client(options) as client:
        page = fetch(url, options, client)
        if feed or _looks_like_feed(page):
            yield from _feed_items(page, options, client)
        else:
            yield from page_items(page, url, options)


def page_items(page: Fetched, origin: str, options: LoadOptions, defaults: dict[str, str] | None = None) -> Iterator[Item]:
    kind = page.content_type
    if kind in ("application/json", "text/json"):
        yield from formats.json_items(decode_text(page.data, origin), origin, options)
    elif kind in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines"):
        yield from formats.jsonl_items(decode_text(page.data, origin), origin, options)
    elif kind == "application/pdf":
        article = pdf.pdf_article(page.data, origin)
        article.url = article.url or page.url
        yield article
    elif kind in ("text/plain", "text/markdown"):
        fmt = "markdown" if kind == "text/markdown" else "text"
        yield RawArticle(origin=origin, text=decode_text(page.data, origin), url=page.url, fmt=fmt)
    elif kind in ("", "text/html", "application/xhtml+xml") or kind.endswith(("+xml", "/xml")):
        yield formats.html_article(page.data, origin, url=page.url, defaults=defaults)
    else:
        raise IngestError(f"{origin}: cannot read content type {kind!r} (expected HTML, JSON, text, PDF or a feed)")


def _looks_like_feed(page: Fetched) -> bool:
    if page.content_type in _FEED_TYPES:
        return True
    head = page.data[:512].lstrip().lower()
    return page.content_type.endswith("xml") and (b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head)


def _feed_items(page: Fetched, options: LoadOptions, client: httpx.Client) -> Iterator[Item]:
    import feedparser

    parsed = feedparser.parse(page.data)
    if parsed.bozo and not parsed.entries:
        raise IngestError(f"{page.url}: not a readable RSS/Atom feed ({parsed.get('bozo_exception')})")
    if not parsed.entries:
        yield Problem(page.url, f"{page.url}: the feed has no entries", failed=False)
        return
    site = parsed.feed.get("title")
    entries = [_entry_defaults(entry, site) for entry in parsed.entries]
    with concurrent.futures.ThreadPoolExecutor(max_workers=FEED_WORKERS) as pool:
        yield from (item for items in pool.map(lambda e: list(_entry_items(e, options, client)), entries) for item in items)


def _entry_defaults(entry: Any, site: str | None) -> dict[str, str]:
    content = entry.get("content") or []
    full = max((c.get("value", "") for c in content), key=len, default="") or entry.get("summary", "")
    date = entry.get("published") or entry.get("updated") or ""
    return {"url": entry.get("link", ""), "title": entry.get("title", ""), "date": date,
            "author": entry.get("author", ""), "site": site or "", "content": full}


def _entry_items(entry: dict[str, str], options: LoadOptions, client: httpx.Client) -> Iterator[Item]:
    link = entry["url"]
    if not link:
        yield Problem(entry["title"] or "feed entry", "the feed entry has no link", failed=True)
        return
    try:
        yield from page_items(fetch(link, options, client), link, options, defaults=entry)
    except IngestError as exc:
        if len(entry["content"]) < 200:
            yield Problem(link, str(exc))
            return
        try:  # the feed carries the full text: use it
            yield formats.html_article(f"<html><body><article>{entry['content']}</article></body></html>", link,
                                       url=link, defaults=entry)
        except IngestError:
            yield Problem(link, str(exc))
