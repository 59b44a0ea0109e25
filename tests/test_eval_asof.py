"""`newsrag eval` asks dated questions as of their date, and as of now, and reports both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from eval.adapters import load_question_set
from eval.harness import evaluate
from eval.questions import load_jsonl
from rag.errors import ConfigError
from tests.conftest import ROOT, run_cli
from tests.eval_fixtures import write_realtimeqa

TIME_SET = ROOT / "eval" / "sets" / "time-samples.jsonl"


def test_jsonl_as_of_is_read_and_checked(tmp_path: Path) -> None:
    good = tmp_path / "q.jsonl"
    good.write_text('{"question": "What happened last week?", "as_of": "2021-09-28"}\n'
                    '{"question": "And now?", "as_of": "2021-09-28T18:00:00+02:00"}\n', encoding="utf-8")
    assert [q.as_of for q in load_jsonl(good).questions] == ["2021-09-28", "2021-09-28T18:00:00+02:00"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "What happened last week?", "as_of": "last Tuesday"}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.jsonl:1: 'as_of' 'last Tuesday' is not a date"):
        load_jsonl(bad)


def test_realtimeqa_questions_are_asked_as_of_their_question_date(tmp_path: Path) -> None:
    qset = load_question_set(write_realtimeqa(tmp_path / "rtqa"), "realtimeqa")
    assert {q.id: q.as_of for q in qset.questions} == {
        "20250103_0": "2025-01-03", "20250110_0": "2025-01-10", "20250103_0_nota": "2025-01-03",
        "20250110_0_nota": "2025-01-10"}


@pytest.fixture(scope="module")
def time_run(sample_store: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The relative-date question set over a private copy of the sample store, with and without as_of."""
    store = tmp_path_factory.mktemp("time-eval") / "store"
    shutil.copytree(sample_store, store)
    return evaluate(TIME_SET, store=store, ingest=False, baselines=False,
                    report_dir=tmp_path_factory.mktemp("time-eval") / "report")


def test_answers_change_with_as_of_and_both_runs_are_reported(time_run) -> None:  # type: ignore[no-untyped-def]
    with_as_of, now = time_run.sections, time_run.without_as_of
    assert time_run.meta["as_of"] == "question date"
    # before a story was reported the right answer is "not in the articles"; after, the story
    assert with_as_of["not yet reported"]["refusal"]["recall"] == 1.0
    assert with_as_of["answerable"]["answers"]["contains"] == 1.0 and with_as_of["all"]["passed"] == 1.0
    assert now["not yet reported"]["refusal"]["recall"] == 0.0 and now["all"]["passed"] == 0.5  # as of now, all known
    bank = next(r for r in time_run.results if r.id == "t-bank-1")
    assert bank.answer.startswith("In articles from 20 to 26 September 2021: ") and "0.75%" in bank.answer
    metrics = json.loads((time_run.report_dir / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["without_as_of"]["headline"]["passed"] == 0.5 and metrics["headline"]["passed"] == 1.0
    table = (time_run.report_dir / "as_of.md").read_text(encoding="utf-8")
    assert "| refusal.recall | 1.000 | 0.000 | +1.000 |" in table
    assert any("0 of 0 gold article references" in n for n in time_run.notes)


def test_eval_command_prints_both_and_can_run_one(sample_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    both = run_cli("eval", str(TIME_SET), "--store", str(store), "--no-ingest", "--no-baselines",
                   "--report", str(tmp_path / "both"), "--quiet")
    assert both.returncode == 0, both.stderr
    assert "as of the question date vs as of now:" in both.stdout and "refusal.recall" in both.stdout
    now = run_cli("eval", str(TIME_SET), "--store", str(store), "--no-ingest", "--no-baselines", "--as-of", "none",
                  "--report", str(tmp_path / "now"), "--json")
    data = json.loads(now.stdout)
    assert data["run"]["as_of"] == "now" and "without_as_of" not in data and data["headline"]["passed"] == 0.5
