"""`newsrag bench backends`: each way of running the embedding model, its speed and its retrieval quality.

recall@5 (answer): the share of questions, among those whose gold answer text occurs in some chunk of
the corpus, for which at least one of the 5 chunks nearest to the question (exact cosine search over
all chunks) contains the answer text (case-insensitive). article hit@5: the share of all questions for
which one of those 5 chunks comes from an article the question's own web search returned.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.embedder import token_counter
from rag.errors import IngestError

from . import corpus
from .measure import cpu, machine, rate, run_worker

K = 5


@dataclass(frozen=True)
class Option:
    label: str
    backend: str
    settings: dict[str, Any] = field(default_factory=dict)
    bucketing: bool = True
    recall: bool = True  # speed-only variants give the same vectors as their base option


OPTIONS = [
    Option("torch fp32, max_seq_length 256, 250-token chunks", "torch", {"max_seq_length": 256, "chunk_tokens": 250}),
    Option("torch fp32 (reference)", "torch"),
    Option("torch bf16 autocast", "torch-bf16"),
    Option("ONNX Runtime fp32", "onnx"),
    Option("ONNX Runtime int8 (dynamic)", "onnx-int8"),
    Option("OpenVINO fp32", "openvino"),
    Option("OpenVINO bf16", "openvino-bf16"),
    Option("OpenVINO bf16, batches in corpus order (no length bucketing)", "openvino-bf16", bucketing=False, recall=False),
    Option("OpenVINO bf16, 1 thread", "openvino-bf16", {"threads": 1}, recall=False),
]
SMOKE_OPTIONS = [Option("ONNX Runtime fp32", "onnx"), Option("OpenVINO bf16", "openvino-bf16")]


def chunk_corpus(rows: list[dict], chunk_tokens: int, max_seq_length: int) -> tuple[list[str], list[str]]:
    """Chunk texts and their article urls, cut the way `newsrag ingest` cuts them."""
    from index.chunking import chunk_article
    from index.cleaning import clean_article
    from index.loading import RawArticle

    counter = token_counter("all-MiniLM-L6-v2")
    texts, urls = [], []
    for row in rows:
        raw = RawArticle(origin=row["url"], text=row["text"], title=row["title"], url=row["url"], fmt="record")
        try:
            clean = clean_article(raw)
        except IngestError:
            continue
        for chunk in chunk_article(clean.text, clean.comments_start, counter.ids, min(chunk_tokens, max_seq_length - 2)):
            texts.append(chunk.text)
            urls.append(row["url"])
    return texts, urls


def bench_backends(week_count: int, data: str | None = None, smoke: bool = False, model_cache: str | None = None,
                   speed_sample: int | None = None) -> dict[str, Any]:
    """Measure every option; with `speed_sample`, only the encode rate on that many chunks (no recall)."""
    folder = corpus.data_dir(data)
    all_weeks = corpus.weeks(folder)
    chosen = all_weeks[1 : 1 + week_count] if len(all_weeks) > week_count else all_weeks
    rows = corpus.articles(folder, limit=4 if smoke else None, week_list=chosen[:1] if smoke else chosen)
    questions = corpus.questions(folder, chosen[:1] if smoke else chosen)
    options = SMOKE_OPTIONS if smoke else OPTIONS
    results = []
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps([q.text for q in questions]), encoding="utf-8")
        chunkings: dict[tuple[int, int], tuple[list[str], list[str], Path]] = {}
        for option in options:
            seq = int(option.settings.get("max_seq_length", 128))
            size = int(option.settings.get("chunk_tokens", 120))
            if (size, seq) not in chunkings:
                texts, urls = chunk_corpus(rows, size, seq)
                if speed_sample:
                    texts, urls = texts[:speed_sample], urls[:speed_sample]
                path = Path(tmp) / f"chunks-{size}.json"
                path.write_text(json.dumps(texts), encoding="utf-8")
                chunkings[(size, seq)] = (texts, urls, path)
            texts, urls, path = chunkings[(size, seq)]
            vectors = Path(tmp) / "vectors.npy"
            spec: dict[str, Any] = {"task": "encode", "backend": option.backend, "texts": str(path), "bucketing": option.bucketing,
                    "settings": {k: v for k, v in option.settings.items() if k != "chunk_tokens"}}
            if model_cache:
                spec["settings"]["model_cache"] = model_cache
            if option.recall and not speed_sample:
                spec.update(vectors=str(vectors), questions=str(qfile), question_vectors=str(Path(tmp) / "q.npy"))
            measured = run_worker(spec)
            row: dict[str, Any] = {"option": option.label, "backend": option.backend, "chunks": measured["chunks"],
                                   "chunks_per_second": rate(measured["chunks"], measured["seconds"]),
                                   "chunks_per_cpu_second": rate(measured["chunks"], measured["cpu_seconds"])}
            if option.recall and not speed_sample:
                row.update(recall(np.load(vectors), np.load(Path(tmp) / "q.npy"), texts, urls, questions))
            results.append(row)
    _compare_with_reference(results)
    return {"machine": machine(), "cpu": cpu(), "weeks": chosen[:1] if smoke else chosen, "questions": len(questions),
            "articles": len(rows), "options": results, "speed_sample": speed_sample}


def _normal(text: str) -> str:
    text = text.replace("’", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


def recall(vectors: np.ndarray, qvectors: np.ndarray, texts: list[str], urls: list[str],
           questions: list[corpus.Question]) -> dict[str, Any]:
    """recall@5 (answer) over answerable questions, article hit@5 over all, and the per-question hits."""
    normal = [_normal(t) for t in texts]
    top = np.argsort(-(qvectors @ vectors.T), axis=1)[:, :K]
    answerable, article_hits = 0, 0
    hits: list[bool | None] = []
    for q, rows in zip(questions, top):
        answer = _normal(q.answer)
        article_hits += any(urls[i] in q.urls for i in rows)
        if not any(answer in t for t in normal):
            hits.append(None)
            continue
        answerable += 1
        hits.append(any(answer in normal[i] for i in rows))
    found = sum(1 for h in hits if h)
    return {"answerable": answerable, "recall_at_5": found / answerable if answerable else 0.0,
            "article_hit_at_5": article_hits / len(questions) if questions else 0.0, "hits": hits}


def _compare_with_reference(results: list[dict[str, Any]]) -> None:
    """Count, per option, the questions whose recall@5 hit differs from the fp32 reference's."""
    reference = next((r.get("hits") for r in results if r["option"] == "torch fp32 (reference)"), None)
    for row in results:
        hits = row.pop("hits", None)
        if reference is not None and hits is not None:
            row["flipped_vs_reference"] = sum(1 for a, b in zip(hits, reference) if a is not None and b is not None and a != b)


