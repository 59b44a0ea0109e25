"""Stores written by older newsrag versions: migrated in place when newsrag opens them, or refused with what to do.

`MIGRATIONS` maps a store schema version (the chunk collection's `schema_version` metadata; none at all
is version 0) to the step that brings a store to the next version. Every step only fills in what is
missing, and the new version is stamped last, under the store's write lock: a migration cut short (a
crash, a full disk) leaves a store that the next open migrates again from where it stood. A store whose
data cannot be converted is refused, and left as it was.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..errors import StoreError
from ..settings import Settings
from .journal import WriteJournal
from .rows import date_number, pages, site_key

log = logging.getLogger(__name__)


SCHEMA_VERSION = 1  # the store layout this newsrag writes; each older one has a step below


def schema_version(meta: dict[str, Any]) -> int:
    """The store schema a chunk collection's metadata declares (0 when it declares none)."""
    try:
        return int(meta.get("schema_version", 0))
    except (TypeError, ValueError):
        return 0


def migrate(client: Any, settings: Settings, journal: WriteJournal, location: str) -> Any:
    """Bring the collection up to the current schema in place; returns the (re-read) chunk collection."""
    try:
        with journal.locked():  # one migrator (and no writer) at a time; another process may have done it
            try:
                return _run_steps(client, settings.collection, location)
            except OSError as exc:
                raise StoreError(
                    f"migrating the store at {location} to the current schema was cut short ({exc}); fix that and "
                    "open it again: the migration picks up where it stopped"
                ) from exc
    except OSError as exc:
        raise StoreError(
            f"the store at {location} was written by an older newsrag and must be migrated once, which needs "
            f"write access ({exc}); run `newsrag status --store {location}` as a user who can write to it"
        ) from exc


def _run_steps(client: Any, name: str, location: str) -> Any:

    chunks = client.get_collection(name, embedding_function=None)
    version = schema_version(chunks.metadata or {})
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise _cannot_convert(location, version, "no conversion from this schema exists")
        changed = step(client, name, location)
        version += 1
        chunks.modify(metadata={**(chunks.metadata or {}), "schema_version": version})  # the step's commit point
        log.warning("migrated the store at %s to store schema %d (%s)", location, version, changed)
    return client.get_collection(name, embedding_function=None)


def _cannot_convert(location: str, version: int, reason: str) -> StoreError:
    return StoreError(
        f"the store at {location} was written by an older newsrag (store schema {version}) and cannot be "
        f"converted: {reason}; ingest your articles into a new store: newsrag ingest SOURCES --store NEW_DIR "
        "(the old store is left untouched)"
    )


# ---------------------------------------------------------------------------- schema 0 -> 1
def _v0_to_v1(client: Any, name: str, location: str) -> str:
    """Pre-release stores: chunks without the date_num/site_key that filters match on, registry records
    without chunk counts, sizes, urls and copies, and a registry without a revision token."""
    try:
        registry = client.get_collection(f"{name}-articles", embedding_function=None)
    except Exception as exc:  # noqa: BLE001 - chroma raises NotFoundError or ValueError by version
        raise _cannot_convert(location, 0, f"it has no article registry ({name}-articles)") from exc
    chunks = client.get_collection(name, embedding_function=None)
    counts: Counter[tuple[str, str]] = Counter()
    filled_chunks = 0
    for ids, metas, _ in pages(chunks, ["metadatas"]):
        counts.update((str(m.get("article_id")), str(m.get("version"))) for m in metas)
        fixes = [(i, _filter_fields(m)) for i, m in zip(ids, metas)]
        fixes = [(i, f) for i, f in fixes if f]
        if fixes:
            chunks.update(ids=[i for i, _ in fixes], metadatas=[f for _, f in fixes])
            filled_chunks += len(fixes)
    filled_records = 0
    for ids, metas, documents in pages(registry, ["metadatas", "documents"]):
        fixes = [(i, _record_fields(i, m, d or "", counts, location))
                 for i, m, d in zip(ids, metas, documents)]
        fixes = [(i, f) for i, f in fixes if f]
        if fixes:
            registry.update(ids=[i for i, _ in fixes], metadatas=[f for _, f in fixes])
            filled_records += len(fixes)
    registry.modify(metadata={**(registry.metadata or {}), "revision": uuid.uuid4().hex})  # every reader re-reads
    return f"filter fields added to {filled_chunks} chunks, counts and links to {filled_records} article records"


def _filter_fields(meta: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if "date_num" not in meta and date_number(meta.get("date")):
        fields["date_num"] = date_number(meta.get("date"))
    if "site_key" not in meta and site_key(str(meta.get("site") or "")):
        fields["site_key"] = site_key(str(meta.get("site")))
    return fields


def _record_fields(article_id: str, meta: dict[str, Any], document: str, counts: Counter[tuple[str, str]],
                   location: str) -> dict[str, Any]:
    """The registry fields a schema-0 record lacks; StoreError when it lacks what cannot be rebuilt."""
    if not meta.get("version") or not meta.get("content_hash"):
        raise _cannot_convert(location, 0, f"article record {article_id} names no version or content hash")
    fields = _filter_fields(meta)
    defaults = {"chunks": counts[(article_id, str(meta["version"]))], "chars": len(document),
                "urls": json.dumps([meta["url"]] if meta.get("url") else []), "copies": "[]", "fingerprint": "",
                "origin": ""}
    fields.update({key: value for key, value in defaults.items() if key not in meta})
    return fields



# schema version -> the step to the next version
MIGRATIONS: dict[int, Callable[[Any, str, str], str]] = {0: _v0_to_v1}
