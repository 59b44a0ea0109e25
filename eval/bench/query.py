"""`newsrag bench query`: answer latency per stage over the RealTimeQA corpus, against plain llama-index.

Every pipeline runs in its own process on its own copy of the same store (same chunks, same
vectors): newsrag's `ask` (hybrid retrieval, extractive answer, citation verification) and, as
baseline, llama-index's retriever and query engine over the very same Chroma collection. Then the
query-time thread setting under CPU contention, and the start-up times of the command line.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.settings import Settings

from . import corpus, stores
from .measure import ROOT, busy_cores, cpu, load_average, machine, run_worker, summarise
from .serving import BREAKDOWN

SMOKE_QUESTIONS = 4
THREAD_QUESTIONS = 60  # per cell of the thread table
THREADS = (1, 2)
BUSY = (0, 1, 2)


def bench_query(settings: Settings, store: str | None = None, data: str | None = None, smoke: bool = False,
                cache: str | None = None, chunks: int | None = None, only_newsrag: bool = False) -> dict[str, Any]:
    """Measure newsrag and the llama-index baseline on the same store; figures and ratios as a dict.

    With `chunks`, the store is the scale corpus of that many chunks made from the RealTimeQA store's
    real chunks and vectors (`stores.scale_store`, as `newsrag bench scale` makes it) instead of that store.
    `only_newsrag` leaves out the llama-index baselines, the thread table and the command-line start-up.
    """
    folder = corpus.data_dir(data)
    questions = corpus.question_texts(folder, limit=SMOKE_QUESTIONS if smoke else None)
    result: dict[str, Any] = {"machine": machine(), "cpu": cpu(), "questions": len(questions), "backend": settings.embedding_backend,
                              "query_backend": settings.query_backend or settings.embedding_backend,
                              "query_threads": settings.query_threads, "top_k": settings.top_k}
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        work = Path(tmp)
        source, result["store"] = stores.realtimeqa_store(settings, work, store, data, smoke, cache)
        qfile = work / "questions.json"
        qfile.write_text(json.dumps(questions), encoding="utf-8")
        if chunks:
            source, result["store"] = stores.scale_store(settings, chunks, source, work, qfile, cache, smoke)
        copy = stores.working_copy(source, work)
        stores.apply_index_settings(copy, settings)
        stores.upgrade_bm25(copy, settings)
        base = {"store": str(copy), "questions": str(qfile), "settings": _worker_settings(settings)}
        result["pipelines"] = _pipelines(base, settings, only_newsrag)
        if not only_newsrag:
            result["threads"] = thread_table(base, questions[: 2 if smoke else THREAD_QUESTIONS], work, smoke)
            result["startup"] = startup_times(copy, questions[0], settings, runs=1 if smoke else 3)
        if chunks:  # the BM25 index following changed articles, on this copy (it is changed)
            result["bm25_update"] = run_worker({"task": "bm25_update", "store": str(copy), "size": chunks,
                                                "source": result["store"]["source"], "settings": base["settings"]})
    if not only_newsrag:
        result["ratios"] = _ratios(result["pipelines"])
    result["load_average_end"] = load_average()
    return result


def _worker_settings(settings: Settings, **extra: Any) -> dict[str, Any]:
    return {"embedding_backend": settings.embedding_backend, "query_backend": settings.query_backend,
            "model_cache": str(settings.model_cache), "query_threads": settings.query_threads,
            "collection": settings.collection, **extra}


def _pipelines(base: dict[str, Any], settings: Settings, only_newsrag: bool = False) -> dict[str, Any]:
    """Each pipeline's per-stage percentiles, memory and load average."""
    runs = {
        "newsrag": {**base, "task": "ask"},
        "newsrag_dense": {**base, "task": "ask", "settings": {**base["settings"], "retrieval_mode": "dense"}},
        "llamaindex": {**base, "task": "llamaindex_query", "embedding": "torch"},
        "llamaindex_newsrag_encoder": {**base, "task": "llamaindex_query", "embedding": "newsrag"},
    }
    if only_newsrag:
        runs = {"newsrag": runs["newsrag"]}
    out = {}
    for name, spec in runs.items():
        load = load_average()
        raw = run_worker(spec)
        out[name] = {"ms": summarise(raw.pop("ms")), "load_average": load, **raw}
    return out


