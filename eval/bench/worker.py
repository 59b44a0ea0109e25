"""One measured pipeline per process: `python -m eval.bench.worker SPEC.json` prints a JSON result.

Tasks: `newsrag` (index.ingest, then the bare model on the stored chunks), `llamaindex` (the plain
VectorStoreIndex + ChromaVectorStore pipeline), `encode` (a backend on given texts, vectors saved),
and the query and scale tasks of `LAZY_TASKS` (eval.bench.serving, .plain, .scalework).
Peak RSS is the process's own high-water mark (ru_maxrss) right after the measured work.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import rag  # noqa: F401 - newsrag goes offline on import, before llama-index or a model is loaded here


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def current_rss_mb() -> float:
    """Resident memory of this process now (VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return peak_rss_mb()


def _timed(work: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def run_newsrag(spec: dict[str, Any]) -> dict[str, Any]:
    import index
    from rag.embedding.embedder import Embedder
    from rag.settings import Settings
    from rag.store.collection import Store

    settings = Settings(store=spec["store"], embedding_backend=spec["backend"], **spec.get("settings", {}))
    report, wall, cpu = _timed(lambda: index.ingest([spec["corpus"]], settings=settings))
    rss = peak_rss_mb()
    figures = {"articles": report.added + report.updated, "chunks": report.chunks, "seconds": wall, "cpu_seconds": cpu,
               "embed_seconds": report.embed_seconds, "peak_rss_mb": rss, "failed": len(report.failed),
               "skipped": len(report.skipped)}
    if not spec.get("bare", True):  # only the store was wanted
        return figures
    texts = Store(settings).chunks.get(include=["documents"])["documents"]
    embedder = Embedder(settings)
    embedder.embed_documents(texts[:8])  # load and warm up outside the timing
    _, encode_wall, encode_cpu = _timed(lambda: embedder.embed_documents(texts))
    return {**figures, "bare_chunks": len(texts), "bare_seconds": encode_wall, "bare_cpu_seconds": encode_cpu}


def run_llamaindex(spec: dict[str, Any]) -> dict[str, Any]:
    """The plain pipeline a llama-index user writes: documents -> SentenceSplitter -> VectorStoreIndex on Chroma."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from rag.embedding.embedder import model_path
    rows = [json.loads(line) for line in Path(spec["corpus"]).read_text(encoding="utf-8").splitlines() if line]

    def build() -> int:
        embed_model, tokenizer = _sentence_transformer_embedding(model_path("all-MiniLM-L6-v2"), spec["max_seq_length"])
        docs = [Document(text=f"{r.get('title') or ''}\n\n{r['text']}") for r in rows]
        splitter = SentenceSplitter(chunk_size=spec["chunk_tokens"], chunk_overlap=0, tokenizer=tokenizer)
        client = chromadb.PersistentClient(path=spec["store"], settings=ChromaSettings(anonymized_telemetry=False))
        collection = client.create_collection("bench", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
        context = StorageContext.from_defaults(vector_store=ChromaVectorStore(chroma_collection=collection))
        VectorStoreIndex.from_documents(docs, storage_context=context, embed_model=embed_model, transformations=[splitter])
        return int(collection.count())

    chunks, wall, cpu = _timed(build)
    return {"articles": len(rows), "chunks": chunks, "seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb()}


def llama_embedding(encode: Callable[[list[str]], Any]) -> Any:
    """A llama-index embedding model whose texts and questions are encoded by `encode` (rows of vectors)."""
    from llama_index.core.embeddings import BaseEmbedding

    class Embedding(BaseEmbedding):
        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return [list(map(float, row)) for row in encode(texts)]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._get_text_embeddings([text])[0]

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._get_text_embedding(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return Embedding()


def _sentence_transformer_embedding(path: Path, max_seq_length: int) -> tuple[Any, Any]:
    """all-MiniLM-L6-v2 as a llama-index user runs it (what HuggingFaceEmbedding does, without the hub)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    model.max_seq_length = max_seq_length
    tokenizer = model.tokenizer
    embedding = llama_embedding(lambda texts: model.encode(texts, normalize_embeddings=True))
    return embedding, lambda text: tokenizer.encode(text, add_special_tokens=False)


def run_encode(spec: dict[str, Any]) -> dict[str, Any]:
    """A backend on the texts of spec['texts'] (JSON list); vectors and question vectors saved as .npy."""
    from rag.embedding.embedder import Embedder
    from rag.settings import Settings

    settings = Settings(embedding_backend=spec["backend"], **spec.get("settings", {}))
    texts = json.loads(Path(spec["texts"]).read_text(encoding="utf-8"))
    embedder = Embedder(settings)
    embedder.embed_documents(texts[:8])
    batch = settings.embed_batch_size
    if spec.get("bucketing", True):
        vectors, wall, cpu = _timed(lambda: embedder.embed_documents(texts))
    else:  # batches in corpus order, each padded to its own longest text
        vectors, wall, cpu = _timed(lambda: np.concatenate(
            [embedder.embed_documents(texts[i : i + batch]) for i in range(0, len(texts), batch)]))
    result = {"chunks": len(texts), "seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak_rss_mb()}
    if spec.get("vectors"):
        np.save(spec["vectors"], vectors)
        questions = json.loads(Path(spec["questions"]).read_text(encoding="utf-8"))
        np.save(spec["question_vectors"], embedder.embed_documents(questions))
    return result


TASKS: dict[str, Any] = {"newsrag": run_newsrag, "llamaindex": run_llamaindex, "encode": run_encode}
# tasks in other modules: "module:function", imported only by the process that runs them
LAZY_TASKS = {
    "ask": "eval.bench.serving:run_ask",
    "llamaindex_query": "eval.bench.plain:run_llamaindex_query",
    "export": "eval.bench.scalework:run_export",
    "scale_build": "eval.bench.scalework:run_build",
    "bm25_update": "eval.bench.scalework:run_update",
    "bm25_only": "eval.bench.bm25scale:run_bm25_only",
}


def main() -> int:
    import importlib

    spec = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    task = TASKS.get(spec["task"])
    if task is None:
        module, name = LAZY_TASKS[spec["task"]].split(":")
        task = getattr(importlib.import_module(module), name)
    result = task(spec)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
