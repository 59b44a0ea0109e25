"""The BM25 index: in step with the collection after ingest, edit and remove (also by another process),
saved beside the store and loaded, not rebuilt, on restart; a damaged file is detected and rebuilt."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import index
from rag import Filters, Settings
from rag.retrieval.bm25 import BM25Index, ChunkDoc, lexical_terms
from rag.retrieval.lexical import LexicalIndex, index_path, read_saved
from rag.store.collection import Store
from rag.store.rows import ArticleRow, ChunkRow
from rag.text import stem
from tests.conftest import run_cli


def write_article(folder: Path, name: str, title: str, body: str, day: str = "2021-05-01") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"Title: {title}\nDate: {day}\nSource: example.org\n\n{body}\n")
    return path


def saved_index(settings: Settings) -> BM25Index:
    """What a new process loads: the index file with its log's records applied."""
    saved = read_saved(settings)
    assert saved is not None
    return saved


def assert_in_step(settings: Settings) -> BM25Index:
    """The saved index holds exactly the committed chunks of the committed article versions."""
    store = Store(settings)
    saved = saved_index(settings)
    assert saved.article_versions() == store.versions()
    committed = {h.chunk_id for h in store.committed_chunks(sorted(store.versions()))}
    assert set(saved.chunk_ids.tolist()) == committed and len(saved) == len(committed)
    return saved


def found(lexical: LexicalIndex, settings: Settings, word: str) -> set[str]:
    """Article ids whose chunks BM25 finds for `word`."""
    return {chunk_id.split(":")[0] for chunk_id, _ in lexical.search(Store(settings), word, 20)}


@pytest.fixture
def two_articles(tmp_path: Path) -> tuple[Settings, Path]:
    corpus = tmp_path / "corpus"
    write_article(corpus, "a.txt", "Airship Museum Opens", "The museum shows a restored zeppelin from 1931. " * 3)
    write_article(corpus, "b.txt", "Zoo Welcomes New Animals", "A family of quokka arrived at the city zoo on Monday.")
    settings = Settings(store=tmp_path / "store")
    assert index.ingest([corpus], settings=settings).added == 2
    return settings, corpus


def test_index_follows_ingest_edit_and_remove(two_articles: tuple[Settings, Path]) -> None:
    settings, corpus = two_articles
    assert_in_step(settings)
    lexical = LexicalIndex(settings)
    ids = {a.title: a.article_id for a in Store(settings).articles()}
    assert found(lexical, settings, "zeppelin") == {ids["Airship Museum Opens"]}

    write_article(corpus, "a.txt", "Airship Museum Opens", "The museum now shows a hovercraft instead.")
    assert index.ingest([corpus], settings=settings).updated == 1
    saved = assert_in_step(settings)
    assert found(lexical, settings, "zeppelin") == set()  # the replaced version is gone
    assert found(lexical, settings, "hovercraft") == {ids["Airship Museum Opens"]}

    assert index.remove([ids["Zoo Welcomes New Animals"]], settings=settings).removed == 1
    saved = assert_in_step(settings)
    assert found(lexical, settings, "quokka") == set()
    assert saved.meta["full_builds"] == 1 and saved.meta["deltas"] == 3  # one build, then per-article deltas
    assert lexical.stats.full_builds == 0  # the reader picked up the writer's saved files


def test_index_follows_another_process(two_articles: tuple[Settings, Path], tmp_path: Path) -> None:
    import rag

    settings, _ = two_articles
    lexical = LexicalIndex(settings)
    assistant = rag.open(settings=settings)  # a long-running reader, e.g. the chat server
    assert found(lexical, settings, "narwhal") == set()
    extra = write_article(tmp_path / "more", "c.txt", "Aquarium Adds Whales", "Two narwhal calves came to the aquarium.")
    result = run_cli("ingest", str(extra), "--store", str(settings.store))
    assert result.returncode == 0, result.stderr
    (added,) = [a.article_id for a in Store(settings).articles() if a.title == "Aquarium Adds Whales"]
    assert found(lexical, settings, "narwhal") == {added}
    # BM25 brings the new article to a reader opened before it was added (its embedded Chroma does not see
    # vectors written by another process); the passage is scored by embedding it afresh
    (new,) = [p for p in assistant.retriever.retrieve("How many narwhal calves came to the aquarium?") if p.article_id == added]
    assert 0.2 < new.score <= 1.0
    result = run_cli("remove", added, "--store", str(settings.store))
    assert result.returncode == 0, result.stderr
    assert found(lexical, settings, "narwhal") == set()
    assert_in_step(settings)
    # the other process appended its two deltas to the log; this one read them, not the whole file again
    assert (lexical.stats.full_builds, lexical.stats.loads, lexical.stats.followed) == (0, 1, 2)


