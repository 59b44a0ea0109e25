"""Crash safety with a real SIGKILL mid-ingest, and the same ingest/query flow against a `chroma run` server."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import index
from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import ISIS_K_TITLE, ROOT, SAMPLES, let_go, run_cli

WORDS = sorted({w.strip(".,;:!?\"“”’'()").lower() for p in SAMPLES.iterdir()
                for w in p.read_text(encoding="utf-8").split() if w.isalpha()})


def _synthetic_corpus(folder: Path, articles: int = 20, sentences: int = 30) -> Path:
    """Distinct articles of random sample-vocabulary sentences (several chunks each, no near-duplicates)."""
    rng = random.Random(7)
    folder.mkdir()
    for n in range(articles):
        body = " ".join(" ".join(rng.choices(WORDS, k=rng.randint(8, 18))).capitalize() + "." for _ in range(sentences))
        (folder / f"article-{n:03d}.txt").write_text(f"Title: Synthetic Report Number {n}\n\n{body}\n", encoding="utf-8")
    return folder


def _snapshot(store: Path, **settings: object) -> tuple[dict[str, str], dict[str, str]]:
    """Every stored chunk (id -> text) and every registry record (id -> content hash)."""
    chroma = Store(Settings(store=store, **settings))
    chunks = chroma.chunks.get(include=["documents"])
    registry = {i: str(m["content_hash"]) for i, m in chroma.registry_records()}
    return dict(zip(chunks["ids"], chunks["documents"])), registry


def _ingest_command(corpus: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "ingest", str(corpus), "--store", str(store), "--progress", "lines"]


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    corpus = _synthetic_corpus(tmp_path / "corpus")
    killed_store, clean_store = tmp_path / "killed", tmp_path / "clean"
    process = subprocess.Popen(_ingest_command(corpus, killed_store), cwd=ROOT, stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    written = 0
    for line in process.stderr:
        if "articles," in line and "chunks" in line:
            written += 1
            if written == 5:
                os.kill(process.pid, signal.SIGKILL)
                break
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    partial, _ = _snapshot(killed_store)
    assert partial, "nothing was committed before the kill"

    let_go()
    rerun = subprocess.run(_ingest_command(corpus, killed_store)[:-2] + ["--json"], cwd=ROOT, capture_output=True,
                           text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["unchanged"] >= 4
    assert index.ingest([corpus], store=clean_store).ok  # the same pipeline in this process: no third cold start
    assert _snapshot(killed_store) == _snapshot(clean_store)
    assert len(_snapshot(clean_store)[1]) == 20


@pytest.mark.slow
def test_ingest_ask_list_remove_against_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    args = ["--chroma-url", chroma_url, "--store", str(tmp_path), "--collection", "server-test"]
    first = run_cli("ingest", str(SAMPLES), *args, "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == 8
    again = json.loads(run_cli("ingest", str(SAMPLES), *args, "--json").stdout)
    assert (again["unchanged"], again["chunks"]) == (8, 0)

    answer = run_cli("ask", "What did Milley say about ISIS-K?", *args, "--json")
    assert answer.returncode == 0, answer.stderr
    data = json.loads(answer.stdout)
    assert not data["refused"] and data["sources"][0]["title"] == ISIS_K_TITLE
    assert "it’s possible" in data["sources"][0]["text"]

    listing = json.loads(run_cli("list", *args, "--json").stdout)
    assert len(listing) == 8
    target = next(a for a in listing if a["title"] == ISIS_K_TITLE)
    removed = run_cli("remove", target["article_id"], *args)
    assert removed.returncode == 0 and "1 removed" in removed.stdout
    chunks, registry = _snapshot(tmp_path, chroma_url=chroma_url, collection="server-test")
    assert len(registry) == 7 and not any(i.startswith(target["article_id"]) for i in chunks)
