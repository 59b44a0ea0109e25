"""newsrag core: ask questions about stored news articles and get answers that cite their passages.

    import rag
    assistant = rag.open(store=".newsrag")
    answer = assistant.ask("What did Milley say about ISIS-K?")
    print(answer.text)          # sentences with [1]-style markers
    print(answer.sources[0])    # the cited passage: title, date, url, text, offsets

The names below are imported on first use, so `import rag` (and `newsrag --help`) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports
from .runtime import go_offline

go_offline()  # before anything loads a model, Chroma or Gradio: no hub, no telemetry, whoever imports newsrag

if TYPE_CHECKING:
    from .assistant import Assistant
    from .composition import open
    from .errors import NewsragError
    from .records import Answer, AnswerStream, ArticleInfo, Citation, Filters, Source
    from .settings import Settings

_HOMES = {
    "Assistant": "assistant", "open": "composition", "NewsragError": "errors", "Answer": "records", "AnswerStream": "records",
    "ArticleInfo": "records", "Citation": "records", "Filters": "records", "Source": "records",
    "Settings": "settings",
}

__all__ = [
    "Answer",
    "AnswerStream",
    "ArticleInfo",
    "Assistant",
    "Citation",
    "Filters",
    "NewsragError",
    "Settings",
    "Source",
    "open",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