def test_a_writer_that_did_not_sync_is_caught_up_by_a_delta(two_articles: tuple[Settings, Path]) -> None:
    """A writer that committed without updating the BM25 file (old version, crash before the sync)."""
    settings, _ = two_articles
    lexical = LexicalIndex(settings)
    lexical.sync(Store(settings))
    writer = Store(settings)
    old = next(a for a in writer.articles() if a.title == "Airship Museum Opens")
    text = "The museum swapped the airship for a walrus skeleton."
    row = ArticleRow(article_id=old.article_id, title=old.title, text=text, content_hash="f" * 64, date="2021-06-01")
    vector = np.ones((1, _dimension(writer)), dtype=np.float32) / np.sqrt(_dimension(writer))
    writer.writer.put_article(row, [ChunkRow(index=0, text=text, start=0, end=len(text))], vector)
    assert found(lexical, settings, "walrus") == {old.article_id}
    assert found(lexical, settings, "zeppelin") == set()
    stats = lexical.stats
    assert (stats.full_builds, stats.deltas, stats.articles_added, stats.articles_dropped) == (0, 1, 1, 1)
    assert_in_step(settings)  # the reader saved the caught-up index


def test_an_article_seen_committed_before_its_chunks_is_fetched_again(two_articles: tuple[Settings, Path]) -> None:
    """A reader that sees a registry commit whose chunks it cannot read yet must not record the article as done."""
    settings, _ = two_articles
    store = Store(settings)
    article = next(a for a in store.articles() if a.title == "Airship Museum Opens")
    got = store.registry.get(ids=[article.article_id], include=["metadatas", "documents", "embeddings"])
    meta = {**got["metadatas"][0], "version": "v-in-flight"}
    store.registry.upsert(ids=[article.article_id], metadatas=[meta], documents=got["documents"],
                          embeddings=[list(got["embeddings"][0])])
    store.writer.bump()
    lexical = LexicalIndex(settings)
    assert found(lexical, settings, "gondola") == set() and found(lexical, settings, "zeppelin") == set()
    assert saved_index(settings).meta["revision"] is None  # not known to be in step: the next search checks again
    text = "The museum now shows a gondola."
    chunk_meta = {k: v for k, v in meta.items() if k in ("article_id", "version", "title", "date", "date_num", "site", "site_key")}
    store.chunks.upsert(ids=[f"{article.article_id}:v-in-flight:0"], documents=[text],
                        embeddings=[[1.0 / np.sqrt(_dimension(store))] * _dimension(store)],
                        metadatas=[{**chunk_meta, "chunk_index": 0, "start": 0, "end": len(text), "kind": "body"}])
    assert found(lexical, settings, "gondola") == {article.article_id}  # no new revision was needed
    assert saved_index(settings).meta["revision"] == store.revision()


def test_restart_loads_the_saved_index_without_rebuilding(sample_store: Path) -> None:
    settings = Settings(store=sample_store)
    path = index_path(settings)
    assert path.is_file() and path.parent == sample_store / "bm25"
    before = path.stat()
    restarted = LexicalIndex(settings)
    hits = restarted.search(Store(settings), "What did Milley say about ISIS-K?", 5)
    assert hits
    stats = restarted.stats
    assert (stats.loads, stats.full_builds, stats.deltas, stats.saves) == (1, 0, 0, 0)
    result = run_cli("ask", "How many bombs did the US drop in 2019?", "--store", str(sample_store), "--json")
    assert result.returncode == 0, result.stderr
    after = path.stat()
    assert (after.st_mtime_ns, after.st_ino, after.st_size) == (before.st_mtime_ns, before.st_ino, before.st_size)
    assert saved_index(settings).meta["full_builds"] == 1


