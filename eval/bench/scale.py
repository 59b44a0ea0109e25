"""`newsrag bench scale`: latency, memory, disk, BM25 and HNSW recall at 10k, 100k (and 1M) chunks.

The corpora are built from the real RealTimeQA chunks, embedded once (`eval.bench.synth`): each size
is written into a fresh store through `Store.put_articles` with its precomputed vectors (process 1),
then served by a fresh `newsrag` process answering the RealTimeQA questions, embedded for real
(process 2), which also measures HNSW recall@10 against exact search for several ef_search values.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from rag.settings import Settings

from . import corpus, stores
from .measure import cpu, load_average, machine, run_worker, summarise

SIZES = (10_000, 100_000)
MAX_SIZES = (10_000, 100_000, 1_000_000)
SMOKE_SIZES = (300, 1_000)
EF_SEARCH = (10, 20, 50, 100, 200, 400)
SMOKE_EF_SEARCH = (10, 100)


def bench_scale(settings: Settings, store: str | None = None, data: str | None = None, smoke: bool = False,
                largest: bool = False, cache: str | None = None, sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """Build and serve each corpus size in turn; figures per size as a dict."""
    folder = corpus.data_dir(data)
    questions = corpus.question_texts(folder, limit=6 if smoke else None)
    sizes = sizes or (SMOKE_SIZES if smoke else MAX_SIZES if largest else SIZES)
    result: dict[str, Any] = {"machine": machine(), "cpu": cpu(), "questions": len(questions), "backend": settings.embedding_backend,
                              "query_backend": settings.query_backend or settings.embedding_backend,
                              "query_threads": settings.query_threads, "sizes": []}
    with tempfile.TemporaryDirectory(prefix="newsrag-scale-", dir=_scratch(cache, smoke)) as tmp:
        work = Path(tmp)
        source_store, result["store"] = stores.realtimeqa_store(settings, work, store, data, smoke, cache)
        source = stores.source_chunks(source_store, work, cache, smoke)
        qfile = work / "questions.json"
        qfile.write_text(json.dumps(questions), encoding="utf-8")
        for size in sizes:
            result["sizes"].append(_one_size(size, source, qfile, work, settings, smoke))
    _marginal_memory(result["sizes"])
    result["load_average_end"] = load_average()
    return result


def _scratch(cache: str | None, smoke: bool) -> str | None:
    """Scale stores go under the benchmark cache (they can be many GB), smoke ones in the temp dir."""
    if smoke:
        return None
    folder = stores.cache_dir(cache)
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def _one_size(size: int, source: Path, qfile: Path, work: Path, settings: Settings, smoke: bool) -> dict[str, Any]:
    store, exact = work / f"scale-{size}", work / f"exact-{size}.json"
    common = {"embedding_backend": settings.embedding_backend, "query_backend": settings.query_backend,
              "model_cache": str(settings.model_cache), "collection": settings.collection}
    load = load_average()
    built = run_worker({"task": "scale_build", "source": str(source), "store": str(store), "size": size,
                        "questions": str(qfile), "exact": str(exact), "settings": common})
    served = run_worker({"task": "ask", "store": str(store), "questions": str(qfile), "exact": str(exact),
                         "ef_search": list(SMOKE_EF_SEARCH if smoke else EF_SEARCH),
                         "settings": {**common, "query_threads": settings.query_threads}})
    shutil.rmtree(store, ignore_errors=True)
    return {"size": size, "load_average": load, "build": built, "ms": summarise(served.pop("ms")), **served}


def _marginal_memory(rows: list[dict[str, Any]]) -> None:
    """Resident bytes per extra chunk between consecutive sizes (the fixed part, mostly the model, cancels)."""
    for smaller, larger in zip(rows, rows[1:]):
        extra = larger["size"] - smaller["size"]
        larger["rss_bytes_per_chunk"] = round((larger["rss_mb"] - smaller["rss_mb"]) * 2**20 / extra) if extra else 0


def format_scale(result: dict[str, Any]) -> str:
    """The scale tables: writing each corpus, serving it, its stages, then HNSW recall per ef_search."""
    lines = [
        (f"{result['questions']} RealTimeQA questions, embedded for real at each size by `{result['query_backend']}` "
         f"with {result['query_threads']} thread(s); {result['machine']}; load average "
         f"{result['load_average_end']:.1f} at the end."),
        "", "Writing each corpus (precomputed vectors, `Store.put_articles`, about 1,000 chunks per call):", "",
        "| chunks | articles (synthetic) | write chunks/s | BM25 full build s | BM25 after one changed article ms | "
        "disk bytes per chunk (Chroma + BM25) | load avg |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["sizes"]:
        b = row["build"]
        disk = (b["chroma_bytes"] + b["bm25_bytes"]) / max(1, b["chunks"])
        lines.append(f"| {row['size']:,} | {b['articles']:,} ({b['synthetic_articles']:,}) | {b['chunks_per_second']:.0f} | "
                     f"{b['bm25_build_seconds']:.1f} | {b['bm25_update_ms']:.0f} | {disk:,.0f} | {row['load_average']:.1f} |")
    lines += ["", "Serving it (a fresh process; ms unless stated):", "",
              "| chunks | open | BM25 load + postings | first answer | answer p50 / p95 / p99 | retrieval p50 / p95 | "
              "RSS MB | RSS bytes per extra chunk | recall@10 of the pipeline's dense search |",
              "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["sizes"]:
        ms = row["ms"]
        pipeline = row["recall"][-1]["recall_at_10"] if row.get("recall") else float("nan")
        lines.append(
            f"| {row['size']:,} | {row['open_ms']:.0f} | {row['bm25_load_ms']:.0f} + {row['bm25_postings_ms']:.0f} | "
            f"{row['first_answer_ms']:.0f} | {ms['total']['p50']:.1f} / {ms['total']['p95']:.1f} / {ms['total']['p99']:.1f} | "
            f"{ms['retrieval']['p50']:.1f} / {ms['retrieval']['p95']:.1f} | {row['rss_mb']:.0f} | "
            f"{row.get('rss_bytes_per_chunk', '—')} | {pipeline:.3f} |")
    lines += ["", "Stages at each size (ms, p50 / p95):", "",
              "| chunks | embed | dense | BM25 | fuse | answer | verify |", "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["sizes"]:
        cells = " | ".join(f"{row['ms'][s]['p50']:.1f} / {row['ms'][s]['p95']:.1f}"
                           for s in ("embed", "dense", "bm25", "fuse", "answer", "verify"))
        lines.append(f"| {row['size']:,} | {cells} |")
    hnsw = result["sizes"][0].get("hnsw", {}) if result["sizes"] else {}
    lines += ["", (f"HNSW recall@10 against exact search (Chroma, {hnsw.get('space')}, M = {hnsw.get('max_neighbors')}, "
                   f"ef_construction = {hnsw.get('ef_construction')}; the last row of each size is the pipeline's own "
                   "query: candidates + 10 results at the collection's ef_search):"), "",
              "| chunks | ef_search | results asked | recall@10 | query p50 ms | query p95 ms |",
              "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["sizes"]:
        for r in row.get("recall", []):
            lines.append(f"| {row['size']:,} | {r['ef_search']} | {r['n_results']} | {r['recall_at_10']:.3f} | "
                         f"{r['p50_ms']:.2f} | {r['p95_ms']:.2f} |")
    return "\n".join(lines)
