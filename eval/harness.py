"""The harness entry point: question set + store -> results, metrics and a report folder.

    import eval
    run = eval.evaluate("../shared/data/sample/questions.jsonl", corpus=["samples/articles"], report_dir="out")
    print(run.headline())
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.composition import open as open_assistant
from rag.errors import ConfigError, StoreError
from rag.settings import Settings

from . import dated
from .adapters import load_question_set
from .choices import ABSTAIN_BELOW
from .corpus import CorpusView, ingest_corpus
from .questions import QuestionSet
from .results import QuestionResult
from .runner import print_progress, run_questions
from .scoring import headline, score_run


@dataclass(repr=False)
class EvalRun:
    """A finished run: what was run, the metric sections, and every question's result."""

    meta: dict[str, Any]
    sections: dict[str, Any]
    results: list[QuestionResult]
    report_dir: Path | None = None
    notes: list[str] = field(default_factory=list)
    without_as_of: dict[str, Any] | None = None  # metric sections of the same questions asked as of now

    def __repr__(self) -> str:
        return (f"EvalRun(name={self.meta.get('name')!r}, questions={len(self.results)}, "
                f"report_dir={str(self.report_dir) if self.report_dir else None!r})")

    def headline(self) -> dict[str, float]:
        """The headline metrics of the whole set (dotted keys)."""
        return headline(self.sections["all"])

    def to_dict(self) -> dict[str, Any]:
        """The content of metrics.json."""
        data = {"run": {**self.meta, "notes": self.notes}, "headline": self.headline(), "groups": self.sections}
        if self.without_as_of is not None:
            data["without_as_of"] = {"headline": headline(self.without_as_of["all"]), "groups": self.without_as_of}
        return data


def evaluate(
    questions: str | Path | QuestionSet,
    corpus: Sequence[str | Path] = (),
    store: str | Path | None = None,
    answerer: str | None = None,
    fmt: str = "auto",
    report_dir: str | Path | None = None,
    settings: Settings | None = None,
    depth: int = 20,
    baselines: bool = True,
    ingest: bool = True,
    limit: int | None = None,
    abstain_below: float | None = ABSTAIN_BELOW,
    quiet: bool = True,
    as_of: str = "both",
    split: str | None = None,
    unanswerable: bool = False,
    plain_baseline: bool = False,
) -> EvalRun:
    """Evaluate a question set; writes report.md, report.html, metrics.json and results.jsonl when
    `report_dir` is given. The store is `store`, else a temporary one when there is a corpus to
    ingest, else the configured store. Questions that carry a date are asked as of it and, with
    `as_of="both"`, again as of now (`EvalRun.without_as_of`); "question" or "none" runs one of the two."""
    started, wall = time.perf_counter(), time.strftime("%Y-%m-%dT%H:%M:%S")
    qset = questions if isinstance(questions, QuestionSet) else load_question_set(questions, fmt, split, unanswerable)
    if depth < 1:
        raise ConfigError(f"--depth {depth} must be at least 1")
    settings = (settings or Settings()).with_overrides(answerer=answerer)
    todo = qset.questions[:limit] if limit else qset.questions
    notes = list(qset.notes)
    with _store_dir(store, bool(corpus or qset.corpus), settings) as settings:
        ingested = _ingest(corpus, qset, settings, ingest, quiet, notes)
        try:
            assistant = open_assistant(settings=settings)
        except StoreError as exc:
            raise StoreError(f"{exc} (or give the articles with --corpus PATHS)") from None
        view = CorpusView(assistant.store)
        progress = None if quiet else print_progress()
        if as_of not in dated.MODES:
            raise ConfigError(f"--as-of {as_of!r} is unknown; use one of: {', '.join(dated.MODES)}")
        use_dates = dated.has_dates(todo) and as_of != "none"
        others = _plain_baseline(qset, settings, view, quiet) if plain_baseline and baselines else None
        results, run_notes = run_questions(todo, assistant, view, depth, baselines, abstain_below, progress, use_dates,
                                           others)
        without = None
        if use_dates and as_of == "both":
            without = score_run(run_questions(todo, assistant, view, depth, baselines, abstain_below, progress, False,
                                              others)[0])
        if use_dates:
            notes.append(_hidden_note(todo, assistant))
        notes += run_notes + _gold_notes(results)
        meta = _meta(qset, settings, assistant, depth, len(todo), ingested, abstain_below)
        meta.update(started=wall, seconds=round(time.perf_counter() - started, 1))
        meta["as_of"] = "question date" if use_dates else "now"
    run = EvalRun(meta=meta, sections=score_run(results), results=results, notes=notes, without_as_of=without)
    if report_dir is not None:
        from .html import write_report

        run.report_dir = write_report(run, Path(report_dir))
        if without is not None:
            (run.report_dir / "as_of.md").write_text(dated.comparison_markdown(run.sections, without), encoding="utf-8")
    return run


