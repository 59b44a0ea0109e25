"""The thresholds file and run comparison, on hand-made runs (no model needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eval.compare import compare_runs
from eval.gate import THRESHOLDS_FILE, check, load_thresholds, parse_gate
from eval.harness import EvalRun
from eval.results import QuestionResult
from eval.scoring import score_run
from rag.errors import ConfigError


def _result(qid: str, passed: bool, refused: bool = False, answerable: bool = True) -> QuestionResult:
    return QuestionResult(id=qid, group="all", question=f"question {qid}?", answerable=answerable, answers=["x"],
                          answer="x [1]" if passed else "y [1]", refused=refused, passed=passed,
                          contains=1.0 if passed and not refused else 0.0, exact_match=0.0, f1=0.0)


def _run(*results: QuestionResult) -> EvalRun:
    return EvalRun(meta={"name": "t"}, sections=score_run(results), results=list(results))


def test_the_repo_thresholds_file_has_a_sample_section() -> None:
    bounds = load_thresholds(THRESHOLDS_FILE, "sample")
    assert bounds["min"]["answers.contains"] > 0 and bounds["max"]["failed"] == 0
    assert parse_gate(f"{THRESHOLDS_FILE}:sample") == (THRESHOLDS_FILE, "sample")
    assert parse_gate(str(THRESHOLDS_FILE)) == (THRESHOLDS_FILE, None)


def test_check_reports_every_breach_and_missing_metric() -> None:
    run = _run(_result("a", True), _result("b", False), _result("c", False, refused=True))
    bounds = {"min": {"answers.contains": 0.9, "no.such.metric": 0.1}, "max": {"refusal.false_refusal_rate": 0.1}}
    breaches = sorted(str(b) for b in check(run.sections["all"], bounds))
    assert breaches == [
        "answers.contains = 0.3333 < min 0.9",
        "no.such.metric: missing from the run (threshold min 0.1)",
        "refusal.false_refusal_rate = 0.3333 > max 0.1",
    ]
    assert not check(run.sections["all"], {"min": {"answers.contains": 0.3}})


@pytest.mark.parametrize(
    ("text", "message"),
    [("[a.min]\nx = 'high'\n", "must be a number"), ("[a]\n", "no section [b]"), ("not toml [", "cannot read")],
)
def test_bad_thresholds_files_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "t.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_thresholds(path, "b" if "no section" in message else None)


def test_compare_lists_deltas_and_flips_both_ways() -> None:
    before = _run(_result("a", True), _result("b", False), _result("gone", True))
    after = _run(_result("a", False), _result("b", True), _result("new", True))
    comparison = compare_runs(before, after)
    flips = {(f.id, f.before, f.after) for f in comparison.flips}
    assert flips == {("a", "pass", "fail"), ("b", "fail", "pass"), ("gone", "pass", "absent"),
                     ("new", "absent", "pass")}
    deltas = {key: (a, b) for key, a, b in comparison.deltas}
    assert deltas["answers.contains"] == (pytest.approx(2 / 3, abs=1e-4), pytest.approx(2 / 3, abs=1e-4))
    assert deltas["failed"] == (0, 0)
    text = comparison.render()
    assert "now pass (1):\n  b [fail -> pass]" in text and "now fail (1):\n  a [pass -> fail]" in text
    assert "other changes (2):" in text and "gone [pass -> absent]" in text
    rows = {row["metric"]: row for row in comparison.to_dict()["metrics"]}
    assert rows["passed"]["delta"] == 0.0 and rows["answers.contains"]["a"] == rows["answers.contains"]["b"]


def test_compare_judges_direction_per_metric() -> None:
    before = _run(_result("a", True), _result("b", True))
    after = _run(_result("a", True), _result("b", False, refused=True))
    text = compare_runs(before, after).render()
    assert re.search(r"answers\.contains\s+1\.000\s+0\.500\s+-0\.500 worse", text)
    assert re.search(r"refusal\.false_refusal_rate\s+0\.000\s+0\.500\s+\+0\.500 worse", text)
