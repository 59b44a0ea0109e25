"""The reads by id from `chroma.sqlite3` (rag.store.record_reads) give what Chroma gives, and step aside when
Chroma's log holds a write its metadata segment has not applied, or when the file was swapped."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from rag.settings import Settings
from rag.store.collection import Store
from rag.store.record_reads import RecordReader
from tests.test_bench_perf import DIM, _article


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(Settings(store=tmp_path / "store"), create=True, dimension=DIM)
    store.writer.put_articles([_article("a", "Old airship text.|Second chunk.", 1),
                               _article("b", "Gondola one.|Gondola two.|Gondola three.", 2)])
    store.writer.put_article(*_article("a", "New walrus text.|Another one.", 3))  # a replaced version
    return store


def _sqlite(store: Store) -> Path:
    return Path(store.settings.store) / "chroma" / "chroma.sqlite3"


def test_records_are_what_chromas_get_gives(store: Store) -> None:
    reader = RecordReader(_sqlite(store))
    for collection in (store.chunks, store.registry):
        got = collection.get(include=["documents", "metadatas"])
        direct = reader.records(collection.name, [*got["ids"], "missing:id:0"])
        assert direct == {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])}
    assert reader.collection_metadata(store.registry.name) == store.registry_metadata()
    assert reader.collection_metadata("no-such-collection") is None
    reader.close()


def test_hits_and_texts_are_the_same_through_chroma(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    versions = store.versions()
    ids = [f"{a}:{versions[a]}:{i}" for a, i in (("b", 2), ("a", 0), ("b", 0))] + ["a:old:1"]
    vector = np.ones(DIM, dtype=np.float32) / np.sqrt(DIM)
    direct = (store.hits_by_ids(ids, vector, versions, known={ids[0]: 0.5}), store.article_texts(["a", "b"], versions),
              store.revision())
    monkeypatch.setattr(RecordReader, "records", lambda *args: None)  # as when the reader gives up
    monkeypatch.setattr(RecordReader, "collection_metadata", lambda *args: None)
    assert (store.hits_by_ids(ids, vector, versions, known={ids[0]: 0.5}), store.article_texts(["a", "b"], versions),
            store.revision()) == direct
    assert [h.chunk_id for h in direct[0]] == ids[:3] and direct[0][0].score == 0.5


def test_a_write_the_metadata_segment_has_not_applied_sends_the_read_to_chroma(store: Store, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(_sqlite(store), copy)
    db = sqlite3.connect(copy)
    segment = db.execute("SELECT s.id FROM segments s JOIN collections c ON c.id = s.collection "
                         "WHERE c.name = ? AND s.scope = 'METADATA'", (store.chunks.name,)).fetchone()[0]
    last = db.execute("SELECT max(seq_id) FROM embeddings_queue WHERE topic LIKE ?",
                      (f"%{store.chunks.id}",)).fetchone()[0]
    pending = db.execute("SELECT id FROM embeddings_queue WHERE seq_id = ?", (last,)).fetchone()[0]
    db.execute("UPDATE max_seq_id SET seq_id = ? WHERE segment_id = ?", (last - 1, segment))
    db.commit()
    db.close()
    reader = RecordReader(copy)
    assert reader.records(store.chunks.name, [pending]) is None
    others = [i for i in store.chunks.get(include=[])["ids"] if i != pending]
    assert set(reader.records(store.chunks.name, others) or {}) == set(others)
    reader.close()


def test_a_swapped_file_is_read_anew(store: Store, tmp_path: Path) -> None:
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(_sqlite(store), copy)
    reader = RecordReader(copy)
    chunk_id = store.chunks.get(include=[])["ids"][0]
    before = reader.records(store.chunks.name, [chunk_id])
    assert before is not None and before[chunk_id][0]
    swapped = tmp_path / "swapped.sqlite3"
    shutil.copyfile(copy, swapped)
    db = sqlite3.connect(swapped)
    db.execute("UPDATE embedding_metadata SET string_value = 'changed' WHERE key = 'chroma:document' AND id = "
               "(SELECT id FROM embeddings WHERE embedding_id = ?)", (chunk_id,))
    db.commit()
    db.close()
    swapped.replace(copy)  # a new file under the same name, as a restore makes
    assert (reader.records(store.chunks.name, [chunk_id]) or {})[chunk_id][0] == "changed"
    reader.close()
    assert reader.records(store.chunks.name, [chunk_id]) is not None  # a closed reader opens a new connection
