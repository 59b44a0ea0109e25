"""Adapters from public benchmark layouts to question sets: RealTimeQA weekly folders and RGB files.

`load_question_set(path, fmt)` is the one entry point; `fmt="auto"` recognises the layout.
"""

from __future__ import annotations

import ast
import html
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from rag.errors import ConfigError
from rag.records import Filters

from .questions import CorpusArticle, Question, QuestionSet, load_jsonl

FORMATS = ("auto", "jsonl", "realtimeqa", "rgb")
# RealTimeQA 2025-Q1 holds 13 weekly sets: weights and thresholds are fitted and chosen on weeks 1-9 only,
# and weeks 10-13 are the unseen figure (docs/evaluation.md). A split names weekly files by position.
SPLITS = {"dev": slice(0, 9), "test": slice(9, None), "all": slice(None)}
_TAG = re.compile(r"<[^>]+>")


def load_question_set(path: str | Path, fmt: str = "auto", split: str | None = None,
                      unanswerable: bool = False) -> QuestionSet:
    """Questions (and, for benchmark layouts, their corpus) from a file or folder.

    `split` (dev, test, all) and `unanswerable` apply to RealTimeQA folders only (see `load_realtimeqa`)."""
    where = Path(path).expanduser()
    if not where.exists():
        raise ConfigError(f"{path}: no such question file or folder")
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r} is unknown; use one of: {', '.join(FORMATS)}")
    if fmt == "auto":
        fmt = detect_format(where)
    if (split or unanswerable) and not (fmt == "realtimeqa" and where.is_dir()):
        raise ConfigError("--split and --unanswerable need a RealTimeQA folder of weekly files")
    if fmt == "realtimeqa":
        return load_realtimeqa(where, split, unanswerable)
    loader = {"jsonl": _load_jsonl_path, "rgb": load_rgb}[fmt]
    return loader(where)


def detect_format(path: Path) -> str:
    """jsonl, realtimeqa or rgb, from the folder layout or the first record's fields."""
    if path.is_dir():
        if list(path.glob("*_qa.jsonl")) or list(path.glob("*_qa_nota.jsonl")):
            return "realtimeqa"
        raise ConfigError(
            f"{path}: a folder of questions must hold RealTimeQA files (*_qa.jsonl with *_gcs.jsonl); "
            "for other sets give the file itself"
        )
    if path.name.endswith(("_qa.jsonl", "_qa_nota.jsonl")):
        return "realtimeqa"
    first = _first_record(path)
    if isinstance(first, dict) and {"query", "answer"} <= set(first):
        return "rgb"
    if isinstance(first, dict) and "question" in first:
        return "jsonl"
    raise ConfigError(
        f"{path}: cannot tell the question format from its first record; pass --format jsonl|realtimeqa|rgb"
    )


