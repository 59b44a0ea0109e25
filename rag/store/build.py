"""The build settings of a store: what its chunks and vectors were made with, kept in the chunk collection's metadata.

`build` names the settings every committed article was built with (chunker version, embedding model and
dimension, max_seq_length, chunk_tokens, chunk_overlap_sentences, embed_title): the settings that change
chunk text or vectors. Query-time settings (retrieval, answering, the embedding backend) are not part of it.
While a rebuild re-chunks and re-embeds (`newsrag rebuild`, or an ingest that found other settings), the
metadata also holds `build_target`, so a store whose rebuild was cut short is known to mix two builds until
the next ingest or rebuild finishes it. A store made before newsrag recorded builds has no `build`: it is
"not recorded", and the next ingest or rebuild checks each article against the running settings (an article's
content hash covers them), rebuilds the ones that differ and records the build.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from ..embedding.embedder import canonical_model_name
from ..settings import Settings

CHUNKER_VERSION = "2"  # bump whenever index.cleaning or index.chunking makes other chunks of the same text
BUILD_FIELDS = ("chunker", "embedding_model", "max_seq_length", "chunk_tokens", "chunk_overlap_sentences",
                "embed_title")
BUILD_KEY, TARGET_KEY = "build", "build_target"
log = logging.getLogger(__name__)


def build_record(settings: Settings, dimension: int | None = None) -> dict[str, Any]:
    """The build these settings make (the vector dimension when known: it is the model's, recorded for status)."""
    record: dict[str, Any] = {
        "chunker": CHUNKER_VERSION, "embedding_model": canonical_model_name(settings.embedding_model),
        "max_seq_length": settings.max_seq_length, "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_sentences": settings.chunk_overlap_sentences, "embed_title": settings.embed_title,
    }
    if dimension:
        record["dimension"] = int(dimension)
    return record


def differences(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """The build fields that differ, as `name old -> new` (every field, with "?" for old, when old is unknown)."""
    old = old or {}
    return [f"{name} {_shown(old.get(name))} -> {_shown(new.get(name))}"
            for name in BUILD_FIELDS if old.get(name) != new.get(name)]


def _shown(value: Any) -> str:
    return "?" if value is None else json.dumps(value)


def encode(record: dict[str, Any]) -> str:
    """A record as the metadata value Chroma keeps (metadata values are scalars)."""
    return json.dumps(record, sort_keys=True)


def decode(value: Any) -> dict[str, Any] | None:
    """A record from collection metadata; None when it is absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        record = json.loads(value)
    except ValueError:
        log.warning("the store's build record %r cannot be read; it counts as not recorded", value[:200])
        return None
    return record if isinstance(record, dict) else None


@dataclass(frozen=True)
class BuildState:
    """The store's recorded build, a rebuild in progress, and the build the running settings make."""

    built: dict[str, Any] | None  # None: a store made before builds were recorded
    target: dict[str, Any] | None  # set while a rebuild is under way (or was cut short)
    running: dict[str, Any]

    @classmethod
    def of(cls, meta: dict[str, Any], settings: Settings) -> BuildState:
        """The state from the chunk collection's metadata and the running settings."""
        return cls(decode(meta.get(BUILD_KEY)), decode(meta.get(TARGET_KEY)),
                   build_record(settings, int(meta.get("dimension") or 0) or None))

    @property
    def current(self) -> bool:
        """Every stored article is built with the running settings (nothing to rebuild)."""
        return self.target is None and self.built is not None and not differences(self.built, self.running)

    @property
    def changes(self) -> list[str]:
        """What differs between the recorded build and the running settings."""
        return differences(self.built, self.running)

    def describe(self) -> str:
        """One line for status: current, differs (and how), unfinished, or not recorded."""
        if self.target is not None:
            return (f"a rebuild to {_fields(self.target)} was cut short: the store mixes two builds; "
                    "run `newsrag rebuild` (or ingest) to finish it")
        if self.built is None:
            return "not recorded (made by an older newsrag); `newsrag rebuild` checks every article and records it"
        if self.changes:
            return (f"differs from the running settings ({'; '.join(self.changes)}); answers use the stored chunks "
                    "until `newsrag rebuild` (or the next ingest) rebuilds them")
        return "current (the running settings)"


def _fields(record: dict[str, Any]) -> str:
    return ", ".join(f"{name}={record.get(name)}" for name in BUILD_FIELDS)


def shown(record: dict[str, Any] | None) -> dict[str, Any] | str:
    """A build record for status output ("not recorded" when absent)."""
    if record is None:
        return "not recorded"
    return {name: record[name] for name in (*BUILD_FIELDS, "dimension", *sorted(record)) if name in record}


def warn_if_stale(state: BuildState, location: object) -> None:
    """Say once, when an Assistant opens a store, that its chunks were built with other settings than the running
    ones (answers use the stored chunks; a store of another embedding model is refused when it is opened)."""
    if not state.current:
        log.warning("the store at %s: build %s", location, state.describe())
