"""Sources of an ingest: the files, folders, globs, URLs and feeds a user names, read into raw articles.

Every problem lands in the report as one line (skipped: nothing wrong, nothing to store; failed: the
input is broken and the exit code says so), and the rest of the batch goes on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from rag.errors import IngestError
from rag.settings import Settings

from .loading import (
    DEFAULT_FIELDS,
    Item,
    LoadOptions,
    Problem,
    RawArticle,
    discover,
    is_url,
    load_items,
    supported,
)
from .report import IngestReport


def load_options(settings: Settings) -> LoadOptions:
    """Loader options from settings: size limit, fetch timeout, record field names."""
    fields = dict(DEFAULT_FIELDS)
    for key, names in settings.record_fields.items():
        if key not in fields:
            raise IngestError(f"record_fields: unknown field {key!r}; use one of {', '.join(fields)}")
        fields[key] = tuple(names)
    return LoadOptions(max_bytes=settings.max_article_bytes, fields=fields, records_field=settings.records_field,
                       timeout=settings.fetch_timeout, max_redirects=settings.fetch_max_redirects,
                       allow_networks=tuple(settings.fetch_allow_networks))


def read_sources(targets: Iterable[str], feeds: Iterable[str], options: LoadOptions,
                 report: IngestReport) -> Iterator[RawArticle]:
    """Raw articles from every target in order; problems are recorded in `report`."""
    for feed in feeds:
        yield from _checked(feed, _url_items(feed, options, feed=True), report)
    for target in targets:
        if is_url(target):
            yield from _checked(target, _url_items(target, options), report)
            continue
        try:
            files = list(discover(target))
        except IngestError as exc:
            report.failed.append((target, str(exc)))
            continue
        explicit = len(files) == 1 and Path(target).is_file()
        for path in (f.resolve() for f in files):
            bad_name = unreadable_name(path)
            if bad_name:
                report.failed.append(bad_name)
                continue
            if not supported(path):
                if explicit:
                    report.failed.append((str(path), f"{path}: unsupported file type {path.suffix or '(none)'}"))
                else:
                    report.skipped.append((str(path), "unsupported file type"))
                continue
            yield from _checked(str(path), load_items(path, options), report)


def unreadable_name(path: Path) -> tuple[str, str] | None:
    """(origin, reason) when the file's name is not UTF-8 (the store keeps names as text), else None."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path).decode("utf-8", "backslashreplace")
        return shown, f"{shown}: the file name is not UTF-8 text; rename the file (e.g. with convmv) and ingest it again"
    return None


def _url_items(url: str, options: LoadOptions, feed: bool = False) -> Iterator[Item]:
    from .web import load_url

    yield from load_url(url, options, feed=feed)


def _checked(origin: str, items: Iterator[Item], report: IngestReport) -> Iterator[RawArticle]:
    try:
        for item in items:
            if isinstance(item, Problem):
                (report.failed if item.failed else report.skipped).append((item.origin, item.reason))
            else:
                yield item
    except IngestError as exc:
        report.failed.append((origin, str(exc)))
    except RecursionError:  # a parser gave up on deeply nested markup or data
        report.failed.append((origin, f"{origin}: nested too deeply to read as an article"))
