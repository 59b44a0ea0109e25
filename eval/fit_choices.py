"""Refit the multiple-choice option model (`eval/models/choice.json`) on RealTimeQA 2025-Q1 weeks 1-9.

Called by `python -m eval.fit` after the answering models (`--choices-only` refits it alone). Every
development question with choices (both the plain and the "None of the above" sets) is ranked as
`newsrag eval` ranks it, and each option of its top passages is a row, labelled 1 for a right option.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from rag.assistant import Assistant
from rag.learned import LinearModel

from .adapters import load_question_set
from .choices import CHOICE_FEATURES, option_features, pick
from .corpus import CorpusView
from .fitting import fit_linear
from .questions import Question
from .runner import ranked_passages

Rows = list[tuple[Question, dict[int, dict[str, float]]]]


def choice_rows(assistant: Assistant, questions: Sequence[Question],
                view: CorpusView) -> Rows:
    """Each multiple-choice question with its options' features, from the top passages `newsrag eval`
    judges (its ranking 20 deep, as of the question's date, cut to top_k)."""
    out = []
    for q in questions:
        if q.choices:
            q = view.with_article_ids(q)
            passages = ranked_passages(assistant, q, 20, as_of=q.as_of)[: assistant.settings.top_k]
            out.append((q, option_features(q, passages)))
    return out


def fit_choices(data: Rows, about: dict[str, Any]) -> LinearModel:
    """The option model (1 for a right option) and its "None of the above" threshold."""
    rows = [row for _, options in data for row in options.values()]
    labels = [int(i in q.correct) for q, options in data for i in options]
    model = fit_linear(rows, labels, CHOICE_FEATURES, about)
    model.thresholds["abstain_below"] = _abstain_threshold(model, data)
    return model


def choice_accuracy(model: LinearModel, data: Rows,
                    threshold: float | None = None) -> float:
    """Share of questions whose most probable option (or "None of the above" under the threshold) is right."""
    right = sum(pick(q, options, model, threshold).index in q.correct for q, options in data)
    return round(right / max(1, len(data)), 4)


def _abstain_threshold(model: LinearModel, data: Rows) -> float:
    """The threshold with the best accuracy on the questions that offer "None of the above"."""
    offered = [(q, options) for q, options in data if q.abstain_choice is not None]
    grid = sorted({round(max((model.probability(r) for r in o.values()), default=0.0), 3) for _, o in offered} | {0.0})
    return max(grid, key=lambda t: (choice_accuracy(model, offered, t), -t))


def fit_choice_model(assistant: Assistant, args: argparse.Namespace, view: CorpusView, about: dict[str, Any]) -> None:
    """Fit and save the multiple-choice option model on every dev question with choices (qa and nota)."""
    dev = choice_rows(assistant, load_question_set(args.data, "realtimeqa", "dev").questions, view)
    model = fit_choices(dev, about)
    args.choice_out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.choice_out)
    print(f"dev: {len(dev)} multiple-choice questions, accuracy {choice_accuracy(model, dev)}, "
          f"None of the above below {model.thresholds['abstain_below']}", file=sys.stderr)
    if args.ablation:
        test = choice_rows(assistant, load_question_set(args.data, "realtimeqa", "test").questions, view)
        print("test multiple-choice accuracy:", choice_accuracy(model, test))
