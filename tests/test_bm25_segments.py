"""The BM25 index as a base segment (mapped from its file) with tombstones and an in-memory tail: after any run of
changes (new articles, edits, deletes of base rows, a deleted article added again) it scores every chunk exactly
as an index rebuilt from the live chunks does, and so does its compaction, its file, and a file of the older
format, which is migrated without losing a chunk; a migration killed halfway leaves the old file working."""

from __future__ import annotations

import io
import json
import random
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import index
from rag import Filters, Settings
from rag.retrieval import bm25_format, bm25_segment
from rag.retrieval.bm25 import BM25Index, ChunkDoc, lexical_terms
from rag.retrieval.bm25_log import log_path
from rag.retrieval.lexical import LexicalIndex, index_path
from rag.store.collection import Store
from tests.test_bm25_log import rebuilt, same_search
from tests.test_lexical import assert_in_step, found, two_articles, write_article  # noqa: F401 - two_articles: a fixture

WORDS = [f"w{i}" for i in range(60)] + ["kite", "oak", "ISIS-K", "F-35", "7,423"]
SITES = ("birds.example", "news.example", "")


def _article(rng: random.Random, article: str, version: str) -> list[ChunkDoc]:
    day = rng.choice([0, 20210901, 20220115])
    site = rng.choice(SITES)
    return [ChunkDoc(f"{article}:{version}:{n}", article, version,
                     " ".join(rng.choice(WORDS[: 8 + n * 7]) for _ in range(rng.randint(0, 14))), day, site).counted()
            for n in range(rng.randint(1, 4))]


def _everything(idx: BM25Index, query: list[str], filters: Filters | None = None,
                weights: dict[str, float] | None = None) -> dict[str, float]:
    return dict(idx.search(query, 10_000, filters, weights=weights))


def _assert_same(idx: BM25Index, live: dict[str, list[ChunkDoc]]) -> None:
    """Exactly the scores, lengths, versions and document frequencies of an index built from the live chunks."""
    fresh = BM25Index().apply([], [d for docs in live.values() for d in docs])
    assert len(idx) == len(fresh) and idx.article_versions() == fresh.article_versions()
    assert sorted(idx.chunk_ids.tolist()) == sorted(fresh.chunk_ids.tolist())
    queries = [["w1", "w7", "kite"], lexical_terms("ISIS-K and F-35 over the oak, 7,423 times"), ["w3"], ["absent"]]
    for query in queries:
        assert _everything(idx, query) == _everything(fresh, query), query  # float for float
        assert idx.search(query, 3) == fresh.search(query, 3) or _tied(fresh, query)
        for term in query:
            assert idx.document_frequency(term) == fresh.document_frequency(term)
    for filters in (Filters(sources=("birds.example",)), Filters(since=date(2022, 1, 1)), Filters(until=date(2021, 12, 1)),
                    Filters(article_ids=tuple(sorted(live)[:2]))):
        assert _everything(idx, ["w1", "w2", "kite"], filters) == _everything(fresh, ["w1", "w2", "kite"], filters)
    weights = {"w5": 0.3, "w9": 0.7}
    assert _everything(idx, ["w1", "w5", "w9"], weights=weights) == _everything(fresh, ["w1", "w5", "w9"], weights=weights)


def _tied(idx: BM25Index, query: list[str]) -> bool:
    """Whether the 3rd and 4th best scores tie (which of them makes the top 3 then depends on row order)."""
    scores = [s for _, s in idx.search(query, 4)]
    return len(scores) == 4 and scores[2] == scores[3]


