"""Features of candidate answer sentences: what the learned sentence selector scores.

Every sentence of the retrieved passages is a candidate. Its features say how much of the question
it covers (stemmed terms, names, with and without its neighbours), whether it holds the kind of
thing the question asks for (a number, a date, a name) that the question does not already say, and
where it sits (passage rank and score, the article's lede). Semantic similarity to the question is
added for the few best candidates only (`SEMANTIC`), because embedding sentences is the costly part.
The same code builds the training rows (`eval/fit.py`) and scores at answer time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import text as tx
from ..asks import CAPITAL, QuestionShape, question_shape, type_fit
from ..records import Source
from .injection import instruction_like

_PRONOUN_START = re.compile(r"^\W*(he|she|it|they|this|that|these|those|his|her|their|its|the company|the group|"
                            r"but|and|also|however|meanwhile)\b", re.IGNORECASE)
_QUOTE = re.compile(r"[\"“”]")
# No statement to quote: a bare link, a line that leads into the next ("New York CNN Business —"), a question
# (a subheading: "Why was the execution halted?"), or the title of another story ("More: ...", "Read more: ...").
_NOT_A_SENTENCE = re.compile(r"^\s*https?:|[-–—:]\s*$|\?[\"”’']?\s*$"
                             r"|^\W*(?:more|read more|related|see also|also read)\s*:", re.IGNORECASE)

# Stage-one features (every candidate) and the semantic one added for the best few (stage two).
CHEAP = ("coverage", "coverage_idf", "context_coverage", "title_coverage", "names", "type_fit", "asks_type",
         "novel", "novel_capital", "passage_rank", "passage_score", "lede", "length", "pronoun_start", "quote",
         "repeated")
SEMANTIC = "semantic"


@dataclass
class Candidate:
    """A sentence of a passage, with its features and, once scored, its probability of answering."""

    passage: int  # index into the passages
    start: int  # offsets within the passage text
    end: int
    text: str
    terms: frozenset[str]
    features: dict[str, float] = field(default_factory=dict)
    probability: float = 0.0


def candidates(question: str, passages: Sequence[Source]) -> tuple[QuestionShape, list[Candidate]]:
    """Every usable sentence of the passages with its stage-one features."""
    shape = question_shape(question)
    found: list[Candidate] = []
    for index, passage in enumerate(passages):
        spans = tx.sentence_spans(passage.text)
        texts = [passage.text[a:b] for a, b in spans]
        terms = [frozenset(tx.terms(t)) for t in texts]
        for i, ((start, end), sentence) in enumerate(zip(spans, texts)):
            if _NOT_A_SENTENCE.search(sentence) or len(tx.words(sentence)) < 5 or instruction_like(sentence):
                continue  # no statement (see _NOT_A_SENTENCE), a byline, or an order to a model
            context = terms[i] | (terms[i - 1] if i else frozenset()) | (terms[i + 1] if i + 1 < len(terms) else frozenset())
            cand = Candidate(index, start, end, sentence.strip(), terms[i])
            cand.features = _cheap_features(shape, cand, context, passage, index)
            found.append(cand)
    _add_corpus_features(shape, found)
    return shape, found


def _cheap_features(shape: QuestionShape, cand: Candidate, context: frozenset[str], passage: Source,
                    rank: int) -> dict[str, float]:
    sentence = cand.text
    q_terms = set(shape.weights)
    novel_terms = [t for t in cand.terms if t not in q_terms]
    capitals = [w for w in CAPITAL.findall(sentence) if w.lower().strip(".’'") not in shape.words]
    phrases = shape.phrases
    names = (sum(tx.phrase_present(p, cand.terms) for p in phrases) / len(phrases)) if phrases else 0.0
    return {
        "coverage": shape.coverage(cand.terms),
        "coverage_idf": 0.0,  # filled by _add_corpus_features
        "context_coverage": shape.coverage(context),
        "title_coverage": shape.coverage(set(tx.terms(passage.title))),
        "names": names,
        "type_fit": type_fit(shape, sentence),
        "asks_type": float(shape.asks is not None),
        "novel": len(novel_terms) / len(cand.terms) if cand.terms else 0.0,
        "novel_capital": float(bool(capitals)),
        "passage_rank": 1.0 / (1 + rank),
        "passage_score": float(passage.score),
        "lede": float(passage.start + cand.start < 400),
        "length": math.log1p(len(sentence.split())),
        "pronoun_start": float(bool(_PRONOUN_START.search(sentence))),
        "quote": float(bool(_QUOTE.search(sentence))),
        "repeated": 0.0,  # filled by _add_corpus_features
    }


def _add_corpus_features(shape: QuestionShape, found: list[Candidate]) -> None:
    """Features relative to the other candidates: IDF-weighted coverage, and repetition across passages."""
    n = len(found) + 1
    df: dict[str, int] = {}
    for cand in found:
        for t in cand.terms:
            df[t] = df.get(t, 0) + 1
    idf = {t: math.log(1 + n / (1 + df.get(t, 0))) for t in shape.weights}
    total = sum(w * idf[t] for t, w in shape.weights.items()) or 1.0
    for cand in found:
        cand.features["coverage_idf"] = sum(w * idf[t] for t, w in shape.weights.items() if t in cand.terms) / total
        novel = cand.terms - set(shape.weights)
        if not novel:
            continue
        echoes = {other.passage for other in found
                  if other.passage != cand.passage and len(novel & other.terms) >= max(2, len(novel) // 2)}
        cand.features["repeated"] = min(len(echoes), 3) / 3
