"""The `newsrag bench` command group: ingest, query, scale, all (the default), and backends."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rag.cli import print_json

PLOT = "benchmarks-latency.svg"  # written next to the --out file


def _settings(args: argparse.Namespace) -> Any:
    from rag.settings import Settings

    return Settings().with_overrides(embedding_backend=getattr(args, "backend", None))


def _ingest(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    from .ingest import bench_ingest, format_ingest

    articles = None if getattr(args, "all_articles", False) else getattr(args, "articles", 300)
    result = bench_ingest(articles, _settings(args), data=args.data, smoke=args.smoke,
                          baseline=not getattr(args, "no_baseline", False))
    return result, {"ingest": format_ingest(result)}


def _query(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    from .query import bench_query, format_query

    chunks = getattr(args, "chunks", None)
    result = bench_query(_settings(args), store=args.store, data=args.data, smoke=args.smoke, cache=args.cache,
                         chunks=chunks, only_newsrag=getattr(args, "only_newsrag", False))
    return result, {f"query-{_size(chunks)}" if chunks else "query": format_query(result)}


def _size(chunks: int) -> str:
    """100000 -> "100k", 1000000 -> "1M" (the section name of a query table at that size)."""
    return f"{chunks // 1_000_000}M" if chunks % 1_000_000 == 0 else f"{chunks // 1000}k" if chunks % 1000 == 0 else str(chunks)


def _scale(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    from .report import format_scale_section
    from .scale import bench_scale

    result = bench_scale(_settings(args), store=args.store, data=args.data, smoke=args.smoke,
                         largest=getattr(args, "max", False), cache=args.cache, sizes=getattr(args, "sizes", None))
    return result, {"scale": format_scale_section(result, PLOT)}


RUNNERS = {"ingest": _ingest, "query": _query, "scale": _scale}


def cmd_bench(args: argparse.Namespace) -> int:
    """Run the chosen benchmark (all three by default), print or write the figures."""
    from .measure import cpu, describe_cpu

    name = getattr(args, "bench_command", None) or "all"
    names = list(RUNNERS) if name == "all" else [name]
    results, sections = {}, {}
    info = cpu()
    if not args.json:
        print(f"CPU: {describe_cpu(info)}; its tables in --out are marked @{info['kind']}", flush=True)
        print(flush=True)
    for one in names:
        results[one], table = RUNNERS[one](args)
        sections.update(table)
        if not args.json:
            print(next(iter(table.values())), flush=True)
            print(flush=True)
    if args.json:
        print_json(results if len(names) > 1 else results[names[0]])
    if args.out:
        _write(Path(args.out), sections, results.get("scale"), info["kind"])
    return 0


def _write(out: Path, sections: dict[str, str], scale: dict[str, Any] | None, kind: str) -> None:
    """Each table goes into its section for this kind of CPU (`<!-- bench:ingest@intel-xeon-amx -->`)."""
    from .measure import write_section
    from .report import scale_plot

    for name, body in sections.items():
        write_section(out, f"{name}@{kind}", body)
    if scale is not None:
        out.with_name(PLOT).write_text(scale_plot(scale), encoding="utf-8")


def cmd_backends(args: argparse.Namespace) -> int:
    from .backends import bench_backends, format_backends
    from .measure import write_section

    result = bench_backends(args.weeks, data=args.data, smoke=args.smoke, model_cache=str(_settings(args).model_cache),
                            speed_sample=args.speed_only)
    print_json(result) if args.json else print(format_backends(result))
    if args.out:
        name = "backends-speed" if args.speed_only else "backends"
        write_section(Path(args.out), f"{name}@{result['cpu']['kind']}", format_backends(result))
    return 0


def cmd_bm25(args: argparse.Namespace) -> int:
    import tempfile

    from . import stores
    from .bm25scale import bench_bm25, format_bm25
    from .measure import write_section

    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        store, _ = stores.realtimeqa_store(_settings(args), Path(tmp), args.store, args.data, args.smoke, args.cache)
        source = stores.source_chunks(store, Path(tmp), args.cache, args.smoke)
        result = bench_bm25(source, args.chunks or (500 if args.smoke else 1_000_000))
    print_json(result) if args.json else print(format_bm25(result))
    if args.out:
        write_section(Path(args.out), f"bm25-{result['chunks']}@{result['cpu']['kind']}", format_bm25(result))
    return 0


def _common(parser: argparse.ArgumentParser, inherited: bool = False) -> None:
    """Options every benchmark takes; on subcommands they default to what `bench` itself was given."""
    default: Any = argparse.SUPPRESS if inherited else None
    flag: Any = argparse.SUPPRESS if inherited else False
    parser.add_argument("--data", default=default,
                        help="folder of RealTimeQA *_gcs.jsonl / *_qa.jsonl files (default: realtimeqa/2025-q1 in the data_dir setting, NEWSRAG_DATA_DIR)")
    parser.add_argument("--smoke", action="store_true", default=flag, help="a tiny run that only checks the benchmark works")
    parser.add_argument("--json", action="store_true", default=flag, help="print the figures as JSON")
    parser.add_argument("--out", default=default, help="also write the tables into this markdown file (docs/benchmarks.md)")
    parser.add_argument("--backend", default=default, help="embedding backend for newsrag (default: from settings)")


def _corpus_options(parser: argparse.ArgumentParser, inherited: bool = False) -> None:
    default: Any = argparse.SUPPRESS if inherited else None
    parser.add_argument("--store", default=default,
                        help="a store holding the RealTimeQA corpus (read through a copy; default: build one, cached)")
    parser.add_argument("--cache", default=default,
                        help="benchmark cache for the built store, exported chunks and scale stores (default ~/.cache/newsrag/bench)")


def _sizes(text: str) -> tuple[int, ...]:
    """"300,1000" -> (300, 1000): the corpus sizes of `bench scale`."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give chunk counts separated by commas, e.g. 300,1000") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every size must be at least 1 chunk")
    return sizes