@contextlib.contextmanager
def _store_dir(store: str | Path | None, has_corpus: bool, settings: Settings) -> Iterator[Settings]:
    if store is not None:
        yield settings.with_overrides(store=store)
    elif has_corpus and not settings.chroma_url:
        with tempfile.TemporaryDirectory(prefix="newsrag-eval-store-") as tmp:
            yield settings.with_overrides(store=tmp)
    else:
        yield settings


def _ingest(corpus: Sequence[str | Path], qset: QuestionSet, settings: Settings, ingest: bool, quiet: bool,
            notes: list[str]) -> dict[str, Any] | None:
    if not ingest or not (corpus or qset.corpus):
        return None
    report = ingest_corpus(corpus, qset, settings, quiet=quiet)
    if report.failed:
        notes.append(f"ingest: {len(report.failed)} articles failed, e.g. {report.failed[0][1]}")
    if not report.articles and not report.failed:
        raise ConfigError("the corpus holds no articles: check --corpus PATHS")
    data = report.to_dict()
    data["failed"] = len(report.failed)
    data["skipped"] = len(report.skipped)
    return data


def _hidden_note(questions: Sequence[Any], assistant: Any) -> str:
    total, hidden, emptied = dated.hidden_gold(questions, assistant.store.articles())
    return (f"as_of = question date: {hidden} of {total} gold article references are dated after their question's "
            f"day and so left out; {emptied} questions lose every gold article")


def _plain_baseline(qset: QuestionSet, settings: Settings, view: CorpusView, quiet: bool) -> dict[str, Any]:
    """The plain llama-index retriever over the set's corpus (built once into the store folder)."""
    from .plain import NAME, PlainLlamaIndex

    if not qset.corpus:
        raise ConfigError("--plain-baseline needs a question set that brings its corpus (RealTimeQA, RGB)")
    ids = {}
    for article in qset.corpus:
        found, _ = view.resolve([article.url])
        if found:
            ids[article.url] = found.pop()
    plain = PlainLlamaIndex(settings, qset.corpus, ids, quiet)
    return {NAME: lambda question, depth: plain.retrieve(question.question, depth)}


def _gold_notes(results: Sequence[QuestionResult]) -> list[str]:
    missing = sum(r.missing_gold for r in results)
    return [f"{missing} gold article references are not in the store (ingest the corpus?)"] if missing else []


def _meta(qset: QuestionSet, settings: Settings, assistant: Any, depth: int, asked: int,
          ingested: dict[str, Any] | None, abstain_below: float | None) -> dict[str, Any]:
    status = assistant.status()
    return {
        "name": qset.name, "format": qset.fmt, "source": qset.source, "questions": asked,
        "groups": qset.groups, "store": status["store"], "articles": status["articles"], "chunks": status["chunks"],
        "model": status["model"], "answerer": status["answerer"],
        "retrieval_mode": getattr(settings, "retrieval_mode", "dense"), "top_k": settings.top_k, "depth": depth,
        "abstain_below": abstain_below, "settings": settings.describe(), "ingest": ingested, "commit": _commit(),
    }


def _commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def load_run(path: str | Path) -> EvalRun:
    """A finished run from its report folder (metrics.json + results.jsonl)."""
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    metrics_file, results_file = folder / "metrics.json", folder / "results.jsonl"
    if not metrics_file.is_file():
        raise ConfigError(f"{path}: not an eval report folder (no metrics.json); give the --report folder of a run")
    try:
        data = json.loads(metrics_file.read_text(encoding="utf-8"))
        results = [QuestionResult.from_dict(json.loads(line))
                   for line in results_file.read_text(encoding="utf-8").splitlines() if line.strip()] \
            if results_file.is_file() else []
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: cannot read the run ({exc})") from exc
    run_meta = dict(data.get("run", {}))
    notes = run_meta.pop("notes", [])
    return EvalRun(meta=run_meta, sections=data.get("groups", {}), results=results, report_dir=folder, notes=notes)
