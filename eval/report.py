"""report.md of a run, and the tables both reports render (`summary_tables`); report.html (`eval.html`) adds
plots and the per-question table, and `eval.html.write_report` writes the whole report folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .metrics import K_VALUES

if TYPE_CHECKING:
    from .harness import EvalRun

LEVELS = ("article", "chunk")


ANSWER_NOTE = ("exact_match is 1 only when the whole answer equals an expected answer; newsrag answers in sentences "
               "quoted from the articles, so exact_match stays near 0 even when contains (an expected answer appears "
               "in the answer) is high. Read contains and f1 for answer quality (docs/evaluation.md).")


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]]
    note: str = ""  # a line under the table that says how to read it


def fmt(value: Any) -> str:
    """A metric value for a table cell."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def run_line(run: EvalRun) -> str:
    m = run.meta
    return (f"{m.get('format')} set `{m.get('source')}` · {m.get('questions')} questions · store `{m.get('store')}` "
            f"({m.get('articles')} articles, {m.get('chunks')} chunks) · answerer {m.get('answerer')} · retrieval "
            f"{m.get('retrieval_mode')} · top_k {m.get('top_k')} · commit {m.get('commit')} · {m.get('started')} · "
            f"{m.get('seconds')} s")


def summary_tables(run: EvalRun, group: str) -> list[Table]:
    """The metric tables of one group section."""
    section = run.sections[group]
    mode = run.meta.get("retrieval_mode", "dense")
    tables = [_retrieval_table(section, mode)]
    ret = section.get("retrieval", {})
    if "answer_ceiling" in ret:
        rows = [[f"{mode} (run)", *[fmt(ret.get(f"answer_hit@{k}")) for k in K_VALUES], fmt(ret["answer_ceiling"])]]
        for name, base in section.get("baselines", {}).items():
            b = base["retrieval"]
            rows.append([name, *[fmt(b.get(f"answer_hit@{k}")) for k in K_VALUES], fmt(b.get("answer_ceiling"))])
        tables.append(Table("Answer string in the top-k passages (ceiling: in any stored article)",
                            ["retrieval", *[f"@{k}" for k in K_VALUES], "ceiling"], rows))
    answers = _dict_table("Answers", section.get("answers", {}))
    if {"exact_match", "contains"} <= set(section.get("answers", {})):
        answers.note = ANSWER_NOTE
    tables.append(answers)
    mc = section.get("multiple_choice", {})
    if mc:
        rows = [[f"{mode} (run)", mc.get("questions"), fmt(mc.get("accuracy"))]]
        rows += [[name, b["multiple_choice"].get("questions"), fmt(b["multiple_choice"].get("accuracy"))]
                 for name, b in section.get("baselines", {}).items() if b.get("multiple_choice")]
        tables.append(Table("Multiple choice (option best supported by the top-k passages)",
                            ["retrieval", "questions", "accuracy"], rows))
        if mc.get("abstention"):
            tables.append(_dict_table("Abstention ('None of the above')", mc["abstention"]))
    tables.append(_dict_table("Citations", section.get("citations", {})))
    tables.append(_dict_table("Refusal", section.get("refusal", {})))
    if section.get("counterfactual"):
        tables.append(_dict_table("Counterfactual passages", section["counterfactual"]))
    latency = section.get("latency_ms", {})
    rows = [[stage, fmt(v["p50"]), fmt(v["p95"]), fmt(v["mean"]), v["n"]] for stage, v in latency.items()]
    tables.append(Table("Latency per stage (ms)", ["stage", "p50", "p95", "mean", "n"], rows))
    return tables


def _retrieval_table(section: dict[str, Any], mode: str) -> Table:
    cols = [f"hit@{k}" for k in (1, 5, 10)] + [f"recall@{k}" for k in K_VALUES] + ["mrr@10", "ndcg@10"]
    rows = []
    sources = [(f"{mode} (run)", section.get("retrieval", {}))]
    sources += [(name, b["retrieval"]) for name, b in section.get("baselines", {}).items()]
    for level in LEVELS:
        for name, ret in sources:
            metrics = ret.get(level, {})
            rows.append([level, name, metrics.get("questions", 0), *[fmt(metrics.get(c)) for c in cols]])
    return Table("Retrieval", ["level", "retrieval", "judged", *cols], rows)


def _dict_table(title: str, data: dict[str, Any]) -> Table:
    return Table(title, ["metric", "value"], [[k, fmt(v)] for k, v in data.items() if not isinstance(v, dict)])


def markdown_table(table: Table) -> list[str]:
    if not table.rows:
        return [f"### {table.title}", "", "(none)", ""]
    lines = [f"### {table.title}", "", "| " + " | ".join(table.headers) + " |",
             "|" + "|".join("---" for _ in table.headers) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
    return lines + ([""] if not table.note else ["", table.note, ""])


def _md_cell(value: Any) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def render_markdown(run: EvalRun) -> str:
    m = run.meta
    lines = [f"# newsrag evaluation: {m.get('name')}", "", run_line(run), "", "## Headline", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {fmt(v)} |" for k, v in run.headline().items()]
    lines.append("")
    for group in run.sections:
        if len(run.sections) > 1:
            lines += [f"## Group: {group}", ""]
        for table in summary_tables(run, group):
            lines += markdown_table(table)
    if run.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in run.notes] + [""]
    lines += ["## Questions", "", "| id | group | verdict | answer |", "|---|---|---|---|"]
    for r in run.results:
        verdict = "FAILED" if r.failed else ("pass" if r.passed else "fail")
        text = r.error if r.failed else r.answer
        lines.append(f"| {_md_cell(r.id)} | {r.group} | {verdict} | {_md_cell(text)[:160]} |")
    lines += ["", "Metric definitions: docs/evaluation.md."]
    return "\n".join(lines) + "\n"
