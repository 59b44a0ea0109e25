"""Chunking: pack whole sentences into chunks of at most N model tokens, with offsets into the article text.

Each sentence is tokenised once: its token count decides the packing, and (when the tokenizer splits
words at whitespace, as BERT's does) the ids of a chunk are its sentences' ids joined, handed on with the
chunk so the encoder need not tokenise the text again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag import text as tx
from rag.store.rows import ChunkRow

TokenIds = Callable[[Sequence[str]], list[list[int]]]  # the model's ids of each text, no special tokens
Span = tuple[int, int]


def chunk_article(
    text: str,
    comments_start: int | None,
    tokenize: TokenIds,
    chunk_tokens: int,
    overlap_sentences: int = 0,
    joinable: bool = False,
) -> list[ChunkRow]:
    """Chunks of the story, then of the comments (never mixed); `text[start:end]` is each chunk's text.

    With `joinable` (the tokenizer's ids of "A B" are those of "A" then "B"), each chunk carries its ids.
    """
    story_end = len(text) if comments_start is None else comments_start
    regions = [(0, story_end, "body")]
    if comments_start is not None:
        regions.append((comments_start, len(text), "comment"))
    chunks: list[ChunkRow] = []
    for lo, hi, kind in regions:
        spans, ids = _fit(text, tx.chunk_sentence_spans(text, lo, hi), tokenize, chunk_tokens)
        for first, last in _pack([len(ids[s]) for s in spans], chunk_tokens, overlap_sentences):
            start, end = spans[first][0], spans[last][1]
            joined = _joined(text, spans[first : last + 1], ids) if joinable else ()
            chunks.append(ChunkRow(index=len(chunks), text=text[start:end], start=start, end=end, kind=kind,
                                   token_ids=joined))
    return chunks


def _joined(text: str, spans: list[Span], ids: dict[Span, list[int]]) -> tuple[int, ...]:
    """The chunk's ids as its sentences' ids in order; () when anything but whitespace lies between them."""
    if any(text[a[1] : b[0]].strip() for a, b in zip(spans, spans[1:])):
        return ()
    return tuple(i for span in spans for i in ids[span])


def _pack(sizes: list[int], limit: int, overlap: int) -> list[tuple[int, int]]:
    """(first, last) sentence of each chunk: as many whole sentences as fit in `limit` tokens."""
    packed: list[tuple[int, int]] = []
    first = 0
    while first < len(sizes):
        used, last = sizes[first], first
        while last + 1 < len(sizes) and used + sizes[last + 1] <= limit:
            last += 1
            used += sizes[last]
        packed.append((first, last))
        if last + 1 >= len(sizes):
            break
        first = max(last + 1 - overlap, first + 1)
    return packed


def _fit(text: str, spans: list[Span], tokenize: TokenIds, limit: int) -> tuple[list[Span], dict[Span, list[int]]]:
    """Split any sentence longer than `limit` tokens at word boundaries (halving by token count until every
    piece fits); a single word longer than the limit stays whole. The spans, and the ids of each."""
    fitted: list[Span] = []
    pending = list(reversed(spans))
    ids = dict(zip(spans, tokenize([text[s:e] for s, e in spans])))
    while pending:
        span = pending.pop()
        if len(ids[span]) <= limit:
            fitted.append(span)
            continue
        halves = _halve(text, span)
        if halves is None:  # one unbreakable word
            fitted.append(span)
            continue
        ids.update(zip(halves, tokenize([text[s:e] for s, e in halves])))
        pending.extend(reversed(halves))
    return [s for s in fitted if re.search(r"\S", text[s[0] : s[1]])], ids


def _halve(text: str, span: Span) -> tuple[Span, Span] | None:
    """Cut a span at the word boundary nearest its middle, or None when it holds one word."""
    start, end = span
    gaps = [m for m in re.finditer(r"\s+", text[start:end]) if 0 < m.start() and m.end() < end - start]
    if not gaps:
        return None
    middle = (end - start) / 2
    gap = min(gaps, key=lambda m: abs(m.start() - middle))
    return (start, start + gap.start()), (start + gap.end(), end)
