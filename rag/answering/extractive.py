"""The default answerer, no LLM needed: quote the sentences that best answer the question, each cited."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .. import text as tx
from ..injection import instruction_like
from ..records import Source
from ..settings import Settings
from .base import REFUSAL

_NUMBER = re.compile(r"\d")
_MONTHS = "january february march april may june july august september october november december"
_DATE_WORDS = re.compile(
    r"\b(?:" + "|".join(_MONTHS.split()) + r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|yesterday|today|last (?:week|month|year)|(?:19|20)\d\d)\b",
    re.IGNORECASE,
)
_ABOUT_COMMENTS = re.compile(r"\b(comment\w*|readers?)\b", re.I)
_ASKS_NUMBER = re.compile(r"^\s*(how (many|much|long|old|far)|what (number|percentage|share|amount))\b", re.I)
_ASKS_DATE = re.compile(r"^\s*(when|what (year|day|date|month|time))\b", re.I)
_ASKS_NAME = re.compile(r"^\s*(who|whom|whose|where|which)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a passage, scored against the question."""

    passage: int  # index into the passages
    start: int  # offsets within the passage text
    end: int
    terms: frozenset[str]
    coverage: float  # weighted share of the question's key terms in the sentence
    score: float


class ExtractiveAnswerer:
    """Selects sentences by key-term coverage, passage similarity and answer type; never paraphrases."""

    name = "extractive"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def stream(self, question: str, passages: Sequence[Source]) -> Iterator[str]:
        chosen = self.select(question, passages)
        if not chosen:
            yield REFUSAL
            return
        for i, cand in enumerate(chosen):
            passage = passages[cand.passage]
            sentence = passage.text[cand.start : cand.end].strip()
            if passage.kind == "comment":
                sentence = f"A reader commented: “{sentence}”"
            yield ("" if i == 0 else " ") + f"{sentence} [{cand.passage + 1}]"

    def select(self, question: str, passages: Sequence[Source]) -> list[Candidate]:
        """The sentences to quote, best first; empty when the passages do not answer."""
        weights = tx.key_terms(question)
        if not passages or not weights:
            return []
        candidates = [c for i, p in enumerate(passages) for c in self._candidates(question, weights, i, p)]
        if not _ABOUT_COMMENTS.search(question):  # article text first; comments only when nothing else
            body = [c for c in candidates if passages[c.passage].kind != "comment"]
            candidates = body or candidates
        if not candidates:
            return []
        candidates.sort(key=lambda c: c.score, reverse=True)
        best = candidates[0]
        if not self._answers(question, weights, best, passages):
            return []
        chosen = [best]
        covered = set(best.terms)
        for cand in candidates[1:]:
            if len(chosen) >= self.settings.max_answer_sentences:
                break
            adds_terms = any(t in cand.terms and t not in covered for t in weights)
            # an equally good sentence is only worth quoting when it, too, covers the whole question;
            # one that merely shares a name with it ("Milley also discussed...") is off the question
            close = cand.score >= 0.85 * best.score and cand.coverage >= 0.99
            if (close or (adds_terms and cand.score >= 0.6 * best.score)) and not _repeats(cand, chosen):
                chosen.append(cand)
                covered |= cand.terms
        return chosen

    def _candidates(self, question: str, weights: dict[str, float], index: int, passage: Source) -> Iterator[Candidate]:
        total = sum(weights.values())
        for start, end in tx.sentence_spans(passage.text):
            sentence = passage.text[start:end]
            if len(sentence) < 12 or sentence.startswith("http") or instruction_like(sentence):
                continue  # too short, a bare link, or an order to a language model (never an answer)
            terms = frozenset(tx.terms(sentence))
            coverage = sum(w for t, w in weights.items() if t in terms) / total
            if coverage == 0:
                continue
            score = 0.6 * coverage + 0.3 * passage.score + 0.1 * _type_bonus(question, sentence)
            if passage.start + start == 0:
                score += 0.02  # the lede of a news story tends to carry its main fact
            yield Candidate(index, start, end, terms, coverage, score)

    def _answers(self, question: str, weights: dict[str, float], best: Candidate, passages: Sequence[Source]) -> bool:
        """Whether the evidence is strong enough to answer at all."""
        top = passages[best.passage]
        if max(p.score for p in passages) < self.settings.min_relevance:
            return False
        same_article = [p for p in passages if p.article_id == top.article_id]
        article_terms = set(tx.terms(top.title))
        for p in same_article:
            article_terms.update(tx.terms(p.text))
        phrases = tx.name_phrases(question)
        missing = sum(not tx.phrase_present(p, article_terms) for p in phrases)
        if missing > (1 if len(phrases) >= 3 else 0):
            return False  # the question is about someone or something the article never mentions
        total = sum(weights.values())
        article_coverage = sum(w for t, w in weights.items() if t in article_terms) / total
        return article_coverage >= self.settings.min_coverage and best.coverage >= self.settings.min_coverage / 2


def _type_bonus(question: str, sentence: str) -> float:
    """1.0 when the sentence holds the kind of thing the question asks for (a number, a date, a name)."""
    q_words = set(tx.words(question))
    if _ASKS_NUMBER.search(question):
        return 1.0 if any(_NUMBER.search(w) and w not in q_words for w in tx.words(sentence)) else 0.0
    if _ASKS_DATE.search(question):
        return 1.0 if any(m.group().lower() not in q_words for m in _DATE_WORDS.finditer(sentence)) else 0.0
    if _ASKS_NAME.search(question):
        capitalised = re.findall(r"(?<!^)(?<![.!?]\s)\b[A-Z][\w’'-]+", sentence)
        return 1.0 if any(w.lower() not in q_words for w in capitalised) else 0.0
    return 0.0


def _repeats(cand: Candidate, chosen: list[Candidate]) -> bool:
    """True when the sentence says nearly the same as one already chosen."""
    for other in chosen:
        union = cand.terms | other.terms
        if union and len(cand.terms & other.terms) / len(union) > 0.6:
            return True
    return False
