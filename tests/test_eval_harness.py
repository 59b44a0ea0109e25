"""The harness end to end with real parts: the sample set through the CI gate, reports, compare, adapters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval.gate import THRESHOLDS_FILE, check, load_thresholds
from eval.harness import EvalRun, evaluate, load_run
from tests.conftest import SAMPLES, run_cli, shared_path
from tests.eval_fixtures import write_realtimeqa, write_rgb


@pytest.fixture(scope="session")
def sample_run(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> EvalRun:
    """The sample question set over the bundled sample corpus, as the CI gate runs it."""
    report = tmp_path_factory.mktemp("eval") / "sample-run"
    return evaluate(shared_path("sample", "questions.jsonl"), corpus=[SAMPLES], store=sample_store,
                    report_dir=report)


def test_sample_set_meets_the_thresholds_kept_in_the_repo(sample_run: EvalRun) -> None:
    """The CI gate: a drop of any headline metric below eval/thresholds.toml [sample] fails the suite."""
    breaches = check(sample_run.sections["all"], load_thresholds(THRESHOLDS_FILE, "sample"))
    assert not breaches, "metrics below the thresholds in eval/thresholds.toml:\n" + "\n".join(map(str, breaches))


def test_sample_run_scores_what_a_reader_would_check(sample_run: EvalRun) -> None:
    all_ = sample_run.sections["all"]
    assert all_["questions"] == 12 and all_["failed"] == 0
    assert all_["refusal"]["unanswerable"] == 1 and all_["refusal"]["recall"] == 1.0
    milley = next(r for r in sample_run.results if r.id == "seed-01")
    assert milley.passed and milley.cited and "it’s possible" in milley.cited[0]["sentence"]
    assert milley.ranking.chunks[0] and milley.ranking.answer_rank == 1
    refused = next(r for r in sample_run.results if r.id == "seed-11")
    assert refused.refused and refused.passed and refused.ranking.relevant_articles == 0
    assert set(all_["latency_ms"]) >= {"embed", "search", "generate", "verify", "total"}
    # no gold articles: the articles holding a question's evidence are its ceiling, so the answer metrics count
    assert all_["retrieval"]["within_ceiling"] == all_["answers"]["within_ceiling"] == 11
    assert all_["answers"]["in_text"] == 1.0 and "short_answer" in all_["answers"]


def test_bm25_and_dense_baselines_are_in_the_same_run(sample_run: EvalRun) -> None:
    assert sample_run.meta["retrieval_mode"] == "hybrid"
    baselines = sample_run.sections["all"]["baselines"]
    assert set(baselines) == {"rrf", "dense", "bm25"}
    for mode in ("rrf", "dense", "bm25"):
        article = baselines[mode]["retrieval"]["article"]
        assert article["questions"] == 11 and 0 < article["hit@5"] <= 1 and len(article["curve"]["recall"]) == 20
    milley = next(r for r in sample_run.results if r.id == "seed-01")
    assert set(milley.baselines) == {"rrf", "dense", "bm25"} and milley.baselines["bm25"].chunks
    markdown = (sample_run.report_dir / "report.md").read_text(encoding="utf-8")  # type: ignore[operator]
    assert "| article | bm25 | 11 |" in markdown and "| chunk | dense | 11 |" in markdown


def test_report_folder_holds_markdown_html_and_metrics(sample_run: EvalRun) -> None:
    folder = sample_run.report_dir
    assert folder is not None
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["headline"]["answers.contains"] == sample_run.headline()["answers.contains"]
    assert metrics["run"]["questions"] == 12
    assert metrics["groups"]["all"]["retrieval"]["article"]["curve"]["k"][-1] == 20
    assert len((folder / "results.jsonl").read_text(encoding="utf-8").splitlines()) == 12
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    assert "## Headline" in markdown and "| seed-03 | all | pass |" in markdown
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 5  # recall@k and hit@k curves at article and chunk level, latency histogram
    assert html.count('<tr class="q"') == 12 and "<mark>" in html and "7,423" in html
    # exact_match beside contains is explained where both are shown
    answers = sample_run.sections["all"]["answers"]
    assert answers["exact_match"] < answers["contains"]
    explanation = "newsrag answers in sentences quoted from the articles, so exact_match stays near 0"
    assert explanation in markdown and explanation in html
    # self-contained: nothing is loaded from anywhere
    assert not re.search(r"<(script|img|link|iframe)[^>]+(src|href)=", html)


def test_a_question_that_raises_is_counted_failed_and_the_run_goes_on(sample_store: Path, tmp_path: Path) -> None:
    questions = tmp_path / "q.jsonl"
    rows = [{"id": "long", "question": "why " * 600, "answers": ["x"]},
            {"id": "ok", "question": "How many bombs did the US drop on Afghanistan in 2019?", "answers": ["7,423"]}]
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    run = evaluate(questions, store=sample_store, baselines=False)
    assert run.sections["all"]["failed"] == 1 and run.sections["all"]["questions"] == 2
    failed, ok = run.results
    assert failed.error and "QueryError" in failed.error and "limit" in failed.error and not failed.passed
    assert ok.passed and run.sections["all"]["answers"]["questions"] == 1  # failed questions are not scored


def test_cli_gate_compare_and_flipped_questions(sample_run: EvalRun, sample_store: Path, tmp_path: Path) -> None:
    flipped = next(r.id for r in sample_run.results if r.passed and r.answerable and r.answers and not r.choices)
    rows = [json.loads(line) for line in shared_path("sample", "questions.jsonl").read_text().splitlines() if line]
    for row in rows:
        if row["id"] == flipped:
            row["answers"] = ["9,999"]  # a wrong expectation: the question now fails
    changed = tmp_path / "questions.jsonl"
    changed.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    before = sample_run.headline()["answers.contains"]
    scored = sample_run.sections["all"]["answers"]["questions"]
    strict = tmp_path / "strict.toml"
    strict.write_text(f'[strict.min]\n"answers.contains" = {before}\n', encoding="utf-8")
    report = tmp_path / "after"
    result = run_cli("eval", str(changed), "--store", str(sample_store), "--no-ingest", "--report", str(report),
                     "--json", "--gate", f"{strict}:strict")
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    after = data["headline"]["answers.contains"]
    assert after == pytest.approx(before - 1 / scored, abs=1e-4)
    assert f"gate: answers.contains = {after:.4g} < min {before:g}" in result.stderr
    compared = run_cli("eval", "compare", str(sample_run.report_dir), str(report))
    assert compared.returncode == 0, compared.stderr
    assert re.search(rf"answers\.contains\s+{before:.3f}\s+{after:.3f}\s+-{1 / scored:.3f} worse", compared.stdout)
    assert f"now fail (1):\n  {flipped} [pass -> fail]" in compared.stdout
    as_json = json.loads(run_cli("eval", "compare", str(sample_run.report_dir), str(report), "--json").stdout)
    assert [f["id"] for f in as_json["flips"]] == [flipped]


def test_eval_compare_is_a_subcommand_even_beside_a_file_named_compare(sample_run: EvalRun, sample_store: Path,
                                                                      tmp_path: Path) -> None:
    """`eval compare` always compares (it used to evaluate a question file named `compare` in the working
    folder instead); that file is evaluated as `./compare`."""
    questions = shared_path("sample", "questions.jsonl").read_text(encoding="utf-8")
    (tmp_path / "compare").write_text(questions, encoding="utf-8")
    run = str(sample_run.report_dir)
    compared = run_cli("eval", "compare", run, run, "--json", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["flips"] == []
    alone = run_cli("eval", "compare", cwd=tmp_path)
    assert alone.returncode == 2 and alone.stdout == ""
    assert alone.stderr.strip() == ("newsrag eval compare: error: the following arguments are required: RUN_A, RUN_B "
                                    "(see newsrag eval compare --help)")
    one = run_cli("eval", "compare", run, cwd=tmp_path)
    assert one.returncode == 2 and "required: RUN_B" in one.stderr and one.stderr.strip().count("\n") == 0
    helped = run_cli("eval", "compare", "--help", cwd=tmp_path)
    assert helped.returncode == 0 and helped.stdout.startswith("usage: newsrag eval compare [-h] [--json] RUN_A RUN_B")
    evaluated = run_cli("eval", "./compare", "--store", str(sample_store), "--no-ingest", "--no-baselines",
                        "--limit", "1", "--report", str(tmp_path / "report"), "--json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["run"]["questions"] == 1


def test_realtimeqa_layout_end_to_end_from_the_command_line(tmp_path: Path) -> None:
    folder = write_realtimeqa(tmp_path / "rtqa")
    report = tmp_path / "report"
    result = run_cli("eval", str(folder), "--format", "realtimeqa", "--report", str(report), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["run"]["articles"] == 3 and data["run"]["groups"] == ["qa", "nota"]
    qa, nota = data["groups"]["qa"], data["groups"]["nota"]
    assert qa["multiple_choice"]["accuracy"] == 1.0
    assert qa["retrieval"]["article"]["hit@1"] == 1.0 and qa["retrieval"]["answer_ceiling"] == 1.0
    abstention = nota["multiple_choice"]["abstention"]
    assert abstention["answer_removed"] == 1 and abstention["recall"] == 1.0 and abstention["precision"] == 1.0
    assert nota["multiple_choice"]["accuracy"] == 1.0
    # the _nota files repeat the questions: each text is asked once and timed once
    assert data["groups"]["all"]["latency_ms"]["total"]["n"] == 2 and nota["latency_ms"] == {}
    assert load_run(report).results[0].cited  # the run can be read back for compare


def test_rgb_counterfactual_answers_are_caught(tmp_path: Path) -> None:
    run = evaluate(write_rgb(tmp_path / "mini_fact.json"), baselines=False)
    assert run.meta["articles"] == 3 and not run.notes  # a passage opening with "Date: ..." is kept whole
    counterfactual = run.sections["all"]["counterfactual"]
    assert counterfactual["questions"] == 2
    # the extractive answerer quotes the passages, so it repeats the false claims they make
    assert counterfactual["repeats_wrong"] == 1.0 and counterfactual["correct"] == 0.0
    assert not any(r.passed for r in run.results)


def test_python_dash_m_eval_and_bad_input_give_one_line(tmp_path: Path, sample_store: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    helped = subprocess.run([sys.executable, "-m", "eval", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert helped.returncode == 0 and "compare RUN_A RUN_B" in helped.stdout
    missing = run_cli("eval", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0
    assert "no such question file" in missing.stderr
    not_a_run = run_cli("eval", "compare", str(tmp_path), str(tmp_path))
    assert not_a_run.returncode == 2 and "not an eval report folder" in not_a_run.stderr
    questions = str(shared_path("sample", "questions.jsonl"))
    bad_answerer = run_cli("eval", questions, "--store", str(sample_store), "--no-ingest", "--answerer", "nope")
    assert bad_answerer.returncode == 2 and "answerer 'nope' is unknown" in bad_answerer.stderr
    assert bad_answerer.stderr.strip().count("\n") == 0


def test_llm_answerer_is_scored_over_real_http(sample_store: Path, tmp_path: Path, llm) -> None:  # type: ignore[no-untyped-def]
    from rag.settings import Settings

    llm.script("7,423 [1].", when="How many bombs")
    llm.script("Milley said the Taliban will land on the Moon [1].", when="What did Milley say")
    questions = tmp_path / "q.jsonl"
    rows = [{"id": "bombs", "question": "How many bombs did the US drop on Afghanistan in 2019?", "answers": ["7,423"],
             "evidence": ["In 2019, the US dropped 7,423 bombs on Afghanistan"]},
            {"id": "milley", "question": "What did Milley say about ISIS-K?", "answers": ["it's possible"]}]
    questions.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    settings = Settings(llm_base_url=llm.base_url, llm_model="scripted")
    run = evaluate(questions, store=sample_store, answerer="llm", settings=settings, baselines=False)
    assert run.meta["answerer"] == "llm" and len(llm.prompts) == 2
    bombs, milley = run.results
    assert bombs.exact_match == 1.0 and bombs.f1 == 1.0 and bombs.passed  # a short answer can match exactly
    assert bombs.citations.valid == 1 and bombs.citations.evidence
    # newsrag's verifier finds no passage for the made-up claim and refuses: a false refusal, scored 0
    assert milley.refused and not milley.passed and milley.contains == 0.0
    assert run.sections["all"]["refusal"]["false_refusal_rate"] == 0.5


def test_the_recent_ceiling_counts_answers_in_the_question_s_own_articles_of_its_last_ten_days(tmp_path: Path) -> None:
    folder = write_realtimeqa(tmp_path / "rtqa")
    week = folder / "20250110_qa.jsonl"  # the ferry question asked six weeks after the ferry article
    week.write_text(week.read_text(encoding="utf-8").replace("2025/01/10", "2025/02/20"), encoding="utf-8")
    result = run_cli("eval", str(folder), "--format", "realtimeqa", "--as-of", "question", "--no-baselines", "--json")
    assert result.returncode == 0, result.stderr
    qa = json.loads(result.stdout)["groups"]["qa"]
    assert qa["retrieval"]["within_ceiling"] == 2 and qa["retrieval"]["within_recent"] == 1
    assert qa["answers"]["within_recent"] == 1 and qa["answers"]["in_text_recent"] == 1.0
