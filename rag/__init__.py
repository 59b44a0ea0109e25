"""newsrag core: ask questions about stored news articles and get answers that cite their passages.

    import rag
    assistant = rag.open(store=".newsrag")
    answer = assistant.ask("What did Milley say about ISIS-K?")
    print(answer.text)          # sentences with [1]-style markers
    print(answer.sources[0])    # the cited passage: title, date, url, text, offsets
"""

from .assistant import Assistant, open
from .errors import NewsragError
from .records import Answer, ArticleInfo, Citation, Filters, Source
from .settings import Settings

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
