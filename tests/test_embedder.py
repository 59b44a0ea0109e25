"""Embedding backends: every backend gives the reference model's vectors; exports are cached and reused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag.embedding.embedder import Embedder, model_path
from rag.errors import ConfigError
from rag.settings import Settings

TEXTS = [
    "What did Milley say about ISIS-K?",
    "Chairman of the Joint Chiefs of Staff Mark Milley said it is possible the US will coordinate with the Taliban.",
    "The solar ferry carried 84 passengers across Lake Arden on its first day. " * 6,  # longer than 128 tokens
    "Rates",
]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(scope="session")
def reference() -> np.ndarray:
    return Embedder(Settings(embedding_backend="torch")).embed_documents(TEXTS)


@pytest.mark.parametrize(
    "backend, min_cosine",
    [("torch-bf16", 0.999), ("onnx", 0.9999), ("onnx-int8", 0.97), ("openvino", 0.9999), ("openvino-bf16", 0.999)],
)
def test_backend_matches_the_torch_reference(backend: str, min_cosine: float, reference: np.ndarray,
                                             model_cache: Path) -> None:
    embedder = Embedder(Settings(embedding_backend=backend, model_cache=model_cache))
    vectors = embedder.embed_documents(TEXTS)
    assert vectors.shape == reference.shape and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    cosines = (vectors * reference).sum(axis=1)
    assert cosines.min() >= min_cosine, cosines
    # the question is still closest to the passage that answers it
    query = embedder.embed_query(TEXTS[0])
    assert int(np.argmax(vectors[1:] @ query)) == 0


def test_exports_are_cached_and_reused(model_cache: Path) -> None:
    from rag.embedding.model_export import exported_model

    path = model_path("all-MiniLM-L6-v2")
    first = exported_model(path, model_cache, "int8", name="all-MiniLM-L6-v2")
    stamp = first.stat().st_mtime_ns
    again = exported_model(path, model_cache, "int8", name="all-MiniLM-L6-v2")
    assert again == first and again.stat().st_mtime_ns == stamp
    assert first.parent.parent == model_cache and first.parent.name.startswith("all-MiniLM-L6-v2-")
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".export-")]


def test_unknown_backend_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="onnx-int8"):
        Embedder(Settings(embedding_backend="tensorflow"))


@pytest.mark.parametrize("backend", ["onnx", "openvino-bf16"])
def test_token_ids_and_many_batches_give_each_text_its_own_vector(backend: str, reference: np.ndarray,
                                                                  model_cache: Path) -> None:
    """The ingest hands the chunker's token ids to the encoder and sends many batches at once: every text still
    gets its own vector (none swapped between batches), the same as from its text."""
    from rag.embedding.embedder import token_counter

    settings = Settings(embedding_backend=backend, model_cache=model_cache)
    embedder = Embedder(settings)
    texts = [f"{text} ({n})" if n else text for n in range(25) for text in TEXTS]  # 100 texts: 4 batches of 32
    vectors = embedder.embed_documents(texts)
    from_ids = embedder.embed_documents(texts, token_ids=token_counter(settings.embedding_model).ids(texts))
    assert np.array_equal(vectors, from_ids)
    assert ((vectors[: len(TEXTS)] * reference).sum(axis=1)).min() >= 0.999
    alone = np.stack([embedder.embed_documents([t])[0] for t in texts[::7]])
    assert ((vectors[::7] * alone).sum(axis=1)).min() >= 0.999


@pytest.mark.parametrize("backend", ["onnx-int8", "openvino-bf16"])
def test_answer_texts_get_the_vector_they_have_alone(backend: str, reference: np.ndarray, model_cache: Path) -> None:
    """The answerer's texts (question, candidate sentences) are embedded each on its own: a sentence's vector
    and its similarity to the question do not depend on which other sentences were shortlisted with it, and
    the question's vector is the one retrieval searched with."""
    embedder = Embedder(Settings(embedding_backend=backend, model_cache=model_cache, threads=1))
    question = embedder.embed_query(TEXTS[0])
    together = embedder.embed_texts(TEXTS)
    assert together.shape == reference.shape and together.dtype == np.float32
    assert ((together * reference).sum(axis=1)).min() >= 0.97
    assert np.array_equal(together[0], question)
    fresh = Embedder(Settings(embedding_backend=backend, model_cache=model_cache, threads=1))
    for i, text in enumerate(TEXTS):
        assert np.allclose(fresh.embed_texts([text, "An unrelated sentence about rates."])[0], together[i], atol=1e-6)
    assert np.allclose(fresh.embed_texts(TEXTS[::-1]), together[::-1], atol=1e-6)
    assert fresh.embed_texts([]).shape == (0, reference.shape[1])
