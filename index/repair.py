"""`newsrag repair`: rebuild a damaged store from what survives, keeping every article that can be kept.

Articles come from the registry's records in SQLite (title, text, metadata, committed version); their
chunks from the chunk records, or, when those are lost or incomplete, from chunking the article text
again. Vectors are salvaged from the write log and the index files where they check out (index.salvage)
and embedded again otherwise, with progress. The new Chroma directory is built beside the old one and
swapped in whole (rag.store.files), so an interrupted repair leaves the damaged store as it was and a
second run starts again; the damaged directory is kept beside the repaired one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rag.embedding.embedder import Embedder, token_counter
from rag.errors import StoreError
from rag.settings import Settings
from rag.store import files as store_files
from rag.store import ownership
from rag.store.check import CHECK_FILE, find_problem
from rag.store.chroma_sqlite import SqliteDamaged
from rag.store.journal import WriteJournal
from rag.store.opening import index_settings
from rag.store.rows import ArticleRow, chunk_meta

from .chunking import chunk_article
from .pipeline import embedding_text
from .salvage import Record, Salvage, agree_with_model, read_collections, usable

Progress = Callable[[int, int], None]  # (chunks embedded, chunks to embed)


@dataclass
class RepairReport:
    """What a repair found and did."""

    store: str
    problem: str | None = None  # None: the store was sound and left alone
    articles: int = 0
    chunks: int = 0
    rechunked: int = 0  # articles whose chunks were rebuilt from their text
    salvaged_vectors: int = 0
    embedded: int = 0
    lost: list[tuple[str, str]] = field(default_factory=list)  # (article id, why it could not be kept)
    unreadable: list[str] = field(default_factory=list)
    damaged_copy: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "lost": [{"article_id": a, "reason": r} for a, r in self.lost]}


def repair(settings: Settings, force: bool = False, progress: Progress | None = None) -> RepairReport:
    """Check the embedded store of `settings` and rebuild it when it is damaged (always with `force`)."""
    root = Path(settings.store)
    if settings.chroma_url:
        raise StoreError("repair rebuilds an embedded store; a Chroma server is repaired with Chroma's own tools")
    if not (root / "chroma" / "chroma.sqlite3").is_file():
        raise StoreError(f"no newsrag store at {root} to repair (it holds no chroma/chroma.sqlite3); check --store")
    ownership.hold(root, settings.store_wait_seconds)  # a serving owner must be stopped first
    journal = WriteJournal(root)
    report = RepairReport(store=str(root))
    with journal.locked():
        store_files.finish_swap(root)
        report.problem = find_problem(root / "chroma") or ("rebuilt on request" if force else None)
        if report.problem is None:
            return report
        try:
            chunks, registry = read_collections(root / "chroma", settings.collection)
        except SqliteDamaged as exc:
            raise StoreError(f"nothing in the store at {root} can be read ({exc}); restore a backup (newsrag restore "
                             "DIR) or ingest your sources into a new store") from exc
        report.unreadable = chunks.unreadable + registry.unreadable
        _rebuild(settings, chunks, registry, report, progress)
        kept = store_files.swap_in(root, "chroma.damaged")
        report.damaged_copy = str(kept) if kept else None
        (root / CHECK_FILE).unlink(missing_ok=True)
        journal.end()
    return report


def _rebuild(settings: Settings, chunks: Salvage, registry: Salvage, report: RepairReport,
             progress: Progress | None) -> None:
    """Assemble every article that can be kept and write them into `<store>/chroma.new`."""
    embedder = Embedder(settings)
    by_article: dict[str, list[tuple[str, Record]]] = defaultdict(list)
    for chunk_id, (text, meta) in chunks.records.items():
        by_article[str(meta.get("article_id"))].append((chunk_id, (text, meta)))
    rows: dict[str, tuple[str, dict[str, Any]]] = {}  # chunk id -> (text, metadata)
    articles: dict[str, tuple[str, dict[str, Any]]] = {}
    for article_id, (text, meta) in sorted(registry.records.items()):
        kept = _article_chunks(article_id, text, meta, by_article.get(article_id, []), settings, report)
        if kept is None:
            continue
        rows.update(kept)
        articles[article_id] = (text or "", {**meta, "chunks": len(kept)})
    for article_id, items in by_article.items():
        if article_id not in registry.records:
            report.lost.append((article_id, f"“{items[0][1][1].get('title', '?')}”: its registry record is gone; "
                                            "ingest its source again"))
    vectors = _vectors(rows, chunks, embedder, settings, report, progress)
    _write(store_files.new_dir(Path(settings.store)), settings, chunks, registry, rows, articles, vectors)
    report.articles, report.chunks = len(articles), len(rows)


def _article_chunks(article_id: str, text: str | None, meta: dict[str, Any], found: list[tuple[str, Record]],
                    settings: Settings, report: RepairReport) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """The committed version's chunks when complete, else the article text chunked again (None: lost)."""
    version = str(meta.get("version") or "")
    mine = {cid: (t or "", m) for cid, (t, m) in found if m.get("version") == version and t}
    indexes = sorted(int(m.get("chunk_index", -1)) for _, m in mine.values())
    if version and indexes == list(range(int(meta.get("chunks") or 0))) and indexes:
        return mine
    if not text or not version:
        report.lost.append((article_id, f"“{meta.get('title', '?')}”: neither its chunks nor its text survive; "
                                        "ingest its source again"))
        return None
    comments = [int(m.get("start", 0)) for _, m in mine.values() if m.get("kind") == "comment"]
    pieces = chunk_article(text, min(comments) if comments else None, token_counter(settings.embedding_model).ids,
                           settings.chunk_tokens, settings.chunk_overlap_sentences)
    base = chunk_meta(_row(article_id, text, meta), version)
    report.rechunked += 1
    return {f"{article_id}:{version}:{c.index}": (c.text, {**base, "chunk_index": c.index, "start": c.start,
                                                           "end": c.end, "kind": c.kind}) for c in pieces}


