"""Stores written by another newsrag version, built as real Chroma collections: an older one is migrated in place
(once, with a message, and again if a migration is cut short), one that cannot be converted and a newer one
are refused with one instruction and left untouched."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from rag.errors import StoreError
from rag.settings import Settings
from rag.store.collection import Store
from rag.store.migrations import SCHEMA_VERSION
from tests.conftest import ISIS_K_TITLE, run_cli

MILLEY = "What did Milley say about ISIS-K?"
# what schema-1 newsrag added to each record; a schema-0 (pre-release) store lacks them
NEW_CHUNK_FIELDS = ("date_num", "site_key")
NEW_RECORD_FIELDS = ("date_num", "site_key", "chunks", "chars", "urls", "copies", "fingerprint", "origin")


def _client(store: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(store / "chroma"), settings=ChromaSettings(anonymized_telemetry=False))


def _read(store: Path) -> dict[str, dict[str, Any]]:
    """Everything in both collections (ids, vectors, texts, metadata), read with Chroma itself."""
    client = _client(store)
    out = {}
    for name in ("newsrag", "newsrag-articles"):
        collection = client.get_collection(name)
        got = collection.get(include=["embeddings", "documents", "metadatas"])
        out[name] = {"meta": dict(collection.metadata or {}), "embeddings": np.asarray(got["embeddings"]).tolist(),
                     **{k: got[k] for k in ("ids", "documents", "metadatas")}}
    return out


def _build(store: Path, data: dict[str, dict[str, Any]], chunk_meta: dict[str, Any], registry: bool = True,
           drop: tuple[str, ...] = (), drop_record: tuple[str, ...] = ()) -> Path:
    """A store as another newsrag would have written it: the given collection metadata, fields dropped."""
    client = _client(store)
    plan = [("newsrag", chunk_meta, drop)] + ([("newsrag-articles", {"written_by": "newsrag 0.1"}, drop_record)] if registry else [])
    for name, meta, dropped in plan:
        source = data[name]
        collection = client.create_collection(name, metadata=meta, embedding_function=None,
                                              configuration={"hnsw": {"space": "cosine"}})
        metas = [{k: v for k, v in m.items() if k not in dropped} for m in source["metadatas"]]
        collection.add(ids=source["ids"], embeddings=np.asarray(source["embeddings"], dtype=np.float32),
                       documents=source["documents"], metadatas=metas)
    return store


@pytest.fixture(scope="module")
def current(sample_store: Path) -> dict[str, dict[str, Any]]:
    return _read(sample_store)


def _old_meta(current: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in current["newsrag"]["meta"].items() if k not in ("schema_version", "created_at")}


@pytest.fixture
def old_store(current, tmp_path: Path) -> Path:
    """A schema-0 store: no schema_version, chunks without filter fields, bare registry records, no revision."""
    return _build(tmp_path / "old", current, _old_meta(current), drop=NEW_CHUNK_FIELDS, drop_record=NEW_RECORD_FIELDS)


def _migrated_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("migrated the store")]


def test_an_older_store_is_migrated_in_place_once(old_store: Path, current, assistant, caplog) -> None:  # type: ignore[no-untyped-def]
    from rag.composition import compose

    caplog.set_level(logging.WARNING, logger="rag")
    settings = assistant.settings.with_overrides(store=old_store)
    migrated = compose(settings, Store(settings), assistant.embedder)
    (message,) = _migrated_messages(caplog)
    assert f"at {old_store} to store schema 1" in message and "filter fields added to" in message

    after = _read(old_store)
    assert after["newsrag"]["meta"]["schema_version"] == SCHEMA_VERSION
    assert after["newsrag"]["ids"] == current["newsrag"]["ids"]  # nothing lost, nothing added
    assert after["newsrag"]["metadatas"] == current["newsrag"]["metadatas"]  # filter fields as newsrag writes them
    for got, want in zip(after["newsrag-articles"]["metadatas"], current["newsrag-articles"]["metadatas"]):
        for key in ("chunks", "chars", "urls", "date_num", "site_key", "version", "content_hash"):
            assert got.get(key) == want.get(key), key
    assert after["newsrag-articles"]["meta"]["revision"] != "0"

    filters = {"since": "2021-08-01", "until": "2021-12-31", "sources": ["antiwar.com"]}  # needs the filled-in fields
    answer = migrated.ask(MILLEY, filters=filters)
    assert not answer.refused and answer.cited_sources[0].title == ISIS_K_TITLE
    assert migrated.store.count_chunks() == len(current["newsrag"]["ids"])

    caplog.clear()
    Store(Settings(store=old_store))  # the next open finds nothing to do
    assert _migrated_messages(caplog) == [] and _read(old_store) == after


def test_a_migration_cut_short_runs_again(old_store: Path, current, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    from rag.store import migrations

    caplog.set_level(logging.WARNING, logger="rag")
    step = migrations.MIGRATIONS[0]
    calls = []

    def dies_after_the_work(*args: Any) -> str:
        calls.append(step(*args))
        raise OSError(28, "No space left on device")  # before the new version is stamped

    monkeypatch.setitem(migrations.MIGRATIONS, 0, dies_after_the_work)
    with pytest.raises(StoreError, match="was cut short .*No space left on device.*picks up where it stopped"):
        Store(Settings(store=old_store))
    assert calls and "schema_version" not in _read(old_store)["newsrag"]["meta"]  # still an old store
    monkeypatch.setitem(migrations.MIGRATIONS, 0, step)
    Store(Settings(store=old_store))
    (message,) = _migrated_messages(caplog)
    assert "filter fields added to 0 chunks, counts and links to 0 article records" in message  # already done
    after = _read(old_store)
    assert after["newsrag"]["metadatas"] == current["newsrag"]["metadatas"]
    assert after["newsrag"]["meta"]["schema_version"] == SCHEMA_VERSION


def test_the_cli_migrates_with_a_message(old_store: Path) -> None:
    status = run_cli("status", "--store", str(old_store), "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["articles"] == 8
    assert "migrated the store at" in status.stderr and "to store schema 1" in status.stderr
    again = run_cli("status", "--store", str(old_store))
    assert again.returncode == 0 and "migrated" not in again.stderr


@pytest.mark.parametrize("case", ["no-registry", "record-without-version"])
def test_an_older_store_that_cannot_be_converted_is_refused_untouched(current, tmp_path: Path, case: str) -> None:
    meta = _old_meta(current)
    if case == "no-registry":
        store = _build(tmp_path / "old", current, meta, registry=False)
    else:
        store = _build(tmp_path / "old", current, meta, drop_record=("version",))
    before = _read_all(store)
    with pytest.raises(StoreError) as refused:
        Store(Settings(store=store))
    message = str(refused.value)
    assert "written by an older newsrag (store schema 0) and cannot be converted" in message
    assert "newsrag ingest SOURCES --store NEW_DIR" in message and "left untouched" in message
    result = run_cli("ask", MILLEY, "--store", str(store))
    assert result.returncode == StoreError.exit_code and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "cannot be converted" in result.stderr
    assert _read_all(store) == before  # no registry created, no chunk repaired away


def test_a_store_from_a_newer_newsrag_is_refused_untouched(current, tmp_path: Path) -> None:
    store = _build(tmp_path / "new", current, {**current["newsrag"]["meta"], "schema_version": SCHEMA_VERSION + 1})
    before = _read_all(store)
    with pytest.raises(StoreError, match=rf"written by a newer newsrag \(store schema {SCHEMA_VERSION + 1}; this version "
                                         rf"reads schema {SCHEMA_VERSION}\); upgrade newsrag"):
        Store(Settings(store=store))
    for command in (["ask", MILLEY], ["status"], ["remove", "anything"]):
        result = run_cli(*command, "--store", str(store))
        assert result.returncode == StoreError.exit_code, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "newer newsrag" in line and "pip install -U newsrag" in line
    assert _read_all(store) == before
    assert not (store / "write.journal").exists()


def _read_all(store: Path) -> dict[str, Any]:
    client = _client(store)
    out: dict[str, Any] = {}
    for collection in client.list_collections():
        got = client.get_collection(collection.name).get(include=["documents", "metadatas"])
        out[collection.name] = (dict(collection.metadata or {}), got["ids"], got["documents"], got["metadatas"])
    return out
