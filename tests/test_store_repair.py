"""Damaged stores: detected before Chroma's native code can crash on them, and rebuilt by `newsrag repair`.

The fixture is the real store that issue 15's scenario broke (Chroma 1.5.9): its vector index has
upper-level links to vectors without that level, and `newsrag ask` on it used to die with SIGSEGV.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from rag.store.chroma_sqlite import ChromaSqlite
from tests.conftest import ROOT, run_cli, shared_path
from tests.ui_harness import copy_store

QUESTIONS = {  # question -> the article it must cite
    "Why did the passport office in St. Albans end walk-in service?": "28350b9d602988ee",  # re-ingested at the crash
    "How much new Medicaid money will the Delaware hospital tax bring?": "0cfc117f7eb5667e",
    "How many third-graders in Delaware struggle to read?": "173190d71eaeb269",
}


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The damaged store, unpacked once (31 MB); tests copy it."""
    folder = tmp_path_factory.mktemp("broken")
    with tarfile.open(shared_path("fixtures", "broken-store.tar.gz")) as archive:
        archive.extractall(folder, filter="data")
    return folder / "broken-store"


def _registry_count(store: Path) -> int:
    db = ChromaSqlite(store / "chroma" / "chroma.sqlite3")
    try:
        return len(db.record_ids(db.collections()["newsrag-articles"].metadata_segment))
    finally:
        db.close()


def _one_error(result, code: int = 3) -> str:  # type: ignore[no-untyped-def]
    assert result.returncode == code, (result.returncode, result.stderr)
    (line,) = result.stderr.strip().splitlines()
    return str(line)


def test_a_damaged_index_is_one_error_naming_repair_not_a_segfault(broken: Path, tmp_path: Path) -> None:
    store = copy_store(broken, tmp_path / "store")
    question = next(iter(QUESTIONS))
    for command in (["ask", question], ["status"], ["ingest", str(tmp_path)]):
        line = _one_error(run_cli(*command, "--store", str(store)))
        assert "is damaged" in line and f"newsrag repair --store {store}" in line, line
        assert "level-1 link" in line


@pytest.mark.slow
def test_repair_rebuilds_the_broken_fixture_and_answers_cite_its_articles(broken: Path, tmp_path: Path) -> None:
    store = copy_store(broken, tmp_path / "store")
    articles = _registry_count(store)
    repaired = run_cli("repair", "--store", str(store), "--json")
    assert repaired.returncode == 0, repaired.stderr
    report = json.loads(repaired.stdout)
    assert report["articles"] == articles == 99 and report["chunks"] == 2041 and report["lost"] == []
    assert report["salvaged_vectors"] + report["embedded"] == 2041
    assert Path(report["damaged_copy"]).is_dir()  # the damaged files are kept beside the repaired store

    status = json.loads(run_cli("status", "--store", str(store), "--json").stdout)
    assert status["articles"] == articles and status["chunks"] == 2041
    for question, article_id in QUESTIONS.items():
        result = run_cli("ask", question, "--store", str(store), "--json")
        assert result.returncode == 0, result.stderr
        answer = json.loads(result.stdout)
        cited = {answer["sources"][c["source_index"]]["article_id"] for c in answer["citations"]}
        assert cited == {article_id}, (question, answer["answer"])

    again = run_cli("repair", "--store", str(store))  # idempotent: a sound store is left alone
    assert again.returncode == 0 and "is sound; nothing to repair" in again.stdout, again.stderr


def test_a_repair_killed_between_its_two_renames_is_finished_by_the_next_open(broken: Path, tmp_path: Path) -> None:
    store = copy_store(broken, tmp_path / "store")
    killed = subprocess.run([sys.executable, "-m", "tests.crashpoint", "swap-rename:2", "repair", "--store", str(store)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr
    assert not (store / "chroma").exists() and (store / "chroma.new").is_dir()  # cut at the worst moment
    status = run_cli("status", "--store", str(store), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["articles"] == 99
    assert sorted(p.name.split("-")[0] for p in store.iterdir() if p.name.startswith("chroma")) == [
        "chroma", "chroma.damaged"]


@pytest.mark.parametrize("where", ["header", "middle"])
def test_scrambled_sqlite_bytes_give_the_repair_message(sample_store: Path, tmp_path: Path, where: str) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    shutil.rmtree(store / "bm25", ignore_errors=True)
    database = store / "chroma" / "chroma.sqlite3"
    data = bytearray(database.read_bytes())
    offset = 0 if where == "header" else len(data) // 2
    data[offset : offset + 4096] = bytes((i * 37 + 11) % 256 for i in range(4096))
    database.write_bytes(bytes(data))

    line = _one_error(run_cli("ask", "What did Milley say about ISIS-K?", "--store", str(store)))
    assert "is damaged" in line and "newsrag repair --store" in line, line
    repaired = run_cli("repair", "--store", str(store))
    if where == "header":  # nothing can be read: said in one line, with what to do instead
        line = _one_error(repaired)
        assert "nothing in the store" in line and "newsrag restore" in line
        return
    assert repaired.returncode == 0, repaired.stderr
    status = run_cli("status", "--store", str(store), "--json")
    assert status.returncode == 0, status.stderr
    lost = repaired.stderr.count("lost ")
    assert json.loads(status.stdout)["articles"] + lost >= 1
