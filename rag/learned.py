"""Fitted linear models (logistic regression) stored as small JSON files beside the code.

A model file holds the feature names, the standardisation (mean, scale), the coefficients, the
intercept and any thresholds chosen on development data, plus where it was fitted. `eval/fit.py`
writes them; scoring needs numpy only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .errors import ConfigError

MODELS = Path(__file__).resolve().parent / "models"  # rag/models/NAME.json


@dataclass(frozen=True)
class LinearModel:
    """P(label | features) = sigmoid(intercept + sum(coef * (x - mean) / scale))."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    thresholds: dict[str, float] = field(default_factory=dict)
    about: dict[str, Any] = field(default_factory=dict)

    def probability(self, values: Mapping[str, float]) -> float:
        z = self.intercept
        for name, mu, sd, w in zip(self.features, self.mean, self.scale, self.coef):
            z += w * (float(values.get(name, 0.0)) - mu) / sd
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def probabilities(self, rows: Sequence[Mapping[str, float]]) -> list[float]:
        return [self.probability(row) for row in rows]

    def to_dict(self) -> dict[str, Any]:
        return {"features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
                "coef": list(self.coef), "intercept": self.intercept, "thresholds": self.thresholds,
                "about": self.about}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")


def model_from_dict(data: Mapping[str, Any], where: str = "model") -> LinearModel:
    try:
        model = LinearModel(tuple(data["features"]), tuple(map(float, data["mean"])), tuple(map(float, data["scale"])),
                            tuple(map(float, data["coef"])), float(data["intercept"]),
                            {k: float(v) for k, v in (data.get("thresholds") or {}).items()}, dict(data.get("about") or {}))
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: not a newsrag model file ({exc}); refit it with `python -m eval.fit`") from exc
    if not (len(model.features) == len(model.mean) == len(model.scale) == len(model.coef)):
        raise ConfigError(f"{where}: feature, mean, scale and coef lists differ in length; refit it")
    return model


@lru_cache(maxsize=8)
def load_model(name: str) -> LinearModel:
    """The model `rag/models/NAME.json`."""
    return load_model_file(MODELS / f"{name}.json")


def load_model_file(path: Path) -> LinearModel:
    """The model stored at `path`; ConfigError when it is missing or not a model file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the fitted model ({exc}); refit it with `python -m eval.fit`") from exc
    return model_from_dict(data, str(path))
