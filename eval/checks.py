"""Checks of one answer: answer scores, citation validity/support/coverage, and the pass/fail verdict.

Citation support is judged independently of rag.citing.citations (which repairs markers with its own scorer):
a sentence is supported when at least `SUPPORT_SHARE` of its content words occur in the cited passage
and every number in it does.
"""

from __future__ import annotations

import re

from rag.citing.citations import split_claims
from rag.records import Answer
from rag.text import STOPWORDS

from .matching import contains, exact_match, normalize_answer, token_f1
from .questions import Question
from .results import CitationCheck, QuestionResult

SUPPORT_SHARE = 0.8
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_COMMENT_WRAPPER = re.compile(r"^A reader commented:\s*“(.*)”\W*$", re.DOTALL)


def key_strings(question: Question) -> tuple[str, ...]:
    """Evidence strings, or answer strings when the question lists no evidence."""
    return question.evidence or question.answers


def sentence_supported(sentence: str, passage: str) -> bool:
    """Whether `passage` backs `sentence`: most content words and all numbers occur in it."""
    sentence = _COMMENT_WRAPPER.sub(r"\1", sentence.strip())
    words = [w for w in normalize_answer(sentence).split() if w not in STOPWORDS]
    if not words:
        return False
    passage_words = set(normalize_answer(passage).split())
    numbers = {n.replace(",", "") for n in _NUMBER.findall(sentence)}
    passage_numbers = {n.replace(",", "") for n in _NUMBER.findall(passage)}
    if not numbers <= passage_numbers:
        return False
    return sum(w in passage_words for w in words) / len(words) >= SUPPORT_SHARE


def check_citations(answer: Answer, question: Question) -> CitationCheck:
    """Count markers, valid markers, supported markers and cited sentences of one answer."""
    check = CitationCheck()
    if answer.refused:
        return check
    by_marker: dict[int, list[int]] = {}
    for citation in answer.citations:
        if 0 <= citation.source_index < len(answer.sources):
            by_marker.setdefault(citation.marker, []).append(citation.source_index)
    cited_texts: list[str] = []
    for claim in split_claims(answer.text.removeprefix(getattr(answer, "time_note", ""))):  # claims, not the time note
        sentence, markers = claim.text, claim.markers
        check.sentences += 1
        check.cited_sentences += bool(markers)
        for marker in markers:
            check.markers += 1
            indexes = by_marker.get(marker)
            if not indexes:
                continue
            check.valid += 1
            texts = [answer.sources[i].text for i in indexes]
            cited_texts.extend(texts)
            check.supported += any(sentence_supported(sentence, t) for t in texts)
    keys = key_strings(question)
    if keys:
        check.evidence = any(contains(t, keys) for t in cited_texts)
    return check


def score_answer(result: QuestionResult, question: Question) -> None:
    """Fill exact match, token F1, answer-contains and the counterfactual check of `result`."""
    if question.answerable and question.answers:
        text = "" if result.refused else result.answer
        result.exact_match = exact_match(text, question.answers)
        result.f1 = round(token_f1(text, question.answers), 4)
        result.contains = float(contains(text, question.answers)) if text else 0.0
    if question.wrong_answers:
        result.repeats_wrong = not result.refused and contains(result.answer, question.wrong_answers)


def passed(result: QuestionResult, question: Question) -> bool:
    """The verdict shown per question and compared between runs (see docs/evaluation.md)."""
    if result.failed:
        return False
    if not question.answerable:
        return result.refused
    if question.choices:
        return bool(result.ranking.choice_correct)
    if result.repeats_wrong:
        return False
    if question.answers:
        return not result.refused and bool(result.contains)
    return not result.refused
