"""Command-line edge of ingestion: `ingest`, `list`, `remove`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rag.cli import add_store_options, print_json, run, settings_from


def cmd_ingest(args: argparse.Namespace) -> int:
    from .pipeline import ingest

    def progress(origin: str, articles: int, chunks: int) -> None:
        if not args.quiet and not args.json:
            print(f"  stored {origin}  ({articles} articles, {chunks} chunks)", file=sys.stderr)

    report = ingest(args.paths, settings=settings_from(args), progress=progress)
    if args.json:
        print_json(report.to_dict())
    else:
        for origin, reason in report.skipped:
            if not args.quiet:
                print(f"skipped {origin}: {reason}", file=sys.stderr)
        for _, reason in report.failed:
            print(f"failed: {reason}", file=sys.stderr)
        if not args.quiet:
            print(report.summary())
    return 0 if report.ok else 1


def cmd_list(args: argparse.Namespace) -> int:
    from rag.store import Store

    articles = Store(settings_from(args)).articles()
    if args.json:
        print_json([a.to_dict() for a in articles])
        return 0
    for a in articles:
        print(f"{a.article_id}  {a.date or '----------'}  {a.chunks:>3} chunks  {a.title}  [{a.site or a.origin}]")
    print(f"{len(articles)} articles")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    from .pipeline import remove

    report = remove(args.article_ids, settings=settings_from(args))
    if args.json:
        print_json(report.to_dict())
    else:
        for _, reason in report.failed:
            print(f"failed: {reason}", file=sys.stderr)
        print(f"{report.removed} removed")
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ingest = sub.add_parser("ingest", help="add or update articles from files, folders or globs")
    ingest.add_argument("paths", nargs="+", metavar="PATH_OR_URL")
    add_store_options(ingest)
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.add_argument("--quiet", action="store_true", help="print only errors")
    ingest.set_defaults(func=cmd_ingest)

    listing = sub.add_parser("list", help="list stored articles")
    add_store_options(listing)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    rm = sub.add_parser("remove", help="delete articles (by id, see `newsrag list`) and all their chunks")
    rm.add_argument("article_ids", nargs="+", metavar="ARTICLE_ID")
    add_store_options(rm)
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_remove)


def main(argv: Sequence[str] | None = None) -> int:
    return run([register], argv, prog="python -m index")