def test_many_changes_score_exactly_as_a_rebuild_and_so_do_the_compaction_and_the_file(tmp_path: Path) -> None:
    rng = random.Random(19)
    live = {f"a{n}": _article(rng, f"a{n}", "v0") for n in range(40)}
    idx = BM25Index().apply([], [d for docs in live.values() for d in docs])
    base = BM25Index.from_bytes(idx.to_bytes())  # the base as a compaction writes it
    assert len(base.tail) == 0 and len(base.base) == len(idx)
    deleted: dict[str, list[ChunkDoc]] = {}
    idx = base
    for step in range(60):
        kind = rng.choice(["edit", "delete", "new", "re-add"] if deleted else ["edit", "delete", "new"])
        if kind == "delete":
            article = rng.choice(sorted(live))
            deleted[article] = live.pop(article)
            idx = idx.apply([article], [])
        elif kind == "re-add":  # a deleted article comes back (its base rows stay deleted; the tail holds it)
            article = rng.choice(sorted(deleted))
            live[article] = deleted.pop(article)
            idx = idx.apply([], live[article])
        else:
            article = rng.choice(sorted(live)) if kind == "edit" else f"new{step}"
            live[article] = _article(rng, article, f"v{step}")
            idx = idx.apply([], live[article])
        if step % 6 == 0:
            _assert_same(idx, live)
    assert idx.live is not None and not idx.live.all() and len(idx.tail)  # both tombstones and a tail
    _assert_same(idx, live)
    _assert_same(idx.compacted(), live)
    path = tmp_path / "index.npz"
    path.write_bytes(idx.to_bytes())
    mapped = BM25Index.open(path)
    assert _mapped_from_file(mapped.base.post_slots) and len(mapped.tail) == 0
    _assert_same(mapped, live)
    changed = mapped.apply(sorted(live)[:3], [])
    _assert_same(changed, {a: d for a, d in live.items() if a not in sorted(live)[:3]})


def _mapped_from_file(array: np.ndarray) -> bool:
    while array is not None and not isinstance(array, np.memmap):
        array = array.base  # type: ignore[assignment]
    return isinstance(array, np.memmap)