def _ratios(pipelines: dict[str, Any]) -> dict[str, float]:
    ours, plain = pipelines["newsrag"]["ms"], pipelines["llamaindex"]["ms"]
    same = pipelines["llamaindex_newsrag_encoder"]["ms"]

    def ratio(a: float, b: float) -> float:
        return round(a / b, 2) if b else 0.0

    return {"retrieval_p50_vs_llamaindex": ratio(plain["retrieval"]["p50"], ours["retrieval"]["p50"]),
            "retrieval_p95_vs_llamaindex": ratio(plain["retrieval"]["p95"], ours["retrieval"]["p95"]),
            "answer_p50_vs_llamaindex_query_engine": ratio(plain["total"]["p50"], ours["total"]["p50"]),
            "retrieval_p50_vs_llamaindex_same_encoder": ratio(same["retrieval"]["p50"], ours["retrieval"]["p50"])}


def thread_table(base: dict[str, Any], questions: list[str], work: Path, smoke: bool) -> list[dict[str, Any]]:
    """Question embedding and whole-answer latency for each query thread count, with 0-2 cores kept busy."""
    qfile = work / "thread-questions.json"
    qfile.write_text(json.dumps(questions), encoding="utf-8")
    settings = base["settings"]
    backends = list(dict.fromkeys([settings["query_backend"] or settings["embedding_backend"], settings["embedding_backend"]]))
    rows = []
    for backend in backends[:1] if smoke else backends:
        for busy in BUSY[:1] if smoke else BUSY:
            for threads in THREADS:
                with busy_cores(busy):
                    time.sleep(0 if smoke else 1)  # let the spinners take their cores
                    load = load_average()
                    raw = run_worker({**base, "task": "ask", "questions": str(qfile), "settings": {
                        **settings, "query_backend": backend, "query_threads": threads}})
                ms = summarise(raw["ms"])
                rows.append({"backend": backend, "busy_processes": busy, "query_threads": threads,
                             "load_average": load, "embed": ms["embed"], "total": ms["total"]})
    return rows


def startup_times(store: Path, question: str, settings: Settings, runs: int = 3) -> dict[str, Any]:
    """Wall time of `newsrag --help` and of a cold `newsrag ask` (a fresh process) to its answer."""
    env = {"NEWSRAG_EMBEDDING_BACKEND": settings.embedding_backend, "NEWSRAG_MODEL_CACHE": str(settings.model_cache)}
    help_ms = [_run_cli(["--help"], env)[0] for _ in range(max(3, runs))]
    asks = [_run_cli(["ask", question, "--store", str(store), "--json"], env) for _ in range(runs)]
    timings = [json.loads(out)["timings"] for _, out in asks]
    first = {k: round(statistics.median(t.get(k, 0.0) for t in timings), 1) for k in ("embed", "dense", "bm25", "total")}
    return {"help_ms": round(statistics.median(help_ms), 1),
            "ask_cold_ms": round(statistics.median(ms for ms, _ in asks), 1), "ask_cold_timings": first, "runs": runs}


