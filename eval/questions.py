"""Question sets: the `Question` record every adapter produces, and the loader for newsrag's own JSONL format.

One JSON object per line::

    {"id": "seed-01", "question": "What did Milley say about ISIS-K?",
     "answers": ["it's possible"], "evidence": ["“it’s possible” the US could coordinate"],
     "answerable": true}

Optional fields: `choices` + `correct` (multiple choice; `correct` lists indexes into `choices`),
`gold_articles` (article ids or URLs), `filters` ({since, until, sources, article_ids}),
`wrong_answers` (claims known to be false), `group` (a subset name reported separately), `as_of` (the
moment the question is asked, YYYY-MM-DD or an ISO time: passed to `ask`, so later articles are not used
and "last week" counts from it).
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.records import Filters

NONE_OF_THE_ABOVE = "none of the above"

_FIELDS = {
    "id", "question", "answers", "evidence", "answerable", "choices", "correct",
    "gold_articles", "filters", "wrong_answers", "group", "note", "as_of",
}
_FILTER_FIELDS = {"since", "until", "sources", "article_ids"}


@dataclass(frozen=True)
class Question:
    """One test question and everything known about its answer."""

    id: str
    question: str
    answers: tuple[str, ...] = ()  # acceptable answer strings
    evidence: tuple[str, ...] = ()  # verbatim substrings of an article that support the answer
    answerable: bool = True  # False: the articles do not say, the assistant should refuse
    choices: tuple[str, ...] = ()  # multiple-choice options
    correct: tuple[int, ...] = ()  # indexes of the right options
    gold_articles: tuple[str, ...] = ()  # article ids or URLs of the articles that hold the answer
    filters: Filters | None = None
    wrong_answers: tuple[str, ...] = ()  # counterfactual claims the answer must not repeat
    group: str = "all"
    note: str = ""  # free text shown in the report (e.g. the quiz's own evidence)
    as_of: str | None = None  # when the question is asked (ISO date or time), passed to Assistant.ask

    @property
    def abstain_choice(self) -> int | None:
        """The index of a 'None of the above' option, if the question has one."""
        for i, choice in enumerate(self.choices):
            if choice.strip().lower().rstrip(".") == NONE_OF_THE_ABOVE:
                return i
        return None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "question": self.question, "answers": list(self.answers),
                                "evidence": list(self.evidence), "answerable": self.answerable}
        optional = {"choices": list(self.choices), "correct": list(self.correct),
                    "gold_articles": list(self.gold_articles), "wrong_answers": list(self.wrong_answers),
                    "filters": self.filters.to_dict() if self.filters else None,
                    "group": self.group if self.group != "all" else None, "note": self.note, "as_of": self.as_of}
        data.update({k: v for k, v in optional.items() if v})
        return data


@dataclass
class CorpusArticle:
    """An article an adapter found beside its questions, written out for `index.ingest`."""

    url: str
    title: str
    text: str
    date: str | None = None
    site: str | None = None


@dataclass
class QuestionSet:
    """Questions plus, for adapters that bring one, the articles they are asked about."""

    name: str
    fmt: str
    source: str
    questions: list[Question]
    corpus: list[CorpusArticle] = field(default_factory=list)
    corpus_files: list[Path] = field(default_factory=list)  # the same articles in files ingestion may read itself
    notes: list[str] = field(default_factory=list)  # what the adapter skipped or assumed

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(q.group for q in self.questions))


def load_jsonl(path: Path) -> QuestionSet:
    """Read newsrag's JSONL question format; any bad line raises ConfigError naming file, line and fix."""
    questions: list[Question] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the question file ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
        question = question_from_dict(data, where, default_id=f"q{number}")
        if question.id in seen:
            raise ConfigError(f"{where}: duplicate id {question.id!r}; every question needs its own id")
        seen.add(question.id)
        questions.append(question)
    if not questions:
        raise ConfigError(f"{path}: no questions in the file (one JSON object per line)")
    name = path.parent.name if path.stem == "questions" and path.parent.name else path.stem  # sample/questions
    return QuestionSet(name=name, fmt="jsonl", source=str(path), questions=questions)


def question_from_dict(data: Any, where: str, default_id: str) -> Question:
    """A Question from one JSON object of the JSONL format."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: each line must be a JSON object with at least a 'question'")
    _reject_unknown(data, _FIELDS, where)
    text = data.get("question")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: 'question' must be a non-empty string")
    choices = _strings(data, "choices", where)
    correct = tuple(_index(v, len(choices), where) for v in _list(data, "correct", where))
    if choices and not correct:
        raise ConfigError(f"{where}: 'choices' needs 'correct', the index (from 0) of the right option")
    answerable = data.get("answerable", True)
    if not isinstance(answerable, bool):
        raise ConfigError(f"{where}: 'answerable' must be true or false")
    return Question(
        id=str(data.get("id", default_id)), question=text.strip(),
        answers=_strings(data, "answers", where), evidence=_strings(data, "evidence", where),
        answerable=answerable, choices=choices, correct=correct,
        gold_articles=_strings(data, "gold_articles", where), filters=_filters(data.get("filters"), where),
        wrong_answers=_strings(data, "wrong_answers", where), group=str(data.get("group") or "all"),
        note=str(data.get("note") or ""), as_of=_as_of(data.get("as_of"), where),
    )


def _reject_unknown(data: dict[str, Any], known: set[str], where: str) -> None:
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known fields: {', '.join(sorted(known))}"
            raise ConfigError(f"{where}: unknown field {key!r}{hint}")


def _list(data: dict[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key!r} must be a list")
    return value


def _strings(data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    values = _list(data, key, where)
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where}: {key!r} must be a list of strings")
    return tuple(v for v in values if v.strip())


def _index(value: Any, size: int, where: str) -> int:
    try:
        index = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: 'correct' holds {value!r}; use option indexes such as [0]") from None
    if not 0 <= index < size:
        raise ConfigError(f"{where}: 'correct' index {index} is outside the {size} choices")
    return index


def _as_of(value: Any, where: str) -> str | None:
    """The question's as-of moment as given (ISO date or time), checked; ConfigError for anything else."""
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        date.fromisoformat(value) if len(value.strip()) == 10 else datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{where}: 'as_of' {value!r} is not a date or time; write YYYY-MM-DD or an ISO time "
                          "such as 2025-03-28T18:00:00+00:00") from None
    return value.strip()


def _filters(value: Any, where: str) -> Filters | None:
    if not value:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: 'filters' must be an object such as {{\"since\": \"2021-08-01\"}}")
    _reject_unknown(value, _FILTER_FIELDS, f"{where}: filters")
    dates: dict[str, date | None] = {}
    for key in ("since", "until"):
        try:
            dates[key] = date.fromisoformat(value[key]) if value.get(key) else None
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: filters.{key} {value[key]!r} is not a YYYY-MM-DD date") from None
    filters = Filters(since=dates["since"], until=dates["until"],
                      sources=_strings(value, "sources", where), article_ids=_strings(value, "article_ids", where))
    return None if filters.is_empty() else filters
