"""The command line, the layering contract and the minimal chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert f"Contracts: {len(declared)} kept, 0 broken" in result.stdout


def test_importing_newsrag_turns_off_the_hub_and_every_telemetry() -> None:
    code = ("import os, index; print(os.environ['HF_HUB_OFFLINE'], os.environ['ANONYMIZED_TELEMETRY'], "
            "os.environ['GRADIO_ANALYTICS_ENABLED'])")
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["1", "False", "False"], result.stderr

def test_ruff_finds_nothing_under_the_configured_rules() -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "rag", "index", "ui", "eval", "tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr

@pytest.mark.slow
def test_the_code_type_checks() -> None:
    """mypy (with the pydantic plugin, so Settings calls are checked) finds no error in the packages."""
    result = subprocess.run([sys.executable, "-m", "mypy", "rag", "index", "ui", "eval"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_ask_json_has_the_documented_fields(sample_store: Path) -> None:
    result = run_cli("ask", "What did Milley say about ISIS-K?", "--store", str(sample_store), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"answer", "refused", "citations", "sources"}
    assert data["refused"] is False and "[1]" in data["answer"]
    assert data["citations"][0]["marker"] == 1 and data["citations"][0]["source_index"] == 0
    source = data["sources"][0]
    assert set(source) >= {"chunk_id", "article_id", "title", "url", "date", "text", "start", "end", "score"}
    assert "it’s possible" in source["text"]


def test_status_json(sample_store: Path) -> None:
    result = run_cli("status", "--store", str(sample_store), "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["articles"] == 8 and status["chunks"] > 8
    assert status["model"] == "all-MiniLM-L6-v2" and status["store"] == str(sample_store)


def test_the_store_options_may_come_before_the_command(sample_store: Path, tmp_path: Path) -> None:
    before = run_cli("--store", str(sample_store), "status", "--json")
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout)["store"] == json.loads(run_cli("status", "--store", str(sample_store),
                                                                       "--json").stdout)["store"]
    own = run_cli("--store", str(tmp_path / "elsewhere"), "status", "--store", str(sample_store), "--json")
    assert own.returncode == 0 and json.loads(own.stdout)["articles"] > 0  # the command's own option wins


def test_bad_date_filter_is_one_clear_error(sample_store: Path) -> None:
    result = run_cli("ask", "anything", "--store", str(sample_store), "--since", "yesterday")
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and "YYYY-MM-DD" in result.stderr


def test_an_unquoted_question_gets_a_hint_to_quote_it() -> None:
    result = run_cli("ask", "What", "did", "Milley", "say", "about", "ISIS-K?", "--json")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "unrecognized arguments: did Milley say about ISIS-K?; put the question in quotes, " \
           'e.g. newsrag ask "What did Milley say about ISIS-K?"' in line


def test_each_python_dash_m_entry_point_describes_itself() -> None:
    described = {}
    for package in ("index", "rag"):
        result = subprocess.run([sys.executable, "-m", package, "--help"], cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        described[package] = result.stdout
    assert "Add news articles to the store" in described["index"] and "Ask questions" not in described["index"]
    assert "ingest" in described["index"] and "ask" in described["rag"] and "Ask questions" in described["rag"]


def test_make_run_and_the_readme_commands_use_one_store() -> None:
    """`make run` ingests into the store a bare `newsrag ask` reads, and no README command names another."""
    import shutil

    import pytest

    if not shutil.which("make"):
        pytest.skip("make is not installed")
    dry = subprocess.run(["make", "-n", "-s", "run"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    commands = [line for line in dry.stdout.splitlines() if "bin/newsrag " in line]
    assert len(commands) == 2 and not any("--store" in c for c in commands), dry.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "--store .newsrag" not in readme and 'store=".newsrag"' not in readme


def test_chat_renders_highlighted_sources(assistant) -> None:
    from ui.chat import build_chat
    from ui.render import answer_markdown

    html = answer_markdown(assistant.ask("What did Milley say about ISIS-K?"))
    assert "<mark" in html and "it’s possible" in html and "news.antiwar.com" in html
    assert build_chat(assistant) is not None
