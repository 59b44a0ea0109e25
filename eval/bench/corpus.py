"""Benchmark corpora from the RealTimeQA 2025-Q1 files in ../shared/data (read, never copied)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError
from rag.settings import Settings


@dataclass(frozen=True)
class Question:
    """A RealTimeQA question with its gold answer text and the urls its web search returned."""

    question_id: str
    text: str
    answer: str
    urls: tuple[str, ...]


def data_dir(path: str | Path | None = None) -> Path:
    folder = Path(path) if path else Settings().data_dir / "realtimeqa" / "2025-q1"
    if not list(folder.glob("*_gcs.jsonl")):
        raise ConfigError(f"no RealTimeQA *_gcs.jsonl files in {folder}; pass --data DIR")
    return folder


def weeks(folder: Path) -> list[str]:
    """The weekly file stems (YYYYMMDD), oldest first."""
    return sorted(p.name.split("_")[0] for p in folder.glob("*_gcs.jsonl"))


def articles(folder: Path, limit: int | None = None, week_list: list[str] | None = None) -> list[dict]:
    """Unique articles with text (first occurrence of each url), in week and file order."""
    seen: set[str] = set()
    out: list[dict] = []
    for week in week_list or weeks(folder):
        for article in _search_results(folder / f"{week}_gcs.jsonl"):
            url = article.get("url") or ""
            if url in seen or not (article.get("text") or "").strip():
                continue
            seen.add(url)
            out.append({k: article.get(k) for k in ("title", "text", "url", "publish_date", "authors")})
            if limit is not None and len(out) >= limit:
                return out
    return out


def _search_results(path: Path) -> Iterator[dict]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            yield from json.loads(line).get("search_result") or []


def questions(folder: Path, week_list: list[str]) -> list[Question]:
    """The questions of the given weeks with their gold answer text and search-result urls."""
    out: list[Question] = []
    for week in week_list:
        results = {}
        for line in (folder / f"{week}_gcs.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                results[row["question_id"]] = tuple(a.get("url") or "" for a in row.get("search_result") or [])
        for line in (folder / f"{week}_qa.jsonl").read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            answer = row["choices"][int(row["answer"][0])]
            out.append(Question(row["question_id"], row["question_sentence"], answer, results.get(row["question_id"], ())))
    return out


def write_jsonl(items: list[dict], path: Path) -> Path:
    """Articles as one JSON object per line (the form `newsrag ingest` reads)."""
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in items), encoding="utf-8")
    return path


def question_texts(folder: Path, limit: int | None = None) -> list[str]:
    """The question sentences of every week's *_qa.jsonl, in week order (RealTimeQA 2025-Q1: 250)."""
    out: list[str] = []
    for path in sorted(folder.glob("*_qa.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["question_sentence"])
    return out[:limit] if limit else out
