"""newsrag evaluation harness: question sets in, retrieval/answer/citation/refusal metrics and a report out.

    import eval
    run = eval.evaluate("../shared/data/sample/questions.jsonl", corpus=["samples/articles"], report_dir="out")
    print(run.headline())                       # {"retrieval.article.hit@5": 1.0, ...}
    eval.compare_runs(eval.load_run("out"), run).render()

Metrics are defined in docs/evaluation.md.
"""

from .adapters import load_question_set
from .compare import compare_runs
from .harness import EvalRun, evaluate, load_run
from .questions import Question, QuestionSet

__all__ = ["EvalRun", "Question", "QuestionSet", "compare_runs", "evaluate", "load_question_set", "load_run"]
