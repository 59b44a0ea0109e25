"""newsrag evaluation harness: question sets in, retrieval/answer/citation/refusal metrics and a report out.

    import eval
    run = eval.evaluate("../shared/data/sample/questions.jsonl", corpus=["samples/articles"], report_dir="out")
    print(run.headline())                       # {"retrieval.article.hit@5": 1.0, ...}
    eval.compare_runs(eval.load_run("out"), run).render()

Metrics are defined in docs/evaluation.md. The names below are imported on first use, so `newsrag --help`
stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from .adapters import load_question_set
    from .compare import compare_runs
    from .harness import EvalRun, evaluate, load_run
    from .questions import Question, QuestionSet

_HOMES = {
    "load_question_set": "adapters", "compare_runs": "compare", "EvalRun": "harness", "evaluate": "harness",
    "load_run": "harness", "Question": "questions", "QuestionSet": "questions",
}

__all__ = ["EvalRun", "Question", "QuestionSet", "compare_runs", "evaluate", "load_question_set", "load_run"]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