def _run_cli(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    import os

    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=600, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    if done.returncode != 0:
        from rag.errors import BackendError

        raise BackendError(f"newsrag {' '.join(args[:1])} failed: {done.stderr.strip()[-300:]}")
    return elapsed, done.stdout


PIPELINE_NAMES = {
    "newsrag": "newsrag `ask`: hybrid retrieval, extractive answer, citation check",
    "newsrag_dense": "newsrag `ask`, dense retrieval only",
    "llamaindex": "plain llama-index retriever / query engine (sentence-transformers fp32)",
    "llamaindex_newsrag_encoder": "plain llama-index with newsrag's encoder",
}


def format_query(result: dict[str, Any]) -> str:
    """The query tables: stages of newsrag's ask, the pipelines side by side, threads, start-up."""
    p = result["pipelines"]
    store = result["store"]
    lines = [
        (f"{result['questions']} RealTimeQA 2025-Q1 questions over {p['newsrag']['chunks']:,} chunks "
         f"({store['origin']} store, vectors by `{result['backend']}`); questions embedded by `{result['query_backend']}` "
         f"with {result['query_threads']} thread(s), "
         f"top {result['top_k']} passages, HNSW ef_search {p['newsrag'].get('hnsw', {}).get('ef_search')}; "
         f"{result['machine']}; load average {result['load_average_end']:.1f} at the end."),
        "", "newsrag `ask`, per stage (ms):", "", "| stage | p50 | p95 | p99 |", "| --- | ---: | ---: | ---: |",
    ]
    for stage in ("dates", "embed", "dense", "bm25", "fuse", "answer", "verify", "retrieval", "total"):
        ms = p["newsrag"]["ms"].get(stage)
        if ms is None:  # a result from before the stage existed
            continue
        label = {"retrieval": "retrieval (embed + dense + BM25 + fuse)", "total": "**whole answer**",
                 "dates": "dates (as-of day, time window, recency)"}.get(stage, stage)
        lines.append(f"| {label} | {ms['p50']:.1f} | {ms['p95']:.1f} | {ms['p99']:.1f} |")
    lines += breakdown_lines(p["newsrag"]["ms"])
    if "dates" in p["newsrag"]["ms"]:
        p95 = p["newsrag"]["ms"]["dates"]["p95"]
        lines += ["", f"Target: reading the dates of a question adds under 2 ms at p95: "
                      f"{'met' if p95 < 2 else '**missed**'} ({p95:.2f} ms)."]
    heading = ("Side by side on the same store (ms; the answer column is the query engine for llama-index):"
               if "llamaindex" in p else "The whole pipeline (ms):")
    lines += ["", heading, "",
              "| pipeline | query embedding p50 | retrieval p50 / p95 / p99 | answer p50 / p95 / p99 | RSS MB | load avg |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, label in PIPELINE_NAMES.items():
        if name not in p:
            continue
        ms = p[name]["ms"]
        r, t = ms["retrieval"], ms["total"]
        lines.append(f"| {label} | {ms['embed']['p50']:.1f} | {r['p50']:.1f} / {r['p95']:.1f} / {r['p99']:.1f} | "
                     f"{t['p50']:.1f} / {t['p95']:.1f} / {t['p99']:.1f} | {p[name]['rss_mb']:.0f} | {p[name]['load_average']:.1f} |")
    lines += _comparison_lines(result) + cold_and_update_lines(result)
    return "\n".join(lines)


def _comparison_lines(result: dict[str, Any]) -> list[str]:
    """The ratios to llama-index, the thread table and start-up (absent when only newsrag was measured)."""
    if "ratios" not in result:
        return []
    lines: list[str] = []
    ratios = result["ratios"]
    lines += ["", (f"newsrag's retrieval is {ratios['retrieval_p50_vs_llamaindex']:.2f}x faster than the plain llama-index "
                   f"retriever at p50 ({ratios['retrieval_p95_vs_llamaindex']:.2f}x at p95), "
                   f"{ratios['retrieval_p50_vs_llamaindex_same_encoder']:.2f}x with the same encoder in both; its whole "
                   f"answer is {ratios['answer_p50_vs_llamaindex_query_engine']:.2f}x faster than llama-index's query "
                   "engine with a zero-cost LLM.")]
    ratio = ratios["retrieval_p50_vs_llamaindex"]
    verdict = "met" if ratio >= 2 else f"**missed: {ratio:.2f}x, {2 / ratio if ratio else 0:.2f}x short**"
    lines += ["", f"Target: retrieval at least 2x faster than the plain llama-index retriever (p50): {verdict}."]
    lines += ["", "Query threads with other processes keeping cores busy (ms):", "",
              "| query backend | busy processes | query threads | embed p50 / p95 | whole answer p50 / p95 | load avg |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for row in result["threads"]:
        lines.append(f"| `{row['backend']}` | {row['busy_processes']} | {row['query_threads']} | "
                     f"{row['embed']['p50']:.1f} / {row['embed']['p95']:.1f} | "
                     f"{row['total']['p50']:.1f} / {row['total']['p95']:.1f} | {row['load_average']:.1f} |")
    s = result["startup"]
    cold = s["ask_cold_timings"]
    lines += ["", f"Start-up (median of {s['runs']} fresh processes, warm OS file cache):", "",
              f"- `newsrag --help`: {s['help_ms']:.0f} ms",
              (f"- `newsrag ask` to its answer, cold: {s['ask_cold_ms']:.0f} ms, of which the first answer itself took "
               f"{cold['total']:.0f} ms (query embedding incl. model load {cold['embed']:.0f}, dense search incl. HNSW load "
               f"{cold['dense']:.0f}, BM25 incl. index load {cold['bm25']:.0f}); the rest is imports and opening the store.")]
    return lines


def cold_and_update_lines(result: dict[str, Any]) -> list[str]:
    """The serving process's cold start, and (with --chunks) the BM25 index following changed articles."""
    ours = result["pipelines"]["newsrag"]
    lines = ["", (f"Cold start of the serving process (ms): open {ours['open_ms']:.0f}, BM25 load "
                  f"{ours['bm25_load_ms']:.0f} + postings {ours['bm25_postings_ms']:.0f}, first answer "
                  f"{ours['first_answer_ms']:.0f} (load average {ours['load_average']:.1f}).")]
    update = result.get("bm25_update")
    if update:
        times = sorted(update["update_ms"])
        lines += ["", (f"BM25 index following a changed article ({update['articles_changed']} changes, one after the "
                       f"other): {times[len(times) // 2]:.0f} ms median ({times[0]:.0f}-{times[-1]:.0f}), of which the "
                       f"in-memory delta {update['apply_ms']:.0f} ms; {update['appends']} appended to the log "
                       f"({update['log_bytes']:,} bytes), {update['saves']} whole-file writes. Rewriting the whole "
                       f"file ({update['index_bytes']:,} bytes; what every change cost before the log): "
                       f"{update['compaction_ms']:.0f} ms. A new process loads the file and the log's "
                       f"{update['reopen_followed']} records in {update['reopen_ms']:.0f} ms, its first search "
                       f"{update.get('reopen_search_ms', 0.0):.0f} ms.")]
    return lines


def breakdown_lines(ms: dict[str, dict[str, float]]) -> list[str]:
    """Where the whole answer goes: every stage of `serving.BREAKDOWN`, each millisecond counted once."""
    if "other" not in ms:  # a result from before the finer stages
        return []
    mean = sum(ms[stage].get("mean", 0.0) for stage in BREAKDOWN) or 1.0
    lines = ["", ("Where the whole answer goes (ms; each millisecond in one stage only: a chunk read inside the "
                  "sentence windows counts as a chunk read; `eval.bench.probes`):"), "",
             "| stage | p50 | p95 | mean | share of the mean |", "| --- | ---: | ---: | ---: | ---: |"]
    for stage in BREAKDOWN:
        m = ms[stage]
        lines.append(f"| {STAGE_LABELS.get(stage, stage)} | {m['p50']:.1f} | {m['p95']:.1f} | {m.get('mean', 0.0):.1f} | "
                     f"{m.get('mean', 0.0) / mean:.0%} |")
    total = ms["total"]
    verdict = "met" if total["p95"] < 150 else "**missed**"
    lines += ["", f"Target: whole answer p95 under 150 ms: {verdict} ({total['p95']:.1f} ms; p50 {total['p50']:.1f} ms)."]
    return lines


STAGE_LABELS = {
    "dates": "dates of the question", "embed": "question embedding", "dense": "dense search (HNSW)", "bm25": "BM25",
    "chunk reads": "reading candidate and neighbour chunks", "ranking": "learned passage ranking (features + model)",
    "article texts": "article texts (merges, windows)", "windows": "sentence windows (cutting)",
    "selector": "sentence selector (features + model)", "sentence embeddings": "selector's sentence embeddings",
    "short answer": "short answer", "citation embeddings": "citation check's sentence embeddings",
    "citation check": "citation check (the rest)", "other": "other (fusion, answer text, refusal, bookkeeping)",
}
