"""Command-line edge of ingestion: `ingest`, `rebuild`, `list`, `remove`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rag.cli import add_store_options, print_json, settings_from
from rag.errors import ConfigError

from .listing import list_row
from .progress import MODES, ProgressDisplay


def ingest_settings(args: argparse.Namespace) -> Any:
    """Settings with the ingest flags applied."""
    fields: dict[str, list[str]] = {}
    for spec in args.field or ():
        key, sep, names = spec.partition("=")
        if not sep or not key.strip() or not names.strip():
            raise ConfigError(f"--field {spec!r}: use FIELD=NAME[,NAME...], e.g. --field text=story,body")
        fields[key.strip()] = [n.strip() for n in names.split(",") if n.strip()]
    return settings_from(args).with_overrides(
        record_fields=fields or None, records_field=args.records, max_article_bytes=args.max_bytes,
        fetch_timeout=args.timeout, embedding_backend=args.backend,
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    from .pipeline import ingest

    if not args.paths and not args.feed:
        raise ConfigError("give at least one file, folder, glob or URL, or --feed URL")
    display = ProgressDisplay("off" if args.quiet or args.json else args.progress)
    try:
        report = ingest(args.paths, settings=ingest_settings(args), progress=display, feeds=args.feed or ())
    finally:
        display.close()
    if args.json:
        print_json(report.to_dict())
        return 0 if report.ok else 1
    if not args.quiet:
        for origin, reason in report.skipped:
            print(f"skipped {origin}: {reason}", file=sys.stderr)
    for origin, reason in report.failed:
        print(f"failed: {reason}" if origin in reason else f"failed: {origin}: {reason}", file=sys.stderr)
    if not args.quiet:
        print(report.summary())
    return 0 if report.ok else 1


def cmd_rebuild(args: argparse.Namespace) -> int:
    from .rebuilding import rebuild

    display = ProgressDisplay("off" if args.json else args.progress)
    try:
        report = rebuild(settings=settings_from(args), progress=display)
    finally:
        display.close()
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rag.store.collection import Store
    from rag.store.owner_client import routed

    settings = settings_from(args)
    rows = routed(settings, lambda: [list_row(i, meta) for i, meta in Store(settings).registry_records()],
                  lambda owner: owner.articles())
    if args.site:
        rows = [r for r in rows if args.site.lower() in (r["site"] or "").lower()]
    rows.sort(key=lambda r: (r["date"] or "", r["title"]), reverse=True)
    if args.limit:
        rows = rows[: args.limit]
    if args.json:
        print_json(rows)
        return 0
    for r in rows:
        more = f"  (+{len(r['urls']) + len(r['copies']) - 1} copies)" if len(r["urls"]) + len(r["copies"]) > 1 else ""
        print(f"{r['article_id']}  {r['date'] or '----------'}  {r['chunks']:>3} chunks  {r['title'][:80]}"
              f"  [{r['site'] or r['origin']}]{more}")
    print(f"{len(rows)} articles, {sum(r['chunks'] for r in rows)} chunks")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .pipeline import remove

    if not args.targets and not args.missing:
        raise ConfigError("give article ids, urls or source paths to remove, or --missing")
    report = remove(args.targets, settings=settings_from(args), missing=args.missing)
    if args.json:
        print_json(report.to_dict())
    else:
        for _, reason in report.failed:
            print(f"failed: {reason}", file=sys.stderr)
        print(f"{report.removed} removed")
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ingest = sub.add_parser("ingest", help="add or update articles from files, folders, globs, URLs or feeds",
                            description="Formats: .txt .md .html .json .jsonl .csv .pdf; http(s) URLs; RSS/Atom feeds.")
    ingest.add_argument("paths", nargs="*", metavar="PATH_OR_URL")
    ingest.add_argument("--feed", action="append", metavar="URL", help="an RSS or Atom feed: ingest its entries (repeatable)")
    add_store_options(ingest)
    ingest.add_argument("--field", action="append", metavar="FIELD=NAMES",
                        help="JSON/CSV field names for an article field, e.g. --field text=story,body (repeatable)")
    ingest.add_argument("--records", metavar="KEY", help="JSON key holding a list of articles in each object")
    ingest.add_argument("--max-bytes", type=int, help="skip files and pages larger than this")
    ingest.add_argument("--timeout", type=float, help="seconds to wait for each URL")
    ingest.add_argument("--backend", help="embedding backend (see `newsrag config`)")
    ingest.add_argument("--progress", choices=MODES, default="auto",
                        help="a progress bar (auto: when stderr is a terminal), one line per article, or none")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.add_argument("--quiet", action="store_true", help="print only errors")
    ingest.set_defaults(func=cmd_ingest)

    rebuild = sub.add_parser("rebuild", help="chunk and embed the stored articles again after a build setting changed",
                             description="Rebuilds every stored article whose chunks were made with other build "
                                         "settings (chunk_tokens, chunk_overlap_sentences, embed_title, "
                                         "max_seq_length, the chunker) from the article text the store keeps; "
                                         "`newsrag status` shows the store's build. `newsrag ingest` does the "
                                         "same first. Safe to interrupt: the next run finishes it.")
    add_store_options(rebuild)
    rebuild.add_argument("--progress", choices=MODES, default="auto",
                         help="a progress bar (auto: when stderr is a terminal), one line per article, or none")
    rebuild.add_argument("--json", action="store_true", help="print the report as JSON")
    rebuild.set_defaults(func=cmd_rebuild)

    listing = sub.add_parser("list", help="list stored articles")
    add_store_options(listing)
    listing.add_argument("--site", help="only articles whose site contains this text")
    listing.add_argument("--limit", type=int, help="at most this many (newest first)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    rm = sub.add_parser("remove", help="delete articles and all their chunks",
                        description="Each target is an article id (see `newsrag list`), a url, or a file or folder "
                                    "the articles were read from.")
    rm.add_argument("targets", nargs="*", metavar="ID_URL_OR_PATH")
    rm.add_argument("--missing", action="store_true", help="also remove articles whose source file no longer exists")
    add_store_options(rm)
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_remove)
