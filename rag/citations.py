"""Citation verification: every [n] must point at a passage that was given and that supports its sentence.

Unsupported markers are moved to the passage that does support the sentence, or removed; markers
are renumbered 1..m in order of first use, and each cited passage records the sentence that supports it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from . import text as tx
from .records import Citation, Source

_MARKER_RUN = re.compile(r"(?:\s*\[\d{1,3}\])+(?P<punct>[.!?;:]*)")
_MARKER_GROUP = re.compile(r"\[(\d{1,3}(?:\s*,\s*\d{1,3})*)\]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_COMMENT_WRAPPER = re.compile(r"^A reader commented:\s*“(.*)”$", re.S)


@dataclass(frozen=True)
class Support:
    """How well one passage sentence supports a claim."""

    score: float
    start: int  # article offsets of the supporting sentence
    end: int


@dataclass(frozen=True)
class Verified:
    text: str
    citations: list[Citation]
    sources: list[Source]
    verified: bool


def support(claim: str, source: Source) -> Support:
    """The passage sentence that best supports `claim`: share of the claim's terms it contains.

    A number in the claim that the passage lacks makes the support 0: dates and figures must be exact.
    """
    claim_terms = set(tx.terms(claim))
    numbers = {n.replace(",", "") for n in _NUMBER.findall(claim)}
    best = Support(0.0, source.start, source.start)
    if not claim_terms:
        return best
    passage_numbers = {n.replace(",", "") for n in _NUMBER.findall(source.text)}
    if not numbers <= passage_numbers:
        return best
    for start, end in tx.sentence_spans(source.text):
        window = source.text[start:end]
        score = len(claim_terms & set(tx.terms(window))) / len(claim_terms)
        if score > best.score:
            best = Support(score, source.start + start, source.start + end)
    if best.score < 1.0:  # a claim may fuse two adjacent sentences
        whole = len(claim_terms & set(tx.terms(source.text))) / len(claim_terms)
        if whole > best.score + 0.2:
            best = Support(whole, source.start, source.end)
    return best


def split_claims(text: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences, each with the markers that follow it (text keeps no markers).

    Markers close the sentence they follow, wherever punctuation sits ("claim [1]." or "claim. [1]");
    sentences before it in the same run carry none of their own.
    """
    text = _MARKER_GROUP.sub(lambda m: "".join(f"[{n.strip()}]" for n in m.group(1).split(",")), text)
    claims: list[tuple[str, list[int]]] = []
    cursor = 0
    for run in _MARKER_RUN.finditer(text):
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", run.group())]
        segment = text[cursor : run.start()] + run.group("punct")
        cursor = run.end()
        sentences = _sentences(segment)
        if not sentences:
            if claims:
                claims[-1][1].extend(markers)
            continue
        claims.extend((sentence, []) for sentence in sentences[:-1])
        claims.append((sentences[-1], markers))
    claims.extend((sentence, []) for sentence in _sentences(text[cursor:]))
    return claims


def _sentences(segment: str) -> list[str]:
    return [
        segment[a:b].strip()
        for a, b in tx.sentence_spans(segment)
        if re.search(r"\w", segment[a:b])
    ]


def verify_citations(text: str, sources: Sequence[Source], threshold: float = 0.6) -> Verified:
    """Check and repair the markers of `text` against `sources` ([n] is sources[n-1])."""
    order: list[int] = []  # source indexes in order of first citation
    spans: dict[int, list[tuple[int, int]]] = {}
    pieces: list[str] = []
    raw_citations: list[tuple[int, float, Support]] = []
    all_supported = True
    for claim, markers in split_claims(text):
        inner = _COMMENT_WRAPPER.sub(r"\1", claim)
        kept: list[tuple[int, Support]] = []
        for marker in dict.fromkeys(markers):
            if 1 <= marker <= len(sources):
                found = support(inner, sources[marker - 1])
                if found.score >= threshold:
                    kept.append((marker - 1, found))
        if not kept:
            scored = [(i, support(inner, s)) for i, s in enumerate(sources)]
            scored = [x for x in scored if x[1].score >= threshold]
            if scored:
                kept = [max(scored, key=lambda x: x[1].score)]
        if not kept:
            all_supported = False
            pieces.append(claim)
            continue
        labels = []
        for index, found in kept:
            if index not in order:
                order.append(index)
            spans.setdefault(index, []).append((found.start, found.end))
            raw_citations.append((index, found.score, found))
            labels.append(f"[{order.index(index) + 1}]")
        pieces.append(f"{claim} {''.join(labels)}")
    renumbered = {index: n + 1 for n, index in enumerate(order)}
    new_order = order + [i for i in range(len(sources)) if i not in order]
    position = {old: new for new, old in enumerate(new_order)}
    new_sources = [
        replace(sources[old], highlights=tuple(sorted(set(spans.get(old, []))))) for old in new_order
    ]
    citations = []
    seen: set[tuple[int, int, int]] = set()
    for index, score, found in raw_citations:
        key = (renumbered[index], found.start, found.end)
        if key in seen:
            continue
        seen.add(key)
        citations.append(Citation(renumbered[index], position[index], round(score, 3), found.start, found.end))
    text = "".join(p if not pieces or p[:1] in ",;:)" or i == 0 else " " + p for i, p in enumerate(pieces))
    return Verified(text, citations, new_sources, all_supported and bool(citations))
