"""A commit of the store's writer keeps BM25 in step (rag.store.commits): after an ingest, a changed article, a
rebuild and a remove, the BM25 index saved on disk already holds exactly the committed chunks, with no sync
call, no chunk read back from Chroma and no registry re-read; a write made by another writer is caught up."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

import index
from rag.composition import open_store
from rag.retrieval.bm25 import BM25Index, lexical_terms
from rag.retrieval.lexical import LexicalIndex, read_saved
from rag.settings import Settings
from rag.store.collection import Store
from rag.store.rows import ArticleRow, ChunkRow
from tests.conftest import run_cli
from tests.test_lexical import two_articles, write_article  # noqa: F401 - two_articles: a fixture


@pytest.fixture
def stored(request: pytest.FixtureRequest) -> tuple[Settings, Path]:
    """The two ingested articles of tests/test_lexical.py (its `two_articles` fixture)."""
    return request.getfixturevalue("two_articles")


def _on_disk(settings: Settings) -> BM25Index:
    """The BM25 index as a new process loads it (file + log), after checking it is at the store's revision and
    holds each committed chunk once."""
    store = Store(settings)
    saved = read_saved(settings)
    assert saved is not None and saved.meta["revision"] == store.revision(), "BM25 on disk is behind the store"
    versions = store.versions()
    committed = {h.chunk_id for h in store.committed_chunks(sorted(versions))}
    chunk_ids = saved.chunk_ids.tolist()
    assert len(chunk_ids) == len(set(chunk_ids)), "a chunk is indexed twice"
    assert set(chunk_ids) == committed and saved.article_versions() == versions
    return saved


def _finds(saved: BM25Index, word: str) -> set[str]:
    return {chunk_id.split(":")[0] for chunk_id, _ in saved.search(lexical_terms(word), 20)}


def test_ingest_edit_rebuild_and_remove_are_in_bm25_on_disk_without_a_sync(stored: tuple[Settings, Path]) -> None:
    settings, corpus = stored
    ids = {a.title: a.article_id for a in Store(settings).articles()}
    airship, zoo = ids["Airship Museum Opens"], ids["Zoo Welcomes New Animals"]
    assert _finds(_on_disk(settings), "zeppelin") == {airship}

    assert index.ingest([corpus], settings=settings).unchanged == 2
    _on_disk(settings)  # nothing doubled by an unchanged re-ingest

    write_article(corpus, "a.txt", "Airship Museum Opens", "The museum now shows a hovercraft instead.")
    assert index.ingest([corpus], settings=settings).updated == 1
    saved = _on_disk(settings)
    assert _finds(saved, "zeppelin") == set() and _finds(saved, "hovercraft") == {airship}

    smaller = settings.model_copy(update={"chunk_tokens": 40})
    assert index.rebuild(settings=smaller).rebuilt == 2
    saved = _on_disk(smaller)
    assert _finds(saved, "quokka") == {zoo} and _finds(saved, "hovercraft") == {airship}

    assert index.remove([zoo], settings=smaller).removed == 1
    saved = _on_disk(smaller)
    assert _finds(saved, "quokka") == set() and _finds(saved, "hovercraft") == {airship}
    assert saved.meta["full_builds"] == 1  # built once by the first ingest, then one delta per write


def _change(store: Store, article_id: str, text: str) -> str:
    """Write a new one-chunk version of a stored article through `store`'s writer; its version."""
    old = next(a for a in store.articles() if a.article_id == article_id)
    row = ArticleRow(article_id=article_id, title=old.title, text=text, content_hash=hashlib.sha256(text.encode()).hexdigest())
    dimension = int(store.store_metadata()["dimension"])
    store.writer.put_article(row, [ChunkRow(index=0, text=text, start=0, end=len(text))],
                             np.ones((1, dimension), dtype=np.float32) / np.sqrt(dimension))
    return row.content_hash[:16]


