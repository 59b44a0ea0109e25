"""The conversation a browser keeps: answered turns as plain JSON (saved in the browser, restored on reload)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from rag.records import Answer, Citation, Filters, Source

STATE_VERSION = 1
MAX_TURNS = 50  # older turns are dropped from the saved conversation (browser storage is small)
HISTORY_TURNS = 3  # earlier turns handed to the assistant to understand a follow-up

_SOURCE_FIELDS = {f.name for f in dataclasses.fields(Source)}
_CITATION_FIELDS = {f.name for f in dataclasses.fields(Citation)}


@dataclass
class Turn:
    """One question and its answer, with everything needed to show it again and to record feedback."""

    question: str
    text: str
    refused: bool
    sources: list[Source]
    citations: list[Citation]
    answerer: str = ""
    rewritten: str | None = None
    verified: bool = True
    timings: dict[str, float] = field(default_factory=dict)
    filters: dict[str, Any] | None = None
    feedback: str | None = None  # "up" or "down"
    unsupported: list[str] = field(default_factory=list)  # sentences left out: no passage supports them
    asked_at: str = ""

    @property
    def total_ms(self) -> float | None:
        return self.timings.get("total")

    @classmethod
    def from_answer(cls, answer: Answer, filters: Filters | None = None) -> Turn:
        return cls(
            question=answer.question, text=answer.text, refused=answer.refused, sources=list(answer.sources),
            citations=list(answer.citations), answerer=answer.answerer, rewritten=answer.rewritten_question,
            verified=answer.verified, timings={k: round(float(v), 1) for k, v in answer.timings.items()},
            filters=None if filters is None or filters.is_empty() else filters.to_dict(),
            unsupported=list(getattr(answer, "unsupported", []) or []),
            asked_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["sources"] = [s.to_dict() for s in self.sources]
        data["citations"] = [c.to_dict() for c in self.citations]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Turn:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["sources"] = [source_from_json(s) for s in data.get("sources", [])]
        values["citations"] = [Citation(**{k: v for k, v in c.items() if k in _CITATION_FIELDS}) for c in data.get("citations", [])]
        return cls(**values)

    def supporting_sentences(self) -> list[str]:
        """The highlighted sentences of the cited passages (the evidence an evaluator would keep)."""
        out: list[str] = []
        for citation in self.citations:
            if citation.start is None or citation.end is None or not 0 <= citation.source_index < len(self.sources):
                continue
            source = self.sources[citation.source_index]
            lo, hi = max(citation.start, source.start), min(citation.end, source.end)
            sentence = source.text[lo - source.start : hi - source.start].strip()
            if sentence and sentence not in out:
                out.append(sentence)
        return out


def source_from_json(data: dict[str, Any]) -> Source:
    values = {k: v for k, v in data.items() if k in _SOURCE_FIELDS}
    values["highlights"] = tuple(tuple(span) for span in values.get("highlights", ()))
    return Source(**values)


def load_turns(saved: Any) -> list[Turn]:
    """The turns saved in the browser; anything unreadable (an older format, a tampered value) starts afresh."""
    if not isinstance(saved, dict) or saved.get("version") != STATE_VERSION:
        return []
    try:
        return [Turn.from_json(t) for t in saved.get("turns", [])][-MAX_TURNS:]
    except (TypeError, ValueError, KeyError, AttributeError):
        return []


def save_turns(turns: list[Turn]) -> dict[str, Any]:
    """The JSON value stored in the browser."""
    return {"version": STATE_VERSION, "turns": [t.to_json() for t in turns[-MAX_TURNS:]]}


def history_messages(turns: list[Turn]) -> list[dict[str, str]]:
    """The last few turns as {"role", "content"} messages, for the assistant to resolve a follow-up."""
    messages: list[dict[str, str]] = []
    for turn in turns[-HISTORY_TURNS:]:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.text})
    return messages
