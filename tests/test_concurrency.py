"""A long-running server and other processes writing the same store: the server sees every committed
write (also in its dense index), never a half-written article, and keeps answering without errors."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from rag.store import Store
from tests.conftest import run_cli
from tests.servers import uvicorn_server
from tests.ui_harness import copy_store

OTTER = ("Title: Otters Return To The Lune Estuary\nDate: 2024-03-02\nSource: lune-gazette.example\n\n"
         "Wildlife wardens counted {count} otters in the Lune estuary this spring. "
         "The {colour} survey team used night cameras along nine kilometres of riverbank. "
         "Otters vanished from the estuary in the 1970s after pesticides poisoned the river.\n")


def _ask(base: str, question: str) -> dict:
    response = httpx.post(f"{base}/v1/ask", json={"question": question}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_dense_only_server_sees_what_another_process_ingests_edits_and_removes(
    sample_store: Path, tmp_path: Path,
) -> None:
    """Embedded Chroma caches its vector index per process: the server must reopen it when another process wrote."""
    import rag
    from rag.api import create_app

    store = copy_store(sample_store, tmp_path / "store")
    settings = Settings(store=store, retrieval_mode="dense", store_refresh_seconds=0)
    assistant = rag.open(settings=settings)
    article = tmp_path / "otters.txt"
    question = "How many otters did the wardens count in the Lune estuary?"
    with uvicorn_server(create_app(assistant)) as base:
        assert _ask(base, question)["refused"] is True  # warms the server's view of the store first

        article.write_text(OTTER.format(count=14, colour="spring"), encoding="utf-8")
        assert run_cli("ingest", str(article), "--store", str(store)).returncode == 0
        first = _ask(base, question)
        assert first["refused"] is False and "14 otters" in first["answer"], first["answer"]

        article.write_text(OTTER.format(count=23, colour="autumn"), encoding="utf-8")
        assert run_cli("ingest", str(article), "--store", str(store)).returncode == 0
        edited = _ask(base, question)
        assert "23 otters" in edited["answer"] and "14 otters" not in edited["answer"]
        cited = edited["sources"][edited["citations"][0]["source_index"]]
        assert "autumn" in cited["text"] or "23" in cited["text"]

        (otter_id,) = {s["article_id"] for s in edited["sources"] if "Otters" in s["title"]}
        assert run_cli("remove", otter_id, "--store", str(store)).returncode == 0
        gone = _ask(base, question)
        assert gone["refused"] is True and not any(s["article_id"] == otter_id for s in gone["sources"])

    # the server's own store handle reads the other process's vectors (no "Error finding id")
    chunk_ids = [h.chunk_id for h in assistant.store.committed_chunks(sorted(assistant.store.versions()))]
    vectors = assistant.store.chunks.get(ids=chunk_ids, include=["embeddings"])["embeddings"]
    assert len(vectors) == len(chunk_ids) == assistant.store.chunks.count()
