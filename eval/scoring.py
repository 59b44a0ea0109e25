"""Aggregate per-question results into the metric sections of metrics.json (one per question group)."""

from __future__ import annotations

from collections.abc import Sequence
from statistics import mean
from typing import Any

from .metrics import K_VALUES, latency, ranking_metrics, ratio
from .results import QuestionResult, Ranking

# the dotted keys printed first and checked by the CI gate when present
HEADLINE = (
    "retrieval.article.hit@5", "retrieval.article.recall@5", "retrieval.article.mrr@10",
    "retrieval.chunk.hit@5", "retrieval.chunk.ndcg@10", "retrieval.answer_hit@5", "retrieval.answer_ceiling",
    "retrieval.within_ceiling", "retrieval.answer_recall@5", "retrieval.answer_recall@10",
    "retrieval.within_recent", "retrieval.answer_recall@5_recent",
    "answers.exact_match", "answers.f1", "answers.contains", "answers.in_text", "answers.short_answer",
    "answers.in_text_recent", "answers.short_answer_recent",
    "multiple_choice.accuracy",
    "citations.validity", "citations.support", "citations.evidence", "citations.coverage",
    "refusal.precision", "refusal.recall", "refusal.false_refusal_rate", "refusal.false_refusal_top5",
    "counterfactual.repeats_wrong", "latency_ms.total.p50", "latency_ms.total.p95", "passed", "failed",
)


