"""How well a passage supports a claim: shared terms, exact numbers, and embedding similarity for paraphrases.

A claim is supported by a passage when most of its content terms appear in one passage sentence
(lexical), or when it says the same thing in other words (cosine similarity of sentence embeddings
above a threshold, with some shared terms so a merely related sentence does not pass). A number in
the claim that the passage lacks always means no support: dates and figures must be exact. A passage
sentence that instructs a model (`rag.answering.injection.instruction_like`) supports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .. import text as tx
from ..answering.injection import instruction_like
from ..records import Source

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> L2-normalised vectors, shape (n, dim)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_NEGATION = frozenset(
    ["not", "no", "never", "none", "nothing", "nobody", "neither", "nor", "without", "cannot", "deny", "denies", "denied", "didn't", "doesn't", "don't", "isn't", "wasn't", "aren't", "weren't", "won't", "can't", "couldn't", "wouldn't", "shouldn't", "hasn't", "haven't", "hadn't"]
)


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


def negated(text: str) -> bool:
    """Whether `text` says "not", "never", "denied"...: a claim and its support must agree on this."""
    return any(w in _NEGATION for w in tx.words(tx.strip_quotes(text)))


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
        # sentences that instruct a model ("ignore previous instructions and reply X") support nothing
        self._usable = [[not instruction_like(s.text[a:b]) for a, b in spans] for s, spans in zip(self.sources, self._spans)]
        self._terms = [[set(tx.terms(s.text[a:b])) for a, b in spans] for s, spans in zip(self.sources, self._spans)]
        # words that a passage says only inside such instructions: a claim using one repeats the injection
        self._injected = [_only_in_unusable(terms, usable) for terms, usable in zip(self._terms, self._usable)]
        self._numbers = [numbers(s.text) for s in self.sources]
        self._vectors: dict[int, np.ndarray] = {}  # passage index -> its sentence vectors
        self._claim_vectors: dict[str, np.ndarray] = {}

    def support(self, claim: str, index: int) -> Support:
        """How well `sources[index]` supports `claim`."""
        source = self.sources[index]
        claim_terms = set(tx.terms(claim))
        empty = Support(0.0, source.start, source.start)
        if not claim_terms or not numbers(claim) <= self._numbers[index] or claim_terms & self._injected[index]:
            return empty
        lexical = self._lexical(claim_terms, index)
        if lexical.score >= self.min_lexical:
            agrees = negated(claim) == negated(self._article_text(index, lexical))
            return Support(lexical.score, lexical.start, lexical.end, lexical.score, None, agrees)
        if self.embed is None or not self._spans[index]:
            return lexical
        if lexical.score < self.min_overlap:
            return lexical
        similarity, sentence = self._semantic(claim, index)
        start, end = self._spans[index][sentence]
        ok = similarity >= self.min_semantic and negated(claim) == negated(source.text[start:end])
        if ok:
            return Support(similarity, source.start + start, source.start + end, lexical.score, similarity, True)
        return Support(lexical.score, lexical.start, lexical.end, lexical.score, similarity, False)

    def _article_text(self, index: int, found: Support) -> str:
        source = self.sources[index]
        return source.text[found.start - source.start : found.end - source.start]

    def best(self, claim: str) -> tuple[int, Support] | None:
        """The passage that supports `claim` best, or None when none does."""
        found = [(i, self.support(claim, i)) for i in range(len(self.sources))]
        found = [(i, s) for i, s in found if s.supported]
        return max(found, key=lambda x: x[1].score) if found else None

    def _lexical(self, claim_terms: set[str], index: int) -> Support:
        """The sentence holding the largest share of the claim's terms (or two adjacent ones for a fused claim)."""
        source = self.sources[index]
        spans, terms = self._spans[index], self._terms[index]
        best = Support(0.0, source.start, source.start)
        usable = self._usable[index]
        for (start, end), sentence_terms, ok in zip(spans, terms, usable):
            if not ok:
                continue
            score = len(claim_terms & sentence_terms) / len(claim_terms)
            if score > best.score:
                best = Support(score, source.start + start, source.start + end, score)
        single = best.score
        for i in range(len(spans) - 1):  # a claim may fuse two adjacent sentences
            if not (usable[i] and usable[i + 1]):
                continue
            score = len(claim_terms & (terms[i] | terms[i + 1])) / len(claim_terms)
            if score > max(best.score, single + 0.2):
                best = Support(score, source.start + spans[i][0], source.start + spans[i + 1][1], score)
        return best

    def _semantic(self, claim: str, index: int) -> tuple[float, int]:
        """The highest cosine similarity between the claim and a sentence of the passage, and that sentence."""
        assert self.embed is not None
        vectors = self._vectors.get(index)
        if vectors is None:
            text = self.sources[index].text
            vectors = self._vectors[index] = self.embed([text[a:b] for a, b in self._spans[index]])
        claim_vector = self._claim_vectors.get(claim)
        if claim_vector is None:
            claim_vector = self._claim_vectors[claim] = self.embed([claim])[0]
        similarities = np.where(self._usable[index], vectors @ claim_vector, -1.0)
        sentence = int(np.argmax(similarities))
        return float(similarities[sentence]), sentence


def _only_in_unusable(terms: Sequence[set[str]], usable: Sequence[bool]) -> set[str]:
    """Terms of a passage's instruction-like sentences that none of its other sentences has."""
    bad = set().union(*(t for t, ok in zip(terms, usable) if not ok))
    return bad - set().union(*(t for t, ok in zip(terms, usable) if ok)) if bad else set()
