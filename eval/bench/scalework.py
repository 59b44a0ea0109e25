"""Worker side of `newsrag bench scale`: export the real chunks once, and build one scale store.

`run_export` reads a RealTimeQA store into the source file of `eval.bench.synth`. `run_build` writes
N chunks with their precomputed vectors through `Store.put_articles` (about 1,000 chunks, whole
articles, per call), times that and the BM25 build, and keeps the exact top 10 of every question over all N
vectors (streamed, so memory stays flat) for the recall measurement of the serving process.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from .synth import ScaleArticle, export_source, load_source, scale_articles
from .worker import peak_rss_mb

K = 10
WRITE_BATCH = 1000  # chunks per Store.put_articles call


def run_export(spec: dict[str, Any]) -> dict[str, Any]:
    from rag.settings import Settings
    from rag.store.collection import Store

    started = time.perf_counter()
    chunks = export_source(Store(Settings(store=spec["store"])), Path(spec["out"]))
    return {"chunks": chunks, "seconds": time.perf_counter() - started}


class ExactTopK:
    """The K best (cosine) chunk ids per query over vectors seen so far, updated batch by batch."""

    def __init__(self, queries: np.ndarray, k: int = K) -> None:
        self.queries = queries
        self.k = k
        self.scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        self.rows = np.full((len(queries), k), -1, dtype=np.int64)
        self.ids: list[str] = []

    def add(self, ids: list[str], vectors: np.ndarray) -> None:
        first = len(self.ids)
        self.ids.extend(ids)
        scores = np.concatenate([self.scores, self.queries @ vectors.T], axis=1)
        rows = np.concatenate([self.rows, np.broadcast_to(np.arange(first, first + len(ids)), (len(self.queries), len(ids)))], axis=1)
        keep = np.argpartition(-scores, self.k - 1, axis=1)[:, : self.k] if scores.shape[1] > self.k else np.arange(scores.shape[1])[None].repeat(len(scores), 0)
        self.scores = np.take_along_axis(scores, keep, axis=1)
        self.rows = np.take_along_axis(rows, keep, axis=1)

    def top_ids(self) -> list[list[str]]:
        order = np.argsort(-self.scores, axis=1)
        rows = np.take_along_axis(self.rows, order, axis=1)
        return [[self.ids[r] for r in row if r >= 0] for row in rows]


class ScaleWriter:
    """Writes scale articles in calls of about WRITE_BATCH chunks, timing only the store writes."""

    def __init__(self, store: Any, exact: ExactTopK) -> None:
        self.store, self.exact = store, exact
        self.pending: list[ScaleArticle] = []
        self.first: ScaleArticle | None = None
        self.seconds = 0.0
        self.articles = self.synthetic = self.chunks = 0

    def add(self, article: ScaleArticle) -> None:
        self.first = self.first or article
        self.pending.append(article)
        self.articles += 1
        self.synthetic += article.synthetic
        self.chunks += len(article.chunks)
        if sum(len(a.chunks) for a in self.pending) >= WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        started = time.perf_counter()
        self.store.writer.put_articles([(a.row, a.chunks, a.vectors) for a in self.pending])
        self.seconds += time.perf_counter() - started
        ids = [f"{a.row.article_id}:{a.row.content_hash[:16]}:{c.index}" for a in self.pending for c in a.chunks]
        self.exact.add(ids, np.concatenate([a.vectors for a in self.pending]))
        self.pending.clear()


def run_build(spec: dict[str, Any]) -> dict[str, Any]:
    """Write a scale store of spec['size'] chunks; ingest and BM25 build times, disk use, exact top 10."""
    from rag.composition import query_settings
    from rag.embedding.embedder import Embedder
    from rag.retrieval.lexical import sync
    from rag.settings import Settings
    from rag.store.collection import Store

    settings = Settings(store=spec["store"], **spec.get("settings", {}))
    source = load_source(Path(spec["source"]))
    questions = json.loads(Path(spec["questions"]).read_text(encoding="utf-8"))
    exact = ExactTopK(Embedder(query_settings(settings)).embed_documents(questions))  # as the serving process will
    store = Store(settings, create=True, dimension=int(source.vectors.shape[1]))
    writer = ScaleWriter(store, exact)
    with store.writer.write_lock():
        for article in scale_articles(source, int(spec["size"]), seed=int(spec.get("seed", 8))):
            writer.add(article)
        writer.flush()
        started = time.perf_counter()
        lexical = sync(store, settings)
        bm25_build = time.perf_counter() - started
        bm25_update = _one_article_update(store, lexical, writer.first)
    Path(spec["exact"]).write_text(json.dumps(exact.top_ids()), encoding="utf-8")
    root = Path(spec["store"])
    return {"chunks": writer.chunks, "articles": writer.articles, "synthetic_articles": writer.synthetic,
            "write_seconds": writer.seconds, "chunks_per_second": writer.chunks / writer.seconds if writer.seconds else 0.0,
            "write_batch": WRITE_BATCH, "bm25_build_seconds": bm25_build, "bm25_update_ms": bm25_update,
            "bm25_full_builds": lexical.stats.full_builds,
            "chroma_bytes": _disk_bytes(root / "chroma"), "bm25_bytes": _disk_bytes(root / "bm25"),
            "build_peak_rss_mb": peak_rss_mb()}


def run_update(spec: dict[str, Any]) -> dict[str, Any]:
    """The BM25 index following changed articles of a scale store (`bench query --chunks`): load, one update
    (the in-memory delta, then the log append), a reopen (file + log), and a compaction for comparison."""
    from rag.retrieval.bm25_log import log_path
    from rag.retrieval.lexical import LexicalIndex
    from rag.settings import Settings
    from rag.store.collection import Store

    settings = Settings(store=spec["store"], **spec.get("settings", {}))
    article = next(scale_articles(load_source(Path(spec["source"])), int(spec["size"]), seed=int(spec.get("seed", 8))))
    store = Store(settings)
    out: dict[str, Any] = {"articles_changed": int(spec.get("updates", 5))}
    with store.writer.write_lock():
        lexical = LexicalIndex(settings)
        out["load_ms"] = _ms(lambda: lexical.sync(store))
        times = [_one_article_update(store, lexical, article, f" Updated {n}.") for n in range(out["articles_changed"])]
        out["update_ms"] = times
        index = lexical.sync(store)
        out["apply_ms"] = _ms(lambda: index.apply([article.row.article_id], []))  # the in-memory delta alone
        out["appends"], out["saves"] = lexical.stats.appends, lexical.stats.saves
        out["log_bytes"] = log_path(lexical.path).stat().st_size if log_path(lexical.path).exists() else 0
        reopened = LexicalIndex(settings)
        out["reopen_ms"] = _ms(lambda: reopened._load())
        out["reopen_followed"] = reopened.stats.followed
        out["reopen_search_ms"] = _ms(lambda: reopened.sync(store).search(["news"], 1))
        out["compaction_ms"] = _ms(lambda: lexical._write(index))  # the whole file: what every update cost before
        out["index_bytes"] = lexical.path.stat().st_size
    return out


def _ms(work: Any) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def _one_article_update(store: Any, lexical: Any, article: ScaleArticle | None, suffix: str = " Updated.") -> float:
    """Milliseconds for the BM25 index to follow one changed article (delta and save, no rebuild)."""
    if article is None:
        return 0.0
    import dataclasses
    import hashlib

    first = article.chunks[0]
    text = first.text + suffix
    body = text + article.row.text[first.end :]
    shift = len(text) - len(first.text)
    chunks = [dataclasses.replace(first, text=text, end=first.end + shift)]
    chunks += [dataclasses.replace(c, start=c.start + shift, end=c.end + shift) for c in article.chunks[1:]]
    row = dataclasses.replace(article.row, text=body, content_hash=hashlib.sha1(body.encode("utf-8")).hexdigest())
    store.writer.put_articles([(row, chunks, article.vectors)])
    started = time.perf_counter()
    lexical.sync(store)
    return (time.perf_counter() - started) * 1000


def _disk_bytes(path: Path) -> int:
    """Bytes of the files under `path` as allocated on disk."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                continue
    return total
