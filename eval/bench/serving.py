"""Worker side of the query benchmarks: newsrag answering a question set, stage by stage, in this process.

`run_ask` opens an Assistant on a store and answers every question (the cache of answer-text vectors,
`Embedder.embed_texts`, is cleared before each, so every question and every shortlisted sentence is embedded
for real; only what one answer embeds twice is reused); it reports the milliseconds of each
stage per question, the cold start (open, BM25 load, first answer) and the process's resident memory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from .probes import PROBES, probed
from .worker import current_rss_mb, peak_rss_mb

# report name -> key in Answer.timings ("answer" is the answerer's own time, "generate" in timings)
STAGES = {"dates": "time", "embed": "embed", "dense": "dense", "bm25": "bm25", "fuse": "fuse", "answer": "generate",
          "verify": "verify"}
DERIVED = ("citation check", "other")
# the whole answer, stage by stage, each millisecond in one stage only (`eval.bench.probes`)
BREAKDOWN = ("dates", "embed", "dense", "bm25", "chunk reads", "ranking", "article texts", "windows", "selector",
             "sentence embeddings", "short answer", "citation embeddings", "citation check", "other")


def open_assistant(spec: dict[str, Any]) -> Any:
    """An Assistant on spec['store'] with the benchmark's settings (backend, query threads, mode)."""
    from rag.composition import open as open_rag
    from rag.settings import Settings

    settings = Settings(store=spec["store"], **spec.get("settings", {}))
    return open_rag(settings=settings)


def ask_loop(assistant: Any, questions: list[str]) -> dict[str, Any]:
    """Answer each question once; per-stage milliseconds (lists), retrieval and total, refusals.

    The finer stages of `eval.bench.probes` come beside those of `Answer.timings`: "citation check" is the
    verify time without its sentence embeddings, "other" what no stage accounts for.
    """
    stages: dict[str, list[float]] = {name: [] for name in (*STAGES, *PROBES, *DERIVED, "retrieval", "total")}
    refused = 0
    with probed() as probes:
        for question in questions:
            assistant.embedder._query_cache.clear()
            probes.take()
            started = time.perf_counter()
            answer = assistant.ask(question)
            total = (time.perf_counter() - started) * 1000
            for name, key in STAGES.items():
                stages[name].append(float(answer.timings.get(key, 0.0)))
            fine = probes.take()
            for name, ms in fine.items():
                stages[name].append(ms)
            verify = float(answer.timings.get("verify", 0.0))
            stages["citation check"].append(max(0.0, verify - fine["citation embeddings"]))
            counted = sum(stages[name][-1] for name in BREAKDOWN if name != "other")
            stages["other"].append(max(0.0, total - counted))
            stages["retrieval"].append(float(answer.timings.get("retrieve", 0.0)))  # wall time of Retriever.retrieve
            stages["total"].append(total)
            refused += bool(answer.refused)
    return {"questions": len(questions), "refused": refused, "ms": stages}


def cold_start(assistant: Any, first_question: str) -> dict[str, float]:
    """Milliseconds to load the BM25 index, build its postings, and answer the first question."""
    started = time.perf_counter()
    index = assistant.retriever.lexical.sync(assistant.store)
    loaded = time.perf_counter()
    index.search(["news"], 1)
    postings = time.perf_counter()
    assistant.ask(first_question)
    done = time.perf_counter()
    return {"bm25_load_ms": (loaded - started) * 1000, "bm25_postings_ms": (postings - loaded) * 1000,
            "first_answer_ms": (done - postings) * 1000,
            "bm25_full_builds": assistant.retriever.lexical.stats.full_builds}


def run_ask(spec: dict[str, Any]) -> dict[str, Any]:
    """Open, warm up on the first question, then answer them all; figures as JSON-ready values."""
    questions = json.loads(Path(spec["questions"]).read_text(encoding="utf-8"))
    started = time.perf_counter()
    assistant = open_assistant(spec)
    opened = (time.perf_counter() - started) * 1000
    cold = cold_start(assistant, questions[0])
    rss_ready = current_rss_mb()
    result = ask_loop(assistant, questions)
    hnsw = assistant.store.chunks.configuration_json.get("hnsw") or {}
    result.update(cold, open_ms=opened, rss_ready_mb=rss_ready, rss_mb=current_rss_mb(), peak_rss_mb=peak_rss_mb(),
                  chunks=assistant.store.count_chunks(),
                  hnsw={k: hnsw.get(k) for k in ("space", "max_neighbors", "ef_construction", "ef_search")})
    if spec.get("exact"):
        result["recall"] = recall_sweep(assistant, questions, Path(spec["exact"]), spec.get("ef_search", []))
    return result


def recall_sweep(assistant: Any, questions: list[str], exact_file: Path, ef_values: list[int]) -> list[dict[str, Any]]:
    """recall@10 of Chroma's HNSW against exact search, and its latency, for each ef_search.

    Chroma applies a new ef_search when it loads the index, so each value gets a fresh client. The
    last row is the pipeline's own fetch: `Store.search` asks for candidates + 10 chunks at the
    collection's configured ef_search, and the top 10 of those are compared.
    """
    import chromadb

    exact = json.loads(exact_file.read_text(encoding="utf-8"))
    vectors = assistant.embedder.embed_documents(questions)
    settings = assistant.settings
    configured = int((assistant.store.chunks.configuration_json.get("hnsw") or {}).get("ef_search", 100))
    rows = []
    for ef, n_results in [*((ef, 10) for ef in ef_values), (configured, settings.candidates + 10)]:
        chromadb.api.client.SharedSystemClient.clear_system_cache()
        collection = _collection(settings)
        collection.modify(configuration={"hnsw": {"ef_search": ef}})
        found, times = [], []
        for vector in vectors:
            started = time.perf_counter()
            got = collection.query(query_embeddings=[vector], n_results=n_results, include=[])
            times.append((time.perf_counter() - started) * 1000)
            found.append(got["ids"][0][:10])
        recall = float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact) if e]))
        rows.append({"ef_search": ef, "n_results": n_results, "recall_at_10": recall,
                     "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))})
    _collection(settings).modify(configuration={"hnsw": {"ef_search": configured}})
    return rows


def _collection(settings: Any) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(Path(settings.store) / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    return client.get_collection(settings.collection, embedding_function=None)
