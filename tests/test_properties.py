"""Property-based tests (hypothesis) for chunking and loading: any text chunks into exact, ordered, covering,
size-bounded pieces; any bytes in any supported file type give articles or one clear IngestError, nothing else."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunking import chunk_article
from index.cleaning import clean_article
from index.loading import LoadOptions, Problem, RawArticle, decode_text, load_items
from rag.embedding.embedder import token_counter
from rag.errors import IngestError

PROPERTIES = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
COUNTER = token_counter("all-MiniLM-L6-v2")
COUNT = COUNTER.count

WORD = st.text(alphabet=string.ascii_letters + "éüß数字", min_size=1, max_size=14)
LONG_WORD = st.text(alphabet=string.ascii_lowercase, min_size=80, max_size=400)  # one 'word' of many tokens
SENTENCE = st.builds(lambda ws, end: " ".join(ws) + end, st.lists(st.one_of(WORD, WORD, WORD, LONG_WORD), min_size=1,
                     max_size=40), st.sampled_from([".", "!", "?", "", "...", ". ", ".\n"]))
PARAGRAPH = st.builds(" ".join, st.lists(SENTENCE, min_size=1, max_size=8))
ARTICLE = st.builds("\n\n".join, st.lists(PARAGRAPH, min_size=1, max_size=6))
ANY_TEXT = st.text(min_size=1, max_size=3000)


def _check_chunks(text: str, comments_start: int | None, limit: int, overlap: int) -> None:
    chunks = chunk_article(text, comments_start, COUNTER.ids, limit, overlap, joinable=COUNTER.joinable)
    story_end = len(text) if comments_start is None else comments_start
    assert [c.index for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:
        assert chunk.text == text[chunk.start : chunk.end] and chunk.text.strip()
        assert list(chunk.token_ids) == COUNTER.ids([chunk.text])[0]  # the encoder embeds these ids
        lo, hi = (0, story_end) if chunk.kind == "body" else (story_end, len(text))
        assert lo <= chunk.start < chunk.end <= hi, (chunk, lo, hi)
        if COUNT([chunk.text])[0] > limit:  # only a single unbreakable word may exceed the limit
            assert not re.search(r"\s", chunk.text.strip()), chunk.text
    kinds = [c.kind for c in chunks]
    assert kinds == sorted(kinds, key=lambda k: k != "body")  # the story first, then the comments
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and (overlap or len(set(starts)) == len(starts))
    covered = bytearray(len(text))
    for chunk in chunks:
        covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
    missing = [i for i, ch in enumerate(text) if ch.isalnum() and not covered[i]]
    assert not missing, f"characters left out of every chunk: {[text[i] for i in missing[:20]]}"


@PROPERTIES
@given(text=ARTICLE, limit=st.integers(16, 160), overlap=st.integers(0, 3), cut=st.floats(0, 1) | st.none())
def test_chunks_are_exact_ordered_covering_and_bounded(text: str, limit: int, overlap: int, cut: float | None) -> None:
    comments_start = None if cut is None else int(len(text) * cut)
    _check_chunks(text, comments_start, limit, overlap)


@PROPERTIES
@given(text=ANY_TEXT, limit=st.integers(16, 128))
def test_any_unicode_text_chunks_without_error(text: str, limit: int) -> None:
    if text.strip():
        _check_chunks(text, None, limit, 0)


@PROPERTIES
@given(text=ANY_TEXT)
def test_cleaning_any_text_keeps_offsets_valid(text: str) -> None:
    try:
        clean = clean_article(RawArticle(origin="prop.txt", text=text))
    except IngestError as exc:  # nothing left to index: one clear error naming the file
        assert "prop.txt" in str(exc) and "\n" not in str(exc)
        return
    assert isinstance(clean.text, str)
    if clean.comments_start is not None:
        assert 0 <= clean.comments_start <= len(clean.text)


@PROPERTIES
@given(data=st.binary(max_size=3000))
def test_decoding_any_bytes_is_text_or_one_clear_error(data: bytes) -> None:
    try:
        text = decode_text(data, "prop.bin")
    except IngestError as exc:
        assert "prop.bin" in str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(text, str)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=60),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
        st.sampled_from(["title", "text", "body", "url", "date", "author", "site", "items", "x"]), inner, max_size=6),
    max_leaves=30,
)
SUFFIXES = [".txt", ".md", ".html", ".json", ".jsonl", ".csv", ".pdf"]


def _load(path: Path) -> list[RawArticle | Problem]:
    """Every item of one file; a file-level problem is one IngestError naming the file."""
    try:
        return list(load_items(path, LoadOptions(max_bytes=100_000)))
    except IngestError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc).strip(), str(exc)
        return []


def _article_checks(items: list[RawArticle | Problem]) -> None:
    for item in items:
        assert isinstance(item, (RawArticle, Problem))
        if isinstance(item, RawArticle):
            assert isinstance(item.title, (str, type(None)))
            try:  # a loaded article is either cleanable or refused by cleaning with one clear error
                clean = clean_article(item)
            except IngestError as exc:
                assert item.origin in str(exc) and "\n" not in str(exc), str(exc)
            else:
                assert clean.text.strip()


@PROPERTIES
@given(suffix=st.sampled_from(SUFFIXES), data=st.binary(max_size=2000))
def test_any_bytes_in_any_supported_file_load_or_fail_clearly(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"prop{suffix}"
    path.write_bytes(data)
    _article_checks(_load(path))


@PROPERTIES
@given(suffix=st.sampled_from(SUFFIXES), text=ANY_TEXT)
def test_any_text_in_any_supported_file_loads_or_fails_clearly(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"prop{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _article_checks(_load(path))


@PROPERTIES
@given(value=JSON_VALUE, lines=st.booleans())
def test_any_json_loads_as_records_or_fails_clearly(tmp_path: Path, value: object, lines: bool) -> None:
    path = tmp_path / ("prop.jsonl" if lines else "prop.json")
    values = value if lines and isinstance(value, list) else [value]
    path.write_text("\n".join(json.dumps(v) for v in values) if lines else json.dumps(value), encoding="utf-8")
    _article_checks(_load(path))


@PROPERTIES
@given(rows=st.lists(st.lists(st.text(max_size=40), min_size=1, max_size=5), max_size=8))
def test_any_csv_loads_as_records_or_fails_clearly(tmp_path: Path, rows: list[list[str]]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows([["title", "text"], *rows])
    path = tmp_path / "prop.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", errors="surrogatepass")
    _article_checks(_load(path))


@pytest.mark.parametrize("head", [b"%PDF-1.4\n", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n"])
@PROPERTIES
@given(tail=st.binary(max_size=1500))
def test_damaged_pdfs_fail_clearly(tmp_path: Path, head: bytes, tail: bytes) -> None:
    path = tmp_path / "prop.pdf"
    path.write_bytes(head + tail)
    _article_checks(_load(path))
