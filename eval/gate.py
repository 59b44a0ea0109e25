"""The CI gate: headline metrics checked against minimums and maximums kept in a TOML file.

    [sample]                       # a section per question set
    min = { "answers.contains" = 0.8 }
    max = { "failed" = 0 }

Keys are the dotted metric names of metrics.json (the whole set, group "all").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import ConfigError

from .scoring import flatten

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.toml")


@dataclass(frozen=True)
class Breach:
    metric: str
    value: float | None
    bound: float
    kind: str  # "min" or "max"

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.metric}: missing from the run (threshold {self.kind} {self.bound})"
        sign = "<" if self.kind == "min" else ">"
        return f"{self.metric} = {self.value:.4g} {sign} {self.kind} {self.bound:g}"


def parse_gate(spec: str) -> tuple[Path, str | None]:
    """'FILE' or 'FILE:SECTION' -> (path, section)."""
    path, _, section = spec.partition(":") if not Path(spec).is_file() else (spec, "", "")
    return Path(path), section or None


def load_thresholds(path: Path, section: str | None = None) -> dict[str, dict[str, float]]:
    """{"min": {...}, "max": {...}} of one section (default: the first)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the thresholds ({exc})") from exc
    if not data:
        raise ConfigError(f"{path}: no threshold sections")
    name = section or next(iter(data))
    if name not in data or not isinstance(data[name], dict):
        raise ConfigError(f"{path}: no section [{name}]; sections: {', '.join(data)}")
    bounds = {kind: dict(data[name].get(kind, {})) for kind in ("min", "max")}
    for kind, values in bounds.items():
        for key, value in values.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ConfigError(f"{path}: [{name}] {kind}.{key} must be a number, not {value!r}")
    return bounds


def check(section: dict[str, Any], bounds: dict[str, dict[str, float]]) -> list[Breach]:
    """The thresholds the run's metrics break (empty when the gate passes)."""
    flat = flatten(section)
    breaches = []
    for key, bound in bounds.get("min", {}).items():
        value = flat.get(key)
        if value is None or value < bound:
            breaches.append(Breach(key, value, bound, "min"))
    for key, bound in bounds.get("max", {}).items():
        value = flat.get(key)
        if value is None or value > bound:
            breaches.append(Breach(key, value, bound, "max"))
    return breaches
