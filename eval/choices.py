"""Multiple choice without an LLM: pick the option the retrieved passages support best.

Every option (but "None of the above") is described by how the top passages support it:
- `support`: its *distinctive* terms (stemmed content words that not every option shares and the
  question does not already contain), the IDF-weighted share one sentence holds, scaled up when the
  sentence's passage also covers the question's key terms (1.1 when the sentence holds the option's
  exact wording);
- `exact_share`, `exact_first`, `in_title`: how many passages hold the option's exact wording, the
  reciprocal rank of the first one, and whether an article title does;
- `spread`: the IDF-weighted share of its distinctive terms found anywhere in the passages;
- and each of these minus the best other option's value (`margin_*`): the options compete.
A logistic regression fitted on RealTimeQA 2025-Q1 weeks 1-9 (`eval/models/choice.json`, refit by
`python -m eval.fit`) gives each option a probability; the most probable wins. "None of the above"
is chosen when no option reaches the model's `abstain_below` threshold (chosen on weeks 1-9 too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag import text as tx
from rag.learned import LinearModel, load_model_file
from rag.records import Source

from .matching import contains
from .questions import Question

MODEL = Path(__file__).resolve().parent / "models" / "choice.json"
BASE = ("support", "exact_share", "exact_first", "in_title", "spread")
CHOICE_FEATURES = (*BASE, *(f"margin_{name}" for name in BASE))
ABSTAIN_BELOW: float | None = None  # None: the threshold fitted with the model


@dataclass(frozen=True)
class Choice:
    """The option picked for a question and the score of every option ("None of the above": 0)."""

    index: int
    scores: tuple[float, ...]
    abstained: bool  # the "None of the above" option was picked because nothing was supported


@lru_cache(maxsize=1)
def choice_model() -> LinearModel:
    """The fitted option model (`eval/models/choice.json`)."""
    return load_model_file(MODEL)


def choose_option(question: Question, passages: Sequence[Source], abstain_below: float | None = ABSTAIN_BELOW,
                  model: LinearModel | None = None) -> Choice:
    """The index of the most probable option (ties go to the earlier option)."""
    return pick(question, option_features(question, passages) if passages else {}, model or choice_model(),
                abstain_below)


def pick(question: Question, rows: dict[int, dict[str, float]], model: LinearModel,
         abstain_below: float | None = None) -> Choice:
    """The choice among options described by `rows` (`option_features`): the most probable, or "None of the
    above" when none reaches `abstain_below` (default: the model's fitted threshold)."""
    threshold = model.thresholds.get("abstain_below", 0.0) if abstain_below is None else abstain_below
    scores = [0.0] * len(question.choices)
    for i, row in rows.items():
        scores[i] = model.probability(row)
    options = list(rows)
    best = max(options, key=lambda i: (scores[i], -i)) if options else 0
    nota = question.abstain_choice
    if nota is not None and (not options or scores[best] < threshold):
        return Choice(nota, tuple(round(s, 4) for s in scores), True)
    return Choice(best, tuple(round(s, 4) for s in scores), False)


def option_features(question: Question, passages: Sequence[Source]) -> dict[int, dict[str, float]]:
    """Option index -> its `CHOICE_FEATURES` ("None of the above" has none)."""
    nota = question.abstain_choice
    options = [i for i in range(len(question.choices)) if i != nota]
    sentences = _sentences(question, passages)
    option_terms = {i: set(tx.terms(question.choices[i])) for i in options}
    shared = set.intersection(*option_terms.values()) if option_terms else set()
    asked = set(tx.terms(question.question))
    idf = _idf(sentences, set().union(*option_terms.values()) if option_terms else set())
    everywhere = set().union(*(s.terms for s in sentences)) if sentences else set()
    base: dict[int, dict[str, float]] = {}
    for i in options:
        option = question.choices[i]
        distinctive = (option_terms[i] - shared - asked) or (option_terms[i] - shared) or option_terms[i]
        holding = [rank for rank, p in enumerate(passages, start=1) if contains(p.text, [option])]
        total = sum(idf.get(t, 1.0) for t in distinctive) or 1.0
        base[i] = {
            "support": _support(option, distinctive, sentences, idf),
            "exact_share": len(holding) / max(1, len(passages)),
            "exact_first": 1.0 / holding[0] if holding else 0.0,
            "in_title": float(any(contains(p.title, [option]) for p in passages)),
            "spread": sum(idf.get(t, 1.0) for t in distinctive if t in everywhere) / total,
        }
    rows = {}
    for i, values in base.items():
        others = [base[j] for j in options if j != i]
        margins = {f"margin_{k}": v - max((o[k] for o in others), default=0.0) for k, v in values.items()}
        rows[i] = {**values, **margins}
    return rows


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
