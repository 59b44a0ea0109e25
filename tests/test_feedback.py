"""Pseudo-relevance feedback for BM25 (rag.retrieval.feedback): a search widened by its first matches' words."""

from __future__ import annotations

from rag.retrieval.bm25 import BM25Index, ChunkDoc, lexical_terms
from rag.retrieval.feedback import expanded_search, feedback_terms
from rag.settings import Settings

TEXTS = {
    "a": "A lunar lander touched down on the moon on Sunday, the first private lander of the year. Blue Ghost, "
         "by Firefly, is the second such lander. Blue Ghost landed upright.",
    "b": "Blue Ghost, built by Firefly Aerospace, sent its first pictures from Mare Crisium.",
    "c": "The city council voted on a new budget for parks and roads.",
    "d": "Heavy rain closed roads across the county on Sunday.",
    "e": "The school board met on Monday to discuss the parks.",
}


def _index() -> BM25Index:
    docs = [ChunkDoc(f"{key}:0", key, "v1", text, 0, "") for key, text in TEXTS.items()]
    return BM25Index().apply([], docs)


def _settings(terms: int) -> Settings:
    return Settings(bm25_feedback_terms=terms, bm25_feedback_docs=1, bm25_feedback_weight=0.5)


def test_feedback_finds_the_chunk_that_names_the_event_in_other_words() -> None:
    index, question = _index(), lexical_terms("Which lunar lander touched down on the moon?")
    assert [c for c, _ in expanded_search(index, question, 5, None, _settings(0))] == ["a:0"]
    widened = [c for c, _ in expanded_search(index, question, 5, None, _settings(4))]
    assert widened[:2] == ["a:0", "b:0"]  # the question's own match stays first


def test_feedback_terms_come_from_the_matches_and_skip_the_questions_words() -> None:
    index = _index()
    question = lexical_terms("lunar lander")
    terms = feedback_terms(index, index.search_slots(question, 1), set(question), 3)
    assert len(terms) == 3 and not set(terms) & set(question)
    assert set(terms) <= set(lexical_terms(TEXTS["a"]))


def test_a_term_weighted_zero_adds_nothing_to_the_score() -> None:
    index = _index()
    plain = dict(index.search(lexical_terms("parks"), 5))
    weighted = dict(index.search(lexical_terms("parks roads"), 5, weights={"road": 0.0}))
    assert weighted == plain
