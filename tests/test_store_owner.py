"""One owner per embedded store: `newsrag serve` owns its store, other newsrag processes go through it.

The scenario of issue 15 (a server under load while another process re-ingests changed articles into
the same embedded store, which crashed Chroma's native code and left the store unreadable) runs here
for real, three rounds, and the store stays whole.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.settings import Settings
from rag.store import ownership
from rag.store.collection import Store
from tests.conftest import ROOT, run_cli, shared_path
from tests.load import run_load
from tests.servers import free_port
from tests.ui_harness import copy_store, running

FERRY = ("Title: Harbour Ferry Changes Its Timetable\nDate: 2024-05-0{round}\nSource: tarn-courier.example\n\n"
         "From round {round} of the timetable the Harbour ferry leaves Kessel pier at {hour}:15 every weekday. "
         "The crossing to Morrow Point takes {minutes} minutes, the harbour master said. "
         "Passengers with bicycles board first at the {colour} gate.\n")
COLOURS = ("amber", "cobalt", "crimson")
FERRY_QUESTION = "At what time does the Harbour ferry leave Kessel pier every weekday?"


def _ferry(round_: int) -> str:
    return FERRY.format(round=round_, hour=6 + round_, minutes=20 + round_, colour=COLOURS[round_ - 1])


@pytest.mark.slow
def test_serve_under_load_while_another_process_ingests_updates_three_rounds(
    sample_store: Path, sample_questions: list[dict], tmp_path: Path,
) -> None:
    """The reproduction of issue 15: no 5xx, the server lives, the store is whole and answers afterwards."""
    store = copy_store(sample_store, tmp_path / "store")
    article = tmp_path / "harbour-ferry.txt"
    port = free_port()
    questions = [q["question"] for q in sample_questions] + [FERRY_QUESTION]
    with running(["serve", "--store", str(store), "--port", str(port)], f"http://127.0.0.1:{port}/v1/health",
                 log=tmp_path / "server.log"):
        stop = threading.Event()
        results = []
        load = threading.Thread(target=lambda: results.append(
            run_load(f"http://127.0.0.1:{port}", questions, clients=6, seconds=600, stop=stop)))
        load.start()
        try:
            for round_ in (1, 2, 3):
                article.write_text(_ferry(round_), encoding="utf-8")
                ingest = run_cli("ingest", str(article), "--store", str(store))
                assert ingest.returncode == 0, ingest.stderr
                assert "through `newsrag serve`" in ingest.stdout and ("1 added" if round_ == 1 else "1 updated") \
                    in ingest.stdout, ingest.stdout
                time.sleep(1)  # answers keep coming while the new version is served
        finally:
            stop.set()
            load.join(timeout=300)
        (result,) = results
        print(f"\nowner load: {result.summary()}", flush=True)
        assert result.errors == [], result.errors[:5]  # no 5xx, no refused connection: the server never died
        assert result.requests >= 12

        status = run_cli("status", "--store", str(store), "--json")  # read commands go through the owner too
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["articles"] == _articles(sample_store) + 1
    answer = run_cli("ask", FERRY_QUESTION, "--store", str(store), "--json")
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)
    cited = [data["sources"][c["source_index"]] for c in data["citations"]]
    assert cited and all("Harbour Ferry" in s["title"] for s in cited), data["answer"]
    assert "9:15" in data["answer"] and "crimson" in " ".join(s["text"] for s in cited)


def _articles(store: Path) -> int:
    from rag.store.backup import _counts

    return _counts(store / "chroma")["articles"]


@pytest.mark.slow
def test_commands_beside_a_serving_owner_go_through_it_and_a_backup_is_whole(
    sample_store: Path, tmp_path: Path,
) -> None:
    """list, rebuild, remove and backup while `newsrag serve` owns the store; the backup restores into a new store."""
    store = copy_store(sample_store, tmp_path / "store")
    port = free_port()
    with running(["serve", "--store", str(store), "--port", str(port)], f"http://127.0.0.1:{port}/v1/health",
                 log=tmp_path / "server.log"):
        holder = ownership.holder(store)
        assert holder is not None and holder.serving and holder.command == "newsrag serve"
        listed = run_cli("list", "--store", str(store), "--json")
        assert listed.returncode == 0, listed.stderr
        rows = json.loads(listed.stdout)
        assert len(rows) == _articles(sample_store) and all(r["origin"] for r in rows)
        rebuilt = run_cli("rebuild", "--store", str(store))  # the owner's build is the store's: nothing to do
        assert rebuilt.returncode == 0 and "nothing to rebuild" in rebuilt.stdout, rebuilt.stderr
        backup = run_cli("backup", str(tmp_path / "backup"), "--store", str(store))
        assert backup.returncode == 0 and "backed up" in backup.stdout, backup.stderr
        removed = run_cli("remove", rows[0]["article_id"], "--store", str(store))
        assert removed.returncode == 0 and "1 removed" in removed.stdout, removed.stderr
        refused = run_cli("eval", str(shared_path("sample", "questions.jsonl")), "--store", str(store), "--no-ingest")
        assert refused.returncode == 3 and "owned by `newsrag serve` (pid" in refused.stderr, refused.stderr
    restored = run_cli("restore", str(tmp_path / "backup"), "--store", str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stderr
    listed = run_cli("list", "--store", str(tmp_path / "restored"), "--json")
    assert {r["article_id"] for r in json.loads(listed.stdout)} == {r["article_id"] for r in rows}


def _newsrag(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`newsrag ARGS` in another process while this one keeps the stores it holds (unlike `run_cli`)."""
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def test_a_long_lived_owner_without_an_api_refuses_other_writers_at_once(sample_store: Path, tmp_path: Path) -> None:
    """An owner that takes no commands (`newsrag ui`, or a program using the library) is named, not waited for."""
    store = copy_store(sample_store, tmp_path / "store")
    held = Store(Settings(store=store))
    ownership.advertise(store, "http://127.0.0.1:7860", None, "newsrag ui")
    try:
        started = time.monotonic()
        result = _newsrag("ingest", str(ROOT / "samples" / "articles"), "--store", str(store))
        assert result.returncode == 3 and time.monotonic() - started < 60
        (line,) = result.stderr.strip().splitlines()
        assert "owned by `newsrag ui`" in line and "http://127.0.0.1:7860" in line and "newsrag serve" in line
    finally:
        held.close()
    assert run_cli("status", "--store", str(store)).returncode == 0  # released: the next process opens it


