"""SIGKILL in the middle of `newsrag remove` and of the BM25 index save, at exact points (tests/crashpoint.py).

After each kill the next open recovers: the article registry, the Chroma chunks and the BM25 index agree
(the same chunk ids), no chunk is orphaned or duplicated, the BM25 file on disk is whole, and answers cite.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rag.retrieval.bm25 import BM25Index
from rag.retrieval.lexical import LexicalIndex, index_path, read_saved
from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import ISIS_K_TITLE, ROOT, let_go, run_cli
from tests.ui_harness import copy_store

MILLEY = "What did Milley say about ISIS-K?"
FERRY, BANK = "Solar-Powered Ferry", "Bank of Eastland"
NOTE = "Title: Kessel Dam Opens Two Gates\nDate: 2024-05-05\n\nThe Kessel dam opened two of its five gates on Sunday after three days of heavy rain.\n"


def _crash(point: str, *command: str) -> subprocess.CompletedProcess[str]:
    """Run `newsrag COMMAND` so that it SIGKILLs itself at `point`; assert it died there."""
    let_go()
    result = subprocess.run([sys.executable, "-m", "tests.crashpoint", point, *command], cwd=ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == -signal.SIGKILL, f"not killed at {point}: {result.returncode} {result.stderr[-2000:]}"
    return result


def _ids(store: Path, *title_starts: str) -> list[str]:
    articles = Store(Settings(store=store)).articles()
    return [next(a.article_id for a in articles if a.title.startswith(t)) for t in title_starts]


def _raw_state(store: Path) -> tuple[dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The registry and every chunk exactly as Chroma holds them, read without opening (and so repairing) the Store."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))
    registry = client.get_collection("newsrag-articles").get(include=["metadatas"])
    chunks = client.get_collection("newsrag").get(include=["metadatas"])
    return dict(zip(registry["ids"], registry["metadatas"])), list(zip(chunks["ids"], chunks["metadatas"]))


def _recovered(store: Path) -> tuple[dict[str, str], set[str]]:
    """Open the store as the next process would, and check it is consistent: returns (registry hashes, chunk ids)."""
    settings = Settings(store=store)
    chroma = Store(settings)  # opening repairs what the dead writer left
    assert chroma.journal.pending() is None, "the interrupted write was not recovered"
    registry = dict(chroma.registry_records())
    chunks = chroma.chunks.get(include=["metadatas"])
    per_article = Counter(m["article_id"] for m in chunks["metadatas"])
    for chunk_id, meta in zip(chunks["ids"], chunks["metadatas"]):  # no orphans: every chunk is a committed version
        assert meta["article_id"] in registry, f"orphan chunk {chunk_id}"
        assert registry[meta["article_id"]]["version"] == meta["version"], f"chunk of an old version {chunk_id}"
    for article_id, meta in registry.items():  # no duplicates or gaps: the registry's chunk count is what is stored
        assert per_article[article_id] == meta["chunks"], article_id
    lexical = LexicalIndex(settings)
    index = lexical.sync(chroma)
    assert set(index.chunk_ids.tolist()) == set(chunks["ids"]), "BM25 and Chroma disagree"
    assert len(index.chunk_ids) == len(set(index.chunk_ids.tolist()))
    saved = read_saved(settings)  # the file and its log on disk are whole and current
    assert saved is not None and BM25Index.from_bytes(index_path(settings).read_bytes())
    assert set(saved.chunk_ids.tolist()) == set(chunks["ids"]) and saved.meta["revision"] == chroma.revision()
    assert not list(index_path(settings).parent.glob("*.tmp")), "a dead writer's temp file was left behind"
    return {i: str(m["content_hash"]) for i, m in registry.items()}, set(chunks["ids"])


def _answers_cite(store: Path, assistant: Any) -> None:
    from rag.composition import compose

    settings = assistant.settings.with_overrides(store=store)
    answer = compose(settings, Store(settings), assistant.embedder).ask(MILLEY)
    assert not answer.refused and answer.citations and answer.cited_sources[0].title == ISIS_K_TITLE


@pytest.fixture(scope="module")
def cleanly_removed(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], set[str]]:
    """The store after `newsrag remove` of the ferry and bank stories ran to its end."""
    store = copy_store(sample_store, tmp_path_factory.mktemp("clean") / "store")
    done = run_cli("remove", *_ids(store, FERRY, BANK), "--store", str(store))
    assert done.returncode == 0 and "2 removed" in done.stdout, done.stderr
    return _recovered(store)


@pytest.mark.parametrize(("point", "records_gone", "chunks_gone"), [
    ("chunk-delete:1", 1, 0),  # the ferry's registry record is gone, its chunks not yet; the bank story untouched
    ("chunk-delete:2", 2, 1),  # the ferry is gone; the bank story's record too, its chunks not yet
    ("bm25-rename", 2, 2),  # Chroma is done; the new BM25 file is written but has not replaced the old one
    ("bm25-half", 2, 2),  # Chroma is done; the new BM25 file is half written
    ("bm25-append-half", 2, 2),  # Chroma is done; the BM25 log's new record is half written (a torn append)
])
def test_sigkill_during_remove_recovers(sample_store: Path, assistant, tmp_path: Path, cleanly_removed,  # type: ignore[no-untyped-def]
                                        point: str, records_gone: int, chunks_gone: int) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    targets = _ids(store, FERRY, BANK)
    _crash(point, "remove", *targets, "--store", str(store))

    registry, chunks = _raw_state(store)  # what the kill left, before anyone repairs it
    assert [t in registry for t in targets] == [False] * records_gone + [True] * (2 - records_gone)
    assert [any(m["article_id"] == t for _, m in chunks) for t in targets] == [False] * chunks_gone + [True] * (2 - chunks_gone)
    if point == "bm25-half":
        (half,) = index_path(Settings(store=store)).parent.glob("*.tmp")
        with pytest.raises(ValueError):  # had it been renamed into place, loading would refuse it
            BM25Index.from_bytes(half.read_bytes())

    hashes, chunk_ids = _recovered(store)  # consistent, and holding exactly the records that survived the kill
    clean_hashes, clean_chunks = cleanly_removed
    assert set(hashes) == set(clean_hashes) | set(targets[records_gone:])
    assert {c for c in chunk_ids if c.split(":")[0] not in targets} == clean_chunks
    _answers_cite(store, assistant)
    again = run_cli("remove", *targets, "--store", str(store))  # the user runs the command again
    assert "no stored article has this id" in again.stderr and f"{2 - records_gone} removed" in again.stdout, again.stderr
    assert _recovered(store) == cleanly_removed  # the removal the user asked for, and nothing else


@pytest.mark.parametrize("point", ["bm25-rename", "bm25-half", "bm25-append-half"])
def test_sigkill_during_the_bm25_save_of_an_ingest_recovers(sample_store: Path, assistant, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                             point: str) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    note = tmp_path / "dam.txt"
    note.write_text(NOTE, encoding="utf-8")
    _crash(point, "ingest", str(note), "--store", str(store))

    _recovered(store)
    articles = Store(Settings(store=store)).articles()
    assert len(articles) == 9 and any(a.title == "Kessel Dam Opens Two Gates" for a in articles)  # committed before the kill
    rerun = run_cli("ingest", str(note), "--store", str(store), "--json")
    assert rerun.returncode == 0 and '"unchanged": 1' in rerun.stdout, rerun.stderr
    from rag.composition import compose

    settings = assistant.settings.with_overrides(store=store)
    recovered = compose(settings, Store(settings), assistant.embedder)
    answer = recovered.ask("How many gates did the Kessel dam open?")
    assert not answer.refused and "two of its five gates" in answer.text
    found = recovered.retriever.retrieve("Kessel dam gates rain", mode="bm25")
    assert found and found[0].title == "Kessel Dam Opens Two Gates"  # the BM25 index holds the new article
    _answers_cite(store, assistant)
