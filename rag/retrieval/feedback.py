"""Pseudo-relevance feedback for BM25 (RM3): widen a question with the words its best matches share.

A quiz question names an event in its own words ("a lunar lander touched down"); the articles that
report it repeat words the question lacks ("Blue Ghost", "Firefly", "Mare Crisium"). RM3 takes the
first BM25 matches, weighs each of their terms by how much of each match it makes up and how well that
match scored, and searches again with the best new terms added at a lower weight. Terms held by more
than a tenth of all chunks (and more than two) say nothing and are skipped. Off unless
`bm25_feedback_terms` is set: measured on RealTimeQA weeks 1-9, it lowered BM25's recall
(docs/evaluation.md, fourth round).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from ..records import Filters
from ..settings import Settings
from .bm25 import BM25Index

COMMON_SHARE = 0.1  # terms in more chunks than this share are not added


def expanded_search(index: BM25Index, terms: Sequence[str], k: int, filters: Filters | None,
                    settings: Settings) -> list[tuple[str, float]]:
    """BM25 for `terms`, plus up to `bm25_feedback_terms` terms from the first `bm25_feedback_docs`
    matches, each weighted `bm25_feedback_weight` times its share of the best one's."""
    k1, b = settings.bm25_k1, settings.bm25_b
    expansion: dict[str, float] = {}
    if settings.bm25_feedback_terms:
        first = index.search_slots(terms, settings.bm25_feedback_docs, filters, k1, b)
        expansion = feedback_terms(index, first, set(terms), settings.bm25_feedback_terms)
    if not expansion:
        return index.search(terms, k, filters, k1, b)
    top = max(expansion.values())
    weights = {t: settings.bm25_feedback_weight * w / top for t, w in expansion.items()}
    return index.search([*terms, *weights], k, filters, k1, b, weights=weights)


def feedback_terms(index: BM25Index, matches: Sequence[tuple[int, float]], known: set[str], limit: int) -> dict[str, float]:
    """RM3 term weights: sum over matches of (match score share) x (term frequency / match length)."""
    total = sum(score for _, score in matches)
    if not matches or total <= 0 or limit <= 0:
        return {}
    common = max(COMMON_SHARE * len(index), 2.0)  # a tiny collection: a word in two chunks is not common
    weights: dict[str, float] = defaultdict(float)
    for row, score in matches:
        row_terms, tfs = index.row_terms(row)
        length = float(tfs.sum()) or 1.0
        for term, tf in zip(row_terms, tfs.tolist()):
            if term not in known:
                weights[term] += (score / total) * (tf / length)
    ranked = sorted(weights.items(), key=lambda pair: -pair[1])
    chosen: dict[str, float] = {}
    for term, w in ranked:
        if len(chosen) >= limit:
            break
        if index.document_frequency(term) <= common:
            chosen[term] = w
    return chosen