def test_a_command_waits_for_a_short_lived_holder_then_says_who(sample_store: Path, tmp_path: Path) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    held = Store(Settings(store=store))
    try:
        result = _newsrag("status", "--store", str(store), env={"NEWSRAG_STORE_WAIT_SECONDS": "1"})
    finally:
        held.close()
    assert result.returncode == 3
    # the holder is this process, by its command (`pytest`, or `-c` in a pytest-xdist worker) and its pid
    assert re.search(rf"in use by `[^`]+` \(pid {os.getpid()}, since ", result.stderr), result.stderr
    assert "stayed busy for 1 s" in result.stderr, result.stderr


@pytest.mark.slow
def test_two_processes_creating_a_new_store_at_the_same_moment_both_succeed(tmp_path: Path) -> None:
    """Store creation is serialised by the store lock: no "table collections already exists"."""
    article = ROOT / "samples" / "articles"
    for attempt in range(3):
        store = tmp_path / f"new-{attempt}"
        runs = [subprocess.Popen([sys.executable, "-m", "ui.cli", "ingest", str(article), "--store", str(store),
                                  "--json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
        reports = []
        for run in runs:
            out, err = run.communicate(timeout=300)
            assert run.returncode == 0, err
            reports.append(json.loads(out))
        assert {r["added"] + r["unchanged"] for r in reports} == {sum(r["added"] for r in reports)} != {0}


@pytest.mark.parametrize("command", [["ask", "What did Milley say?"], ["status"], ["list"]])
def test_a_read_command_never_creates_a_store(command: list[str], tmp_path: Path) -> None:
    """A mistyped --store is one error naming the path and how to make a store; nothing is created."""
    missing, empty = tmp_path / "mistyped", tmp_path / "empty"
    empty.mkdir()
    for store in (missing, empty):
        result = run_cli(*command, "--store", str(store))
        assert result.returncode == 3
        (line,) = result.stderr.strip().splitlines()
        assert f"no newsrag store at {store}" in line and "newsrag ingest" in line and "--store" in line
    assert not missing.exists() and list(empty.iterdir()) == []
