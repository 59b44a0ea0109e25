"""The answerer interface: passages in, a stream of answer text with [n] markers out."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..records import Source

# An answerer that finds no answer in the passages streams exactly this text.
REFUSAL = "Not in the articles."


@dataclass(frozen=True)
class Finding:
    """What an answerer found besides its text: the short answer and its confidence. An answerer may
    yield one among its text pieces; the Assistant copies it onto the `Answer`."""

    short_answer: str | None = None
    confidence: float | None = None


class Answerer(Protocol):
    """Writes an answer from numbered passages: [n] refers to passages[n-1]."""

    name: str
    client: Any  # the LLM client it writes with, or None for an answerer that needs no LLM (the extractive)

    def stream(self, question: str, passages: Sequence[Source]) -> Iterator[str | Finding]:
        """Yield pieces of the answer text (their concatenation is the answer), and at most one Finding."""
        ...
