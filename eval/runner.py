"""Run a question set through an Assistant: answer, rank, judge and check every question, plus baselines.

The assistant answers with its own settings; a second, deeper retrieval (same settings, `depth`
passages) gives the ranking the retrieval metrics are computed on. Baselines re-rank every question
with the other retrieval modes over the same store, so a run shows what each mode adds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rag.assistant import Assistant
from rag.records import Answer, Source

from .checks import check_citations, passed, score_answer
from .choices import ABSTAIN_BELOW, choose_option
from .corpus import CorpusView, Relevance
from .matching import contains, short_answer_matches
from .questions import Question
from .results import QuestionResult, Ranking

RETRIEVAL_MODES = ("hybrid", "rrf", "dense", "bm25")
Progress = Callable[[int, int], None]


def baseline_modes(assistant: Assistant) -> tuple[list[str], list[str]]:
    """The retrieval modes other than the one in use, and notes."""
    settings = assistant.settings
    if "retrieval_mode" not in type(settings).model_fields:
        return [], ["baselines skipped: this newsrag has no retrieval_mode setting (dense retrieval only)"]
    current = getattr(settings, "retrieval_mode")  # noqa: B009 - absent from older Settings
    return [m for m in RETRIEVAL_MODES if m != current], []


def ranked_passages(assistant: Assistant, question: Question, depth: int, mode: str | None = None,
                    as_of: str | None = None) -> list[Source]:
    """The assistant's retrieval for the question, `depth` passages deep, best first (in `mode` when given),
    as `ask` retrieves as of `as_of`: nothing dated after it, its time window preferred."""
    when = assistant.when(question.question, as_of)
    return assistant.retriever.retrieve(when.search, question.filters, depth, mode=mode, when=when)


def judge_ranking(passages: Sequence[Source], relevance: Relevance, question: Question, top_k: int,
                  abstain_below: float | None = ABSTAIN_BELOW) -> Ranking:
    """Mark each ranked passage and article relevant or not; pick the multiple-choice option from the top k."""
    ranking = Ranking(relevant_articles=len(relevance.articles), relevant_chunks=relevance.chunk_count)
    seen: list[str] = []
    for rank, passage in enumerate(passages, start=1):
        ranking.chunks.append(relevance.passage_relevant(passage.article_id, passage.start, passage.end))
        if passage.article_id not in seen:
            seen.append(passage.article_id)
            ranking.articles.append(passage.article_id in relevance.articles)
        if ranking.answer_rank is None and question.answers and contains(passage.text, question.answers):
            ranking.answer_rank = rank
    if question.choices:
        choice = choose_option(question, passages[:top_k], abstain_below)
        ranking.choice, ranking.abstained, ranking.choice_scores = choice.index, choice.abstained, list(choice.scores)
        ranking.choice_correct = choice.index in question.correct
    return ranking


def cited_passages(answer: Answer) -> list[dict[str, Any]]:
    """Marker, article and supporting sentence of every citation, for the report."""
    out = []
    for citation in sorted(answer.citations, key=lambda c: c.marker):
        source = answer.sources[citation.source_index]
        sentence = ""
        if citation.start is not None and citation.end is not None:
            sentence = source.text[citation.start - source.start : citation.end - source.start]
        out.append({"marker": citation.marker, "title": source.title, "url": source.url, "date": source.date,
                    "article_id": source.article_id, "chunk_id": source.chunk_id, "kind": source.kind,
                    "support": citation.support, "sentence": sentence.strip(), "passage": source.text})
    return out


@dataclass
class Asked:
    """What the assistant returned for one question text: its answer and rankings (reused by repeats)."""

    first_id: str
    answer: Answer
    ranked: list[Source]
    baselines: dict[str, list[Source]]


Baseline = Callable[[Question, int], list[Source]]  # another retriever: question, depth -> passages


def ask_question(question: Question, assistant: Assistant, depth: int, baselines: Sequence[str],
                 use_as_of: bool = True, others: dict[str, Baseline] | None = None) -> Asked:
    """Answer the question (timed by the assistant) as of its date (unless `use_as_of` is off), then rank
    `depth` passages with every retrieval mode and every other retriever (`others`, e.g. the plain
    llama-index baseline, which knows no filters and no dates)."""
    as_of = question.as_of if use_as_of else None
    answer = assistant.ask(question.question, filters=question.filters, as_of=as_of)
    ranked = ranked_passages(assistant, question, depth, as_of=as_of)
    rankings = {mode: ranked_passages(assistant, question, depth, mode, as_of) for mode in baselines}
    for name, retrieve in (others or {}).items():
        if question.filters is None or question.filters.is_empty():  # plain scripts have no filters
            rankings[name] = retrieve(question, depth)
    return Asked(question.id, answer, ranked, rankings)


def evaluate_question(question: Question, assistant: Assistant, view: CorpusView, depth: int,
                      baselines: Sequence[str] = (), abstain_below: float | None = ABSTAIN_BELOW,
                      asked: dict[Any, Asked] | None = None, use_as_of: bool = True,
                      others: dict[str, Baseline] | None = None) -> QuestionResult:
    """Ask one question and check everything about the answer; an exception marks it failed.

    With `asked`, a question whose text and filters were already asked reuses that answer: it is
    judged against its own expectations, and its latency is not counted twice.
    """
    relevance, missing = view.judge(question)
    result = QuestionResult(
        id=question.id, group=question.group, question=question.question, answerable=question.answerable,
        answers=list(question.answers), choices=list(question.choices), correct=list(question.correct),
        wrong_answers=list(question.wrong_answers), answer_in_corpus=relevance.answer_in_corpus,
        answer_in_gold=relevance.answer_in_gold, answer_in_recent_gold=relevance.answer_in_recent_gold,
        missing_gold=len(missing), note=question.note,
    )
    top_k = assistant.settings.top_k
    question = view.with_article_ids(question)
    key = (question.question, question.filters, question.as_of if use_as_of else None)
    try:
        done = asked.get(key) if asked is not None else None
        if done is None:
            done = ask_question(question, assistant, depth, baselines, use_as_of, others)
            if asked is not None:
                asked[key] = done
        result.ranking = judge_ranking(done.ranked, relevance, question, top_k, abstain_below)
        for mode, passages in done.baselines.items():
            result.baselines[mode] = judge_ranking(passages, relevance, question, top_k, abstain_below)
    except Exception as exc:  # noqa: BLE001 - one bad question must not end a run of hundreds; it is reported
        result.error = f"{type(exc).__name__}: {' '.join(str(exc).split())}"
        return result
    answer = done.answer
    result.answer, result.refused = answer.text, answer.refused
    if question.answers:
        result.context_has_answer = any(contains(s.text, question.answers) for s in answer.sources[:5])
        short = getattr(answer, "short_answer", None)
        if short and not answer.refused:
            result.short_answer = short
        result.short_correct = bool(result.short_answer) and short_answer_matches(result.short_answer or "",
                                                                                question.answers)
    if done.first_id == question.id:
        result.timings = {k: round(v, 2) for k, v in answer.timings.items()}
    else:
        result.reused_from = done.first_id
    result.cited = cited_passages(answer)
    result.citations = check_citations(answer, question)
    score_answer(result, question)
    result.passed = passed(result, question)
    return result


def run_questions(questions: Sequence[Question], assistant: Assistant, view: CorpusView, depth: int = 20,
                  with_baselines: bool = True, abstain_below: float | None = ABSTAIN_BELOW,
                  progress: Progress | None = None, use_as_of: bool = True,
                  others: dict[str, Baseline] | None = None) -> tuple[list[QuestionResult], list[str]]:
    """Evaluate every question (a repeated question text is asked once), as of its date unless
    `use_as_of` is off; the results and notes."""
    baselines, notes = baseline_modes(assistant) if with_baselines else ([], [])
    results = []
    asked: dict[Any, Asked] = {}
    for done, question in enumerate(questions, start=1):
        results.append(evaluate_question(question, assistant, view, depth, baselines, abstain_below, asked, use_as_of,
                                         others))
        if progress:
            progress(done, len(questions))
    reused = sum(1 for r in results if r.reused_from)
    if reused:
        notes.append(f"{reused} questions repeat an earlier question's text, filters and date: answered once, "
                     "their latency counted once")
    return results, notes


def print_progress(every_seconds: float = 10.0) -> Progress:
    """A progress callback that prints a line to stderr at most every few seconds, and at the end."""
    started, last = time.perf_counter(), [0.0]

    def report(done: int, total: int) -> None:
        now = time.perf_counter() - started
        if now - last[0] >= every_seconds or done == total:
            last[0] = now
            print(f"  {done}/{total} questions ({done / now if now else 0:.1f}/s)", file=sys.stderr)

    return report
