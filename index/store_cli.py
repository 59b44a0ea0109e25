"""Command-line edge of store care: `repair`, `backup`, `restore`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rag.cli import add_store_options, print_json, settings_from


def cmd_repair(args: argparse.Namespace) -> int:
    from .repair import repair

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"\rembedding chunks again: {done}/{total}", end="" if done < total else "\n",
                  file=sys.stderr, flush=True)

    report = repair(settings_from(args), force=args.force, progress=progress)
    if args.json:
        print_json(report.to_dict())
        return 0
    if report.problem is None:
        print(f"the store at {report.store} is sound; nothing to repair (--force rebuilds it anyway)")
        return 0
    print(f"repaired the store at {report.store} ({report.problem}): {report.articles} articles, {report.chunks} "
          f"chunks kept; {report.salvaged_vectors} vectors salvaged, {report.embedded} embedded again, "
          f"{report.rechunked} articles chunked again from their text")
    for where in dict.fromkeys(report.unreadable):
        print(f"lost what SQLite could not read: {where}; the articles held there are not in the repaired store: "
              "ingest their sources again, or `newsrag restore` a backup", file=sys.stderr)
    for article_id, reason in report.lost:
        print(f"lost {article_id}: {reason}", file=sys.stderr)
    if report.damaged_copy:
        print(f"the damaged files are kept in {report.damaged_copy} (delete it when you no longer need it)")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from rag.store.backup import backup
    from rag.store.collection import Store
    from rag.store.owner_client import routed

    settings = settings_from(args)
    target = str(Path(args.target).expanduser().resolve())
    done = routed(settings, lambda: backup(Store(settings), Path(target)), lambda owner: owner.backup(target))
    _print(done, args.json, f"backed up {done.get('articles')} articles ({done.get('chunks')} chunks) from "
                            f"{done.get('store')} to {done.get('backup')}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from rag.store.backup import restore

    done = restore(settings_from(args), Path(args.source))
    previous = f"; the replaced store is kept in {done['previous']}" if done.get("previous") else ""
    _print(done, args.json, f"restored {done.get('articles')} articles ({done.get('chunks')} chunks) from "
                            f"{done.get('restored')} into {done.get('store')}{previous}")
    return 0


def _print(data: dict[str, Any], as_json: bool, line: str) -> None:
    if as_json:
        print_json(data)
    else:
        print(line)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    repair = sub.add_parser("repair", help="check the store and rebuild it from what survives when it is damaged",
                            description="Rebuilds a damaged embedded store: keeps every article it can (texts and "
                                        "metadata from SQLite, vectors salvaged or embedded again), lists the rest.")
    add_store_options(repair)
    repair.add_argument("--force", action="store_true", help="rebuild even when the store passes the check")
    repair.add_argument("--json", action="store_true", help="print the report as JSON")
    repair.set_defaults(func=cmd_repair)

    backup = sub.add_parser("backup", help="copy the store (also while `newsrag serve` serves it) into a new folder")
    backup.add_argument("target", metavar="DIR", help="a new or empty folder")
    add_store_options(backup)
    backup.add_argument("--json", action="store_true")
    backup.set_defaults(func=cmd_backup)

    restore = sub.add_parser("restore", help="replace the store with a backup (the replaced one is kept beside it)")
    restore.add_argument("source", metavar="DIR", help="a folder made by newsrag backup")
    add_store_options(restore)
    restore.add_argument("--json", action="store_true")
    restore.set_defaults(func=cmd_restore)
