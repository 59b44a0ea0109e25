"""newsrag ingestion: load, clean, chunk and embed news articles into the Chroma store.

    import index
    report = index.ingest(["samples/articles"], store=".newsrag")
    print(report.summary())
"""

from .pipeline import ingest, remove
from .report import IngestReport

__all__ = ["IngestReport", "ingest", "remove"]