def score_run(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """{"all": section, <group>: section, ...}; groups only when the set has more than one."""
    groups = list(dict.fromkeys(r.group for r in results))
    sections = {"all": score_group(results)}
    if len(groups) > 1:
        for group in groups:
            sections[group] = score_group([r for r in results if r.group == group])
    return sections


def score_group(results: Sequence[QuestionResult]) -> dict[str, Any]:
    ok = [r for r in results if not r.failed]
    modes = list(dict.fromkeys(m for r in ok for m in r.baselines))
    section: dict[str, Any] = {
        "questions": len(results),
        "failed": len(results) - len(ok),
        "passed": ratio(sum(r.passed for r in results), len(results)),
        "retrieval": retrieval_section([(r.ranking, r) for r in ok]),
        "answers": _answers(ok),
        "multiple_choice": choice_section([(r.ranking, r) for r in ok]),
        "citations": _citations(ok),
        "refusal": _refusal(ok),
        "counterfactual": _counterfactual(ok),
        "latency_ms": latency([r.timings for r in ok if r.timings]),
    }
    if modes:
        section["baselines"] = {}
        for mode in modes:
            pairs = [(r.baselines[mode], r) for r in ok if mode in r.baselines]
            section["baselines"][mode] = {"retrieval": retrieval_section(pairs),
                                          "multiple_choice": choice_section(pairs)}
    return section


def retrieval_section(pairs: Sequence[tuple[Ranking, QuestionResult]]) -> dict[str, Any]:
    """Article and passage ranking metrics, and where the answer string shows up, over (ranking, result) pairs."""
    out: dict[str, Any] = {
        "article": ranking_metrics((r.articles, r.relevant_articles) for r, _ in pairs),
        "chunk": ranking_metrics((r.chunks, r.relevant_chunks) for r, _ in pairs),
    }
    with_answers = [(rk, res) for rk, res in pairs if res.answer_in_corpus is not None]
    if with_answers:
        for k in K_VALUES:
            hits = sum(1 for rk, _ in with_answers if rk.answer_rank is not None and rk.answer_rank <= k)
            out[f"answer_hit@{k}"] = ratio(hits, len(with_answers))
        out["answer_ceiling"] = ratio(sum(1 for _, res in with_answers if res.answer_in_corpus), len(with_answers))
    within = [rk for rk, res in pairs if res.answer_in_gold]
    if within:
        out["within_ceiling"] = len(within)
        for k in (5, 10):
            hits = sum(1 for rk in within if rk.answer_rank is not None and rk.answer_rank <= k)
            out[f"answer_recall@{k}"] = ratio(hits, len(within))
    recent = [rk for rk, res in pairs if res.answer_in_recent_gold]
    if recent:  # the answer is in one of the question's own articles from its last RECENT_DAYS
        out["within_recent"] = len(recent)
        out["answer_recall@5_recent"] = ratio(sum(1 for rk in recent if rk.answer_rank is not None
                                                  and rk.answer_rank <= 5), len(recent))
    return out


def choice_section(pairs: Sequence[tuple[Ranking, QuestionResult]]) -> dict[str, Any]:
    """Multiple-choice accuracy and, for sets with 'None of the above', abstention precision and recall."""
    picked = [(rk, res) for rk, res in pairs if res.choices and rk.choice is not None]
    if not picked:
        return {}
    out: dict[str, Any] = {"questions": len(picked),
                           "accuracy": ratio(sum(1 for rk, _ in picked if rk.choice_correct), len(picked))}
    nota = [(rk, res) for rk, res in picked if any(c.strip().lower().rstrip(".") == "none of the above"
                                                  for c in res.choices)]
    if nota:
        def is_nota(res: QuestionResult, index: int | None) -> bool:
            return index is not None and res.choices[index].strip().lower().rstrip(".") == "none of the above"

        removed = [(rk, res) for rk, res in nota if any(is_nota(res, i) for i in res.correct)]
        present = [(rk, res) for rk, res in nota if not any(is_nota(res, i) for i in res.correct)]
        chose = [(rk, res) for rk, res in nota if is_nota(res, rk.choice)]
        right = [(rk, res) for rk, res in chose if rk.choice_correct]
        out["abstention"] = {
            "questions": len(nota), "answer_removed": len(removed), "chose_none_of_the_above": len(chose),
            "precision": ratio(len(right), len(chose)), "recall": ratio(len(right), len(removed)),
            "accuracy_when_removed": ratio(sum(1 for rk, _ in removed if rk.choice_correct), len(removed)),
            "accuracy_when_present": ratio(sum(1 for rk, _ in present if rk.choice_correct), len(present)),
        }
    return out


def _answers(results: Sequence[QuestionResult]) -> dict[str, Any]:
    scored = [r for r in results if r.exact_match is not None]
    if not scored:
        return {"questions": 0}
    out: dict[str, Any] = {"questions": len(scored),
                           "exact_match": round(mean(r.exact_match or 0.0 for r in scored), 4),
                           "f1": round(mean(r.f1 or 0.0 for r in scored), 4),
                           "contains": round(mean(r.contains or 0.0 for r in scored), 4)}
    within = [r for r in scored if r.answer_in_gold]
    if within:  # the questions an extractive reader can answer from the question's own search results
        out["within_ceiling"] = len(within)
        out["in_text"] = round(mean(r.contains or 0.0 for r in within), 4)
        out["short_answer"] = ratio(sum(1 for r in within if r.short_correct), len(within))
        out["short_answer_given"] = ratio(sum(1 for r in within if r.short_answer), len(within))
    recent = [r for r in scored if r.answer_in_recent_gold]
    if recent:  # ... and those of them whose answer a recent article of their own search states
        out["within_recent"] = len(recent)
        out["in_text_recent"] = round(mean(r.contains or 0.0 for r in recent), 4)
        out["short_answer_recent"] = ratio(sum(1 for r in recent if r.short_correct), len(recent))
    return out


def _citations(results: Sequence[QuestionResult]) -> dict[str, Any]:
    answered = [r for r in results if not r.refused]
    checks = [r.citations for r in answered]
    markers = sum(c.markers for c in checks)
    valid = sum(c.valid for c in checks)
    judged = [c.evidence for c in checks if c.evidence is not None]
    return {"answers": len(answered), "markers": markers,
            "validity": ratio(valid, markers), "support": ratio(sum(c.supported for c in checks), valid),
            "evidence": ratio(sum(judged), len(judged)),
            "coverage": ratio(sum(c.cited_sentences for c in checks), sum(c.sentences for c in checks))}


def _refusal(results: Sequence[QuestionResult]) -> dict[str, Any]:
    refused = [r for r in results if r.refused]
    unanswerable = [r for r in results if not r.answerable]
    answerable = [r for r in results if r.answerable]
    right = [r for r in refused if not r.answerable]
    held = [r for r in answerable if r.context_has_answer]  # the answerer was given the answer
    return {"refused": len(refused), "unanswerable": len(unanswerable),
            "precision": ratio(len(right), len(refused)), "recall": ratio(len(right), len(unanswerable)),
            "false_refusal_rate": ratio(sum(1 for r in answerable if r.refused), len(answerable)),
            "false_refusal_top5": ratio(sum(1 for r in held if r.refused), len(held)), "answer_in_top5": len(held)}


def _counterfactual(results: Sequence[QuestionResult]) -> dict[str, Any]:
    judged = [r for r in results if r.repeats_wrong is not None]
    if not judged:
        return {}
    return {"questions": len(judged),
            "repeats_wrong": ratio(sum(1 for r in judged if r.repeats_wrong), len(judged)),
            "correct": ratio(sum(1 for r in judged if r.contains), len(judged)),
            "refused": ratio(sum(1 for r in judged if r.refused), len(judged))}


def flatten(section: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Dotted keys -> numbers (curves and baselines left out), e.g. "retrieval.article.recall@5"."""
    flat: dict[str, float] = {}
    for key, value in section.items():
        if key in ("curve", "baselines"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = value
    return flat


def headline(section: dict[str, Any]) -> dict[str, float]:
    flat = flatten(section)
    return {key: flat[key] for key in HEADLINE if key in flat}
