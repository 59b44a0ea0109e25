"""newsrag core: ask questions about stored news articles and get answers that cite their passages.

    import rag
    assistant = rag.open(store=".newsrag")
    answer = assistant.ask("What did Milley say about ISIS-K?")
    print(answer.text)          # sentences with [1]-style markers
    print(answer.sources[0])    # the cited passage: title, date, url, text, offsets

The names below are imported on first use, so `import rag` (and `newsrag --help`) stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .assistant import Assistant, open
    from .errors import NewsragError
    from .records import Answer, ArticleInfo, Citation, Filters, Source
    from .settings import Settings

_HOMES = {
    "Assistant": "assistant", "open": "assistant", "NewsragError": "errors", "Answer": "records",
    "ArticleInfo": "records", "Citation": "records", "Filters": "records", "Source": "records",
    "Settings": "settings",
}

__all__ = [
    "Answer",
    "ArticleInfo",
    "Assistant",
    "Citation",
    "Filters",
    "NewsragError",
    "Settings",
    "Source",
    "open",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rag' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
