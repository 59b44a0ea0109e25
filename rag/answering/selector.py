"""The learned sentence selector: the probability that each candidate sentence answers the question.

Two fitted logistic regressions (`rag/models/sentence_first.json`, `rag/models/sentence.json`, fitted on
RealTimeQA 2025-Q1 weeks 1-9 by `python -m eval.fit`) score the candidates in two stages: every
sentence on the cheap features, then the best `shortlist` again with their embedding similarity to
the question added. Embedding a handful of sentences keeps an answer fast; scoring every sentence
semantically would cost a model call per sentence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..learned import LinearModel, load_model
from ..records import Source
from .features import SEMANTIC, Candidate, QuestionShape, candidates

Embed = Callable[[Sequence[str]], np.ndarray]


class SentenceSelector:
    """Scores the sentences of retrieved passages; `select` returns them best first."""

    def __init__(self, embed: Embed | None = None, first: LinearModel | None = None,
                 second: LinearModel | None = None, shortlist: int | None = None) -> None:
        self.embed = embed
        self._first, self._second = first, second  # loaded on first use
        self._shortlist = shortlist

    @property
    def first(self) -> LinearModel:
        if self._first is None:
            self._first = load_model("sentence_first")
        return self._first

    @property
    def second(self) -> LinearModel:
        if self._second is None:
            self._second = load_model("sentence")
        return self._second

    @property
    def shortlist(self) -> int:
        """How many of the best sentences on cheap features are re-scored with their similarity (as fitted)."""
        return self._shortlist or int(self.second.thresholds.get("shortlist", 6))

    @property
    def refuse_below(self) -> float:
        """Refuse when the best sentence's probability is under this (chosen on development data)."""
        return self.second.thresholds.get("refuse_below", 0.0)

    def select(self, question: str, passages: Sequence[Source]) -> tuple[QuestionShape, list[Candidate]]:
        shape, found = candidates(question, passages)
        if not found:
            return shape, []
        for cand, p in zip(found, self.first.probabilities([c.features for c in found])):
            cand.probability = p
        found.sort(key=lambda c: -c.probability)
        head = found[: self.shortlist]
        for cand, similarity in zip(head, self._similarities(question, head)):
            cand.features[SEMANTIC] = similarity
        for cand, p in zip(head, self.second.probabilities([c.features for c in head])):
            cand.probability = p
        floor = min(c.probability for c in head)
        for cand in found[self.shortlist :]:  # not re-scored: never above the shortlist
            cand.probability = min(cand.probability, floor)
        found.sort(key=lambda c: -c.probability)
        return shape, found

    def _similarities(self, question: str, head: Sequence[Candidate]) -> list[float]:
        if self.embed is None or not head:
            return [0.0] * len(head)
        vectors = self.embed([question, *(c.text for c in head)])
        return [float(v) for v in vectors[1:] @ vectors[0]]
