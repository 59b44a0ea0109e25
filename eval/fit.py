"""Refit the extractive answerer's models on RealTimeQA 2025-Q1 development weeks (1-9), never on 10-13.

    python -m eval.fit --store STORE                 # refit and write rag/models/*.json
    python -m eval.fit --store STORE --ablation      # also: each feature family left out, scored on weeks 10-13

STORE must hold the RealTimeQA corpus (`newsrag eval ../shared/data/realtimeqa/2025-q1 --store STORE`
builds it). For every development question the assistant retrieves its passages as it would when
answering; every candidate sentence is a training row, labelled 1 when it contains the right
answer. Stage one scores every sentence on cheap features; stage two rescores the best twelve with
their embedding similarity to the question. The refusal threshold is the highest that keeps false
refusals (refused while the top five passages hold the answer) at or under 5 % on development
questions; the short-answer model is fitted on the spans of the best sentences.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answering.features import CHEAP, SEMANTIC, Candidate, candidates
from rag.answering.short import SPAN_FEATURES, ShortAnswerer
from rag.asks import question_shape
from rag.assistant import Assistant
from rag.composition import open as open_assistant
from rag.learned import MODELS, LinearModel, load_model
from rag.records import Source
from rag.retrieval.ranking import PASSAGE_FEATURES, PassageRanker, passage_features

from .adapters import load_question_set
from .choices import MODEL as CHOICE_MODEL
from .corpus import CorpusView
from .fit_choices import fit_choice_model
from .fitting import fit_linear
from .matching import contains, short_answer_matches
from .questions import Question

SHORTLIST = int(os.environ.get("NEWSRAG_FIT_SHORTLIST", "12"))  # re-scored with their similarity (sentence.json: 12)
MAX_FALSE_REFUSAL = 0.05
WRONG_SHORT = 0.5  # a wrong short answer costs half a right one (it is shown in bold above the quote)
FAMILIES = {
    "semantic": (SEMANTIC,),
    "lexical": ("coverage", "coverage_idf", "context_coverage", "title_coverage", "names"),
    "answer type": ("type_fit", "asks_type"),
    "novelty": ("novel", "novel_capital", "repeated"),
    "position": ("passage_rank", "passage_score", "lede"),
    "form": ("length", "pronoun_start", "quote"),
}


@dataclass
class Asked:
    """One question with its retrieved passages and candidate sentences."""

    question: Question
    passages: list[Source]
    shape: Any
    cands: list[Candidate]
    labels: list[int]
    held: bool  # the top five passages contain a right answer


def gather(assistant: Assistant, questions: Sequence[Question], view: CorpusView) -> list[Asked]:
    """Retrieve and featurise every question once; semantic similarity for every candidate, embedded as
    answering embeds it (`Embedder.embed_texts`: each text on its own, so a vector is the one `ask` sees)."""
    out = []
    for q in questions:
        q = view.with_article_ids(q)
        when = assistant.when(q.question, q.as_of)  # as `newsrag eval` asks: as of the question's date
        passages = assistant.retriever.retrieve(when.search, q.filters, when=when)
        shape, cands = candidates(when.search, passages)
        answers = q.answers if q.answerable else ()
        labels = [int(bool(answers) and contains(c.text, answers)) for c in cands]
        held = bool(answers) and any(contains(p.text, answers) for p in passages[:5])
        out.append(Asked(q, passages, shape, cands, labels, held))
    embed = assistant.embedder.embed_texts
    for item in out:
        if item.cands:
            vectors = embed([item.question.question, *(c.text for c in item.cands)])
            for c, sim in zip(item.cands, vectors[1:] @ vectors[0]):
                c.features[SEMANTIC] = float(sim)
    return out


def fit_selector(data: list[Asked], cheap: Sequence[str], about: dict[str, Any]) -> tuple[LinearModel, LinearModel]:
    rows = [c.features for a in data for c in a.cands]
    labels = [y for a in data for y in a.labels]
    first = fit_linear(rows, labels, cheap, about)
    second_rows, second_labels = [], []
    for a in data:
        for c, y in _shortlist(first, a):
            second_rows.append(c.features)
            second_labels.append(y)
    features = [*cheap, SEMANTIC] if SEMANTIC not in cheap else list(cheap)
    return first, fit_linear(second_rows, second_labels, features, about)


def _shortlist(first: LinearModel, a: Asked) -> list[tuple[Candidate, int]]:
    scored = sorted(zip(a.cands, a.labels), key=lambda cy: -first.probability(cy[0].features))
    return scored[:SHORTLIST]


def best_probability(first: LinearModel, second: LinearModel, a: Asked) -> tuple[float, Candidate | None]:
    head = _shortlist(first, a)
    if not head:
        return 0.0, None
    scored = [(second.probability(c.features), c) for c, _ in head]
    return max(scored, key=lambda pc: pc[0])


def choose_refusal(first: LinearModel, second: LinearModel, data: list[Asked]) -> tuple[float, dict[str, Any]]:
    """The highest threshold whose false-refusal rate on held questions is at most MAX_FALSE_REFUSAL."""
    held = sorted(best_probability(first, second, a)[0] for a in data if a.held)
    unanswerable = [best_probability(first, second, a)[0] for a in data if not a.question.answerable]
    allowed = int(MAX_FALSE_REFUSAL * len(held))
    threshold = held[allowed] if held else 0.0
    recall = sum(p < threshold for p in unanswerable) / len(unanswerable) if unanswerable else None
    return threshold, {"false_refusal": allowed / len(held) if held else None, "held": len(held),
                       "unanswerable": len(unanswerable), "refusal_recall": recall}


def fit_short(first: LinearModel, second: LinearModel, data: list[Asked], about: dict[str, Any]) -> LinearModel:
    """The span model, on the spans of each answerable question's best sentences (rescored as answering).

    A short answer is given when the model's probability makes it worth giving, a wrong one costing
    WRONG_SHORT of a right one: answering at probability p gains p - WRONG_SHORT * (1 - p), positive from
    WRONG_SHORT / (1 + WRONG_SHORT) on. (The argmax of that gain over development questions, used before,
    is flat: it moved the threshold between 0.25 and 0.40 from one refit to the next.)"""
    rows, labels = [], []
    placeholder = LinearModel(SPAN_FEATURES, (0.0,) * len(SPAN_FEATURES), (1.0,) * len(SPAN_FEATURES),
                              (0.0,) * len(SPAN_FEATURES), 0.0)
    short = ShortAnswerer(placeholder)
    for a in data:
        if not a.question.answerable or not a.question.answers:
            continue
        for span in short.spans(a.question.question, a.shape, _ranked(first, second, a), a.passages):
            rows.append(span.features)
            labels.append(int(short_answer_matches(span.text, a.question.answers)))
    model = fit_linear(rows, labels, SPAN_FEATURES, about)
    model.thresholds["answer_above"] = round(WRONG_SHORT / (1 + WRONG_SHORT), 4)
    return model


def _ranked(first: LinearModel, second: LinearModel, a: Asked) -> list[Candidate]:
    head = [c for c, _ in _shortlist(first, a)]
    for c in head:
        c.probability = second.probability(c.features)
    return sorted(head, key=lambda c: -c.probability)


def top_sentence_metrics(first: LinearModel, second: LinearModel, data: list[Asked], threshold: float) -> dict[str, float]:
    """On held questions: the best sentence holds the answer; false refusals; refusal recall."""
    held = [a for a in data if a.held]
    unanswerable = [a for a in data if not a.question.answerable]
    hits = refused = 0
    for a in held:
        p, best = best_probability(first, second, a)
        refused += p < threshold
        hits += p >= threshold and best is not None and contains(best.text, a.question.answers)
    recall = sum(best_probability(first, second, a)[0] < threshold for a in unanswerable)
    return {"held": len(held), "best_sentence_has_answer": round(hits / max(1, len(held)), 4),
            "false_refusal": round(refused / max(1, len(held)), 4),
            "refusal_recall": round(recall / max(1, len(unanswerable)), 4)}


def fit_passages(assistant: Assistant, questions: Sequence[Question], view: CorpusView,
                 about: dict[str, Any]) -> LinearModel:
    """The passage ranking: every fused candidate of each answerable question, 1 when it holds the answer."""
    rows, labels = [], []
    for q in questions:
        if not q.answerable or not q.answers:
            continue
        q = view.with_article_ids(q)
        when = assistant.when(q.question, q.as_of)
        pool = assistant.retriever.candidate_pool(when.search, q.filters, when)
        rows += passage_features(question_shape(when.search), pool.hits, pool.dense_ranks, pool.bm25, pool.bm25_ranks,
                                 when)
        labels += [int(contains(h.text, q.answers)) for h in pool.hits]
    return fit_linear(rows, labels, PASSAGE_FEATURES, about)


def answer_recall(assistant: Assistant, questions: Sequence[Question], view: CorpusView, mode: str,
                  k: int = 5) -> float:
    """Share of questions with answers whose top-k passages (in `mode`) hold one."""
    judged = [view.with_article_ids(q) for q in questions if q.answerable and q.answers]
    hits = 0
    for q in judged:
        when = assistant.when(q.question, q.as_of)
        passages = assistant.retriever.retrieve(when.search, q.filters, k, mode=mode, when=when)
        hits += any(contains(p.text, q.answers) for p in passages)
    return round(hits / max(1, len(judged)), 4)


def load(assistant: Assistant, data: Path, split: str, view: CorpusView) -> list[Asked]:
    answerable = [q for q in load_question_set(data, "realtimeqa", split).questions if q.group == "qa"]
    unanswerable = load_question_set(data, "realtimeqa", split, unanswerable=True).questions
    return gather(assistant, answerable + unanswerable, view)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m eval.fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="a store holding the RealTimeQA 2025-Q1 corpus")
    parser.add_argument("--ablation", action="store_true", help="also refit without each feature family and score "
                                                                 "the held-out weeks 10-13")
    parser.add_argument("--out", type=Path, default=MODELS, help="where the model files go")
    parser.add_argument("--data", type=Path, default=None,
                        help="the RealTimeQA 2025-Q1 folder (default: realtimeqa/2025-q1 in the data_dir setting)")
    parser.add_argument("--keep-passage", action="store_true",
                        help="keep the passage ranking model as it is; refit only the answering models")
    parser.add_argument("--short-only", action="store_true",
                        help="keep the passage and sentence models as they are; refit only the short-answer span model")
    parser.add_argument("--choices-only", action="store_true",
                        help="refit only the multiple-choice option model (eval/models/choice.json)")
    parser.add_argument("--choice-out", type=Path, default=CHOICE_MODEL, help="where the option model goes")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    assistant = open_assistant(store=args.store)
    args.data = args.data or assistant.settings.data_dir / "realtimeqa" / "2025-q1"
    view = CorpusView(assistant.store)
    about = {"fitted_on": "RealTimeQA 2025-Q1 weeks 1-9 (dev split)", "date": time.strftime("%Y-%m-%d"),
             "retrieval": {k: getattr(assistant.settings, k) for k in ("retrieval_mode", "top_k", "chunk_tokens",
                                                                        "rank_pool", "candidates", "passage_window")}}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.short_only:  # the span model over today's sentence models
        dev = load(assistant, args.data, "dev", view)
        fit_short(load_model("sentence_first"), load_model("sentence"), dev, about).save(args.out / "short_answer.json")
    elif not args.choices_only:
        refit_answering(assistant, args, view, about)
    if not args.short_only:
        fit_choice_model(assistant, args, view, about)
    print(f"done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


def refit_answering(assistant: Assistant, args: argparse.Namespace, view: CorpusView, about: dict[str, Any]) -> None:
    """The passage ranking (unless --keep-passage), the sentence models, the refusal threshold and the span
    model, fitted on weeks 1-9 and saved to --out; with --ablation, each feature family left out in turn."""
    dev_questions = [q for q in load_question_set(args.data, "realtimeqa", "dev").questions if q.group == "qa"]
    if not args.keep_passage:
        passage = fit_passages(assistant, dev_questions, view, about)
        passage.save(args.out / "passage.json")
        assistant.retriever.ranker = PassageRanker(passage)
    print("dev answer recall@5: learned", answer_recall(assistant, dev_questions, view, "hybrid"),
          "rrf", answer_recall(assistant, dev_questions, view, "rrf"), file=sys.stderr)
    dev = load(assistant, args.data, "dev", view)
    first, second = fit_selector(dev, CHEAP, about)
    threshold, refusal = choose_refusal(first, second, dev)
    second.thresholds["refuse_below"] = round(threshold, 4)
    second.thresholds["shortlist"] = SHORTLIST
    second.about["dev_refusal"] = refusal
    short = fit_short(first, second, dev, about)
    first.save(args.out / "sentence_first.json")
    second.save(args.out / "sentence.json")
    short.save(args.out / "short_answer.json")
    print(f"dev: {len(dev)} questions; refuse below {threshold:.3f}: {refusal}", file=sys.stderr)
    print("dev:", top_sentence_metrics(first, second, dev, threshold), file=sys.stderr)
    if args.ablation:
        ablation(first, second, dev, load(assistant, args.data, "test", view), threshold, about)


def ablation(first: LinearModel, second: LinearModel, dev: list[Asked], test: list[Asked], threshold: float,
             about: dict[str, Any]) -> None:
    """Refit without each feature family and print how the held-out weeks 10-13 fare."""
    print("test (all features):", top_sentence_metrics(first, second, test, threshold))
    for family, names in FAMILIES.items():
        cheap = [f for f in CHEAP if f not in names]
        f1, f2 = fit_selector(dev, cheap, about)
        if SEMANTIC in names:
            f2 = fit_linear([c.features for a in dev for c, _ in _shortlist(f1, a)],
                            [y for a in dev for _, y in _shortlist(f1, a)], cheap, about)
        t, _ = choose_refusal(f1, f2, dev)
        print(f"test without {family}:", top_sentence_metrics(f1, f2, test, t))


if __name__ == "__main__":
    sys.exit(main())