def test_a_commit_is_followed_from_its_rows_and_a_foreign_one_from_the_store(stored: tuple[Settings, Path]) -> None:
    settings, _ = stored
    store = open_store(settings)
    follower = store.writer.followers["bm25"]
    assert isinstance(follower, LexicalIndex)
    airship = next(a.article_id for a in store.articles() if a.title == "Airship Museum Opens")
    store.versions()
    reads = store.committed.full_reads

    with store.writer.write_lock("edit"):
        _change(store, airship, "The museum swapped the airship for a walrus skeleton.")
        version = _change(store, airship, "The museum swapped that exhibit for a narwhal tusk.")
    assert follower.stats.deltas == 1 and follower.stats.full_builds == 0  # one delta for the block, from the rows
    assert store.versions()[airship] == version and store.committed.full_reads == reads  # no registry re-read
    assert _finds(_on_disk(settings), "narwhal") == {airship} and _finds(_on_disk(settings), "walrus") == set()

    other = Store(settings)  # a writer nobody follows (an older newsrag, or a crash before BM25 was updated)
    version = _change(other, airship, "The museum now shows a steam locomotive.")
    assert (read_saved(settings) or BM25Index()).meta["revision"] != store.revision()
    # the versions map is shared by this process's Stores of the collection: the other writer moved it
    assert store.versions()[airship] == version and store.committed.full_reads == reads
    _change(store, airship, "The museum now shows a vintage tram.")  # not in step before it: caught up from the store
    saved = _on_disk(settings)
    assert _finds(saved, "tram") == {airship} and _finds(saved, "locomotive") == set()


def test_another_client_s_write_is_read_as_ids_and_the_records_stamped_since(chroma_url: str, tmp_path: Path) -> None:
    """On a Chroma server, other processes write while this one reads (an embedded store is read whole when this
    process opens it again after letting go: it may have been restored meanwhile)."""
    corpus = tmp_path / "corpus"
    write_article(corpus, "a.txt", "Airship Museum Opens", "The museum shows a restored zeppelin from 1931.")
    settings = Settings(store=tmp_path / "local", chroma_url=chroma_url, collection="commits-test")
    args = ("--store", str(settings.store), "--chroma-url", chroma_url, "--collection", "commits-test")
    assert index.ingest([corpus], settings=settings).added == 1
    store = Store(settings)
    store.versions()
    full, partial = store.committed.full_reads, store.committed.partial_reads
    extra = write_article(tmp_path / "more", "c.txt", "Aquarium Adds Whales", "Two narwhal calves came to the aquarium.")
    assert run_cli("ingest", str(extra), *args).returncode == 0
    versions = store.versions()
    assert versions == {i: str(m["version"]) for i, m in store.registry_records()} and len(versions) == 2
    assert (store.committed.full_reads, store.committed.partial_reads) == (full, partial + 1)

    store.writer.bump()  # a revision moved without naming its change (a repair, an older newsrag's write)
    (added,) = [a.article_id for a in store.articles() if a.title == "Aquarium Adds Whales"]
    assert run_cli("remove", added, *args).returncode == 0
    versions = store.versions()  # the map predates the unnamed change: read whole
    assert versions == {i: str(m["version"]) for i, m in store.registry_records()} and added not in versions
    assert (store.committed.full_reads, store.committed.partial_reads) == (full + 1, partial + 1)


def test_a_new_store_s_bm25_is_built_from_the_rows_written_never_read_back(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(store=tmp_path / "store")
    store = open_store(settings, create=True, dimension=384)
    follower = store.writer.followers["bm25"]
    assert isinstance(follower, LexicalIndex)

    def read_back(*args: object, **kwargs: object) -> None:
        raise AssertionError("BM25 read chunks back from Chroma")

    monkeypatch.setattr(Store, "committed_chunks", read_back)
    texts = {"a": "A glacier in Patagonia calved an iceberg.", "b": "The orchestra played a new cello concerto."}
    with store.writer.write_lock("ingest"):
        for article_id, text in texts.items():
            row = ArticleRow(article_id=article_id, title=article_id, text=text,
                             content_hash=hashlib.sha256(text.encode()).hexdigest())
            store.writer.put_article(row, [ChunkRow(index=0, text=text, start=0, end=len(text))],
                                     np.ones((1, 384), dtype=np.float32) / np.sqrt(384))
    assert (follower.stats.full_builds, follower.stats.deltas) == (1, 1)
    monkeypatch.undo()
    saved = _on_disk(settings)
    assert _finds(saved, "iceberg") == {"a"} and _finds(saved, "cello") == {"b"}
