"""The `newsrag bench` command group: `bench ingest`, `bench backends` (issue 8 adds query and scale here)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rag.cli import print_json, settings_from


def cmd_ingest(args: argparse.Namespace) -> int:
    from .ingest import bench_ingest, format_ingest
    from .measure import write_section

    settings = settings_from(args).with_overrides(embedding_backend=args.backend)
    articles = None if args.all else args.articles
    result = bench_ingest(articles, settings, data=args.data, smoke=args.smoke, baseline=not args.no_baseline)
    _emit(args, result, format_ingest(result), "ingest", write_section)
    return 0


def cmd_backends(args: argparse.Namespace) -> int:
    from .backends import bench_backends, format_backends
    from .measure import write_section

    settings = settings_from(args)
    result = bench_backends(args.weeks, data=args.data, smoke=args.smoke, model_cache=str(settings.model_cache),
                            speed_sample=args.speed_only)
    _emit(args, result, format_backends(result), "backends-speed" if args.speed_only else "backends", write_section)
    return 0


def _emit(args: argparse.Namespace, result: dict, table: str, name: str, write_section) -> None:  # type: ignore[no-untyped-def,type-arg]
    if args.json:
        print_json(result)
    else:
        print(table)
    if args.out:
        write_section(Path(args.out), name, table)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", help="folder of RealTimeQA *_gcs.jsonl files (default: ../shared/data/realtimeqa/2025-q1)")
    parser.add_argument("--smoke", action="store_true", help="a tiny run that only checks the benchmark works")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--out", help="also write the table into this markdown file (e.g. docs/benchmarks.md)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = sub.add_parser("bench", help="measure speed and quality on this machine (not a test)")
    group = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK", required=True)

    ingest = group.add_parser("ingest", help="ingest rate vs the bare model and a plain llama-index pipeline")
    size = ingest.add_mutually_exclusive_group()
    size.add_argument("--articles", type=int, default=300, help="RealTimeQA articles to ingest (default 300)")
    size.add_argument("--all", action="store_true", help="all 1,675 RealTimeQA 2025-Q1 articles")
    ingest.add_argument("--backend", help="embedding backend for newsrag (default: from settings)")
    ingest.add_argument("--no-baseline", action="store_true", help="skip the plain llama-index pipeline")
    ingest.add_argument("--store", help=argparse.SUPPRESS)
    ingest.add_argument("--chroma-url", help=argparse.SUPPRESS)
    ingest.add_argument("--collection", help=argparse.SUPPRESS)
    _common(ingest)
    ingest.set_defaults(func=cmd_ingest)

    backends = group.add_parser("backends", help="chunks/s and recall@5 of each embedding backend")
    backends.add_argument("--weeks", type=int, default=3, help="RealTimeQA weeks in the corpus (default 3)")
    backends.add_argument("--speed-only", type=int, metavar="CHUNKS",
                          help="only the encode rate, on this many chunks (no recall)")
    _common(backends)
    backends.set_defaults(func=cmd_backends)
