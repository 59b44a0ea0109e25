"""newsrag ingestion: load, clean, chunk and embed news articles into the Chroma store.

    import index
    report = index.ingest(["samples/articles"], store=".newsrag")
    print(report.summary())
    index.rebuild(store=".newsrag", settings=rag.Settings(chunk_tokens=200))   # re-chunk and re-embed what is stored

The names below are imported on first use, so `newsrag --help` does not load the pipeline.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rag.lazy import lazy_exports

if TYPE_CHECKING:
    from .pipeline import ingest, remove
    from .rebuilding import RebuildReport, rebuild
    from .report import IngestReport

_HOMES = {"ingest": "pipeline", "remove": "pipeline", "IngestReport": "report", "rebuild": "rebuilding",
          "RebuildReport": "rebuilding"}

__all__ = ["IngestReport", "RebuildReport", "ingest", "rebuild", "remove"]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
