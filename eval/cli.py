"""Command-line edge of the harness: `newsrag eval QUESTIONS ...` and `newsrag eval compare RUN_A RUN_B`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rag.cli import add_store_options, add_subcommand, print_json, settings_from
from rag.errors import ConfigError

from .adapters import FORMATS

USAGE = """%(prog)s QUESTIONS [--corpus PATH ...] [--store DIR] [--answerer NAME] [--report DIR] [--json]
                [--format auto|jsonl|realtimeqa|rgb] [--gate FILE[:SECTION]] [options]
       %(prog)s compare RUN_A RUN_B [--json]"""

EPILOG = """examples:
  newsrag eval ../shared/data/sample/questions.jsonl --corpus samples/articles
  newsrag eval ../shared/data/realtimeqa/2025-q1 --store ~/stores/realtimeqa   # keep the store for reuse
  newsrag eval ../shared/data/rgb/en_fact.json --format rgb --report runs/rgb
  newsrag eval compare runs/before runs/after
metrics are defined in docs/evaluation.md"""


def cmd_eval(args: argparse.Namespace) -> int:
    if len(args.target) != 1:
        raise ConfigError(f"give one question file or folder, not {len(args.target)}: {' '.join(args.target)}")
    return _evaluate(args)


def _evaluate(args: argparse.Namespace) -> int:
    from .gate import check, load_thresholds, parse_gate
    from .harness import evaluate
    from .report import fmt

    gate = parse_gate(args.gate) if args.gate else None
    bounds = load_thresholds(*gate) if gate else None  # a bad thresholds file fails before the run
    settings = settings_from(args)
    report_dir = Path(args.report) if args.report else _default_report_dir(args.target[0])
    result = evaluate(
        args.target[0], corpus=args.corpus or (), store=args.store, answerer=args.answerer, fmt=args.format,
        report_dir=report_dir, settings=settings, depth=args.depth, baselines=not args.no_baselines,
        ingest=not args.no_ingest, limit=args.limit, quiet=args.quiet or args.json, as_of=args.as_of,
        split=args.split, unanswerable=args.unanswerable, plain_baseline=args.plain_baseline,
    )
    breaches = check(result.sections["all"], bounds) if bounds is not None else []
    if args.json:
        print_json({**result.to_dict(), "report": str(report_dir), "gate": [str(b) for b in breaches]})
    else:
        print(f"{result.meta['name']}: {result.meta['questions']} questions, {result.sections['all']['failed']} failed,"
              f" {result.meta['seconds']} s")
        for key, value in result.headline().items():
            print(f"  {key:<36} {fmt(value)}")
        if result.without_as_of is not None:
            from .dated import comparison_rows

            print("as of the question date vs as of now:")
            for key, a, b, d in comparison_rows(result.sections["all"], result.without_as_of["all"]):
                print(f"  {key:<36} {fmt(a):>8} {fmt(b):>8} {d:+.3f}")
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        print(f"report: {report_dir / 'report.html'}")
    for breach in breaches:
        print(f"gate: {breach}", file=sys.stderr)
    return 1 if breaches else 0


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare_runs
    from .harness import load_run

    comparison = compare_runs(load_run(args.run_a), load_run(args.run_b))
    if args.json:
        print_json(comparison.to_dict())
    else:
        print(comparison.render())
    return 0


def _default_report_dir(target: str) -> Path:
    name = Path(target).stem or "questions"
    return Path("newsrag-eval") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `eval` (and its subcommand `eval compare`) to a subcommand parser."""
    ev = sub.add_parser("eval", help="evaluate a question set (or `eval compare RUN_A RUN_B`)", usage=USAGE,
                        description="Evaluate newsrag on a question set.", epilog=EPILOG,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ev)
    compare = add_subcommand(ev, "compare", description="Compare two evaluation runs: metrics side by side and the "
                                "questions that now pass or fail.")
    compare.add_argument("run_a", metavar="RUN_A", help="the --report folder of the earlier run")
    compare.add_argument("run_b", metavar="RUN_B", help="the --report folder of the later run")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.set_defaults(func=cmd_compare)


def add_arguments(ev: argparse.ArgumentParser) -> None:
    """The arguments of `eval QUESTIONS`."""
    ev.add_argument("target", nargs="+", metavar="QUESTIONS",
                    help="question file or folder (a file named compare: ./compare)")
    ev.add_argument("--corpus", nargs="+", action="extend", metavar="PATH",
                    help="articles to ingest first (files, folders, globs)")
    add_store_options(ev)
    ev.add_argument("--answerer", help="answerer backend (default: from settings)")
    ev.add_argument("--report", metavar="DIR", help="report folder (default: newsrag-eval/NAME-TIMESTAMP)")
    ev.add_argument("--json", action="store_true", help="print metrics.json to stdout")
    ev.add_argument("--format", choices=FORMATS, default="auto", help="question set format (default: auto)")
    ev.add_argument("--gate", metavar="FILE[:SECTION]", help="fail (exit 1) when a metric breaks a threshold")
    ev.add_argument("--depth", type=int, default=20, metavar="N",
                    help="passages ranked for the retrieval metrics (default 20)")
    ev.add_argument("--limit", type=int, metavar="N", help="evaluate only the first N questions")
    ev.add_argument("--split", choices=("dev", "test", "all"),
                    help="RealTimeQA: only weeks 1-9 (dev, for fitting) or 10-13 (test, the unseen figure)")
    ev.add_argument("--unanswerable", action="store_true",
                    help="RealTimeQA: the split's answerable questions asked of the other weeks' articles, "
                         "kept where the answer occurs in none of them (all must be refused)")
    ev.add_argument("--no-baselines", action="store_true", help="skip the other retrieval modes")
    ev.add_argument("--plain-baseline", action="store_true",
                    help="also rank with a plain llama-index script (256-token chunks, dense only), built once "
                         "into STORE/plain-llamaindex")
    ev.add_argument("--no-ingest", action="store_true", help="use the store as it is; do not ingest the corpus")
    ev.add_argument("--quiet", action="store_true", help="no progress lines")
    ev.add_argument("--as-of", choices=("both", "question", "none"), default="both",
                    help="questions with a date (RealTimeQA question_date, JSONL as_of): ask as of it and as of now "
                         "(both, the default), only as of it (question), or only as of now (none)")
    ev.set_defaults(func=cmd_eval)
