"""Fitting a logistic regression into a `LinearModel` (scikit-learn, at fitting time only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.learned import LinearModel


def fit_linear(rows: list[dict[str, float]], labels: list[int], features: Sequence[str], about: dict[str, Any],
               c: float = 1.0) -> LinearModel:
    from sklearn.linear_model import LogisticRegression

    x = np.array([[r.get(f, 0.0) for f in features] for r in rows], dtype=float)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    clf = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, labels)
    return LinearModel(tuple(features), tuple(map(float, mean)), tuple(map(float, scale)),
                       tuple(map(float, clf.coef_[0])), float(clf.intercept_[0]), {},
                       {**about, "rows": len(rows), "positives": int(sum(labels))})
