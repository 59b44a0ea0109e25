"""Sentence windows: a retrieved passage grows by a few sentences on each side before it is answered from.

Chunks are small so that their vectors stay sharp; the sentence that answers often sits just before
or after the chunk that matched (the attribution, the number, the name). Each passage is widened to
`passage_window` sentences into its neighbouring chunks of the same kind (a story passage never
grows into the reader comments), its text still `article_text[start:end]`. Passages of one article
that come to overlap are merged. A window is cut only from the article version the search read: when
the article was re-ingested since, the passage stays as retrieved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from .. import text as tx
from ..records import Source
from ..store.collection import Store
from ..store.rows import ChunkHit


def neighbour_ids(chunk_id: str) -> tuple[str, str] | None:
    """The ids of the chunks just before and after (`article:version:index`), or None for another form."""
    head, _, index = chunk_id.rpartition(":")
    if not head or not index.isdigit():
        return None
    return f"{head}:{int(index) - 1}", f"{head}:{int(index) + 1}"


def widen(store: Store, passages: Sequence[Source], sentences: int, versions: dict[str, str],
          read: Mapping[str, ChunkHit] | None = None, texts: Mapping[str, str] | None = None) -> list[Source]:
    """The passages, each widened by up to `sentences` sentences on each side (same kind only).

    `read` holds chunks the search already read from the same `versions` (a neighbour found there is not read
    again), `texts` article texts of those versions read with the passages (`Store.article_texts`); what they
    lack is read here.
    """
    if sentences <= 0 or not passages:
        return list(passages)
    wanted = {p.chunk_ids[0] if p.chunk_ids else p.chunk_id: p for p in passages}
    ids = [n for p in passages for n in (neighbour_ids(p.chunk_ids[0] if p.chunk_ids else p.chunk_id) or ())]
    ids += [n for p in passages if len(p.chunk_ids) > 1 for n in (neighbour_ids(p.chunk_ids[-1]) or ())]
    found = {i: read[i] for i in dict.fromkeys(ids) if read and i in read}
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        found.update((h.chunk_id, h) for h in store.hits_by_ids(missing, np.zeros(1, dtype=np.float32), versions=versions,
                                                                known=dict.fromkeys(missing, 0.0)))
    texts = _texts(store, {p.article_id for p in passages}, versions, texts)  # the version searched, or none
    out: list[Source] = []
    for first_id, passage in wanted.items():
        text = texts.get(passage.article_id, "")
        if text[passage.start : passage.end] != passage.text:
            out.append(passage)  # the stored text is not the one this passage was cut from
            continue
        before = neighbour_ids(first_id)
        after = neighbour_ids(passage.chunk_ids[-1] if passage.chunk_ids else passage.chunk_id)
        prev, nxt = (found.get(before[0]) if before else None), (found.get(after[1]) if after else None)
        if any(n is not None and text[n.start : n.end] != n.text for n in (prev, nxt)):
            out.append(passage)  # the article changed since these chunks were read: no window from another version
            continue
        lo = _bound(prev, passage, "start")
        hi = _bound(nxt, passage, "end")
        start, end = _window(text, passage.start, passage.end, lo, hi, sentences)
        out.append(replace(passage, text=text[start:end], start=start, end=end))  # chunk_ids: the retrieved ones
    return _merge_overlaps(out, texts)


def _texts(store: Store, article_ids: set[str], versions: dict[str, str],
           given: Mapping[str, str] | None) -> Mapping[str, str]:
    """The article texts of these versions: those given, and the rest read from the store."""
    given = given or {}
    missing = sorted(a for a in article_ids if a not in given)
    return {**given, **store.article_texts(missing, versions)} if missing else given


def _bound(neighbour: ChunkHit | None, passage: Source, side: str) -> int:
    """How far the passage may grow on one side: over a neighbour of the same kind, else not at all."""
    if neighbour is None or neighbour.kind != passage.kind:
        return passage.start if side == "start" else passage.end
    return neighbour.start if side == "start" else neighbour.end


def _window(text: str, start: int, end: int, lo: int, hi: int, sentences: int) -> tuple[int, int]:
    before = tx.sentence_spans(text, lo, start)
    after = tx.sentence_spans(text, end, hi)
    new_start = before[-sentences][0] if len(before) >= sentences else (before[0][0] if before else start)
    new_end = after[sentences - 1][1] if len(after) >= sentences else (after[-1][1] if after else end)
    return min(new_start, start), max(new_end, end)


def _merge_overlaps(passages: list[Source], texts: Mapping[str, str]) -> list[Source]:
    """Passages of one article that overlap or touch become one (at the rank of the better one)."""
    out: list[Source] = []
    for passage in passages:
        for i, kept in enumerate(out):
            text = texts.get(kept.article_id, "")
            gap = text[min(kept.end, passage.end) : max(kept.start, passage.start)]
            exact = all(text[p.start : p.end] == p.text for p in (kept, passage))  # both cut from this text
            if kept.article_id == passage.article_id and kept.kind == passage.kind and exact and not gap.strip():
                start, end = min(kept.start, passage.start), max(kept.end, passage.end)  # overlapping or touching
                ids = sorted(set(kept.chunk_ids + passage.chunk_ids), key=lambda c: int(c.rsplit(":", 1)[1]))
                out[i] = replace(kept, start=start, end=end, text=text[start:end], chunk_ids=tuple(ids))
                break
        else:
            out.append(passage)
    return out