def format_backends(result: dict[str, Any]) -> str:
    if result.get("speed_sample"):
        return _format_speed(result)
    lines = [
        (f"Corpus: RealTimeQA 2025-Q1 weeks {', '.join(result['weeks'])}: {result['articles']} articles, "
         f"{result['questions']} questions; {result['machine']}."),
        "",
        "| option | chunks | chunks/s | chunks per CPU-second | recall@5 (answer) | answerable | article hit@5 | flips vs fp32 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["options"]:
        recall_cells = (f"{r['recall_at_5']:.3f} | {r['answerable']} | {r['article_hit_at_5']:.3f} | "
                        f"{r.get('flipped_vs_reference', '—')}") if "recall_at_5" in r else "(same vectors) | | |"
        lines.append(f"| {r['option']} | {r['chunks']} | {r['chunks_per_second']:.1f} | "
                     f"{r['chunks_per_cpu_second']:.1f} | {recall_cells} |")
    return "\n".join(lines)


def _format_speed(result: dict[str, Any]) -> str:
    lines = [
        (f"Encode rate only, on the first {result['speed_sample']} chunks of RealTimeQA 2025-Q1 weeks "
         f"{', '.join(result['weeks'])}; {result['machine']}."),
        "",
        "| option | chunks | chunks/s | chunks per CPU-second |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {r['option']} | {r['chunks']} | {r['chunks_per_second']:.1f} | {r['chunks_per_cpu_second']:.1f} |"
              for r in result["options"]]
    return "\n".join(lines)
