"""Chunking: pack whole sentences into chunks of at most N model tokens, with offsets into the article text."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag import text as tx
from rag.rows import ChunkRow

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
    """Split any sentence longer than `limit` tokens at word boundaries (halving by token count until every
    piece fits); a single word longer than the limit stays whole."""
    fitted: list[Span] = []
    pending = list(reversed(spans))
    sizes = dict(zip(spans, count_tokens([text[s:e] for s, e in spans])))
    while pending:
        span = pending.pop()
        if sizes[span] <= limit:
            fitted.append(span)
            continue
        halves = _halve(text, span)
        if halves is None:  # one unbreakable word
            fitted.append(span)
            continue
        sizes.update(zip(halves, count_tokens([text[s:e] for s, e in halves])))
        pending.extend(reversed(halves))
    return [s for s in fitted if re.search(r"\S", text[s[0] : s[1]])]


def _halve(text: str, span: Span) -> tuple[Span, Span] | None:
    """Cut a span at the word boundary nearest its middle, or None when it holds one word."""
    start, end = span
    gaps = [m for m in re.finditer(r"\s+", text[start:end]) if 0 < m.start() and m.end() < end - start]
    if not gaps:
        return None
    middle = (end - start) / 2
    gap = min(gaps, key=lambda m: abs(m.start() - middle))
    return (start, start + gap.start()), (start + gap.end(), end)
