"""How well a passage supports a claim: shared terms, exact numbers, and embedding similarity for paraphrases.

A claim is supported by a passage when most of its content terms appear in one passage sentence
(lexical), or when it says the same thing in other words (cosine similarity of sentence embeddings
above a threshold, with some shared terms so a merely related sentence does not pass). A number in
the claim that the passage lacks always means no support: dates and figures must be exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import text as tx
from .records import Source

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors, shape (n, dim)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class Support:
    """How well one passage supports a claim, and the passage sentence that does (article offsets)."""

    score: float  # the score that decided: lexical, or semantic for a paraphrase
    start: int
    end: int
    lexical: float = 0.0  # share of the claim's content terms found in the sentence
    semantic: float | None = None  # cosine similarity of claim and sentence, when it was computed
    supported: bool = False


def numbers(text: str) -> set[str]:
    """The numbers written in `text`, without thousands separators."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


class SupportScorer:
    """Scores claims against a fixed list of passages; sentence embeddings are computed once, on first need."""

    def __init__(
        self,
        sources: Sequence[Source],
        embed: Embed | None = None,
        min_lexical: float = 0.6,
        min_semantic: float = 0.75,
        min_overlap: float = 0.3,
    ) -> None:
        self.sources = list(sources)
        self.embed = embed
        self.min_lexical = min_lexical
        self.min_semantic = min_semantic
        self.min_overlap = min_overlap
        self._spans = [tx.sentence_spans(s.text) for s in self.sources]
        self._terms = [[set(tx.terms(s.text[a:b])) for a, b in spans] for s, spans in zip(self.sources, self._spans)]
        self._numbers = [numbers(s.text) for s in self.sources]
        self._vectors: list[np.ndarray] | None = None
        self._claim_vectors: dict[str, np.ndarray] = {}

    def support(self, claim: str, index: int) -> Support:
        """How well `sources[index]` supports `claim`."""
        source = self.sources[index]
        claim_terms = set(tx.terms(claim))
        empty = Support(0.0, source.start, source.start)
        if not claim_terms or not numbers(claim) <= self._numbers[index]:
            return empty
        lexical = self._lexical(claim_terms, index)
        if lexical.score >= self.min_lexical:
            return Support(lexical.score, lexical.start, lexical.end, lexical.score, None, True)
        if self.embed is None or not self._spans[index]:
            return lexical
        whole = len(claim_terms & set().union(*self._terms[index])) / len(claim_terms)
        if whole < self.min_overlap:
            return lexical
        similarity, sentence = self._semantic(claim, index)
        start, end = self._spans[index][sentence]
        ok = similarity >= self.min_semantic
        if ok:
            return Support(similarity, source.start + start, source.start + end, lexical.score, similarity, True)
        return Support(lexical.score, lexical.start, lexical.end, lexical.score, similarity, False)

    def best(self, claim: str) -> tuple[int, Support] | None:
        """The passage that supports `claim` best, or None when none does."""
        found = [(i, self.support(claim, i)) for i in range(len(self.sources))]
        found = [(i, s) for i, s in found if s.supported]
        return max(found, key=lambda x: x[1].score) if found else None

    def _lexical(self, claim_terms: set[str], index: int) -> Support:
        """The sentence holding the largest share of the claim's terms (or the whole passage for a fused claim)."""
        source = self.sources[index]
        best = Support(0.0, source.start, source.start)
        for (start, end), terms in zip(self._spans[index], self._terms[index]):
            score = len(claim_terms & terms) / len(claim_terms)
            if score > best.score:
                best = Support(score, source.start + start, source.start + end, score)
        if best.score < 1.0 and self._terms[index]:  # a claim may fuse adjacent sentences
            whole = len(claim_terms & set().union(*self._terms[index])) / len(claim_terms)
            if whole > best.score + 0.2:
                best = Support(whole, source.start, source.end, whole)
        return best

    def _semantic(self, claim: str, index: int) -> tuple[float, int]:
        """The highest cosine similarity between the claim and a sentence of the passage, and that sentence."""
        assert self.embed is not None
        if self._vectors is None:
            texts = [s.text[a:b] for s, spans in zip(self.sources, self._spans) for a, b in spans]
            flat = self.embed(texts) if texts else np.zeros((0, 1), dtype=np.float32)
            self._vectors, cursor = [], 0
            for spans in self._spans:
                self._vectors.append(flat[cursor : cursor + len(spans)])
                cursor += len(spans)
        claim_vector = self._claim_vectors.get(claim)
        if claim_vector is None:
            claim_vector = self._claim_vectors[claim] = self.embed([claim])[0]
        similarities = self._vectors[index] @ claim_vector
        sentence = int(np.argmax(similarities))
        return float(similarities[sentence]), sentence
