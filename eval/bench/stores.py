"""The RealTimeQA store the query and scale benchmarks read, and the cache that keeps it between runs.

`realtimeqa_store` returns a store holding the whole RealTimeQA 2025-Q1 corpus: the one given with
`--store`, or one `newsrag ingest` builds into the benchmark cache (outside the repository, default
`~/.cache/newsrag/bench`) on the first run and reuses afterwards. Benchmarks only read copies
(`working_copy`), so a given store is never changed. `source_chunks` exports a store's chunks and
vectors once (`eval.bench.synth`) for the scale corpora.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.settings import Settings

from . import corpus
from .measure import run_worker

SMOKE_ARTICLES = 6


def cache_dir(path: str | Path | None = None) -> Path:
    """Where benchmark stores and exported chunks are kept (never inside the repository)."""
    if path:
        return Path(path).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("newsrag")) / "bench"


def realtimeqa_store(settings: Settings, workdir: Path, store: str | None = None, data: str | None = None,
                     smoke: bool = False, cache: str | None = None) -> tuple[Path, dict[str, Any]]:
    """A store with the RealTimeQA corpus and how it came to be (given, cached, or built now)."""
    if store:
        path = Path(store).expanduser()
        if not (path / "chroma").is_dir():
            raise ConfigError(f"--store {store}: no newsrag store there (no chroma/ folder); "
                              "leave --store out to build one from the RealTimeQA files")
        return path, {"origin": "given", "path": str(path)}
    folder = corpus.data_dir(data)
    rows = corpus.articles(folder, limit=SMOKE_ARTICLES if smoke else None)
    target = workdir / "smoke-store" if smoke else cache_dir(cache) / f"realtimeqa-{_corpus_key(folder, settings)}"
    marker = target / "bench-complete.json"
    if marker.is_file():
        return target, {"origin": "cached", "path": str(target), **json.loads(marker.read_text(encoding="utf-8"))}
    shutil.rmtree(target, ignore_errors=True)  # a build cut short: start again
    source = corpus.write_jsonl(rows, workdir / "realtimeqa.jsonl")
    built = run_worker({"task": "newsrag", "corpus": str(source), "store": str(target), "bare": False,
                        "backend": settings.embedding_backend,
                        "settings": {"chunk_tokens": settings.chunk_tokens, "max_seq_length": settings.max_seq_length,
                                     "model_cache": str(settings.model_cache)}})
    info = {"articles": built["articles"], "chunks": built["chunks"], "ingest_seconds": round(built["seconds"], 1)}
    marker.write_text(json.dumps(info), encoding="utf-8")
    return target, {"origin": "built", "path": str(target), **info}


def _corpus_key(folder: Path, settings: Settings) -> str:
    """Changes when the data files or the settings that shape chunks and vectors change."""
    files = sorted((p.name, p.stat().st_size) for p in folder.glob("*_gcs.jsonl"))
    shape = (settings.embedding_model, settings.embedding_backend, settings.chunk_tokens, settings.max_seq_length,
             settings.chunk_overlap_sentences)
    return hashlib.sha1(json.dumps([files, shape]).encode()).hexdigest()[:12]


def working_copy(store: Path, workdir: Path, name: str = "store") -> Path:
    """A private copy of a store for one benchmark (its processes may write the BM25 file or Chroma's)."""
    target = workdir / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(store, target, ignore=shutil.ignore_patterns("write.lock", "store.lock", "owner.json"))
    return target


def apply_index_settings(store: Path, settings: Settings) -> None:
    """Give a copied store's chunk index the current settings (ef_search, sync_threshold): the cached store may
    predate them, and leave its vector index saved, as a writer of this newsrag leaves it.

    Opening it as a writer sets them (`rag.store.opening.apply_index_settings`); one search then makes Chroma apply
    what its log holds and, under the new sync_threshold, save the index. The store is let go afterwards, so the
    benchmark's worker processes can open it.
    """
    import numpy as np

    from rag.store.collection import Store

    opened = Store(settings.with_overrides(store=str(store)), create=True)
    try:
        dimension = int((opened.chunks.metadata or {}).get("dimension") or 0)
        if dimension:
            opened.search_ids(np.full(dimension, 1.0, dtype=np.float32), 1)
    finally:
        opened.close()


def upgrade_bm25(store: Path, settings: Settings) -> None:
    """Give a copied store's BM25 file the current format (the cached store may predate it), so the measured
    processes open it as this newsrag leaves it: migrated once, not at every start."""
    from rag.retrieval.lexical import upgrade_saved

    upgrade_saved(settings.with_overrides(store=str(store)))


def _content_key(store: Path) -> str:
    """What the store holds, as the committed version of each article (read from SQLite, without Chroma); the
    file's size and mtime when it cannot be read so. Chroma rewrites `chroma.sqlite3` whenever it opens a store,
    so keyed on the file alone, any command run on the store threw away the cached exports and scale corpora
    built from it (the 1M corpus takes about an hour)."""
    from rag.store.chroma_sqlite import ChromaSqlite, SqliteDamaged, string_values

    sqlite = store / "chroma" / "chroma.sqlite3"
    if sqlite.exists():
        names: list[str] = []
        with contextlib.suppress(SqliteDamaged):
            db = ChromaSqlite(sqlite, read_only=True)
            try:
                names = [name for name in db.collections() if name.endswith("-articles")]
            finally:
                db.close()
        versions = string_values(sqlite, names[0], "version") if len(names) == 1 else None
        if versions:
            return hashlib.sha1(repr(sorted(versions.items())).encode()).hexdigest()
    stat = sqlite.stat() if sqlite.exists() else None
    return f"{stat.st_size if stat else 0}|{stat.st_mtime_ns if stat else 0}"


def source_chunks(store: Path, workdir: Path, cache: str | None = None, smoke: bool = False) -> Path:
    """The store's chunks, vectors and nearest neighbours as an .npz file, exported once and cached."""
    key = hashlib.sha1(f"{store.resolve()}|{_content_key(store)}".encode())
    target = (workdir if smoke else cache_dir(cache)) / f"source-{key.hexdigest()[:12]}.npz"
    if not target.is_file():
        copy = working_copy(store, workdir, "export-store")
        run_worker({"task": "export", "store": str(copy), "out": str(target)})
        shutil.rmtree(copy, ignore_errors=True)
    return target


def scale_store(settings: Settings, size: int, store: Path, workdir: Path, questions: Path,
                cache: str | None = None, smoke: bool = False) -> tuple[Path, dict[str, Any]]:
    """A store of `size` chunks made from `store`'s real chunks (`eval.bench.synth`), built once and cached.

    The same corpus `newsrag bench scale` serves, kept (the scale benchmark deletes its own) so that
    `newsrag bench query --chunks N` can be run again without writing N chunks each time.
    """
    source = source_chunks(store, workdir, cache, smoke)
    target = (workdir if smoke else cache_dir(cache)) / f"scale-{size}-{source.stem.removeprefix('source-')}"
    marker = target / "bench-complete.json"
    if marker.is_file():
        return target, {"origin": "cached synthetic", "path": str(target), "source": str(source),
                        **json.loads(marker.read_text(encoding="utf-8"))}
    shutil.rmtree(target, ignore_errors=True)  # a build cut short: start again
    built = run_worker({"task": "scale_build", "source": str(source), "store": str(target), "size": size,
                        "questions": str(questions), "exact": str(workdir / f"exact-{size}.json"),
                        "settings": {"embedding_backend": settings.embedding_backend,
                                     "query_backend": settings.query_backend,
                                     "model_cache": str(settings.model_cache), "collection": settings.collection}})
    info = {"chunks": built["chunks"], "articles": built["articles"], "synthetic_articles": built["synthetic_articles"],
            "bm25_update_ms": round(built["bm25_update_ms"], 1)}
    marker.write_text(json.dumps(info), encoding="utf-8")
    return target, {"origin": "built synthetic", "path": str(target), "source": str(source), **info}
