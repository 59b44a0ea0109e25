"""Chunking: pack whole sentences into chunks of at most N model tokens, with offsets into the article text."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag import text as tx
from rag.store import ChunkRow

TokenCount = Callable[[Sequence[str]], list[int]]
Span = tuple[int, int]


def chunk_article(
    text: str,
    comments_start: int | None,
    count_tokens: TokenCount,
    chunk_tokens: int,
    overlap_sentences: int = 0,
) -> list[ChunkRow]:
    """Chunks of the story, then of the comments (never mixed); `text[start:end]` is each chunk's text."""
    story_end = len(text) if comments_start is None else comments_start
    regions = [(0, story_end, "body")]
    if comments_start is not None:
        regions.append((comments_start, len(text), "comment"))
    chunks: list[ChunkRow] = []
    for lo, hi, kind in regions:
        spans = _fit(text, tx.sentence_spans(text, lo, hi), count_tokens, chunk_tokens)
        for start, end in _pack(text, spans, count_tokens, chunk_tokens, overlap_sentences):
            chunks.append(ChunkRow(index=len(chunks), text=text[start:end], start=start, end=end, kind=kind))
    return chunks


def _pack(text: str, spans: list[Span], count_tokens: TokenCount, limit: int, overlap: int) -> list[Span]:
    sizes = count_tokens([text[s:e] for s, e in spans])
    packed: list[Span] = []
    first = 0
    while first < len(spans):
        used, last = sizes[first], first
        while last + 1 < len(spans) and used + sizes[last + 1] <= limit:
            last += 1
            used += sizes[last]
        packed.append((spans[first][0], spans[last][1]))
        if last + 1 >= len(spans):
            break
        first = max(last + 1 - overlap, first + 1)
    return packed


def _fit(text: str, spans: list[Span], count_tokens: TokenCount, limit: int) -> list[Span]:
    """Split any sentence longer than `limit` tokens at word boundaries."""
    sizes = count_tokens([text[s:e] for s, e in spans])
    fitted: list[Span] = []
    for (start, end), size in zip(spans, sizes):
        if size <= limit:
            fitted.append((start, end))
            continue
        pieces = max(2, -(-size // limit) + 1)
        step = max(1, (end - start) // pieces)
        cursor = start
        while cursor < end:
            cut = min(end, cursor + step)
            if cut < end:
                space = text.rfind(" ", cursor + 1, cut + 1)
                cut = space if space > cursor else cut
            fitted.append((cursor, cut))
            cursor = cut
            while cursor < end and text[cursor] == " ":
                cursor += 1
    return [s for s in fitted if re.search(r"\S", text[s[0] : s[1]])]
