"""newsrag ingestion: load, clean, chunk and embed news articles into the Chroma store.

    import index
    report = index.ingest(["samples/articles"], store=".newsrag")
    print(report.summary())

The names below are imported on first use, so `newsrag --help` does not load the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from .pipeline import ingest, remove
    from .report import IngestReport

_HOMES = {"ingest": "pipeline", "remove": "pipeline", "IngestReport": "report"}

__all__ = ["IngestReport", "ingest", "remove"]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
