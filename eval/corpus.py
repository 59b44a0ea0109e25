"""The corpus side of an evaluation: ingest the articles, then judge which articles and chunks are relevant.

Relevance (see docs/evaluation.md): a question's *key strings* are its evidence strings, or its answer
strings when it lists no evidence. The relevant articles are the gold articles, or, for a question
without any, the articles containing a key string; a chunk is relevant when it comes from a gold
article or overlaps an occurrence of a key string.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from rag.settings import Settings
from rag.store.collection import Store
from rag.timedates import iso_day

from .matching import find_spans, needle_words
from .questions import CorpusArticle, Question, QuestionSet

if TYPE_CHECKING:
    from index import IngestReport

Span = tuple[int, int]


def reads_jsonl() -> bool:
    """Whether this newsrag's ingestion reads .jsonl article records (RealTimeQA search results included)."""
    from index.loading import supported

    return supported(Path("articles.jsonl"))


def write_corpus(articles: Sequence[CorpusArticle], folder: Path) -> list[Path]:
    """Write adapter articles for `index.ingest`: one JSONL file of records when ingestion reads them,
    else .txt files with a Title/Date/URL header."""
    if reads_jsonl():
        path = folder / "corpus.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for a in articles:
                record = {"url": a.url, "title": a.title, "date": a.date, "site": a.site, "text": a.text}
                handle.write(json.dumps({k: v for k, v in record.items() if v}, ensure_ascii=False) + "\n")
        return [path] if articles else []
    paths = []
    for article in articles:
        header = [f"Title: {article.title}" if article.title else "", f"Date: {article.date}" if article.date else "",
                  f"URL: {article.url}", f"Source: {article.site}" if article.site else ""]
        path = folder / (hashlib.sha1(article.url.encode("utf-8")).hexdigest()[:16] + ".txt")
        path.write_text("\n".join(h for h in header if h) + "\n\n" + article.text.strip() + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def ingest_corpus(paths: Sequence[str | Path], qset: QuestionSet, settings: Settings,
                  quiet: bool = False) -> IngestReport:
    """Ingest the user's files and the question set's corpus into the store; the IngestReport.

    A set that names its own corpus files (RealTimeQA's *_gcs.jsonl) is ingested from them when
    ingestion reads JSONL records; otherwise its articles are written out first.
    """
    import index

    started, last = time.perf_counter(), [0.0]

    def progress(origin: str, done: int, chunks: int) -> None:
        now = time.perf_counter() - started
        if not quiet and now - last[0] >= 10:
            last[0] = now
            print(f"  ingest: {done} articles, {chunks} chunks embedded ({now:.0f}s)", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="newsrag-eval-corpus-") as tmp:
        targets = [str(p) for p in paths]
        if qset.corpus_files and reads_jsonl():
            targets += [str(p) for p in qset.corpus_files]
        else:
            targets += [str(p) for p in write_corpus(qset.corpus, Path(tmp))]
        return index.ingest(targets, settings=settings, progress=progress)


RECENT_DAYS = 10  # "recent": published at most this many days before the question is asked


@dataclass
class Relevance:
    """What counts as a right retrieval for one question."""

    articles: set[str] = field(default_factory=set)  # relevant article ids
    gold: set[str] = field(default_factory=set)  # gold article ids (all their passages are relevant)
    spans: dict[str, list[Span]] = field(default_factory=dict)  # article id -> key-string occurrences
    chunk_count: int = 0  # relevant chunks in the store
    answer_in_corpus: bool | None = None  # an answer string occurs in some article (None: no answers)
    answer_in_gold: bool | None = None  # ... in one of the question's gold articles (the ceiling of its own search)
    answer_in_recent_gold: bool | None = None  # ... in one dated in the RECENT_DAYS before the question's as_of

    def passage_relevant(self, article_id: str, start: int, end: int) -> bool:
        if article_id in self.gold:
            return True
        return any(lo < end and start < hi for lo, hi in self.spans.get(article_id, ()))


class CorpusView:
    """Read-only view of the store's articles for relevance judgements (texts loaded lazily, cached)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.infos = {a.article_id: a for a in store.articles()}
        self._by_url: dict[str, str] = {}
        for info in self.infos.values():
            for url in (info.url, *info.urls):
                if url:
                    self._by_url.setdefault(_url_key(url), info.article_id)
        self._texts: dict[str, str] = {}
        self._words: dict[str, set[str]] = {}
        self._postings: dict[str, set[str]] | None = None
        self._chunk_spans: dict[str, list[Span]] = {}

    def resolve(self, refs: Sequence[str]) -> tuple[set[str], list[str]]:
        """Gold references (article ids or URLs) -> stored article ids, and the refs not found."""
        found, missing = set(), []
        for ref in refs:
            article_id = ref if ref in self.infos else self._by_url.get(_url_key(ref))
            if article_id:
                found.add(article_id)
            else:
                missing.append(ref)
        return found, missing

    def with_article_ids(self, question: Question) -> Question:
        """The question with article URLs in its filter replaced by the stored articles' ids."""
        filters = question.filters
        if filters is None or not any("://" in a for a in filters.article_ids):
            return question
        found, _ = self.resolve(filters.article_ids)
        return replace(question, filters=replace(filters, article_ids=tuple(sorted(found))))

    def text(self, article_id: str) -> str:
        if article_id not in self._texts:
            got = self.store.article(article_id)
            self._texts[article_id] = got[1] if got else ""
        return self._texts[article_id]

    def occurrences(self, needles: Sequence[str]) -> dict[str, list[Span]]:
        """article id -> spans where any needle occurs, over every stored article."""
        postings = self._index()
        found: dict[str, list[Span]] = {}
        for needle in needles:
            words = needle_words(needle)
            if not words:
                continue
            candidates = set.intersection(*(postings.get(w, set()) for w in words))
            for article_id in sorted(candidates):
                spans = find_spans(needle, self.text(article_id))
                if spans:
                    found.setdefault(article_id, []).extend(spans)
        return found

    def judge(self, question: Question) -> tuple[Relevance, list[str]]:
        """The relevance judgement for a question, and gold references missing from the store."""
        gold, missing = self.resolve(question.gold_articles)
        keys = question.evidence or question.answers
        spans = self.occurrences(keys) if keys else {}
        relevance = Relevance(articles=gold or set(spans), gold=gold, spans=spans)
        relevance.chunk_count = sum(self.infos[a].chunks for a in gold) + sum(
            self._overlapping_chunks(a, s) for a, s in spans.items() if a not in gold)
        if question.answers:
            in_corpus = spans if keys is question.answers else self.occurrences(question.answers)
            relevance.answer_in_corpus = bool(in_corpus)
            # the ceiling of the question's own search: its gold articles, or without them the articles
            # holding its evidence (the sample set)
            ceiling = gold or (set(spans) if question.evidence else set())
            relevance.answer_in_gold = any(a in ceiling for a in in_corpus) if ceiling else None
            if gold and question.as_of:
                relevance.answer_in_recent_gold = any(a in gold and self.recent(a, question.as_of) for a in in_corpus)
        return relevance, missing

    def recent(self, article_id: str, as_of: str) -> bool:
        """The article is dated in the RECENT_DAYS up to `as_of` (a question about this week's news)."""
        date = iso_day(self.infos[article_id].date)
        asked = iso_day(as_of)
        return bool(date and asked and 0 <= (asked - date).days <= RECENT_DAYS)

    def _overlapping_chunks(self, article_id: str, spans: list[Span]) -> int:
        if article_id not in self._chunk_spans:
            self._chunk_spans[article_id] = [(c.start, c.end) for c in self.store.chunks_of(article_id)]
        chunks = self._chunk_spans[article_id]
        return sum(1 for cs, ce in chunks if any(lo < ce and cs < hi for lo, hi in spans))

    def _index(self) -> dict[str, set[str]]:
        """word -> ids of the articles containing it (built once, on first use)."""
        if self._postings is None:
            postings: dict[str, set[str]] = {}
            for article_id in self.infos:
                for word in set(re.findall(r"[^\W_]+", self.text(article_id).lower())):
                    postings.setdefault(word, set()).add(article_id)
            self._postings = postings
        return self._postings


def _url_key(url: str) -> str:
    return url.strip().rstrip("/").lower()
