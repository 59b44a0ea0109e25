"""Re-embedding as a first-class operation (index.rebuild, rag.store.build), on copies of the sample store.

A store records the build settings its chunks were made with and `status` shows them; a change of chunk_tokens
rebuilds every stored article from its stored text (same articles and ids, other chunks) through the Python API,
`newsrag rebuild` and `newsrag ingest`; a store without a record (an older newsrag) is checked article by
article; a rebuild killed half-way is known as unfinished and the next run completes it without loss or doubles.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

import index
from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import ISIS_K_TITLE, ROOT, SAMPLES, let_go, run_cli
from tests.servers import uvicorn_server
from tests.ui_harness import copy_store

MILLEY = "What did Milley say about ISIS-K?"
SMALL = 60  # chunk_tokens of the rebuilt stores (the default is 120)


def _copy(sample_store: Path, target: Path) -> Path:
    let_go()  # the session's Store of the sample store lets go, so its files are whole on disk
    return copy_store(sample_store, target)


def _state(store: Path, **settings: Any) -> dict[str, Any]:
    """Articles (id -> version, chunk count) and every chunk as the store holds them; checks nothing is orphaned."""
    chroma = Store(Settings(store=store, **settings))
    records = dict(chroma.registry_records())
    got = chroma.chunks.get(include=["metadatas", "documents"])
    texts = chroma.article_texts(list(records))
    for chunk_id, meta, text in zip(got["ids"], got["metadatas"], got["documents"]):
        assert records[meta["article_id"]]["version"] == meta["version"], f"orphan or old chunk {chunk_id}"
        assert text == texts[meta["article_id"]][meta["start"] : meta["end"]], chunk_id
    for article_id, meta in records.items():
        indexes = sorted(m["chunk_index"] for m in got["metadatas"] if m["article_id"] == article_id)
        assert indexes == list(range(meta["chunks"])), f"{article_id}: chunks missing or doubled"
    return {"versions": {i: m["version"] for i, m in records.items()}, "chunks": sorted(got["ids"]),
            "hashes": {i: m["content_hash"] for i, m in records.items()}, "build": chroma.build_state()}


@pytest.fixture(scope="module")
def original(sample_store: Path) -> dict[str, Any]:
    let_go()
    return _state(sample_store)


@pytest.fixture(scope="module")
def rebuilt(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A copy of the sample store rebuilt with chunk_tokens 60 through the Python API."""
    store = _copy(sample_store, tmp_path_factory.mktemp("rebuilt") / "store")
    report = index.rebuild(store=store, settings=Settings(chunk_tokens=SMALL))
    return store, report


def test_status_shows_the_build_settings(assistant) -> None:  # type: ignore[no-untyped-def]
    status = assistant.status()
    assert status["build"] == {"chunker": "2", "embedding_model": "all-MiniLM-L6-v2", "max_seq_length": 128,
                               "chunk_tokens": 120, "chunk_overlap_sentences": 0, "embed_title": False,
                               "dimension": 384}
    assert status["build_state"].startswith("current")


def test_a_rebuild_rechunks_every_article_from_its_stored_text(rebuilt, original) -> None:  # type: ignore[no-untyped-def]
    store, report = rebuilt
    after = _state(store, chunk_tokens=SMALL)
    assert report.changes == [f"chunk_tokens 120 -> {SMALL}"]
    assert (report.articles, report.rebuilt, report.current) == (8, 8, 0)
    assert set(after["versions"]) == set(original["versions"])  # the same articles, by id
    assert all(after["versions"][i] != v for i, v in original["versions"].items())  # each in a new version
    assert len(after["chunks"]) > len(original["chunks"]) and report.chunks_after == len(after["chunks"])
    assert after["build"].current and after["build"].built["chunk_tokens"] == SMALL


def test_reingest_and_rebuild_with_the_same_settings_change_nothing(rebuilt) -> None:  # type: ignore[no-untyped-def]
    store, _ = rebuilt
    before = _state(store, chunk_tokens=SMALL)
    again = index.rebuild(store=store, settings=Settings(chunk_tokens=SMALL))
    report = index.ingest([SAMPLES], store=store, settings=Settings(chunk_tokens=SMALL))
    assert (again.rebuilt, report.rebuilt, report.unchanged, report.chunks) == (0, 0, 8, 0)
    assert "nothing to rebuild" in again.summary()
    assert _state(store, chunk_tokens=SMALL)["chunks"] == before["chunks"]


