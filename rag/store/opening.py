"""Opening a store: the embedded directory taken and checked first, then the Chroma client and the collections.

A read never creates a store: without `create`, a directory that holds no store is an error. Only one
process has an embedded store open at a time (rag.store.ownership); a repair or restore cut short is finished
(rag.store.files); a damaged store is one StoreDamaged naming `newsrag repair` (rag.store.check), never
a crash in Chroma's native code. Then the collections are opened (created when asked), an older store
is migrated (rag.store.migrations), and one another newsrag or another model wrote is refused.
"""

from __future__ import annotations

import atexit
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ..errors import StoreError
from ..settings import Settings
from . import files as store_files
from . import ownership
from .build import BUILD_KEY, build_record, encode
from .check import check_store, sign_released
from .diskspace import disk_full, is_disk_full
from .journal import WriteJournal
from .migrations import SCHEMA_VERSION, migrate, schema_version
from .rows import utc_now

_CLIENTS = threading.Lock()  # chroma's shared-client cache is not thread-safe
_AT_EXIT: list[bool] = []  # release_all is registered to run at exit


def take_embedded(settings: Settings, create: bool) -> None:
    """Hold the store directory for this process, finish a swap left half-done, and check the files.

    Done once per process: while it holds the store, its other Stores share the same Chroma client (and
    checking files that this process's Chroma may be writing at that moment would be wrong).
    """
    root = Path(settings.store)
    if ownership.holds(root):
        return
    database = root / "chroma" / "chroma.sqlite3"
    if not create and not database.is_file() and not (root / store_files.PLAN).is_file():
        raise _no_store(root)
    root.mkdir(parents=True, exist_ok=True)
    ownership.hold(root, settings.store_wait_seconds)
    if not _AT_EXIT:  # a process that ends normally lets go cleanly: its files are signed (rag.store.check)
        atexit.register(release_all)
        _AT_EXIT.append(True)
    store_files.finish_swap(root)  # a repair or restore cut short is completed first
    if not create and not database.is_file():
        raise _no_store(root)
    check_store(root)


def connect(settings: Settings) -> Any:
    """A Chroma client: a server's, or the embedded one this process shares for the store directory."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise StoreError(f"chroma_url {settings.chroma_url!r} is not an http(s) URL")
            port = url.port or (443 if url.scheme == "https" else 8000)
            return chromadb.HttpClient(host=url.hostname, port=port, ssl=url.scheme == "https",
                                       settings=chroma_settings)
        with _CLIENTS:
            return chromadb.PersistentClient(path=str(Path(settings.store) / "chroma"), settings=chroma_settings)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - chroma raises many types; say where and why
        if not settings.chroma_url and is_disk_full(exc, Path(settings.store)):
            raise disk_full(Path(settings.store), exc) from exc
        raise StoreError(f"cannot open the Chroma store at {settings.chroma_url or settings.store}: {exc}") from exc


def release(store: Path) -> None:
    """Shut this process's Chroma client for an embedded store directory, sign its files (the next open skips
    the full check: rag.store.check) and let the store go."""
    import sys

    folder = (Path(store) / "chroma").resolve()
    shared = sys.modules.get("chromadb.api.shared_system_client")  # no client when chromadb was never loaded
    with _CLIENTS:
        systems = getattr(getattr(shared, "SharedSystemClient", None), "_identifier_to_system", {})
        for key in [k for k in systems if Path(k).resolve() == folder]:
            systems.pop(key).stop()
    if ownership.holds(Path(store)):
        sign_released(Path(store))
    ownership.release(Path(store))


def release_all() -> None:
    """Let go of every embedded store this process holds (before another process is to use them)."""
    for store in ownership.held():
        release(store)


def open_collections(client: Any, settings: Settings, model: str, journal: WriteJournal, create: bool,
                     dimension: int | None) -> tuple[Any, Any]:
    """The chunk collection and the article registry (created with `create`; migrated when older)."""
    name, location = settings.collection, settings.chroma_url or str(settings.store)
    existing = {getattr(c, "name", c) for c in client.list_collections()}
    if name not in existing:
        if not create:
            raise StoreError(f"no newsrag collection {name!r} at {location}; "
                             "ingest articles first: newsrag ingest PATH --store DIR")
        meta = {"embedding_model": model, "dimension": dimension or 0,
                "schema_version": SCHEMA_VERSION, "created_at": utc_now(),
                BUILD_KEY: encode(build_record(settings, dimension))}
        chunks = client.create_collection(
            name, embedding_function=None, metadata=meta,
            configuration={"hnsw": {"space": "cosine", **index_settings(settings)}},
        )
    else:
        chunks = client.get_collection(name, embedding_function=None)
        check_compatible(chunks.metadata or {}, location, name, model)
        if schema_version(chunks.metadata or {}) < SCHEMA_VERSION:  # an older newsrag wrote it
            chunks = migrate(client, settings, journal, location)
        if create:
            apply_index_settings(chunks, settings)
    registry = client.get_or_create_collection(
        f"{name}-articles", embedding_function=None, metadata={"revision": "0"},
        configuration={"hnsw": {"space": "cosine"}},
    )
    return chunks, registry


def index_settings(settings: Settings) -> dict[str, int]:
    """The chunk index's settings that newsrag chooses (Chroma HNSW): the search breadth, and how often the index
    is saved. A writer saves it after each write (`hnsw_sync_threshold` 1), so a new process loads it as it is
    instead of applying the writes logged since the last save before its first search (Chroma's default saves
    every 1000, so a store of fewer chunks was never saved at all)."""
    return {"ef_search": settings.hnsw_ef_search, "sync_threshold": settings.hnsw_sync_threshold}


def apply_index_settings(chunks: Any, settings: Settings) -> None:
    """A writer gives the chunk index the configured settings (processes that load the index after it use them)."""
    hnsw = (getattr(chunks, "configuration_json", None) or {}).get("hnsw") or {}
    wanted = index_settings(settings)
    changed = {key: value for key, value in wanted.items() if hnsw.get(key) != value}
    if changed:
        chunks.modify(configuration={"hnsw": changed})


def check_compatible(meta: dict[str, Any], location: str, collection: str, model: str) -> None:
    check_schema(meta, location, collection)
    stored_model = meta.get("embedding_model")
    if stored_model != model:
        raise StoreError(
            f"the store at {location} was built with embedding model {stored_model!r}, "
            f"not {model!r}; use the same model or a new --store / collection"
        )


def check_schema(meta: dict[str, Any], location: str, collection: str) -> None:
    """Refuse, with what to do, a collection that is not newsrag's or that a newer newsrag wrote.

    Older ones are migrated in place when opened (rag.store.migrations), or refused there when they cannot be.
    """
    if "embedding_model" not in meta:
        raise StoreError(
            f"the Chroma collection {collection!r} at {location} was not written by newsrag; "
            "choose another --collection or --store"
        )
    version = schema_version(meta)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store at {location} was written by a newer newsrag (store schema {version}; this version "
            f"reads schema {SCHEMA_VERSION}); upgrade newsrag (pip install -U newsrag) or use another --store"
        )


def _no_store(root: Path) -> StoreError:
    where = "it holds no chroma/chroma.sqlite3" if root.is_dir() else "no such folder"
    return StoreError(f"no newsrag store at {root} ({where}); check --store (or NEWSRAG_STORE), or ingest "
                      f"articles into it first: newsrag ingest PATH --store {root}")
