"""`newsrag bench bm25 --chunks N`: the BM25 index alone at N chunks, without writing a Chroma store.

At 1M chunks a scale store takes most of an hour to write; the BM25 index's own costs need only its
texts. The worker indexes the chunks of the scale corpus (`eval.bench.synth`, the same texts `bench scale`
writes), saves the index file as newsrag does, then follows changed articles the way `LexicalIndex.sync`
does after reading them from the store (the store reads are what this leaves out): the in-memory delta
(tombstones on the base, the tail rebuilt), then the save (appended to the log), a reopen by a new process
(the file mapped + the log replayed into the tail), its first search (the postings as the file holds them)
and a compaction (base minus tombstones plus tail into a new file: what every change cost before the log).
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .measure import cpu, load_average, machine, run_worker
from .synth import load_source, scale_articles
from .worker import peak_rss_mb


def bench_bm25(source: Path, size: int, updates: int = 5) -> dict[str, Any]:
    """Run the worker on `size` chunks of the scale corpus made from `source` (an exported .npz)."""
    load = load_average()
    result = run_worker({"task": "bm25_only", "source": str(source), "size": size, "updates": updates})
    return {"machine": machine(), "cpu": cpu(), "load_average": load, "load_average_end": load_average(), **result}


def run_bm25_only(spec: dict[str, Any]) -> dict[str, Any]:
    from rag.retrieval.bm25 import BM25Index, ChunkDoc
    from rag.retrieval.bm25_log import log_path
    from rag.retrieval.lexical import LexicalIndex
    from rag.settings import Settings
    from rag.store.rows import date_number

    started = time.perf_counter()
    docs: list[Any] = []
    first: list[Any] = []
    for article in scale_articles(load_source(Path(spec["source"])), int(spec["size"])):
        version = article.row.content_hash[:16]
        made = [ChunkDoc(f"{article.row.article_id}:{version}:{c.index}", article.row.article_id, version, c.text,
                         date_number(article.row.date or "") or 0, "") for c in article.chunks]
        first = first or made
        docs.extend(d.counted() for d in made)
    index = BM25Index().apply([], docs)
    out: dict[str, Any] = {"chunks": len(index), "build_seconds": time.perf_counter() - started}
    with tempfile.TemporaryDirectory(prefix="newsrag-bm25-") as tmp:
        lexical = LexicalIndex(Settings(store=tmp))
        index.meta.update(collection=lexical.settings.collection, token=uuid.uuid4().hex, revision="r0")
        written: list[Any] = []
        out["write_ms"] = _ms(lambda: written.append(lexical._write(index)))
        index = written[0]  # the base as a process holds it: mapped from the file
        out["index_bytes"] = lexical.path.stat().st_size
        out["apply_ms"], out["save_ms"] = [], []
        for n in range(int(spec.get("updates", 5))):
            changed = [ChunkDoc(d.chunk_id, d.article_id, d.version, d.text + f" Updated {n}.", d.date_num, d.site_key).counted()
                       for d in first]
            parent, mark = index.meta["token"], time.perf_counter()
            index = index.apply([first[0].article_id], changed)
            index.meta.update(token=uuid.uuid4().hex, revision=f"r{n + 1}")
            out["apply_ms"].append(_ms_since(mark))
            out["save_ms"].append(_ms(lambda i=index, p=parent, c=changed: lexical._save(i, p, [first[0].article_id], c)))
        out["tail_rows"], out["deleted_rows"] = len(index.tail), len(index.base) + len(index.tail) - len(index)
        out["appends"], out["saves"] = lexical.stats.appends, lexical.stats.saves
        out["log_bytes"] = log_path(lexical.path).stat().st_size if log_path(lexical.path).exists() else 0
        reopened = LexicalIndex(lexical.settings)
        out["reopen_ms"] = _ms(reopened._load)
        out["reopen_followed"] = reopened.stats.followed
        loaded = reopened._index
        assert loaded is not None and loaded.article_versions() == index.article_versions()
        out["postings_ms"] = _ms(lambda: loaded.search(["news"], 1))
        out["search_ms"] = _ms(lambda: loaded.search(["president", "elect", "news"], 30))
        assert loaded.search(["president", "elect", "news"], 30) == index.search(["president", "elect", "news"], 30)
        out["compaction_ms"] = _ms(lambda: lexical._write(index))
    out["peak_rss_mb"] = peak_rss_mb()
    out["postings_source"] = "mapped from the file"
    return out


def _ms(work: Any) -> float:
    started = time.perf_counter()
    work()
    return _ms_since(started)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def format_bm25(result: dict[str, Any]) -> str:
    """One table: what following a changed article costs, and what it cost before the log."""
    apply, save = sorted(result["apply_ms"]), sorted(result["save_ms"])
    mid = len(save) // 2
    return "\n".join([
        (f"BM25 index alone, {result['chunks']:,} chunks of the scale corpus ({result['index_bytes']:,} bytes on disk); "
         f"{result['machine']}; load average {result['load_average_end']:.1f} at the end."), "",
        "| step | ms |", "| --- | ---: |",
        f"| one changed article: in-memory delta (median of {len(apply)}) | {apply[mid]:.1f} |",
        f"| one changed article: appended to the log (median of {len(save)}) | {save[mid]:.1f} |",
        f"| one changed article before the log: the whole file rewritten | {result['write_ms']:.0f} |",
        f"| compaction (file rewritten, log removed) | {result['compaction_ms']:.0f} |",
        f"| a new process: load the file + {result['reopen_followed']} log records | {result['reopen_ms']:.1f} |",
        f"| its first search (term-major postings: {result.get('postings_source', 'derived from the rows')}) | {result['postings_ms']:.1f} |",
        f"| a search after that | {result['search_ms']:.1f} |",
        "", (f"{result['appends']} changes appended ({result['log_bytes']:,} bytes of log), "
             f"{result['saves'] - 1} whole-file writes besides the first; peak RSS {result['peak_rss_mb']:.0f} MB; "
             f"building the index from the texts took {result['build_seconds']:.0f} s."),
    ])
