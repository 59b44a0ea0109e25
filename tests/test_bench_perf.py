"""The speed changes keep behaviour: batched article writes, one store view per query, the search fetch,
query threads, and a `newsrag --help` that loads no heavy library. (No timing is asserted here.)"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.settings import Settings
from rag.store.collection import Store
from rag.store.rows import ArticleRow, ChunkRow
from tests.conftest import ROOT

DIM = 384


def _article(article_id: str, body: str, seed: int) -> tuple[ArticleRow, list[ChunkRow], np.ndarray]:
    """An article whose chunks are the '|'-separated parts of `body`, with random unit vectors."""
    parts = body.split("|")
    text = "\n\n".join(parts)
    chunks, cursor = [], 0
    for index, part in enumerate(parts):
        chunks.append(ChunkRow(index=index, text=part, start=cursor, end=cursor + len(part)))
        cursor += len(part) + 2
    vectors = np.random.default_rng(seed).normal(size=(len(parts), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    row = ArticleRow(article_id=article_id, title=f"Title {article_id}", text=text,
                     content_hash=hashlib.sha1(text.encode()).hexdigest(), date="2025-01-02", site="example.org")
    return row, chunks, vectors


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(Settings(store=tmp_path / "store"), create=True, dimension=DIM)


def test_put_articles_commits_every_article_and_replaces_old_versions(store: Store) -> None:
    store.writer.put_article(*_article("a", "Old airship text.|Second old chunk.", 1))
    revision = store.revision()
    batch = [_article("a", "New walrus text.", 2), _article("b", "Gondola one.|Gondola two.|Gondola three.", 3)]
    store.writer.put_articles(batch)
    assert store.revision() != revision
    assert store.versions() == {"a": batch[0][0].content_hash[:16], "b": batch[1][0].content_hash[:16]}
    stored = store.chunks.get(include=["documents"])
    assert sorted(stored["documents"]) == ["Gondola one.", "Gondola three.", "Gondola two.", "New walrus text."]
    assert store.count_chunks() == 4 and store.writer.repair() == 0
    assert [h.text for h in store.chunks_of("b")] == ["Gondola one.", "Gondola two.", "Gondola three."]


def test_put_articles_rejects_an_article_without_chunks_before_writing(store: Store) -> None:
    from rag.errors import StoreError

    empty = (_article("c", "x", 4)[0], [], np.zeros((0, DIM), np.float32))
    with pytest.raises(StoreError, match="no chunks"):
        store.writer.put_articles([_article("d", "Fine text.", 5), empty])
    assert store.chunks.count() == 0 and store.count_articles() == 0


def test_search_still_finds_k_committed_chunks_behind_many_uncommitted_ones(store: Store) -> None:
    row, chunks, vectors = _article("a", "|".join(f"Committed chunk {i}." for i in range(5)), 6)
    store.writer.put_article(row, chunks, vectors)
    query = vectors[0]
    # a version being written (or left by a crash): chunks nearer to the query than any committed one
    near = np.repeat(query[None], 30, axis=0) + np.random.default_rng(7).normal(0, 1e-3, (30, DIM)).astype(np.float32)
    store.chunks.upsert(ids=[f"a:inflight:{i}" for i in range(30)], embeddings=near,
                        documents=[f"in flight {i}" for i in range(30)],
                        metadatas=[{"article_id": "a", "version": "inflight", "chunk_index": i, "start": 0, "end": 1}
                                   for i in range(30)])
    hits = store.search_ids(query, 5)
    assert len(hits) == 5 and all(":inflight:" not in chunk_id for chunk_id, _ in hits)
    assert hits[0][0] == f"a:{row.content_hash[:16]}:0"


def test_one_view_reads_the_revision_once_and_follows_own_writes(store: Store) -> None:
    store.writer.put_article(*_article("a", "First.", 1))
    other = Store(store.settings)
    with store.one_view():
        seen = store.revision()
        other.writer.put_article(*_article("b", "Second.", 2))  # another writer
        assert store.revision() == seen  # the query keeps its view
        store.writer.put_article(*_article("c", "Third.", 3))  # its own write moves its view on
        assert store.revision() == other.revision()
    assert store.revision() == other.revision()


def test_hits_by_ids_scores_by_the_stored_vectors(store: Store) -> None:
    row, chunks, vectors = _article("a", "One.|Two.|Three.", 8)
    store.writer.put_article(row, chunks, vectors)
    ids = [f"a:{row.content_hash[:16]}:{i}" for i in (2, 0)] + ["a:nope:9"]
    hits = store.hits_by_ids(ids, vectors[2])
    assert [h.chunk_id for h in hits] == ids[:2]
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[1].score == pytest.approx(float(vectors[0] @ vectors[2]), abs=1e-5)
    known = store.hits_by_ids(ids, vectors[2], known={ids[0]: 0.25})  # a score the caller has is kept
    assert [h.chunk_id for h in known] == ids[:2]
    assert known[0].score == 0.25
    assert known[1].score == pytest.approx(float(vectors[0] @ vectors[2]), abs=1e-5)


def test_the_assistant_embeds_with_the_query_backend_and_threads(sample_store: Path) -> None:
    import rag

    assistant = rag.open(store=sample_store, threads=0, query_threads=1)
    assert assistant.embedder.settings.threads == 1 and assistant.settings.threads == 0
    assert assistant.embedder.settings.embedding_backend == "onnx-int8" == assistant.settings.query_backend
    answer = assistant.ask("What did Milley say about ISIS-K?")
    assert not answer.refused and "possible" in answer.text  # int8 questions against the stored vectors
    same = rag.open(store=sample_store, settings=rag.Settings(query_backend=None, embedding_backend="onnx"))
    assert same.embedder.settings.embedding_backend == "onnx"


def test_help_loads_no_heavy_library() -> None:
    """`newsrag --help` answers without importing numpy, chromadb, torch, nltk or the models."""
    code = ("import sys\nfrom ui import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = ('numpy', 'chromadb', 'torch', 'nltk', 'openvino', 'llama_index', 'gradio')\n"
            "print([m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert "usage: newsrag" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_reading_candidates_in_rounds_gives_the_same_passages_as_reading_all(assistant, sample_questions, mode: str) -> None:
    """Retrieval reads chunk texts only for the candidates selection reaches; any round size gives the same answer."""
    retriever = assistant.retriever
    questions = [q["question"] for q in sample_questions] + [
        "What did readers say in the comments about the Taliban?", "Which commenters mentioned drones?"]
    try:
        results = {}
        for first_read in (1, 3, None, 10**6):
            retriever.first_read = first_read
            results[first_read] = [[(p.chunk_ids, p.text, p.score, p.kind) for p in retriever.retrieve(q, mode=mode)]
                                   for q in questions]
    finally:
        retriever.first_read = None
    assert results[1] == results[3] == results[None] == results[10**6]
    assert any(results[None])


def test_hnsw_settings_are_set_on_new_stores_and_by_the_next_writer(tmp_path: Path) -> None:
    def hnsw(store: Store) -> tuple[int, int]:
        config = store.chunks.configuration_json["hnsw"]
        return int(config["ef_search"]), int(config["sync_threshold"])

    row, chunks, vectors = _article("a", "One.|Two.", 1)
    created = Store(Settings(store=tmp_path / "s", hnsw_ef_search=150), create=True, dimension=DIM)
    created.writer.put_article(row, chunks, vectors)
    assert hnsw(created) == (150, 1)
    later = Settings(store=tmp_path / "s", hnsw_ef_search=300, hnsw_sync_threshold=50)
    assert hnsw(Store(later)) == (150, 1)  # a reader changes nothing
    writer = Store(later, create=True)
    assert hnsw(writer) == (300, 50)
    assert [chunk_id for chunk_id, _ in writer.search_ids(vectors[1], 1)] == [f"a:{row.content_hash[:16]}:1"]  # data kept


def _pending_vector_writes(store: Path) -> int | None:
    from rag.store.chroma_sqlite import pending_vector_writes

    return pending_vector_writes(store / "chroma" / "chroma.sqlite3", "newsrag")


def test_a_writer_leaves_the_vector_index_saved_so_a_new_process_has_no_log_to_apply(tmp_path: Path) -> None:
    """Chroma saves its HNSW index every `sync_threshold` applied writes (1000 by default), and a process that
    opens the store applies the writes logged since the last save before its first search: a store of fewer
    writes than that was never saved, and every new process rebuilt its index from the log."""
    store = Store(Settings(store=tmp_path / "s"), create=True, dimension=DIM)
    for seed, article_id in enumerate("abc"):
        row, chunks, vectors = _article(article_id, "One.|Two.|Three.", seed)
        store.writer.put_article(row, chunks, vectors)
    store.close()
    assert _pending_vector_writes(tmp_path / "s") == 0
    assert Store(Settings(store=tmp_path / "s")).vector_index_state() == {"saved": "yes", "writes_to_apply_at_open": 0}
    old = Store(Settings(store=tmp_path / "old", hnsw_sync_threshold=1000), create=True, dimension=DIM)
    row, chunks, vectors = _article("a", "One.|Two.|Three.", 0)
    old.writer.put_article(row, chunks, vectors)
    old.close()
    assert _pending_vector_writes(tmp_path / "old") == 3  # what Chroma's default leaves to every new process
    assert Store(Settings(store=tmp_path / "old")).vector_index_state() == {"saved": "no", "writes_to_apply_at_open": 3}


def test_the_bench_cache_key_follows_what_a_store_holds_not_its_file_times(sample_store: Path, tmp_path: Path) -> None:
    """Chroma rewrites chroma.sqlite3 whenever it opens a store: a cache keyed on the file's mtime lost the hour-long
    1M corpus to any `newsrag status`. The key changes when an article does, not when the store is only opened."""
    from eval.bench.stores import _content_key
    from tests.ui_harness import copy_store

    store = copy_store(sample_store, tmp_path / "store")
    key = _content_key(store)
    opened = Store(Settings(store=store))
    opened.chunks.count()
    opened.close()
    assert _content_key(store) == key
    writer = Store(Settings(store=store), create=True)
    row, chunks, vectors = _article("bench-key", "One.|Two.", 3)
    writer.writer.put_article(row, chunks, vectors)
    writer.close()
    assert _content_key(store) != key
