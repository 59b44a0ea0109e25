"""newsrag as a Model Context Protocol server (official `mcp` SDK): tools to ask, search and read the articles.

    server = build_server(rag.open(store=".newsrag"))
    server.run()                       # stdio, what `newsrag mcp` does; ui.http.mcp mounts it at /mcp

Tools: `ask` (a cited answer), `search` (passages), `list_articles`, `get_article`; articles are also
resources `newsrag://article/{article_id}`. Every tool only reads. A bad argument or question comes back
as an MCP tool error (`isError`) carrying newsrag's one-line message; nothing crashes the server.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Annotated, Any

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
    from mcp_types import CallToolResult, TextContent, ToolAnnotations
except ImportError:
    raise ImportError("rag.integrations.mcp_server needs the mcp extra: pip install 'newsrag[mcp]'") from None
from pydantic import BaseModel, Field

from ..assistant import Assistant
from ..errors import NewsragError
from ..records import Answer, ArticleInfo, Source
from . import search_passages

ARTICLE_URI = "newsrag://article/{article_id}"
INSTRUCTIONS = (
    "newsrag answers questions about a stored collection of news articles. Use `ask` for a question that "
    "needs an answer (it returns verified sentences with [n] citations and their sources); `search` to see "
    "the passages about a topic; `list_articles` to see what is stored; `get_article` (or the resource "
    "newsrag://article/{id}) to read one article in full. Quote the sources' titles and urls when you cite."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

Since = Annotated[str | None, Field(description="Only articles dated on or after this day, YYYY-MM-DD.")]
Until = Annotated[str | None, Field(description="Only articles dated on or before this day, YYYY-MM-DD.")]
Sites = Annotated[list[str] | None, Field(description="Only articles from these sites, e.g. [\"antiwar.com\"].")]
Articles = Annotated[list[str] | None, Field(description="Only these article ids (from list_articles).")]


class Passage(BaseModel):
    """A passage of an article; `start`/`end` are its offsets in the article text."""

    n: int = Field(description="Its number: the [n] markers of an answer point at it.")
    article_id: str
    title: str
    url: str | None
    date: str | None
    site: str | None
    score: float = Field(description="Cosine similarity to the question (0..1).")
    text: str
    start: int
    end: int
    resource: str = Field(description="The article as an MCP resource.")


class AskResult(BaseModel):
    answer: str = Field(description="Sentences, each ending with [n] markers that cite sources[n-1].")
    refused: bool = Field(description="True when the articles do not answer the question.")
    verified: bool = Field(description="True when every sentence is supported by the passage it cites.")
    sources: list[Passage]


class SearchResult(BaseModel):
    passages: list[Passage]


class ArticleSummary(BaseModel):
    article_id: str
    title: str
    date: str | None
    site: str | None
    url: str | None
    chunks: int


class ArticleList(BaseModel):
    total: int
    articles: list[ArticleSummary]


class Article(ArticleSummary):
    author: str | None
    text: str


def build_server(assistant: Assistant) -> MCPServer:
    """The MCP server over one Assistant, with every newsrag tool and the article resource registered."""
    server = MCPServer("newsrag", title="newsrag: cited answers from news articles", instructions=INSTRUCTIONS,
                       version=_version(), log_level="WARNING")
    tools = NewsTools(assistant)
    for tool in (tools.ask, tools.search, tools.list_articles, tools.get_article):
        server.add_tool(tool, title=(tool.__doc__ or "").split("\n")[0].rstrip("."),
                        description=" ".join((tool.__doc__ or "").split()), annotations=READ_ONLY)
    server.resource(ARTICLE_URI, name="article", title="A stored news article",
                    description="The article's metadata and full text.", mime_type="text/plain")(tools.read_article)
    register_timeline(server, assistant)
    return server


def register_timeline(server: MCPServer, assistant: Assistant) -> None:
    """TIMELINE TOOL GOES HERE (issue 18 / the time-aware issue). Once `Assistant.timeline(topic, filters=...,
    as_of=...)` exists, add a read-only `timeline` tool here like `NewsTools.search`: arguments topic, since,
    until, sources, article_ids, as_of; a pydantic result model for its structured output; newsrag errors
    through `_checked`. Until then nothing is registered, so no client sees a tool that cannot run."""
    del server, assistant


class NewsTools:
    """The tool and resource functions; their docstrings are the descriptions a model reads to choose one."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def ask(self, question: Annotated[str, Field(description="The question, in words, e.g. 'What did Milley say "
                                                             "about ISIS-K?'")],
            since: Since = None, until: Until = None, sources: Sites = None, article_ids: Articles = None,
            ) -> Annotated[CallToolResult, AskResult]:
        """Answer a question from the news articles, with citations.

        Returns sentences that each end with [n] markers, the cited sources (title, date, url, passage), and
        `refused: true` when the stored articles do not answer it. Use it for any factual question about
        the news; narrow it with since/until (YYYY-MM-DD), sources (sites) or article_ids."""
        filters = _filters(since, until, sources, article_ids)
        answer = _checked(lambda: self.assistant.ask(question, filters=filters))
        result = AskResult(answer=answer.text, refused=answer.refused, verified=answer.verified,
                           sources=[_passage(n, s) for n, s in enumerate(answer.cited_sources, start=1)])
        return _result(_answer_text(answer, result.sources), result)

    def search(self, query: Annotated[str, Field(description="What to look for, in words.")],
               k: Annotated[int, Field(ge=1, le=50, description="How many passages (1-50).")] = 5,
               since: Since = None, until: Until = None, sources: Sites = None, article_ids: Articles = None,
               ) -> Annotated[CallToolResult, SearchResult]:
        """Find the passages of the news articles most relevant to a query, best first.

        Returns passages with their article's title, date, url and a relevance score, without composing
        an answer. Use it to explore a topic or to gather evidence yourself; use `ask` for an answer."""
        filters = _filters(since, until, sources, article_ids)
        found = _checked(lambda: search_passages(self.assistant, query, filters, k))
        result = SearchResult(passages=[_passage(n, s) for n, s in enumerate(found, start=1)])
        lines = [f"[{p.n}] {_heading(p.title, p.date, p.url)} (score {p.score:.2f})\n{p.text}" for p in result.passages]
        return _result("\n\n".join(lines) or "No passage matches.", result)

    def list_articles(self, limit: Annotated[int, Field(ge=1, le=1000, description="How many (1-1000).")] = 50,
                      offset: Annotated[int, Field(ge=0, description="How many to skip.")] = 0,
                      ) -> Annotated[CallToolResult, ArticleList]:
        """List the stored news articles, newest first: id, title, date, site and url.

        Use it to see what the collection covers, or to find an article id for get_article or a filter."""
        found = _checked(self.assistant.articles)
        result = ArticleList(total=len(found), articles=[_summary(a) for a in found[offset : offset + limit]])
        lines = [f"{a.article_id}  {_heading(a.title, a.date, a.url)}" for a in result.articles]
        return _result(f"{result.total} articles stored\n" + "\n".join(lines), result)

    def get_article(self, article_id: Annotated[str, Field(description="An id from list_articles, search or ask.")],
                    ) -> Annotated[CallToolResult, Article]:
        """Read one stored news article in full: its text, title, date, site, author and url."""
        article = self._article(article_id, ToolError)
        return _result(f"{_heading(article.title, article.date, article.url)}\n\n{article.text}", article)

    def read_article(self, article_id: str) -> str:
        """The resource newsrag://article/{article_id}: a header, then the article text."""
        article = self._article(article_id, ResourceNotFoundError)
        return f"{_heading(article.title, article.date, article.url)}\n\n{article.text}"

    def _article(self, article_id: str, missing: type[Exception]) -> Article:
        found = _checked(lambda: self.assistant.store.article(article_id))
        if found is None:
            raise missing(f"no article {article_id!r} is stored; list_articles gives the ids")
        info, text = found
        return Article(**_summary(info).model_dump(), author=info.author, text=text)


