"""`newsrag bench ingest`: newsrag's ingest against the bare model and a plain llama-index pipeline."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from rag.settings import Settings

from . import corpus
from .measure import cpu, machine, rate, run_worker

SMOKE_ARTICLES = 3


def bench_ingest(articles: int | None, settings: Settings, data: str | None = None, smoke: bool = False,
                 baseline: bool = True) -> dict[str, Any]:
    """Measure both pipelines on the same RealTimeQA articles; figures and ratios as a dict."""
    folder = corpus.data_dir(data)
    limit = SMOKE_ARTICLES if smoke else articles
    rows = corpus.articles(folder, limit=limit)
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-") as tmp:
        source = corpus.write_jsonl(rows, Path(tmp) / "articles.jsonl")
        ours = run_worker({"task": "newsrag", "corpus": str(source), "store": f"{tmp}/newsrag",
                           "backend": settings.embedding_backend,
                           "settings": {"chunk_tokens": settings.chunk_tokens, "max_seq_length": settings.max_seq_length,
                                        "model_cache": str(settings.model_cache)}})
        plain = run_worker({"task": "llamaindex", "corpus": str(source), "store": f"{tmp}/llamaindex",
                            "chunk_tokens": settings.chunk_tokens,
                            "max_seq_length": settings.max_seq_length}) if baseline else None
    result: dict[str, Any] = {
        "machine": machine(), "cpu": cpu(), "articles": len(rows), "characters": sum(len(r["text"]) for r in rows),
        "backend": settings.embedding_backend, "chunk_tokens": settings.chunk_tokens,
        "max_seq_length": settings.max_seq_length, "newsrag": _rates(ours, len(rows)),
        "bare_model": {"chunks": ours["bare_chunks"], "seconds": ours["bare_seconds"],
                       "cpu_seconds": ours["bare_cpu_seconds"],
                       "chunks_per_second": rate(ours["bare_chunks"], ours["bare_seconds"])},
    }
    result["newsrag_vs_bare_model"] = _ratio(result["newsrag"]["chunks_per_second"],
                                             result["bare_model"]["chunks_per_second"])
    if plain is not None:
        result["llamaindex"] = _rates(plain, len(rows))
        result["ratios_vs_llamaindex"] = {
            key: _ratio(result["newsrag"][key], result["llamaindex"][key])
            for key in ("articles_per_second", "chunks_per_second")
        }
    return result


def _rates(raw: dict[str, Any], articles: int) -> dict[str, Any]:
    return {**raw, "articles_per_second": rate(articles, raw["seconds"]),
            "chunks_per_second": rate(raw["chunks"], raw["seconds"])}


def _ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def format_ingest(result: dict[str, Any]) -> str:
    """The figures as a markdown table plus the ratios."""
    lines = [
        (f"{result['articles']} RealTimeQA 2025-Q1 articles ({result['characters'] / 1e6:.2f} M characters); "
         f"backend `{result['backend']}`, chunks of at most {result['chunk_tokens']} tokens, "
         f"max_seq_length {result['max_seq_length']}; {result['machine']}."),
        "",
        "| pipeline | articles/s | chunks/s | chunks | seconds | CPU seconds | peak RSS (MB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        _row("newsrag ingest", result["newsrag"]),
        (f"| bare model, same chunks | | {result['bare_model']['chunks_per_second']:.1f} | "
         f"{result['bare_model']['chunks']} | {result['bare_model']['seconds']:.1f} | "
         f"{result['bare_model']['cpu_seconds']:.1f} | |"),
    ]
    if "llamaindex" in result:
        lines.append(_row("plain llama-index (fp32 torch)", result["llamaindex"]))
    lines.append("")
    lines.append(f"newsrag ingest runs at {result['newsrag_vs_bare_model']:.2f}x the bare model's encode rate "
                 f"(its embedding stage took {result['newsrag']['embed_seconds']:.1f} s of the "
                 f"{result['newsrag']['seconds']:.1f} s; {_ratio(result['newsrag']['cpu_seconds'], result['bare_model']['cpu_seconds']):.2f}x "
                 f"the bare model's CPU time).")
    if "ratios_vs_llamaindex" in result:
        ratios = result["ratios_vs_llamaindex"]
        per_cpu = _ratio(result["llamaindex"]["cpu_seconds"], result["newsrag"]["cpu_seconds"])
        lines.append(f"newsrag / plain llama-index: {ratios['articles_per_second']:.2f}x articles/s, "
                     f"{ratios['chunks_per_second']:.2f}x chunks/s, {per_cpu:.2f}x less CPU time.")
    return "\n".join(lines)


def _row(name: str, r: dict[str, Any]) -> str:
    return (f"| {name} | {r['articles_per_second']:.2f} | {r['chunks_per_second']:.1f} | {r['chunks']} | "
            f"{r['seconds']:.1f} | {r['cpu_seconds']:.1f} | {r['peak_rss_mb']:.0f} |")
