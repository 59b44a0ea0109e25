"""Short answers: the name, number, date or place a factual question asks for, with evidence.

Candidate spans come from the best-scored sentences: runs of capitalised words ("Kirsty Coventry",
"Blue Ghost"), numbers with their unit ("159 cases", "$28 billion", "25%") and dates. A span the
question already says is no answer. Each span is scored by a fitted logistic regression
(`rag/models/short_answer.json`) on its evidence: the selector's probabilities of the sentences that
hold it, how many different articles repeat it, whether it fits the question's type (a known place
for "where", a number for "how many"), and its length. To "where", "which country", "which state" or
"which city" only a place is given when the sentences name one ("Kabul", "Off Florida's Gulf Coast";
never "Taliban"). A name is scored as the sentences write it and shown whole: "LeBron James" for "James",
"Pete Hegseth" for "Defense Secretary Pete Hegseth" (`shown_name`).

"Who is Mark Milley?" and "What is Milley's position?" name the person and ask what they are: another
name is never the answer. There the short answer is the role the best sentences give the person, as a
title before the name ("Chairman of the Joint Chiefs of Staff Gen. Mark Milley") or an apposition after
it ("Milley, the chairman of the Joint Chiefs,"), or none (`rag.asks.role_of`). "What slogan", "what do
they call themselves": the phrase a sentence quotes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..asks import (
    ASKS_KNOWN_PLACE,
    DATE,
    HONORIFIC,
    NOT_ANSWERS,
    NUMBER,
    QuestionShape,
    places,
    places_in,
    quoted,
    role_of,
)
from ..learned import LinearModel, load_model
from ..records import Source
from .features import Candidate

_NAME_RUN = re.compile(
    r"\b[A-Z][\w’'&.-]*(?:\s+(?:(?:of|and|de|la|del|van|von|al|bin|the|for|&)\s+)?[A-Z0-9][\w’'&.-]*)*")
_NUMBER_UNIT = re.compile(NUMBER.pattern + r"(?:\s+(?:percent|million|billion|trillion|thousand|hundred))?"
                          r"(?:\s+[a-z]+)?", re.IGNORECASE)
_NAME_WORD = re.compile(r"[A-Z][\w’'-]*[a-z][\w’'-]*")  # "Adrien", "LeBron", "O'Neal"; not "No.", "3", "US"
_LEADING = re.compile(r"^(?:the|a|an|in|on|at|by|for|and|but|as|after|before|when|while|if|so|it|this|that)\s+", re.IGNORECASE)
_VERBISH = frozenset("said says is are was were has have had will would can could may might".split())
SPAN_FEATURES = ("best_probability", "sum_probability", "articles", "mentions", "type_fit", "place", "words",
                 "in_best", "subject", "in_title")


@dataclass
class Span:
    """One candidate short answer and its evidence."""

    text: str
    kind: str  # "name", "number" or "date"
    features: dict[str, float] = field(default_factory=dict)
    probability: float = 0.0


def spans_in(sentence: str, shape: QuestionShape) -> list[tuple[str, str]]:
    """(span text, kind) candidates of one sentence, without what the question already says."""
    found: list[tuple[str, str]] = []
    if shape.asks in (None, "name", "place"):
        for match in _NAME_RUN.finditer(sentence):
            text = _LEADING.sub("", match.group().strip(" .’'-&")).strip(" .’'-&")
            found.append((text, "place" if shape.asks == "place" and text.lower() in places() else "name"))
    if shape.asks in (None, "number"):
        found += [(m.group().strip(" ,."), "number") for m in _NUMBER_UNIT.finditer(sentence)]
    if shape.asks == "date":
        found += [(m.group().strip(" ,."), "date") for m in DATE.finditer(sentence)]
    if shape.asks == "phrase":
        found += [(text, "phrase") for text in quoted(sentence, shape)]
    out = []
    for text, kind in found:
        if shape.says(text):
            continue
        if kind == "number" and not re.search(r"\d|[a-z]{3,}", text):
            continue
        out.append((text, kind))
    return out


def _common_word(text: str, passages: Sequence[Source]) -> bool:
    """A one-word "name" the passages also write in lower case ("Bird" of "Bird flu has been detected",
    "bird flu" elsewhere): capitalised only because it begins a sentence, so no name."""
    return " " not in text and text[:1].isupper() and _lower_case_in(text, passages)


def _noun_phrase(word: str, sentence: str) -> str | None:
    """The two-word common noun a sentence begins with `word` ("Bird flu has..." -> "Bird flu"); None when
    the word after it is a function word or a verb of being or saying ("Eggs are...") or is capitalised."""
    match = re.match(r"\W*" + re.escape(word) + r"\s+([a-z][\w-]*)", sentence)
    if not match or match.group(1) in NOT_ANSWERS or match.group(1) in _VERBISH:
        return None
    return f"{word} {match.group(1)}"


def _lower_case_in(word: str, passages: Sequence[Source]) -> bool:
    """Whether the passages also write `word` in lower case: a common noun ("president", "actor")."""
    lower = re.compile(r"\b" + re.escape(word.lower()) + r"\b")
    return any(lower.search(p.text) for p in passages)


def _name_word(word: str, passages: Sequence[Source]) -> bool:
    return bool(_NAME_WORD.fullmatch(word)) and not _lower_case_in(word, passages)


def shown_name(name: str, passages: Sequence[Source]) -> str:
    """A name as the short answer shows it: without the titles before it ("Defense Secretary Pete Hegseth"
    -> "Pete Hegseth") and with the first name the passages give a lone surname ("James" -> "LeBron James")."""
    words = name.split()
    titles = 0
    while titles < len(words) and (HONORIFIC.fullmatch(words[titles]) or _lower_case_in(words[titles], passages)):
        titles += 1
    rest = words[titles:]
    if titles and len(rest) >= 2 and all(_name_word(w, passages) for w in rest):  # not "Red No. 3"
        return " ".join(rest)
    return _full_name(name, passages) if len(words) == 1 else name


def _full_name(word: str, passages: Sequence[Source]) -> str:
    """A lone name with the first name the passages write before it most often ("Brody" -> "Adrien Brody"),
    or as it is. The pair must be written at least twice, and the first name more often before the name
    than anywhere else: not a word of its own ("SpaceX Dragon"), a place ("Reno Joann"), a possessive
    ("Brody's Oscar"), a title ("Gen.") or a word also written in lower case ("President")."""
    before = re.compile(r"(?<![\w’'.-])([A-Z][\w’'-]*[a-z][\w’'-]*)\s+" + re.escape(word) + r"(?![\w-])")
    firsts = Counter(m.group(1) for p in passages for m in before.finditer(p.text))
    for first, together in firsts.most_common():
        if together < 2 or first.lower() in NOT_ANSWERS or first.lower() in places() \
                or first.endswith(("'s", "’s")) or HONORIFIC.fullmatch(first):
            continue
        alone = re.compile(r"(?<![\w’'.-])" + re.escape(first) + r"(?![\w’'-])")
        if 2 * together > sum(len(alone.findall(p.text)) for p in passages) and _name_word(first, passages):
            return f"{first} {word}"
    return word


class ShortAnswerer:
    """Picks the short answer from scored candidate sentences, or None when no span is likely enough."""

    def __init__(self, model: LinearModel | None = None, sentences: int = 5) -> None:
        self._model = model  # loaded on first use
        self.sentences = sentences

    @property
    def model(self) -> LinearModel:
        if self._model is None:
            self._model = load_model("short_answer")
        return self._model

    @property
    def min_probability(self) -> float:
        return self.model.thresholds.get("answer_above", 0.5)

    def spans(self, question: str, shape: QuestionShape, ranked: Sequence[Candidate],
              passages: Sequence[Source]) -> list[Span]:
        """Scored candidate spans, best first."""
        top = list(ranked[: self.sentences])
        if not top:
            return []
        by_key: dict[str, Span] = {}
        for rank, cand in enumerate(top):
            for text, kind in spans_in(cand.text, shape):
                if kind == "name" and _common_word(text, passages):  # "Bird" of "Bird flu has been detected"
                    text = _noun_phrase(text, cand.text) or text
                span = by_key.setdefault(text.lower(), Span(text, kind))
                f = span.features
                f["best_probability"] = max(f.get("best_probability", 0.0), cand.probability)
                f["sum_probability"] = f.get("sum_probability", 0.0) + cand.probability
                f["in_best"] = max(f.get("in_best", 0.0), float(rank == 0))
                f["subject"] = max(f.get("subject", 0.0), float(cand.text.find(text) < 30))
        for key, span in by_key.items():
            pattern = re.compile(r"(?<!\w)" + re.escape(key) + r"(?!\w)", re.IGNORECASE)
            holders = [p for p in passages if pattern.search(p.text)]
            f = span.features
            f["articles"] = min(len({p.article_id for p in holders}), 5) / 5
            f["mentions"] = math.log1p(sum(len(pattern.findall(p.text)) for p in holders))
            f["in_title"] = float(any(pattern.search(p.title) for p in passages))
            f["words"] = min(len(key.split()), 6) / 6
            f["place"] = float(shape.asks == "place" and key in places())
            f["type_fit"] = float(shape.asks is not None and span.kind == shape.asks)
        spans = list(by_key.values())
        for span, p in zip(spans, self.model.probabilities([s.features for s in spans])):
            span.probability = p
        return sorted(spans, key=lambda s: -s.probability)

    def best(self, question: str, shape: QuestionShape, ranked: Sequence[Candidate],
             passages: Sequence[Source]) -> Span | None:
        if shape.asks == "role" and shape.subject:
            role = role_of(shape.subject, [c.text for c in ranked[: self.sentences]])
            return Span(role, "role") if role else None
        if shape.asks is None:
            return None  # not a factual question: "what happened", "why", "how did"
        spans = self.spans(question, shape, ranked, passages)
        if shape.asks == "place" and ASKS_KNOWN_PLACE.search(question):  # a place answers, when one is named
            spans = [s for s in spans if s.kind == "place" or places_in(s.text)] or spans
        if not spans or spans[0].probability < self.min_probability:
            return None
        best = spans[0]
        if best.kind == "name":  # scored as the sentences write it, shown whole
            best.text = shown_name(best.text, passages)
        return best