def _version() -> str:
    try:
        return metadata.version("newsrag")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"


def _checked(call: Callable[[], Any]) -> Any:
    """Run `call`; a newsrag error becomes a ToolError with its message (an MCP error result, not a crash)."""
    try:
        return call()
    except NewsragError as exc:
        raise ToolError(str(exc)) from None


def _filters(since: str | None, until: str | None, sources: list[str] | None, ids: list[str] | None) -> Any:
    given = {"since": since, "until": until, "sources": sources or [], "article_ids": ids or []}
    return {k: v for k, v in given.items() if v} or None


def _passage(n: int, source: Source) -> Passage:
    return Passage(n=n, article_id=source.article_id, title=source.title, url=source.url, date=source.date,
                   site=source.site, score=round(source.score, 4), text=source.text, start=source.start,
                   end=source.end, resource=ARTICLE_URI.format(article_id=source.article_id))


def _summary(info: ArticleInfo) -> ArticleSummary:
    return ArticleSummary(article_id=info.article_id, title=info.title, date=info.date, site=info.site, url=info.url,
                          chunks=info.chunks)


def _heading(title: str, date: str | None, url: str | None) -> str:
    return " — ".join(x for x in (title or "Untitled article", date, url) if x)


def _answer_text(answer: Answer, sources: list[Passage]) -> str:
    """The answer as a model reads it: the text, then each cited source with its passage."""
    lines = [answer.text]
    if sources:
        lines.append("\nSources:")
    lines.extend(f"[{p.n}] {_heading(p.title, p.date, p.url)}\n    {' '.join(p.text.split())}" for p in sources)
    return "\n".join(lines)


def _result(text: str, data: BaseModel) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=data.model_dump(mode="json"))
