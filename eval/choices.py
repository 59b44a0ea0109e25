"""Multiple choice without an LLM: pick the option the retrieved passages support best.

Each option is reduced to its *distinctive* terms (stemmed content words that not every option
shares and the question does not already contain). A passage sentence supports an option by the
IDF-weighted share of those terms it holds, scaled up when the surrounding passage also covers the
question's key terms. An option's score is its best sentence. A "None of the above" option is chosen
when no other option reaches `abstain_below`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rag import text as tx
from rag.records import Source

from .matching import contains
from .questions import Question

ABSTAIN_BELOW = 0.1  # tuned on the weeks of 2025-01-03 and 2025-01-10 (docs/evaluation.md)


@dataclass(frozen=True)
class Choice:
    """The option picked for a question and the support score of every option."""

    index: int
    scores: tuple[float, ...]
    abstained: bool  # the "None of the above" option was picked because nothing was supported


def choose_option(question: Question, passages: Sequence[Source], abstain_below: float = ABSTAIN_BELOW) -> Choice:
    """The index of the best supported option (ties go to the earlier option)."""
    nota = question.abstain_choice
    options = [i for i in range(len(question.choices)) if i != nota]
    sentences = _sentences(question, passages)
    option_terms = {i: set(tx.terms(question.choices[i])) for i in options}
    shared = set.intersection(*option_terms.values()) if option_terms else set()
    asked = set(tx.terms(question.question))
    idf = _idf(sentences, set().union(*option_terms.values()) if option_terms else set())
    scores = [0.0] * len(question.choices)
    for i in options:
        distinctive = (option_terms[i] - shared - asked) or (option_terms[i] - shared) or option_terms[i]
        scores[i] = _support(question.choices[i], distinctive, sentences, idf)
    best = max(options, key=lambda i: (scores[i], -i)) if options else 0
    if nota is not None and (not options or scores[best] < abstain_below):
        return Choice(nota, tuple(round(s, 4) for s in scores), True)
    return Choice(best, tuple(round(s, 4) for s in scores), False)


@dataclass(frozen=True)
class _Sentence:
    text: str
    terms: frozenset[str]
    context: float  # share of the question's key terms in the whole passage


def _sentences(question: Question, passages: Sequence[Source]) -> list[_Sentence]:
    weights = tx.key_terms(question.question)
    total = sum(weights.values()) or 1.0
    out = []
    for passage in passages:
        passage_terms = set(tx.terms(passage.title + " " + passage.text))
        context = sum(w for t, w in weights.items() if t in passage_terms) / total
        for start, end in tx.sentence_spans(passage.text):
            sentence = passage.text[start:end]
            out.append(_Sentence(sentence, frozenset(tx.terms(sentence)), context))
    return out


def _idf(sentences: Sequence[_Sentence], terms: set[str]) -> dict[str, float]:
    n = len(sentences) + 1
    return {t: math.log(1 + n / (1 + sum(1 for s in sentences if t in s.terms))) for t in terms}


def _support(option: str, terms: set[str], sentences: Sequence[_Sentence], idf: dict[str, float]) -> float:
    if not terms:
        return 0.0
    total = sum(idf.get(t, 1.0) for t in terms)
    best = 0.0
    for sentence in sentences:
        covered = sum(idf.get(t, 1.0) for t in terms if t in sentence.terms) / total
        if covered and contains(sentence.text, [option]):
            covered = 1.0 + 0.1  # the option's exact wording beats any partial overlap
        best = max(best, covered * (0.5 + 0.5 * sentence.context))
    return best
