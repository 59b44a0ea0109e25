"""Metric formulas over per-question results; every name here is defined in docs/evaluation.md."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import mean
from typing import Any

K_VALUES = (1, 3, 5, 10, 20)  # cut-offs reported for hit@k and recall@k
CURVE_KS = tuple(range(1, 21))  # cut-offs of the recall@k curve


def hit_at(ranking: Sequence[bool], k: int) -> float:
    """1 when a relevant item is in the top k."""
    return float(any(ranking[:k]))


def recall_at(ranking: Sequence[bool], relevant: int, k: int) -> float:
    """Relevant items in the top k over all relevant items."""
    if relevant <= 0:
        return 0.0
    return min(1.0, sum(ranking[:k]) / relevant)


def mrr_at(ranking: Sequence[bool], k: int = 10) -> float:
    """1/rank of the first relevant item in the top k, else 0."""
    for rank, relevant in enumerate(ranking[:k], start=1):
        if relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranking: Sequence[bool], relevant: int, k: int = 10) -> float:
    """Binary nDCG: DCG of the top k over the DCG of an ideal ranking of min(k, relevant) items."""
    if relevant <= 0:
        return 0.0
    dcg = sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(ranking[:k], start=1) if rel)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, relevant) + 1))
    return min(1.0, dcg / ideal)


def ranking_metrics(rankings: Iterable[tuple[Sequence[bool], int]]) -> dict[str, Any]:
    """hit@k, recall@k, MRR@10, nDCG@10 and the recall/hit curves, averaged over judged questions."""
    judged = [(r, n) for r, n in rankings if n > 0]
    out: dict[str, Any] = {"questions": len(judged)}
    if not judged:
        return out
    for k in K_VALUES:
        out[f"hit@{k}"] = _avg(hit_at(r, k) for r, _ in judged)
        out[f"recall@{k}"] = _avg(recall_at(r, n, k) for r, n in judged)
    out["mrr@10"] = _avg(mrr_at(r, 10) for r, _ in judged)
    out["ndcg@10"] = _avg(ndcg_at(r, n, 10) for r, n in judged)
    out["curve"] = {
        "k": list(CURVE_KS),
        "recall": [_avg(recall_at(r, n, k) for r, n in judged) for k in CURVE_KS],
        "hit": [_avg(hit_at(r, k) for r, _ in judged) for k in CURVE_KS],
    }
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def latency(timings: Sequence[dict[str, float]]) -> dict[str, dict[str, float]]:
    """stage -> {p50, p95, mean, n} in milliseconds, for every stage any question reported."""
    stages = list(dict.fromkeys(stage for t in timings for stage in t))
    out = {}
    for stage in stages:
        values = [t[stage] for t in timings if stage in t]
        out[stage] = {"p50": round(percentile(values, 50), 2), "p95": round(percentile(values, 95), 2),
                      "mean": round(mean(values), 2), "n": len(values)}
    return out


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _avg(values: Iterable[float]) -> float:
    items = list(values)
    return round(mean(items), 4) if items else 0.0
