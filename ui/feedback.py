"""Reader feedback: a thumbs up or down on an answer, appended as one JSON line to `<store>/feedback.jsonl`.

Each line holds the question, the answer, its sources and the supporting sentences, so evaluators can
turn liked answers into test questions (question + evidence) and disliked ones into bug reports. A
reader may change their mind: the latest line of an `answer_id` holds the rating (null: taken back).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

from .state import Turn

FEEDBACK_FILE = "feedback.jsonl"
RATINGS = ("up", "down", None)


def feedback_path(store: Path) -> Path:
    return Path(store) / FEEDBACK_FILE


def answer_id(turn: Turn) -> str:
    """A stable id of one answered turn, the same in every rating of it."""
    return hashlib.sha1(f"{turn.asked_at}\x1f{turn.question}\x1f{turn.text}".encode()).hexdigest()[:16]


def feedback_record(turn: Turn, rating: str | None) -> dict[str, Any]:
    """The JSON line for one rating of one answer."""
    if rating not in RATINGS:
        raise ValueError(f"rating must be one of {RATINGS}, not {rating!r}")
    cited = {c.source_index for c in turn.citations}
    return {
        "id": uuid.uuid4().hex,
        "answer_id": answer_id(turn),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rating": rating,
        "question": turn.question,
        "rewritten_question": turn.rewritten,
        "answer": turn.text,
        "refused": turn.refused,
        "answerer": turn.answerer,
        "filters": turn.filters,
        "evidence": turn.supporting_sentences(),
        "unsupported": list(turn.unsupported),
        "citations": [{"marker": c.marker, "source_index": c.source_index} for c in turn.citations],
        "sources": [
            {**{k: v for k, v in s.to_dict().items() if k != "author"}, "cited": i in cited}
            for i, s in enumerate(turn.sources)
        ],
        "asked_at": turn.asked_at,
    }


def record_feedback(store: Path, turn: Turn, rating: str | None) -> dict[str, Any]:
    """Append the rating to the store's feedback file (one writer at a time) and return the record."""
    record = feedback_record(turn, rating)
    path = feedback_path(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.write(line)
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return record