def _size_options(parser: argparse.ArgumentParser, inherited: bool = False) -> None:
    """scale's corpus sizes: --max adds 1M, --sizes gives them outright."""
    default: Any = argparse.SUPPRESS if inherited else None
    parser.add_argument("--max", action="store_true", default=argparse.SUPPRESS if inherited else False,
                        help="scale: add the 1M-chunk corpus")
    parser.add_argument("--sizes", type=_sizes, default=default, metavar="N,N",
                        help="scale: these corpus sizes in chunks instead (default 10k,100k; --smoke 300,1000)")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = sub.add_parser("bench", help="measure speed, memory and scale on this machine (not a test)",
                           description="Without a benchmark name: ingest, query and scale, one after the other.")
    _common(bench)
    _corpus_options(bench)
    _size_options(bench)
    bench.set_defaults(func=cmd_bench)
    group = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")

    ingest = group.add_parser("ingest", help="ingest rate vs the bare model and a plain llama-index pipeline")
    size = ingest.add_mutually_exclusive_group()
    size.add_argument("--articles", type=int, default=300, help="RealTimeQA articles to ingest (default 300)")
    size.add_argument("--all", dest="all_articles", action="store_true", help="all 1,675 RealTimeQA 2025-Q1 articles")
    ingest.add_argument("--no-baseline", action="store_true", help="skip the plain llama-index pipeline")
    _common(ingest, inherited=True)

    query = group.add_parser("query", help="answer latency per stage vs the plain llama-index retriever and query engine")
    query.add_argument("--chunks", type=int, metavar="N",
                       help="over a corpus of N chunks made from the real ones (as `bench scale` makes it; kept in --cache)")
    query.add_argument("--only-newsrag", action="store_true",
                       help="only newsrag's ask (stages, cold start, BM25 update): no llama-index, threads or start-up")
    scale = group.add_parser("scale", help="latency, memory, disk, BM25 and HNSW recall at 10k and 100k chunks")
    every = group.add_parser("all", help="ingest, query and scale")
    for parser in (scale, every):
        _size_options(parser, inherited=True)
    for parser in (query, scale, every):
        _common(parser, inherited=True)
        _corpus_options(parser, inherited=True)

    bm25 = group.add_parser("bm25", help="the BM25 index alone at N chunks: a changed article, reopen, compaction")
    bm25.add_argument("--chunks", type=int, metavar="N", help="chunks of the scale corpus (default 1,000,000)")
    _common(bm25, inherited=True)
    _corpus_options(bm25, inherited=True)
    bm25.set_defaults(func=cmd_bm25)

    backends = group.add_parser("backends", help="chunks/s and recall@5 of each embedding backend")
    backends.add_argument("--weeks", type=int, default=3, help="RealTimeQA weeks in the corpus (default 3)")
    backends.add_argument("--speed-only", type=int, metavar="CHUNKS",
                          help="only the encode rate, on this many chunks (no recall)")
    _common(backends, inherited=True)
    backends.set_defaults(func=cmd_backends)
