"""report.html: one self-contained file (inline CSS, SVG plots, no scripts from the network); and `write_report`,
which writes it beside metrics.json, results.jsonl and report.md."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .plots import histogram, line_chart
from .report import LEVELS, Table, fmt, render_markdown, run_line, summary_tables

if TYPE_CHECKING:
    from .harness import EvalRun
    from .results import QuestionResult

_CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:6px 0 18px;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17692e;font-weight:600} .fail{color:#b3261e;font-weight:600} .failed{color:#fff;background:#b3261e}
.plots{display:flex;flex-wrap:wrap;gap:16px} .meta{color:#555;font-size:13px}
mark{background:#fff1a8} details{margin:2px 0} summary{cursor:pointer;color:#1a4f8b}
.q td{max-width:520px} .small{font-size:12px;color:#555}
"""

_FILTER_JS = """
function filterRows(v){document.querySelectorAll('tr.q').forEach(function(r){
 r.style.display=(v==='all'||r.dataset.verdict===v)?'':'none';});}
"""


def render_html(run: EvalRun) -> str:
    name = escape(str(run.meta.get("name")))
    body = [f"<h1>newsrag evaluation: {name}</h1>", f'<p class="meta">{escape(run_line(run))}</p>',
            "<h2>Headline</h2>", _headline(run),
            "<h2>Plots</h2>", _plots(run)]
    for group in run.sections:
        if len(run.sections) > 1:
            body.append(f"<h2>Group: {escape(group)}</h2>")
        for table in summary_tables(run, group):
            body.append(f"<h3>{escape(table.title)}</h3>" + _table(table))
    if run.notes:
        body.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in run.notes) + "</ul>")
    body.append(_questions(run.results))
    body.append('<p class="small">Metric definitions: docs/evaluation.md in the newsrag repository.</p>')
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>newsrag eval: {name}</title>'
            f"<style>{_CSS}</style><script>{_FILTER_JS}</script></head><body>{''.join(body)}</body></html>\n")


def _headline(run: EvalRun) -> str:
    return _table(Table("", ["metric", "value"], [[k, fmt(v)] for k, v in run.headline().items()]))


def _table(table: Table) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in table.headers)
    rows = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in table.rows)
    note = f'<p class="small">{escape(table.note)}</p>' if table.note else ""
    return f"<table><tr>{head}</tr>{rows}</table>{note}"


def _cell(value: Any) -> str:
    text = str(value)
    numeric = text.replace(".", "", 1).replace("–", "").isdigit()
    return f'<td class="num">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"


def _plots(run: EvalRun) -> str:
    section = run.sections["all"]
    svgs = [_curve(section, run.meta.get("retrieval_mode", "dense"), level, metric)
            for metric in ("recall", "hit") for level in LEVELS]
    totals = [r.timings["total"] for r in run.results if "total" in r.timings]
    latency = section.get("latency_ms", {}).get("total", {})
    svgs.append(histogram("answer latency (total)", totals, "milliseconds per question",
                          markers={"p50": latency.get("p50", 0), "p95": latency.get("p95", 0)} if totals else None))
    return '<div class="plots">' + "".join(f"<figure>{svg}</figure>" for svg in svgs if svg) + "</div>"


def _curve(section: dict[str, Any], mode: str, level: str, metric: str) -> str:
    """recall@k or hit@k for k = 1..20 at one level, one line for the run and one per baseline."""
    series: dict[str, list[float]] = {}
    ks: list[float] = []
    sources = [(f"{mode} (run)", section.get("retrieval", {}))]
    sources += [(name, base["retrieval"]) for name, base in section.get("baselines", {}).items()]
    for name, retrieval in sources:
        curve = retrieval.get(level, {}).get("curve")
        if curve:
            series[name], ks = curve[metric], curve["k"]
    if not series:
        return ""
    return line_chart(f"{level} {metric}@k", ks, series, "k (passages retrieved)", f"{level} {metric}@k")


