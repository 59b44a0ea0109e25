"""`eval compare RUN_A RUN_B`: metric deltas between two runs and the questions whose verdict flipped."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .harness import EvalRun
from .report import fmt
from .scoring import HEADLINE, flatten

# metrics where a smaller value is better (a negative delta is an improvement)
LOWER_IS_BETTER = ("false_refusal_rate", "repeats_wrong", "failed", "latency_ms.")
# counts: a change is reported but judged neither better nor worse
COUNTS = ("questions", "markers", "answers", "refused", "unanswerable", "answer_removed", "chose_none_of_the_above",
          ".n", "judged")


@dataclass
class Flip:
    id: str
    group: str
    question: str
    before: str  # pass / fail / failed / absent
    after: str
    answer: str  # the answer in run B


@dataclass
class Comparison:
    a: str
    b: str
    deltas: list[tuple[str, float | None, float | None]] = field(default_factory=list)  # metric, A, B
    flips: list[Flip] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a, "b": self.b,
            "metrics": [{"metric": k, "a": va, "b": vb, "delta": _delta(va, vb)} for k, va, vb in self.deltas],
            "flips": [f.__dict__ for f in self.flips],
        }

    def render(self) -> str:
        width = max([len("metric"), *(len(k) for k, _, _ in self.deltas)])
        lines = [f"A: {self.a}", f"B: {self.b}", "", f"{'metric':<{width}} {'A':>9} {'B':>9} {'delta':>9}"]
        for key, va, vb in self.deltas:
            delta = _delta(va, vb)
            shown = "–" if delta is None else fmt(delta)
            if delta is not None and shown.lstrip("-") == "0.000" and isinstance(delta, float):
                delta, shown = 0.0, "0.000"  # a change below the shown precision is no change
            elif delta is not None and delta > 0:
                shown = "+" + shown
            mark = _judgement(key, delta)
            lines.append(f"{key:<{width}} {fmt(va):>9} {fmt(vb):>9} {shown:>9} {mark}".rstrip())
        fixed = [f for f in self.flips if f.after == "pass" and f.before != "absent"]
        broke = [f for f in self.flips if f.before == "pass" and f.after != "absent"]
        other = [f for f in self.flips if f not in fixed and f not in broke]
        for title, flips in (("now pass", fixed), ("now fail", broke), ("other changes", other)):
            if flips:
                lines += ["", f"{title} ({len(flips)}):"]
                lines += [f"  {f.id} [{f.before} -> {f.after}] {f.question[:90]}" for f in flips]
        if not self.flips:
            lines += ["", "no question changed its verdict"]
        return "\n".join(lines)


def compare_runs(a: EvalRun, b: EvalRun) -> Comparison:
    """Deltas of every metric of the whole set (headline first) and the flipped questions."""
    flat_a, flat_b = flatten(a.sections.get("all", {})), flatten(b.sections.get("all", {}))
    keys = [k for k in HEADLINE if k in flat_a or k in flat_b]
    keys += sorted(k for k in set(flat_a) | set(flat_b) if k not in keys and flat_a.get(k) != flat_b.get(k))
    comparison = Comparison(a=str(a.report_dir or a.meta.get("name")), b=str(b.report_dir or b.meta.get("name")))
    comparison.deltas = [(k, flat_a.get(k), flat_b.get(k)) for k in keys]
    before = {(r.group, r.id): r for r in a.results}
    after = {(r.group, r.id): r for r in b.results}
    for key in list(dict.fromkeys([*before, *after])):
        va, vb = _verdict(before.get(key)), _verdict(after.get(key))
        if va != vb:
            result = after.get(key) or before[key]
            answer = (result.error or result.answer) if key in after else ""
            comparison.flips.append(Flip(key[1], key[0], result.question, va, vb, answer or ""))
    return comparison


def _verdict(result: Any) -> str:
    if result is None:
        return "absent"
    return "failed" if result.failed else ("pass" if result.passed else "fail")


def _delta(va: float | None, vb: float | None) -> float | None:
    return None if va is None or vb is None else round(vb - va, 4)


def _judgement(key: str, delta: float | None) -> str:
    if not delta or key.endswith(COUNTS):
        return ""
    lower = any(part in key for part in LOWER_IS_BETTER)
    better = delta < 0 if lower else delta > 0
    return "better" if better else "worse"
