"""newsrag ingestion: load, clean, chunk and embed news articles into the Chroma store.

    import index
    report = index.ingest(["samples/articles"], store=".newsrag")
    print(report.summary())

The names below are imported on first use, so `newsrag --help` does not load the pipeline.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .pipeline import ingest, remove
    from .report import IngestReport

_HOMES = {"ingest": "pipeline", "remove": "pipeline", "IngestReport": "report"}

__all__ = ["IngestReport", "ingest", "remove"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
