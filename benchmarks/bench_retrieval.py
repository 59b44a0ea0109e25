"""Retrieval benchmarks: prints figures, asserts nothing.

    # latency per stage (embed, dense, bm25, fuse, rerank) on a store, for each retrieval mode
    python benchmarks/bench_retrieval.py stages --store DIR --questions ../shared/data/sample/questions.jsonl

    # the BM25 index at scale, without Chroma: build, per-article delta, save, load, search
    python benchmarks/bench_retrieval.py bm25 --corpus ../shared/data/realtimeqa/2025-q1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def questions_from(path: Path) -> list[str]:
    """Questions from a sample questions.jsonl or a RealTimeQA *_qa.jsonl file or folder."""
    files = sorted(path.glob("*_qa.jsonl")) if path.is_dir() else [path]
    out: list[str] = []
    for file in files:
        for line in file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.append(item.get("question") or item["question_sentence"])
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def bench_stages(store: Path, questions: list[str], modes: list[str], reranker: str | None) -> None:
    import rag
    from rag.retrieval import STAGES

    assistant = rag.open(store=store, reranker_model=reranker)
    status = assistant.status()
    print(f"store {store}: {status['articles']} articles, {status['chunks']} chunks; {len(questions)} questions")
    started = time.perf_counter()
    assistant.retriever.retrieve("warm up the model and the BM25 index")
    print(f"first query (model load + BM25 index load): {(time.perf_counter() - started) * 1000:.0f} ms")
    print(f"BM25 sync stats: {assistant.retriever.lexical.stats}")
    for mode in modes:
        per_stage: dict[str, list[float]] = {s: [] for s in (*STAGES, "search", "total")}
        for question in questions:
            assistant.embedder._query_cache.clear()  # measure embedding every time
            timings: dict[str, float] = {}
            started = time.perf_counter()
            assistant.retriever.retrieve(question, timings=timings, mode=mode)
            timings["total"] = (time.perf_counter() - started) * 1000
            for stage in per_stage:
                per_stage[stage].append(timings.get(stage, 0.0))
        cells = "  ".join(f"{s} {statistics.median(v):.1f}/{pct(v, 0.9):.1f}" for s, v in per_stage.items())
        print(f"{mode:>6}: ms median/p90  {cells}")


def bench_bm25(corpus: Path, limit: int | None) -> None:
    import tempfile

    from index.chunking import chunk_article
    from rag.bm25 import BM25Index, ChunkDoc, lexical_terms
    from rag.embedder import token_counter
    from rag.text import normalize

    articles: list[tuple[str, str]] = []
    for file in sorted(corpus.glob("*_gcs.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            for result in json.loads(line).get("search_result", []):
                if result.get("text"):
                    articles.append((result["url"], normalize(result["text"])))
    articles = list(dict(articles).items())[:limit]
    counter = token_counter("all-MiniLM-L6-v2")
    started = time.perf_counter()
    docs_of: dict[str, list[ChunkDoc]] = {}
    for n, (url, text) in enumerate(articles):
        chunks = chunk_article(text, None, counter.count, 120, 0)
        docs_of[f"a{n}"] = [ChunkDoc(f"a{n}:v1:{c.index}", f"a{n}", "v1", c.text, 20250101, "example.com") for c in chunks]
    docs = [d for chunk_docs in docs_of.values() for d in chunk_docs]
    print(f"{len(articles)} articles, {len(docs)} chunks (chunked in {time.perf_counter() - started:.1f} s)")

    started = time.perf_counter()
    index = BM25Index().apply([], docs)
    print(f"full build: {time.perf_counter() - started:.2f} s  ({len(index.term_ids):,} postings, {len(index.vocab):,} terms)")
    edited = [ChunkDoc(d.chunk_id.replace(":v1:", ":v2:"), d.article_id, "v2", d.text + " edited", d.date_num, d.site_key)
              for d in docs_of["a7"]]
    started = time.perf_counter()
    index.apply(["a7"], edited)
    print(f"per-article delta (replace one article's {len(edited)} chunks): {(time.perf_counter() - started) * 1000:.0f} ms")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.npz"
        started = time.perf_counter()
        path.write_bytes(index.to_bytes())
        saved = time.perf_counter() - started
        started = time.perf_counter()
        loaded = BM25Index.from_bytes(path.read_bytes())
        print(f"save {saved * 1000:.0f} ms, load {(time.perf_counter() - started) * 1000:.0f} ms, "
              f"file {path.stat().st_size / 1e6:.1f} MB")
    started = time.perf_counter()
    loaded.search(["warm"], 1)
    print(f"term-major postings built on first search: {(time.perf_counter() - started) * 1000:.0f} ms")
    latencies = []
    for question in questions_from(corpus):
        started = time.perf_counter()
        loaded.search(lexical_terms(question), 30)
        latencies.append((time.perf_counter() - started) * 1000)
    print(f"search k=30 over {len(latencies)} questions: median {statistics.median(latencies):.1f} ms, "
          f"p90 {pct(latencies, 0.9):.1f} ms, max {max(latencies):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    stages = sub.add_parser("stages")
    stages.add_argument("--store", type=Path, required=True)
    stages.add_argument("--questions", type=Path, required=True)
    stages.add_argument("--modes", default="hybrid,dense,bm25")
    stages.add_argument("--reranker", help="local CrossEncoder directory")
    stages.add_argument("--limit", type=int)
    bm25 = sub.add_parser("bm25")
    bm25.add_argument("--corpus", type=Path, required=True)
    bm25.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.command == "stages":
        bench_stages(args.store, questions_from(args.questions)[: args.limit], args.modes.split(","), args.reranker)
    else:
        bench_bm25(args.corpus, args.limit)


if __name__ == "__main__":
    main()
