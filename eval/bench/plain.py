"""Worker side of the baseline: the plain llama-index retriever and query engine on newsrag's own store.

What a llama-index user writes over an existing Chroma collection: `ChromaVectorStore` on it,
`VectorStoreIndex.from_vector_store`, `as_retriever(similarity_top_k=...)` and `as_query_engine`.
The query engine gets llama-index's `MockLLM` (it returns its prompt at once), so its time is the
framework's own work around a zero-cost LLM: retrieval, node handling and prompt packing, which is
what newsrag's extractive answerer and citation check are compared with. The embedding model is the
same all-MiniLM-L6-v2, either as a plain user runs it (sentence-transformers on PyTorch, float32) or
through newsrag's encoder (spec["embedding"] == "newsrag"), which isolates the framework's share.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from .worker import _sentence_transformer_embedding, current_rss_mb, llama_embedding, peak_rss_mb


def _newsrag_embedding(settings: Any) -> Any:
    """newsrag's Embedder behind llama-index's embedding interface."""
    from rag.embedding.embedder import Embedder

    return llama_embedding(Embedder(settings).embed_documents)


class _TimedEmbedding:
    """Wraps an embedding model's query call to record how long each took (ms)."""

    def __init__(self, model: Any) -> None:
        self.times: list[float] = []
        original = model._get_query_embedding

        def timed(query: str) -> list[float]:
            started = time.perf_counter()
            try:
                return original(query)
            finally:
                self.times.append((time.perf_counter() - started) * 1000)

        object.__setattr__(model, "_get_query_embedding", timed)


def run_llamaindex_query(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the retriever (embed + dense search) and the query engine on every question."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import VectorStoreIndex
    from llama_index.core.llms import MockLLM
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.embedding.embedder import model_path
    from rag.settings import Settings

    questions = json.loads(Path(spec["questions"]).read_text(encoding="utf-8"))
    settings = Settings(store=spec["store"], **spec.get("settings", {}))
    if spec.get("embedding") == "newsrag":
        embed_model = _newsrag_embedding(settings)
    else:
        embed_model, _ = _sentence_transformer_embedding(model_path(settings.embedding_model), settings.max_seq_length)
    timer = _TimedEmbedding(embed_model)
    client = chromadb.PersistentClient(path=str(Path(spec["store"]) / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection(settings.collection, embedding_function=None)
    index = VectorStoreIndex.from_vector_store(ChromaVectorStore(chroma_collection=collection), embed_model=embed_model)
    retriever = index.as_retriever(similarity_top_k=settings.top_k)
    engine = index.as_query_engine(llm=MockLLM(), similarity_top_k=settings.top_k)
    engine.query(questions[0])  # load the model and the HNSW index outside the timing
    retrieve, query = [], []
    timer.times.clear()
    for question in questions:
        started = time.perf_counter()
        retriever.retrieve(question)
        retrieve.append((time.perf_counter() - started) * 1000)
    embed = list(timer.times)
    for question in questions:
        started = time.perf_counter()
        engine.query(question + " ")  # a new string, so no cache anywhere can answer it
        query.append((time.perf_counter() - started) * 1000)
    dense = [r - e for r, e in zip(retrieve, embed)]
    return {"questions": len(questions), "ms": {"embed": embed, "dense": dense, "retrieval": retrieve, "total": query},
            "rss_mb": current_rss_mb(), "peak_rss_mb": peak_rss_mb()}
