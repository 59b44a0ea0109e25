"""From ranked chunk hits to passages: neighbouring chunks of one article merged into one passage whose text
is cut from the article (so offsets stay exact), and a hit's metadata as the `Source` an answerer reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..records import Source
from ..store.rows import ChunkHit


def merge_chunks(members: Sequence[ChunkHit], article_text: str) -> Source | None:
    """One passage spanning neighbouring chunks (in article order); None if they do not match the article."""
    if len(members) == 1:
        return source_from_hit(members[0])
    if any(article_text[h.start : h.end] != h.text for h in members):
        return None  # the article text is not the one these chunks were cut from; keep them apart
    start, end = members[0].start, max(h.end for h in members)
    best = max(members, key=lambda h: h.score)
    source = source_from_hit(best)
    return replace(source, chunk_id=members[0].chunk_id, text=article_text[start:end], start=start, end=end,
                   chunk_ids=tuple(h.chunk_id for h in members))


def source_from_hit(hit: ChunkHit) -> Source:
    meta = hit.meta
    return Source(
        chunk_id=hit.chunk_id,
        article_id=hit.article_id,
        title=str(meta.get("title", "")),
        url=meta.get("url"),
        date=meta.get("date"),
        text=hit.text,
        start=hit.start,
        end=hit.end,
        score=round(hit.score, 4),
        kind=hit.kind,
        site=meta.get("site"),
        author=meta.get("author"),
        chunk_ids=(hit.chunk_id,),
    )


def adjacent(group: Sequence[ChunkHit], hit: ChunkHit) -> bool:
    """Whether `hit` is the chunk just before or after the group in the same article (and of the same kind)."""
    if group[0].article_id != hit.article_id or group[0].kind != hit.kind:
        return False
    indexes = [int(h.meta.get("chunk_index", -10)) for h in group]
    index = int(hit.meta.get("chunk_index", -10))
    return index == min(indexes) - 1 or index == max(indexes) + 1
