"""A long-running server and other processes writing the same store: the server sees every committed
write (also in its dense index), never a half-written article, and keeps answering without errors."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from rag.store.collection import Store
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


@pytest.mark.slow
def test_a_dense_only_server_sees_what_another_process_ingests_edits_and_removes(
    sample_store: Path, tmp_path: Path,
) -> None:
    """A serving process owns its embedded store: another process's ingest and remove go through its API
    (rag.store.owner_client), and its dense index, BM25 and answers show each change at once."""
    import rag
    from rag.store import ownership
    from ui.http.app import create_app
    from ui.http.routes import store as store_routes

    store = copy_store(sample_store, tmp_path / "store")
    settings = Settings(store=store, retrieval_mode="dense")
    assistant = rag.open(settings=settings)
    article = tmp_path / "otters.txt"
    question = "How many otters did the wardens count in the Lune estuary?"
    app = create_app(assistant)
    app.include_router(store_routes.router())
    app.state.owner_token = ownership.new_token()
    with uvicorn_server(app) as base:
        ownership.advertise(store, base, app.state.owner_token, "pytest server")
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

    # the server's own store handle reads every vector (no "Error finding id")
    chunk_ids = [h.chunk_id for h in assistant.store.committed_chunks(sorted(assistant.store.versions()))]
    vectors = assistant.store.chunks.get(ids=chunk_ids, include=["embeddings"])["embeddings"]
    assert len(vectors) == len(chunk_ids) == assistant.store.chunks.count()
    assistant.store.close()


# ---------------------------------------------- load: 20 clients, 8 s (NEWSRAG_LOAD_SECONDS), an ingest running
COLOURS = ("amber", "cobalt")
RUNS = " ".join(
    f"Under the {{colour}} timetable the Tarn ferry leaves Kessel pier at {7 + i}:{15 + i} on weekday run {i}, "
    f"and the {{colour}} crossing to Morrow Point takes {20 + i} minutes." for i in range(1, 10)
)
TIMETABLE = ("Title: Tarn Ferry Publishes Its {Colour} Timetable\nDate: 2024-04-02\nSource: tarn-courier.example\n\n"
             + RUNS + "\n")
TARN_QUESTIONS = [f"When does the Tarn ferry leave Kessel pier on weekday run {i}?" for i in (2, 5, 8)] + [
    "How long is the crossing from Kessel pier to Morrow Point?"]


def _versions_checker(article_id: str, seen: set[str]):  # type: ignore[no-untyped-def]
    """An answer check: the Tarn article's passages all come from one version (chunk ids and text agree)."""

    def check(question: str, answer: dict) -> str | None:
        passages = [s for s in answer["sources"] if s["article_id"] == article_id]
        if not passages:
            return None
        versions = {cid.split(":")[1] for s in passages for cid in [s["chunk_id"], *s["chunk_ids"]]}
        colours = {c for c in COLOURS for s in passages if c in s["text"].lower() or c in s["title"].lower()}
        cited = {c for c in COLOURS if c in answer["answer"].lower()}
        if len(versions) != 1 or len(colours) != 1 or not cited <= colours:
            return f"{question!r}: versions {versions}, passage colours {colours}, answer colours {cited}"
        seen.update(colours)
        return None

    return check


@pytest.mark.slow
def test_twenty_clients_for_some_seconds_while_an_article_is_reingested(
    sample_store: Path, sample_questions: list[dict], tmp_path: Path,
) -> None:
    import subprocess
    import sys

    import index
    from tests.conftest import ROOT
    from tests.load import run_load
    from tests.servers import free_port
    from tests.test_lexical import assert_in_step
    from tests.ui_harness import running

    store = copy_store(sample_store, tmp_path / "store")
    versions = []
    for colour in COLOURS:
        versions.append(tmp_path / f"{colour}.txt")
        versions[-1].write_text(TIMETABLE.format(colour=colour, Colour=colour.title()), encoding="utf-8")
    article = tmp_path / "tarn-timetable.txt"
    article.write_text(versions[0].read_text(encoding="utf-8"), encoding="utf-8")
    settings = Settings(store=store)
    assert index.ingest([article], settings=settings).added == 1
    (tarn_id,) = [a.article_id for a in Store(settings).articles() if a.title.startswith("Tarn Ferry")]
    assert len(Store(settings).chunks_of(tarn_id)) >= 3  # several passages can come from it at once
    Store(settings).close()  # the server owns the store; this process's writes now go through it

    # the writer re-ingests for as long as the clients ask; 8 s is several versions under load (the test shows
    # that every answer reads one version, not how long that holds: NEWSRAG_LOAD_SECONDS=30 for a longer run)
    seconds = float(os.environ.get("NEWSRAG_LOAD_SECONDS", "8"))
    port = free_port()
    questions = [q["question"] for q in sample_questions] + TARN_QUESTIONS
    seen: set[str] = set()
    with running(["serve", "--store", str(store), "--port", str(port)], f"http://127.0.0.1:{port}/v1/health",
                 log=tmp_path / "server.log"):
        writer = subprocess.Popen(
            [sys.executable, "-c", "import sys; from tests.load import reingest_loop; "
             "reingest_loop(sys.argv[1], sys.argv[2], sys.argv[3:5], float(sys.argv[5]))",
             str(store), str(article), *map(str, versions), str(seconds)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            assert writer.stdout is not None and writer.stdout.readline().strip() == "ready", writer.stderr
            result = run_load(f"http://127.0.0.1:{port}", questions, clients=20, seconds=seconds,
                              check=_versions_checker(tarn_id, seen))
            out, err = writer.communicate(timeout=300)
        finally:
            writer.kill()
    print(f"\nload test: {result.summary()}; {out.strip()} by the writer", flush=True)
    (tmp_path.parent / "load-result.txt").write_text(result.summary() + "\n", encoding="utf-8")
    assert writer.returncode == 0, err
    assert result.errors == [], result.errors[:5]
    assert result.problems == [], result.problems[:5]
    assert int(out.split()[-1]) >= 2 and seen == set(COLOURS), (out, seen)  # both versions were served
    assert result.requests >= 20
    assert_in_step(settings)  # Chroma and the BM25 index agree after both processes wrote


def test_a_search_failing_on_a_lagging_view_reopens_it_once(sample_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chroma's "Error finding id" (an embedded view behind another process's delete) costs one reopen, not the
    query; a search failing on the fresh view too is one StoreError saying what to do."""
    from rag.errors import StoreError

    store = Store(Settings(store=sample_store))
    stored = store.chunks.get(limit=1, include=["embeddings"])
    vector, chunk_id = stored["embeddings"][0], stored["ids"][0]
    lagging = store.chunks
    real = type(lagging).query

    def fails(**query: object) -> None:
        raise RuntimeError("Error finding id")

    monkeypatch.setattr(type(lagging), "query", lambda self, **q: fails(**q) if self is lagging else real(self, **q))
    hits = store.search_ids(vector, 3)
    assert store.chunks is not lagging and hits[0][0] == chunk_id and hits[0][1] > 0.99

    monkeypatch.setattr(type(lagging), "query", lambda self, **q: fails(**q))
    with pytest.raises(StoreError, match="failed a search twice: Error finding id; try again"):
        store.search_ids(vector, 3)