def _questions(results: list[QuestionResult]) -> str:
    counts = {v: sum(1 for r in results if _verdict(r) == v) for v in ("pass", "fail", "failed")}
    options = "".join(f'<option value="{v}">{v} ({n})</option>' for v, n in counts.items())
    rows = "".join(_question_row(r) for r in results)
    return (f'<h2>Questions</h2><p>Show <select onchange="filterRows(this.value)"><option value="all">all '
            f"({len(results)})</option>{options}</select></p>"
            "<table><tr><th>id</th><th>verdict</th><th>question</th><th>answer</th><th>cited passages</th>"
            f"<th>retrieval</th></tr>{rows}</table>")


def _verdict(r: QuestionResult) -> str:
    return "failed" if r.failed else ("pass" if r.passed else "fail")


def _question_row(r: QuestionResult) -> str:
    verdict = _verdict(r)
    question = escape(r.question)
    if r.answers:
        question += f'<div class="small">expected: {escape(" | ".join(r.answers[:4]))}</div>'
    if r.wrong_answers:
        question += f'<div class="small">false claim in the corpus: {escape(" | ".join(r.wrong_answers[:4]))}</div>'
    if r.choices:
        marks = []
        for i, choice in enumerate(r.choices):
            flag = ("✓" if i in r.correct else "") + ("←" if i == r.ranking.choice else "")
            score = f" ({r.ranking.choice_scores[i]:.2f})" if i < len(r.ranking.choice_scores) else ""
            marks.append(f"{i}. {escape(choice)}{score} {flag}")
        question += '<div class="small">' + "<br>".join(marks) + "</div>"
    answer = escape(r.error or "") if r.failed else escape(r.answer)
    if r.refused:
        answer = f"<i>(refused)</i> {answer}"
    if r.reused_from:
        answer += f'<div class="small">same question as {escape(r.reused_from)}: answered once</div>'
    ret = r.ranking
    first = next((i for i, rel in enumerate(ret.chunks, start=1) if rel), None)
    retrieval = (f"first relevant chunk: {first or '–'}<br>answer string at: {ret.answer_rank or '–'}"
                 f"<br>relevant: {ret.relevant_articles} articles, {ret.relevant_chunks} chunks")
    flag = '<div class="small">repeats the false claim</div>' if r.repeats_wrong else ""
    return (f'<tr class="q" data-verdict="{verdict}"><td>{escape(r.id)}<div class="small">{escape(r.group)}</div></td>'
            f'<td class="{verdict}">{verdict}{flag}</td><td>{question}</td><td>{answer}</td>'
            f'<td>{_cited(r.cited)}</td><td class="small">{retrieval}</td></tr>')


def _cited(cited: list[dict[str, Any]]) -> str:
    """One entry per cited passage: two sentences citing one passage give one [n] with both sentences marked."""
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for c in cited:
        groups.setdefault((c.get("marker"), c.get("chunk_id") or c.get("passage")), []).append(c)
    parts = []
    for (marker, _), same in groups.items():
        c = same[0]
        title = escape(c.get("title") or "")
        url = str(c.get("url") or "")
        link = f'<a href="{escape(url)}">{title}</a>' if url.startswith(("http://", "https://")) else title
        shown = escape(c.get("passage") or "")
        for sentence in dict.fromkeys(escape(s.get("sentence") or "") for s in same):
            if sentence and sentence in shown:
                shown = shown.replace(sentence, f"<mark>{sentence}</mark>", 1)
        parts.append(f"<details><summary>[{marker}] {link} {escape(c.get('date') or '')}</summary>"
                     f'<div class="small">{shown}</div></details>')
    return "".join(parts) or "–"


def write_report(run: EvalRun, folder: Path) -> Path:
    """Write the four files into `folder` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(run.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8")
    with (folder / "results.jsonl").open("w", encoding="utf-8") as handle:
        for result in run.results:
            handle.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    (folder / "report.md").write_text(render_markdown(run), encoding="utf-8")
    (folder / "report.html").write_text(render_html(run), encoding="utf-8")
    return folder