def _first_record(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8-sig") as handle:
            head = handle.read(1 << 16)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from exc
    stripped = head.lstrip()
    if stripped.startswith("["):  # a JSON array: the first element, wherever its lines break
        stripped = stripped[1:].lstrip()
    try:
        return json.JSONDecoder().raw_decode(stripped)[0]
    except json.JSONDecodeError:
        return None


def _load_jsonl_path(path: Path) -> QuestionSet:
    if path.is_dir():
        raise ConfigError(f"{path}: --format jsonl needs a .jsonl file, not a folder")
    return load_jsonl(path)


# --------------------------------------------------------------------------- RealTimeQA
def load_realtimeqa(path: Path, split: str | None = None, unanswerable: bool = False) -> QuestionSet:
    """A RealTimeQA folder (every week's *_qa.jsonl and *_qa_nota.jsonl) or one weekly question file.

    The corpus is the union of the weeks' *_gcs.jsonl search results, one article per URL; a
    question's gold articles are the results searched for it. `_nota` files form the group "nota".
    `split` keeps the questions of some weeks (dev: 1-9, test: 10-13; the corpus stays every week's).
    `unanswerable` turns the split into an abstention test: see `unanswerable_questions`.
    """
    if split is not None and split not in SPLITS:
        raise ConfigError(f"--split {split!r} is unknown; use one of: {', '.join(SPLITS)}")
    if path.is_dir():
        names = sorted(f.name[:8] for f in path.glob("*_qa.jsonl"))[SPLITS[split or "all"]]
        files = [f for pattern in ("*_qa.jsonl", "*_qa_nota.jsonl") for f in sorted(path.glob(pattern))
                 if f.name[:8] in names]
        weeks = sorted(path.glob("*_gcs.jsonl"))
    else:
        files = [path]
        week = re.sub(r"_qa(_nota)?\.jsonl$", "", path.name)
        weeks = [path.with_name(f"{week}_gcs.jsonl")]
    if not files:
        raise ConfigError(f"{path}: no RealTimeQA question files (*_qa.jsonl) found")
    search = _read_search_results([w for w in weeks if w.is_file()])
    questions = [q for f in files for q in _realtimeqa_questions(f, search)]
    corpus, notes = _realtimeqa_corpus(search)
    if unanswerable:
        questions, note = unanswerable_questions(questions, corpus, {f.name[:8] for f in files})
        notes.append(note)
    missing = [w.name for w in weeks if not w.is_file()]
    if missing:
        notes.append(f"no search results file {', '.join(missing)}: those questions have no gold articles")
    return QuestionSet(name=path.name if path.is_dir() else path.stem, fmt="realtimeqa", source=str(path),
                       questions=questions, corpus=corpus, corpus_files=[w for w in weeks if w.is_file()], notes=notes)


def unanswerable_questions(questions: list[Question], corpus: list[CorpusArticle],
                           weeks: set[str]) -> tuple[list[Question], str]:
    """The abstention test: the split's questions whose right answer occurs in one of their own search
    results, asked of the *other* weeks' articles only (a filter on article URLs) and kept only when
    the answer occurs in none of those articles. Each must be refused."""
    from .matching import contains

    by_url = {a.url: a for a in corpus}
    own = {u for q in questions for u in q.gold_articles}
    kept_urls = tuple(sorted(u for u in by_url if u not in own))
    kept_texts = [by_url[u].title + "\n" + by_url[u].text for u in kept_urls]
    out = []
    for q in questions:
        if q.group != "qa" or q.id[:8] not in weeks or not q.answers:
            continue
        if not any(contains(by_url[u].text, q.answers) for u in q.gold_articles if u in by_url):
            continue  # the question was not answerable from its own search results either
        if any(contains(text, q.answers) for text in kept_texts):
            continue  # another week's article holds the answer: not unanswerable
        out.append(replace(q, id=f"{q.id}_unanswerable", answerable=False, group="unanswerable",
                           filters=Filters(article_ids=kept_urls), gold_articles=()))
    note = (f"unanswerable set: {len(out)} questions whose answer is in their own search results but in none of "
            f"the {len(kept_urls)} articles of the other weeks, asked of those articles only")
    return out, note


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from exc
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
    return rows


def _read_search_results(weeks: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """question_id -> the articles its web search returned."""
    found: dict[str, list[dict[str, Any]]] = {}
    for week in weeks:
        for row in _read_jsonl(week):
            results = row.get("search_result") or []
            if isinstance(results, str):  # some dumps store the list as its Python repr
                results = ast.literal_eval(results)
            found[str(row.get("question_id"))] = [r for r in results if isinstance(r, dict)]
    return found


def _realtimeqa_questions(path: Path, search: dict[str, list[dict[str, Any]]]) -> list[Question]:
    nota = path.name.endswith("_nota.jsonl")
    questions = []
    for number, row in enumerate(_read_jsonl(path), start=1):
        where = f"{path}:{number}"
        try:
            qid, text, choices = str(row["question_id"]), str(row["question_sentence"]), list(row["choices"])
            correct = tuple(int(i) for i in row["answer"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: not a RealTimeQA question (needs question_id, question_sentence, "
                              f"choices, answer): {exc}") from exc
        base_id = qid.removesuffix("_nota")
        gold = tuple(dict.fromkeys(r["url"] for r in search.get(base_id, []) if r.get("url") and r.get("text")))
        answers = tuple(choices[i] for i in correct if choices[i].strip().lower() != "none of the above")
        questions.append(Question(
            id=qid, question=text, answers=answers, choices=tuple(str(c) for c in choices), correct=correct,
            gold_articles=gold, group="nota" if nota else "qa",
            note=_TAG.sub("", html.unescape(str(row.get("evidence") or ""))).strip(),
            as_of=_iso_date(row.get("question_date")),  # the end of the day the quiz asked it
        ))
    return questions


def _realtimeqa_corpus(search: dict[str, list[dict[str, Any]]]) -> tuple[list[CorpusArticle], list[str]]:
    articles: dict[str, CorpusArticle] = {}
    empty = 0
    for results in search.values():
        for r in results:
            url = r.get("url")
            if not url or url in articles:
                continue
            if not (r.get("text") or "").strip():
                empty += 1
                continue
            articles[url] = CorpusArticle(url=url, title=" ".join(str(r.get("title") or "").split()),
                                          text=str(r["text"]), date=_iso_date(r.get("publish_date")))
    notes = [f"{empty} search results without article text were left out of the corpus"] if empty else []
    return list(articles.values()), notes


def _iso_date(value: Any) -> str | None:
    match = re.match(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})", str(value or ""))
    return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else None


# --------------------------------------------------------------------------- RGB
def load_rgb(path: Path) -> QuestionSet:
    """An RGB file (JSON lines or a JSON array). For the counterfactual set (`positive_wrong`) the
    corpus is the counterfactual passages and the fake answer is a wrong answer; otherwise the
    corpus is the positive and negative passages."""
    if path.is_dir():
        raise ConfigError(f"{path}: --format rgb needs an RGB .json file such as en_fact.json")
    rows = _read_rgb_rows(path)
    questions, corpus = [], []
    for number, row in enumerate(rows, start=1):
        where = f"{path}:{number}"
        if not isinstance(row, dict) or "query" not in row or "answer" not in row:
            raise ConfigError(f"{where}: not an RGB record (needs query, answer and passages)")
        qid = str(row.get("id", number - 1))
        counterfactual = "positive_wrong" in row
        passages = row["positive_wrong"] if counterfactual else [*row.get("positive", []), *row.get("negative", [])]
        urls = []
        for j, passage in enumerate(passages):
            url = f"{path.resolve().as_uri()}#{qid}-{j}"
            urls.append(url)
            corpus.append(CorpusArticle(url=url, title=f"RGB {path.stem} passage {qid}.{j + 1}", text=str(passage)))
        fake = _flatten(row.get("fakeanswer")) if counterfactual else ()
        questions.append(Question(id=qid, question=str(row["query"]), answers=_flatten(row["answer"]),
                                  gold_articles=tuple(urls), wrong_answers=fake))
    return QuestionSet(name=path.stem, fmt="rgb", source=str(path), questions=questions, corpus=corpus)


def _read_rgb_rows(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from exc
    if text.lstrip().startswith("["):
        try:
            return list(json.loads(text))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return _read_jsonl(path)


def _flatten(value: Any) -> tuple[str, ...]:
    """RGB answers are a string, a list of alternatives, or a list of lists of alternatives."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value.strip() else ()
    out: list[str] = []
    for item in value:
        out.extend(_flatten(item))
    return tuple(dict.fromkeys(out))
