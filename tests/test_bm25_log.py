"""The BM25 index follows a changed article by appending a record to its log, not by rewriting its file;
a new process loads the file plus the log and gets the same index as a rebuild; a torn or damaged record
(a crash in mid-append, a flipped byte) is detected, ignored, and the index caught up from the store."""

from __future__ import annotations

from pathlib import Path

import pytest

import index
from rag import Settings
from rag.retrieval import bm25_log
from rag.retrieval.bm25 import BM25Index
from rag.retrieval.bm25_log import log_path
from rag.retrieval.lexical import LexicalIndex, index_path, read_saved
from rag.store.collection import Store
from tests.test_lexical import assert_in_step, found, two_articles, write_article  # noqa: F401 - two_articles: a fixture

QUERIES = ("zeppelin museum", "quokka zoo", "hovercraft", "walrus skeleton", "penguin colony")


@pytest.fixture
def store(request: pytest.FixtureRequest) -> tuple[Settings, Path]:
    """The two ingested articles of tests/test_lexical.py (its `two_articles` fixture)."""
    return request.getfixturevalue("two_articles")


def rebuilt(settings: Settings) -> BM25Index:
    """The index built from scratch from the store, in memory (the saved files are left alone)."""
    fresh = LexicalIndex(settings.with_overrides(store=str(settings.store)))
    fresh.path = fresh.path.with_name("rebuild-check.npz")  # never read or write the real files
    fresh.log = log_path(fresh.path)
    return fresh.sync(Store(settings))


def same_search(a: BM25Index, b: BM25Index) -> None:
    from rag.retrieval.bm25 import lexical_terms

    assert a.article_versions() == b.article_versions() and len(a) == len(b)
    for query in QUERIES:
        got = {c: round(s, 5) for c, s in a.search(lexical_terms(query), 20)}
        assert got == {c: round(s, 5) for c, s in b.search(lexical_terms(query), 20)}, query


def edit(settings: Settings, corpus: Path, body: str, name: str = "a.txt", title: str = "Airship Museum Opens") -> None:
    write_article(corpus, name, title, body)
    report = index.ingest([corpus], settings=settings)
    assert report.added + report.updated == 1


def test_an_update_appends_to_the_log_and_a_reopen_equals_a_rebuild(store: tuple[Settings, Path]) -> None:
    settings, corpus = store
    path, log = index_path(settings), log_path(index_path(settings))
    before = path.stat()
    edit(settings, corpus, "The museum now shows a hovercraft instead.")
    edit(settings, corpus, "Penguin colony found near the walrus skeleton.", "c.txt", "Polar Finds")
    after = path.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert log.is_file() and log.stat().st_size > 0  # the two changes went to the log
    reopened = LexicalIndex(settings)
    assert found(reopened, settings, "hovercraft") and not found(reopened, settings, "zeppelin")
    assert (reopened.stats.loads, reopened.stats.followed, reopened.stats.full_builds, reopened.stats.deltas) == (1, 2, 0, 0)
    saved = assert_in_step(settings)
    same_search(saved, rebuilt(settings))


def test_the_log_is_folded_into_a_new_file_once_it_has_grown(store: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import rag.retrieval.lexical

    settings, corpus = store
    monkeypatch.setattr(rag.retrieval.lexical, "COMPACT_MIN_BYTES", 1)
    monkeypatch.setattr(rag.retrieval.lexical, "COMPACT_RATIO", 0.0001)
    path, log = index_path(settings), log_path(index_path(settings))
    written = path.stat().st_mtime_ns
    edit(settings, corpus, "The museum now shows a hovercraft instead.")
    assert path.stat().st_mtime_ns != written and not log.exists()  # compacted: a new file, no log
    same_search(assert_in_step(settings), rebuilt(settings))


@pytest.mark.parametrize("damage", ["torn-last-record", "flipped-byte", "garbage-tail", "another-base"])
def test_a_torn_or_damaged_log_record_is_ignored_and_the_index_caught_up(store: tuple[Settings, Path], damage: str) -> None:
    settings, corpus = store
    log = log_path(index_path(settings))
    edit(settings, corpus, "The museum now shows a hovercraft instead.")
    whole = log.stat().st_size
    edit(settings, corpus, "Penguin colony found near the walrus skeleton.", "c.txt", "Polar Finds")
    data = log.read_bytes()
    assert len(data) > whole
    if damage == "torn-last-record":  # the writer died in mid-append
        log.write_bytes(data[: whole + (len(data) - whole) // 2])
    elif damage == "flipped-byte":
        at = whole + (len(data) - whole) // 2
        log.write_bytes(data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :])
    elif damage == "garbage-tail":
        log.write_bytes(data + b"\x00not a record" * 10)
    else:  # records of a base that was replaced (a crash between the new file and removing the old log)
        first = bm25_log.Record.decode(data[12:whole])
        first.base = "a-base-since-replaced"
        log.write_bytes(first.encode() + data[whole:])
    reader = LexicalIndex(settings)
    assert found(reader, settings, "penguin") and found(reader, settings, "hovercraft")
    assert not found(reader, settings, "zeppelin")
    assert reader.stats.damaged == 1 and reader.stats.full_builds == 0
    if damage != "garbage-tail":  # the damaged record was caught up from the store and the files compacted
        assert reader.stats.saves == 1 and not log.exists()
    same_search(assert_in_step(settings), rebuilt(settings))


def test_a_writer_with_a_stale_view_does_not_append_after_another(store: tuple[Settings, Path]) -> None:
    """Two processes follow the same store; the one that did not see the other's record writes nothing
    to the log (its record would not follow), and the saved index stays whole."""
    settings, corpus = store
    first, second = LexicalIndex(settings), LexicalIndex(settings)
    first.sync(Store(settings)), second.sync(Store(settings))
    edit(settings, corpus, "The museum now shows a hovercraft instead.")  # the ingest appends a record
    size = log_path(index_path(settings)).stat().st_size
    second._file_changed = lambda: False  # type: ignore[method-assign]  # it does not see that record
    assert found(second, settings, "hovercraft")  # caught up from the store, in memory
    assert second.stats.deltas == 1 and second.stats.appends == 0
    assert log_path(index_path(settings)).stat().st_size == size
    assert found(first, settings, "hovercraft")
    saved = read_saved(settings)
    assert saved is not None
    same_search(saved, rebuilt(settings))
