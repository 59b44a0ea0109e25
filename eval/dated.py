"""Questions asked on a date: run them as of their date and as of now, and compare every metric.

RealTimeQA questions carry the quiz's `question_date`, newsrag JSONL questions an `as_of` field.
`evaluate(..., as_of="both")` (the default) answers each question both ways; `EvalRun.without_as_of`
holds the metric sections of the second run and `comparison_rows` sets the two side by side.
`hidden_gold` counts the gold articles a question's as-of day leaves out (dated after it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from rag.records import ArticleInfo

from .questions import Question
from .scoring import headline

MODES = ("both", "question", "none")  # with and without as_of, only with, only without


def has_dates(questions: Sequence[Question]) -> bool:
    return any(q.as_of for q in questions)


def as_of_day(value: str) -> date:
    """The day an as_of text names (a date, or the date of an ISO time as written)."""
    return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()


def hidden_gold(questions: Sequence[Question], articles: Sequence[ArticleInfo]) -> tuple[int, int, int]:
    """(gold references, those dated after their question's as-of day, questions losing every gold article)."""
    dates = {a.article_id: a.date for a in articles} | {u: a.date for a in articles for u in (a.url, *a.urls) if u}
    total = hidden = emptied = 0
    for q in questions:
        if not q.as_of or not q.gold_articles:
            continue
        day = as_of_day(q.as_of).isoformat()
        later = [g for g in q.gold_articles if (dates.get(g) or "")[:10] > day]
        total += len(q.gold_articles)
        hidden += len(later)
        emptied += len(later) == len(q.gold_articles)
    return total, hidden, emptied


def comparison_rows(with_as_of: dict[str, Any], without: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(metric, with as_of, without, difference) for every headline metric both sections have."""
    a, b = headline(with_as_of), headline(without)
    return [(key, a[key], b[key], round(a[key] - b[key], 4)) for key in a if key in b]


def comparison_markdown(sections: dict[str, Any], without: dict[str, Any]) -> str:
    """One table per group: every headline metric as of the question date and as of now."""
    lines = ["# As of the question date vs as of now", ""]
    for group, section in sections.items():
        if group not in without:
            continue
        lines += [f"## {group}", "", "| metric | as of question date | as of now | difference |",
                  "| --- | ---: | ---: | ---: |"]
        lines += [f"| {k} | {a:.3f} | {b:.3f} | {d:+.3f} |" for k, a, b, d in comparison_rows(section, without[group])]
        lines.append("")
    return "\n".join(lines)