def legacy_bytes(idx: BM25Index) -> bytes:
    """The index as the format-1 `.npz` an older newsrag wrote (doc-major arrays, strings NUL-joined)."""
    s = idx.compacted().base
    ids = s.chunk_ids()
    articles = [s.articles[c] for c in s.article_codes.tolist()]
    arrays = {"indptr": np.asarray(s.indptr), "term_ids": np.asarray(s.term_ids), "tfs": np.asarray(s.tfs),
              "lengths": np.asarray(s.lengths), "date_nums": np.asarray(s.date_nums)}
    strings = {"chunk_ids": ids, "articles": articles, "versions": [s.versions[c] for c in s.article_codes.tolist()],
               "site_keys": [s.sites[c] for c in s.site_codes.tolist()], "terms": list(s.terms),
               "meta": [json.dumps({**idx.meta, "format": 1, "tokenizer": "terms-v1"})]}
    arrays.update({k: np.frombuffer("\x00".join(v).encode("utf-8"), np.uint8) for k, v in strings.items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def test_an_old_format_file_is_read_and_migrated_without_losing_a_chunk(two_articles: tuple[Settings, Path]) -> None:  # noqa: F811
    settings, corpus = two_articles
    path = index_path(settings)
    saved = assert_in_step(settings)
    old_file = path.with_name("old-format.tmp")
    old_file.write_bytes(legacy_bytes(saved))
    old_file.replace(path)  # never in place: a reader maps the file it opened
    log_path(path).unlink(missing_ok=True)
    old = BM25Index.from_bytes(path.read_bytes())  # format 1 is still read
    same_search(old, saved)
    reader = LexicalIndex(settings)
    assert found(reader, settings, "zeppelin") and found(reader, settings, "quokka")
    assert (reader.stats.loads, reader.stats.full_builds, reader.stats.saves) == (1, 0, 1)  # migrated, not rebuilt
    assert path.read_bytes()[:8] == bm25_format.MAGIC
    same_search(assert_in_step(settings), rebuilt(settings))
    write_article(corpus, "c.txt", "Polar Finds", "Penguin colony found near the walrus skeleton.")
    assert index.ingest([corpus], settings=settings).added == 1  # and it takes changes as a log record again
    assert log_path(path).stat().st_size > 0
    same_search(assert_in_step(settings), rebuilt(settings))


def test_changes_to_a_store_keep_the_base_file_and_compaction_folds_the_tail(
        two_articles: tuple[Settings, Path], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    import rag.retrieval.lexical

    settings, corpus = two_articles
    path = index_path(settings)
    before = path.stat()
    ids = {a.title: a.article_id for a in Store(settings).articles()}
    bodies = ["The museum now shows a hovercraft instead.", "A walrus skeleton hangs in the museum hall.",
              "The zeppelin is back, restored again."]
    for body in bodies:  # the same base article changed three times: its base rows deleted once, the tail replaced
        write_article(corpus, "a.txt", "Airship Museum Opens", body)
        assert index.ingest([corpus / "a.txt"], settings=settings).updated == 1
    assert index.remove([ids["Zoo Welcomes New Animals"]], settings=settings).removed == 1  # a base row deleted
    write_article(corpus, "c.txt", "Polar Finds", "Penguin colony found near the walrus skeleton.")
    assert index.ingest([corpus / "c.txt"], settings=settings).added == 1
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # every change went to the log
    reader = LexicalIndex(settings)
    held = reader.sync(Store(settings))
    assert held.live is not None and int((~held.live).sum()) == 2 and len(held.tail) == 2  # 2 base rows gone, 2 in the tail
    assert found(reader, settings, "zeppelin") == {ids["Airship Museum Opens"]} and not found(reader, settings, "quokka")
    same_search(held, rebuilt(settings))
    monkeypatch.setattr(rag.retrieval.lexical, "TAIL_MIN_ROWS", 0)  # the next change finds the tail too big
    monkeypatch.setattr(rag.retrieval.lexical, "TAIL_RATIO", 0.0)
    assert index.ingest([corpus / "b.txt"], settings=settings).added == 1  # the removed article comes back, as it was
    assert path.stat().st_ino != before.st_ino and not log_path(path).exists()  # compacted into a new base
    compacted = LexicalIndex(settings).sync(Store(settings))
    assert compacted.live is None and len(compacted.tail) == 0 and found(LexicalIndex(settings), settings, "quokka")
    same_search(assert_in_step(settings), rebuilt(settings))


def test_segments_merge_only_live_rows_and_terms() -> None:
    docs = [ChunkDoc("a:v:0", "a", "v", "kite oak", 0, "x").counted(), ChunkDoc("b:v:0", "b", "v", "heron oak", 0, "y").counted()]
    whole = bm25_segment.from_docs(docs)
    kept = bm25_segment.merge([(whole, np.asarray([False, True]))])
    assert kept.articles == ["b"] and kept.sites == ["y"] and list(kept.terms) == ["heron", "oak"]
    assert kept.find("kite") == -1 and kept.chunk_ids() == ["b:v:0"]


@pytest.mark.slow
@pytest.mark.parametrize("point", ["bm25-half", "bm25-rename"])
def test_a_migration_killed_halfway_leaves_the_old_file_working(sample_store: Path, tmp_path: Path, point: str) -> None:
    """`newsrag ask` migrates an old-format file once the index is in step; SIGKILLed halfway through writing the
    new file, or before renaming it into place, it leaves the old file as it was, and the next process migrates."""
    from tests.test_crash_points import MILLEY, _crash
    from tests.ui_harness import copy_store

    store = copy_store(sample_store, tmp_path / "store")
    settings = Settings(store=store)
    path = index_path(settings)
    saved = LexicalIndex(settings).sync(Store(settings))
    old_file = path.with_name("old-format.tmp")
    old_file.write_bytes(legacy_bytes(saved))
    old_file.replace(path)
    log_path(path).unlink(missing_ok=True)
    old = path.read_bytes()
    _crash(point, "ask", MILLEY, "--store", str(store))
    assert path.read_bytes() == old and list(path.parent.glob(f".{path.name}.*.tmp"))  # the dead writer's temp file
    reader = LexicalIndex(settings)
    hits = reader.search(Store(settings), MILLEY, 5)
    assert hits and (reader.stats.loads, reader.stats.full_builds, reader.stats.saves) == (1, 0, 1)
    assert path.read_bytes()[:8] == bm25_format.MAGIC and not list(path.parent.glob(f".{path.name}.*.tmp"))
    same_search(assert_in_step(settings), rebuilt(settings))
