"""Identifiers in a question: codes a passage must hold verbatim to be about the same thing.

A flight number (QZ-4417), a virus strain (H5N1), a bill or case number, an invoice (88412): an
embedding places "QZ-4417" near "QZ-4471", and a ranking fitted on news quizzes, which rarely name
codes, gives BM25's exact match little weight. So when a question names identifiers, the candidates
holding more of them are ranked first, each group in the learned order; when no candidate holds any,
the order is left alone. Ordinals ("97th"), numbers with a unit ("40-day", "10km") and years are
not identifiers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

_TOKEN = re.compile(r"(?<![\w$])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w])")
_UNIT = re.compile(r"^\d+(?:st|nd|rd|th|s|m|km|kg|g|lb|lbs|ft|mph|pm|am|k|x|p)$|^\d+(?:-[a-z]+)+$")  # lower case:
# "5G" and "4K" are names, "5g" and "4k" amounts


def identifiers(question: str) -> list[str]:
    """The question's identifiers: tokens mixing letters and digits, and numbers of five digits or more."""
    found: list[str] = []
    for match in _TOKEN.finditer(question):
        token = match.group()
        has_digit = any(c.isdigit() for c in token)
        has_letter = any(c.isalpha() for c in token)
        if not has_digit or _UNIT.match(token):
            continue
        if (has_letter or (len(token) >= 5 and "-" not in token)) and token.lower() not in (f.lower() for f in found):
            found.append(token)
    return found


def _pattern(identifier: str) -> re.Pattern[str]:
    """The identifier with its hyphens optional ("QZ-4417", "QZ 4417", "QZ4417"), as a whole token."""
    parts = [re.escape(p) for p in re.split(r"-", identifier) if p]
    return re.compile(r"(?<![\w])" + r"[-\s]?".join(parts) + r"(?![\w])", re.IGNORECASE)


def holding_first(question: str, items: Sequence[T], text: Callable[[T], str]) -> list[T]:
    """`items` with those holding more of the question's identifiers first, each group in the given order."""
    wanted = identifiers(question)
    if not wanted or not items:
        return list(items)
    patterns = [_pattern(w) for w in wanted]
    held = [sum(bool(p.search(text(item))) for p in patterns) for item in items]
    if not any(held):
        return list(items)
    order = sorted(range(len(items)), key=lambda i: -held[i])  # stable: the given order within a group
    return [items[i] for i in order]