def _row(article_id: str, text: str, meta: dict[str, Any]) -> ArticleRow:
    return ArticleRow(article_id=article_id, title=str(meta.get("title", "")), text=text,
                      content_hash=str(meta.get("content_hash", "")), url=meta.get("url"), date=meta.get("date"),
                      site=meta.get("site"), author=meta.get("author"))


def _vectors(rows: dict[str, tuple[str, dict[str, Any]]], chunks: Salvage, embedder: Embedder, settings: Settings,
             report: RepairReport, progress: Progress | None) -> dict[str, np.ndarray]:
    """A vector per chunk: salvaged where they check out, embedded again (as ingest embeds) for the rest."""
    texts = {i: embedding_text(str(m.get("title") or ""), t, settings) for i, (t, m) in rows.items()}
    salvaged = usable({i: v for i, v in chunks.vectors.items() if i in rows}, embedder.dimension)
    if not agree_with_model(salvaged, texts, embedder.embed_documents):
        salvaged = {}  # the stored vectors are not this model's: embed everything
    report.salvaged_vectors = len(salvaged)
    todo = [i for i in rows if i not in salvaged]
    vectors = dict(salvaged)
    for lo in range(0, len(todo), 64):
        batch = todo[lo : lo + 64]
        for chunk_id, vector in zip(batch, embedder.embed_documents([texts[i] for i in batch])):
            vectors[chunk_id] = vector
        if progress:
            progress(min(lo + 64, len(todo)), len(todo))
    report.embedded = len(todo)
    return vectors


def _write(folder: Path, settings: Settings, chunks: Salvage, registry: Salvage,
           rows: dict[str, tuple[str, dict[str, Any]]], articles: dict[str, tuple[str, dict[str, Any]]],
           vectors: dict[str, np.ndarray]) -> None:
    """A new Chroma directory with both collections, marked ready when everything is on disk."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=str(folder), settings=ChromaSettings(anonymized_telemetry=False))
    try:
        meta = _plain(chunks.info.metadata) or {"embedding_model": settings.embedding_model}
        target = client.create_collection(settings.collection, embedding_function=None, metadata=meta,
                                          configuration={"hnsw": {"space": "cosine", **index_settings(settings)}})
        ids = list(rows)
        for lo in range(0, len(ids), 1000):
            part = ids[lo : lo + 1000]
            target.upsert(ids=part, embeddings=np.asarray([vectors[i] for i in part]),
                          documents=[rows[i][0] for i in part], metadatas=[_plain(rows[i][1]) for i in part])
        books = client.create_collection(f"{settings.collection}-articles", embedding_function=None,
                                         metadata={**_plain(registry.info.metadata), "revision": uuid.uuid4().hex},
                                         configuration={"hnsw": {"space": "cosine"}})
        names = list(articles)
        for lo in range(0, len(names), 1000):
            part = names[lo : lo + 1000]
            books.upsert(ids=part, embeddings=np.asarray([_mean(a, articles[a][1], rows, vectors) for a in part]),
                         documents=[articles[a][0] for a in part], metadatas=[_plain(articles[a][1]) for a in part])
    finally:
        system = SharedSystemClient._identifier_to_system.pop(str(folder), None)
        if system is not None:
            system.stop()
    store_files.mark_ready(folder)


def _mean(article_id: str, meta: dict[str, Any], rows: dict[str, tuple[str, dict[str, Any]]],
          vectors: dict[str, np.ndarray]) -> np.ndarray:
    prefix = f"{article_id}:{meta.get('version')}:"
    mean = np.mean([vectors[i] for i in rows if i.startswith(prefix)], axis=0).astype(np.float32)
    return mean / (np.linalg.norm(mean) or 1.0)


def _plain(meta: dict[str, Any]) -> dict[str, Any]:
    """Metadata Chroma accepts (no None values)."""
    return {k: v for k, v in meta.items() if v is not None}
