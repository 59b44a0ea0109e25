"""Learned passage ranking: the probability that a candidate chunk holds the answer.

Dense search and BM25 each propose candidates; fusing their ranks (RRF) throws away how strong each
match is and everything the text says. Here every candidate of the fused pool is described by
retrieval signals (cosine, BM25 score relative to the best, both ranks) and text signals (how much
of the question the chunk, its best sentence and its title cover, the question's names, whether it
holds the kind of thing asked for, how many candidates its article has) and time signals (how close the
article's date is to the as-of day and to the question's window, `rag.retrieval.asof.time_features`), and a logistic regression
fitted on RealTimeQA 2025-Q1 weeks 1-9 (`rag/models/passage.json`, refit by `python -m eval.fit`)
orders them; a candidate holding the question's identifiers (a flight number, a strain, a case
number: `rag.retrieval.identifiers`) ranks above those that do not.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence

from .. import text as tx
from ..asks import QuestionShape, question_shape, type_fit
from ..learned import LinearModel, load_model
from ..store.rows import ChunkHit
from .asof import TIME_FEATURES, TimeQuery, time_features
from .identifiers import holding_first

PASSAGE_FEATURES = ("cosine", "bm25", "dense_rank", "bm25_rank", "coverage", "coverage_idf", "sentence_coverage",
                    "title_coverage", "names", "type_fit", "article_candidates", "article_best", "lede", "comment",
                    *TIME_FEATURES)


def passage_features(shape: QuestionShape, hits: Sequence[ChunkHit], dense_ranks: Mapping[str, int],
                     bm25: Mapping[str, float], bm25_ranks: Mapping[str, int],
                     when: TimeQuery | None = None) -> list[dict[str, float]]:
    """One feature row per hit (in the order given); `when` (the question's time) gives the date features."""
    top_bm25 = max(bm25.values(), default=0.0) or 1.0
    per_article = Counter(h.article_id for h in hits)
    best_cosine: dict[str, float] = {}
    for h in hits:
        best_cosine[h.article_id] = max(best_cosine.get(h.article_id, -1.0), h.score)
    split = [_term_sets(h.text) for h in hits]  # each chunk tokenised once, sentence by sentence
    term_sets = [whole for whole, _ in split]
    n = len(hits) + 1
    idf = {t: math.log(1 + n / (1 + sum(t in ts for ts in term_sets))) for t in shape.weights}
    idf_total = sum(w * idf[t] for t, w in shape.weights.items()) or 1.0
    titles: dict[str, set[str]] = {}  # article id -> its title's terms (several candidates share an article)
    rows = []
    for h, (terms, sentences) in zip(hits, split):
        if h.article_id not in titles:
            titles[h.article_id] = set(tx.terms(str(h.meta.get("title", ""))))
        title_terms = titles[h.article_id]
        both = terms | title_terms
        rows.append({
            "cosine": h.score if not math.isnan(h.score) else 0.0,
            "bm25": bm25.get(h.chunk_id, 0.0) / top_bm25,
            "dense_rank": 1.0 / (1 + dense_ranks[h.chunk_id]) if h.chunk_id in dense_ranks else 0.0,
            "bm25_rank": 1.0 / (1 + bm25_ranks[h.chunk_id]) if h.chunk_id in bm25_ranks else 0.0,
            "coverage": shape.coverage(terms),
            "coverage_idf": sum(w * idf[t] for t, w in shape.weights.items() if t in terms) / idf_total,
            "sentence_coverage": max(shape.coverage(s) for s in sentences),
            "title_coverage": shape.coverage(title_terms),
            "names": (sum(tx.phrase_present(p, both) for p in shape.phrases) / len(shape.phrases)) if shape.phrases else 0.0,
            "type_fit": type_fit(shape, h.text),
            "article_candidates": min(per_article[h.article_id], 5) / 5,
            "article_best": best_cosine[h.article_id],
            "lede": float(int(h.meta.get("chunk_index", 1)) == 0),
            "comment": float(h.kind == "comment"),
            **time_features(h.meta.get("date"), when),
        })
    return rows


def _term_sets(text: str) -> tuple[frozenset[str], list[frozenset[str]]]:
    """The terms of a chunk, and of each of its sentences (a cheap split on . ! ?) for the sentence coverage.

    No word runs across ". ", so without ! or ? the chunk's terms are its sentences' terms together and the
    chunk is not tokenised a second time; ! and ? become "." only for the split (they can end a number)."""
    sentences = [frozenset(tx.terms(s)) for s in text.replace("!", ".").replace("?", ".").split(". ")]
    if "!" in text or "?" in text:
        return frozenset(tx.terms(text)), sentences
    return frozenset().union(*sentences), sentences


class PassageRanker:
    """Orders candidate chunks by the fitted probability that they hold the answer."""

    def __init__(self, model: LinearModel | None = None) -> None:
        self.model = model or load_model("passage")

    def rank(self, question: str, hits: Sequence[ChunkHit], dense_ranks: Mapping[str, int],
             bm25: Mapping[str, float], bm25_ranks: Mapping[str, int],
             when: TimeQuery | None = None) -> list[tuple[ChunkHit, float]]:
        rows = passage_features(question_shape(question), hits, dense_ranks, bm25, bm25_ranks, when)
        scored = sorted(zip(hits, self.model.probabilities(rows)), key=lambda pair: -pair[1])
        return holding_first(question, scored, lambda pair: pair[0].text)  # a named code outranks near misses