@pytest.mark.parametrize("damage", ["truncated", "flipped-byte", "garbage", "empty", "other-collection"])
def test_a_damaged_index_file_is_detected_and_rebuilt(two_articles: tuple[Settings, Path], damage: str) -> None:
    settings, _ = two_articles
    path = index_path(settings)
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped-byte":
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    elif damage == "garbage":
        path.write_bytes(b"not an index at all" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        index.ingest([two_articles[1]], settings=settings.with_overrides(collection="another"))
        path.write_bytes(index_path(settings.with_overrides(collection="another")).read_bytes())
    (path.parent / f".{path.name}.12345.tmp").write_bytes(data[:100])  # left by a save that crashed
    lexical = LexicalIndex(settings)
    assert len(found(lexical, settings, "zeppelin")) == 1 and len(found(lexical, settings, "quokka")) == 1
    assert (lexical.stats.damaged, lexical.stats.full_builds) == (1, 1)
    assert_in_step(settings)  # and the rebuilt file is whole again


def test_store_on_a_chroma_server_keeps_its_index_in_the_store_dir(tmp_path: Path, chroma_url: str) -> None:
    import rag

    corpus = tmp_path / "corpus"
    write_article(corpus, "a.txt", "Airship Museum Opens", "The museum shows a restored zeppelin from 1931.")
    settings = Settings(store=tmp_path / "local", chroma_url=chroma_url, collection="lexical-test")
    assert index.ingest([corpus], settings=settings).added == 1
    path = index_path(settings)
    assert path.parent == tmp_path / "local" / "bm25" and chroma_url.rsplit(":", 1)[1] in path.name
    assert_in_step(settings)
    assistant = rag.open(settings=settings)
    passages = assistant.retriever.retrieve("Which museum has the zeppelin from 1931?", mode="bm25")
    assert passages and passages[0].title == "Airship Museum Opens"


# ---------------------------------------------------------------------------- the index structure
def test_lexical_terms_keep_codes_and_numbers() -> None:
    terms = lexical_terms("ISIS-K claimed it; the US dropped 7,423 bombs and F-35 jets flew.")
    assert {"isis-k", stem("isis"), "7423", "f-35", "35", stem("bombs")} <= set(terms)
    assert "the" not in terms and "k" not in terms


def test_deltas_filters_and_round_trip() -> None:
    def doc(article: str, index_: int, text: str, day: int = 0, site: str = "") -> ChunkDoc:
        return ChunkDoc(f"{article}:v1:{index_}", article, "v1", text, day, site)

    idx = BM25Index().apply([], [doc("a", 0, "red kite over the hills", 20210901, "birds.example"),
                                 doc("a", 1, "the kite nests in oak trees", 20210901, "birds.example"),
                                 doc("b", 0, "a kite festival on the beach")])
    assert next(c for c, _ in idx.search(["kite", "oak"], 5)) == "a:v1:1"
    assert {c for c, _ in idx.search(["kite"], 5, Filters(sources=("birds.example",)))} == {"a:v1:0", "a:v1:1"}
    from datetime import date

    assert {c.split(":")[0] for c, _ in idx.search(["kite"], 5, Filters(until=date(2030, 1, 1)))} == {"a"}
    replaced = idx.apply(["b"], [doc("c", 0, "kite surfing lessons")])
    assert replaced.article_versions() == {"a": "v1", "c": "v1"} and idx.article_versions() == {"a": "v1", "b": "v1"}
    again = BM25Index.from_bytes(replaced.to_bytes())
    assert again.search(["kite", "surf"], 3) == replaced.search(["kite", "surf"], 3)
    with pytest.raises(ValueError):
        BM25Index.from_bytes(replaced.to_bytes()[:-10])


def test_scores_are_textbook_bm25() -> None:
    """The term-major postings derived at load give exactly the BM25 of the definition, for every chunk."""
    import math
    import random

    rng = random.Random(3)
    words = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(words[: 5 + n % 30]) for _ in range(3 + n % 17)) for n in range(200)]
    idx = BM25Index().apply([], [ChunkDoc(f"a{n}:v:0", f"a{n}", "v", t, 0, "") for n, t in enumerate(texts)])
    docs = [lexical_terms(t) for t in texts]
    mean = sum(map(len, docs)) / len(docs)
    query = ["w1", "w7", "w22", "w7"]
    expected = {}
    for n, terms in enumerate(docs):
        score = 0.0
        for term in set(query):
            df = sum(term in d for d in docs)
            tf = terms.count(term)
            if tf:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(terms) / mean))
        if score > 0:
            expected[f"a{n}:v:0"] = score
    got = dict(idx.search(query, 500))
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(v, rel=1e-5) for k, v in expected.items())


def _dimension(store: Store) -> int:
    return int(store.store_metadata()["dimension"])