def test_answers_from_a_store_built_with_other_settings_say_so(rebuilt, assistant, caplog) -> None:  # type: ignore[no-untyped-def]
    from rag.composition import compose
    from ui.http.app import create_app

    store, _ = rebuilt
    settings = assistant.settings.with_overrides(store=store)  # chunk_tokens 120 runs; the store has 60
    with caplog.at_level(logging.WARNING):
        other = compose(settings, Store(settings), assistant.embedder)
    assert any(f"chunk_tokens {SMALL} -> 120" in r.getMessage() for r in caplog.records)
    with uvicorn_server(create_app(other)) as url:  # the HTTP health route shows it too
        health = httpx.get(f"{url}/v1/health", timeout=30).json()
    assert health["build"]["chunk_tokens"] == SMALL and health["build_state"].startswith("differs from the running")
    answer = other.ask(MILLEY)
    assert not answer.refused and answer.cited_sources[0].title == ISIS_K_TITLE


def test_a_store_without_a_build_record_is_checked_and_recorded(sample_store: Path, original, tmp_path: Path) -> None:
    """An older newsrag recorded no build and no comments_start: the next ingest finds every article current
    (the ISIS-K story's comments found from its chunks), embeds nothing and records the build."""
    store = _copy(sample_store, tmp_path / "store")
    chroma = Store(Settings(store=store))
    chroma.chunks.modify(metadata={k: v for k, v in chroma.store_metadata().items() if k != "build"})
    records = dict(chroma.registry_records())
    assert any(m["comments_start"] >= 0 for m in records.values())  # the sample set has reader comments
    chroma.registry.update(ids=list(records), metadatas=[{k: v for k, v in m.items() if k != "comments_start"}
                                                         for m in records.values()])
    assert chroma.build_state().built is None and not chroma.build_state().current
    report = index.ingest([SAMPLES], store=store)
    assert (report.rebuilt, report.unchanged, report.chunks) == (0, 8, 0)
    assert report.summary().startswith("0 stored articles rebuilt (build not recorded)")
    after = _state(store)
    assert after["chunks"] == original["chunks"] and after["build"].current


def _crash(point: str, *command: str, env: dict[str, str]) -> None:
    let_go()
    result = subprocess.run([sys.executable, "-m", "tests.crashpoint", point, *command], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == -signal.SIGKILL, f"not killed at {point}: {result.returncode} {result.stderr[-2000:]}"


def test_a_rebuild_killed_half_way_is_known_and_finished_by_the_next_ingest(  # type: ignore[no-untyped-def]
        sample_store: Path, rebuilt, original, tmp_path: Path) -> None:
    import os

    store = _copy(sample_store, tmp_path / "store")
    env = {**os.environ, "NEWSRAG_CHUNK_TOKENS": str(SMALL)}
    _crash("chunk-delete:3", "rebuild", "--store", str(store), env=env)  # before the 3rd article's old chunks go

    status = run_cli("status", "--store", str(store), "--json", env=env)  # opening repairs the dead writer's orphans
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert shown["articles"] == 8 and "cut short" in shown["build_state"] and shown["build"]["chunk_tokens"] == 120
    let_go()
    mixed = _state(store, chunk_tokens=SMALL)  # each article whole, in its old or its new build
    assert sum(v != original["versions"][i] for i, v in mixed["versions"].items()) == 3

    done = run_cli("ingest", str(SAMPLES), "--store", str(store), env=env)
    assert done.returncode == 0, done.stderr
    assert "unfinished rebuild" in done.stderr and "5 stored articles rebuilt" in done.stdout, done.stdout
    let_go()
    finished = _state(store, chunk_tokens=SMALL)
    assert finished["chunks"] == _state(rebuilt[0], chunk_tokens=SMALL)["chunks"]  # as if never interrupted
    assert finished["build"].current
