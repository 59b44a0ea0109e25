"""The optional cross-encoder reranker: passages come back in the order of its scores; a bad path is one clear error.

No cross-encoder weights ship here, so the test builds one from the bundled MiniLM encoder with a random
relevance head: it checks the plumbing (order follows the model's scores), not ranking quality.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.errors import BackendError
from tests.conftest import run_cli

QUESTION = "What did the US do with drones in Afghanistan?"


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from sentence_transformers import CrossEncoder

    from rag.embedding.embedder import model_path

    encoder = tmp_path_factory.mktemp("encoder")
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                 "special_tokens_map.json"):
        shutil.copy(model_path("all-MiniLM-L6-v2") / name, encoder / name)
    torch.manual_seed(0)
    model = CrossEncoder(str(encoder), num_labels=1, device="cpu", local_files_only=True)
    out = tmp_path_factory.mktemp("cross-encoder")
    model.save(str(out))
    return out


def test_passages_follow_the_reranker_scores(sample_store: Path, tiny_cross_encoder: Path) -> None:
    from sentence_transformers import CrossEncoder

    import rag

    plain = rag.open(store=sample_store).retriever.retrieve(QUESTION)
    reranked_assistant = rag.open(store=sample_store, reranker_model=str(tiny_cross_encoder))
    timings: dict[str, float] = {}
    reranked = reranked_assistant.retriever.retrieve(QUESTION, timings=timings)
    assert len(reranked) == len(plain) and timings["rerank"] > 0
    judge = CrossEncoder(str(tiny_cross_encoder), device="cpu", local_files_only=True)
    scores = list(judge.predict([(QUESTION, p.text) for p in reranked]))
    assert scores == sorted(scores, reverse=True)
    assert [p.chunk_id for p in reranked] != [p.chunk_id for p in plain]  # the reranker did change the order
    answer = reranked_assistant.ask(QUESTION)
    assert answer.sources and all(s.text for s in answer.sources)


def test_a_path_that_is_not_a_model_is_one_clear_error(sample_store: Path, tmp_path: Path) -> None:
    import rag
    from rag.embedding.embedder import model_path

    with pytest.raises(BackendError, match="not a model directory"):
        rag.open(store=sample_store, reranker_model=str(tmp_path))
    with pytest.raises(BackendError, match="not a cross-encoder"):  # an embedding model has no relevance head
        rag.open(store=sample_store, reranker_model=str(model_path("all-MiniLM-L6-v2")))
    result = run_cli("ask", QUESTION, "--store", str(sample_store),
                     env={"NEWSRAG_RERANKER_MODEL": str(tmp_path / "missing")})
    assert result.returncode == BackendError.exit_code
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "reranker_model" in lines[0] and "NEWSRAG_RERANKER_MODEL" in lines[0]


def test_reranking_is_off_by_default(assistant) -> None:
    assert assistant.settings.reranker_model is None and assistant.retriever.reranker is None
    assert assistant.ask(QUESTION).timings["rerank"] == 0.0
