"""The fitted models behind ranking and answering: files load, fitting learns, thresholds are chosen as documented."""

from __future__ import annotations

import json
import random

import pytest

from eval.fit import fit_linear
from rag.errors import ConfigError
from rag.learned import MODELS, load_model, model_from_dict


@pytest.mark.parametrize("name", ["passage", "sentence_first", "sentence", "short_answer"])
def test_shipped_models_load_and_say_where_they_were_fitted(name: str) -> None:
    model = load_model(name)
    assert len(model.features) == len(model.coef) > 3
    assert "weeks 1-9" in model.about["fitted_on"]  # never the reported weeks 10-13
    assert 0.0 < model.probability({}) < 1.0
    assert (MODELS / f"{name}.json").stat().st_size < 20_000


def test_refusal_threshold_ships_with_the_sentence_model() -> None:
    assert 0.0 < load_model("sentence").thresholds["refuse_below"] < 1.0


def test_fitting_learns_which_feature_predicts_the_label() -> None:
    rng = random.Random(7)
    rows = [{"signal": rng.random(), "noise": rng.random()} for _ in range(400)]
    labels = [int(r["signal"] + rng.gauss(0, 0.1) > 0.6) for r in rows]
    model = fit_linear(rows, labels, ("signal", "noise"), {"fitted_on": "synthetic"})
    assert abs(model.coef[0]) > 5 * abs(model.coef[1])
    assert model.probability({"signal": 0.95, "noise": 0.5}) > 0.9 > 0.1 > model.probability({"signal": 0.1, "noise": 0.5})
    again = model_from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.probability({"signal": 0.7}) == pytest.approx(model.probability({"signal": 0.7}))


def test_a_broken_model_file_names_the_fix() -> None:
    with pytest.raises(ConfigError, match="refit"):
        model_from_dict({"features": ["a"], "mean": [0.0]}, "bad.json")
