"""What a question asks for (a number, a date, a name) and whether a text holds such a thing it does not say.

Shared by passage ranking (`rag.retrieval.ranking`) and sentence selection (`rag.answering`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import text as tx

_ASKS_NUMBER = re.compile(
    r"\b(how (many|much|long|old|far|big|high|large|tall)|what (number|percentage|percent|share|amount|age|"
    r"price|cost|rate|score)|by how much)\b", re.IGNORECASE)
_ASKS_DATE = re.compile(r"^\s*(when|what (year|day|date|month|time))\b|\bin what year\b|\bwhich (year|day|month)\b", re.IGNORECASE)
_ASKS_NAME = re.compile(r"^\s*(who|whom|whose|where|which|what (company|country|city|state|team|organi[sz]ation|"
                        r"group|party|agency|brand|app|film|movie|show|song|book|name)\b)|\b(who|which \w+)\b", re.IGNORECASE)
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"]
DATE = re.compile(r"\b(?:" + "|".join(_MONTHS) + r")\.?\s+\d{1,2}\b|\b(?:19|20)\d\d\b|\b(?:monday|tuesday|"
                   r"wednesday|thursday|friday|saturday|sunday|yesterday|today)\b", re.IGNORECASE)
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,.]*%?|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
                     r"twelve|dozen|hundred|thousand|million|billion|trillion)\b", re.IGNORECASE)
CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][\w’'&.-]*")


@dataclass(frozen=True)
class QuestionShape:
    """What the question asks for, computed once per question."""

    weights: dict[str, float]  # key terms -> weight
    phrases: list[list[str]]  # name phrases (stemmed words)
    words: frozenset[str]  # lower-case words of the question
    asks: str | None  # "number", "date", "name" or None

    def coverage(self, terms: frozenset[str] | set[str]) -> float:
        """The weighted share of the question's key terms found in `terms` (0 for a question without any)."""
        total = sum(self.weights.values())
        return sum(w for t, w in self.weights.items() if t in terms) / total if total else 0.0


def question_shape(question: str) -> QuestionShape:
    asks = ("number" if _ASKS_NUMBER.search(question) else "date" if _ASKS_DATE.search(question)
            else "name" if _ASKS_NAME.search(question) else None)
    return QuestionShape(tx.key_terms(question), tx.name_phrases(question), frozenset(tx.words(question)), asks)


def type_fit(shape: QuestionShape, sentence: str) -> float:
    """1 when the sentence holds the kind of thing asked for, and the question does not already say it."""
    if shape.asks == "number":
        found = [m.group().lower().strip("$%,.") for m in NUMBER.finditer(sentence)]
    elif shape.asks == "date":
        found = [m.group().lower() for m in DATE.finditer(sentence)]
    elif shape.asks == "name":
        found = [w.lower().strip(".’'") for w in CAPITAL.findall(sentence)]
    else:
        return 0.0
    return float(any(f and f not in shape.words for f in found))
