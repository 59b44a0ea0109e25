"""The documents the BM25 index takes (`ChunkDoc`), from the store's rows: the chunks a commit of the writer
wrote (`rag.store.commits`), or committed chunks read back from Chroma."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..store.commits import Commit
from ..store.rows import ChunkHit
from .bm25 import ChunkDoc


def written_docs(commit: Commit) -> list[ChunkDoc]:
    """Index documents of the chunks a commit wrote."""
    docs: list[ChunkDoc] = []
    for written in commit.written.values():
        date_num, site_key = int(written.meta.get("date_num") or 0), str(written.meta.get("site_key") or "")
        docs.extend(ChunkDoc(chunk_id=i, article_id=written.article_id, version=written.version, text=t,
                             date_num=date_num, site_key=site_key) for i, t in zip(written.chunk_ids, written.texts))
    return docs


def complete_docs(hits: Sequence[ChunkHit], wanted: Sequence[str]) -> tuple[list[ChunkDoc], bool]:
    """Index documents of the wanted articles; False when one had no chunks left (replaced since `versions`)."""
    by_article: dict[str, list[ChunkHit]] = defaultdict(list)
    for hit in hits:
        by_article[hit.article_id].append(hit)
    docs: list[ChunkDoc] = []
    for article_id in wanted:
        chunks = by_article.get(article_id, [])
        if not chunks:  # a version's chunks are written before it is committed: none left means replaced
            continue
        docs.extend(
            ChunkDoc(chunk_id=h.chunk_id, article_id=article_id, version=str(h.meta.get("version")), text=h.text,
                     date_num=int(h.meta.get("date_num") or 0), site_key=str(h.meta.get("site_key") or ""))
            for h in chunks
        )
    complete = len({d.article_id for d in docs}) == len(set(wanted))
    return docs, complete
