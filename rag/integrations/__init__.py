"""newsrag inside the tools people already use: an MCP server (`mcp_server`; `ui.http.mcp` serves it over HTTP)
and a LlamaIndex retriever and query engine (`llama_index`). Each needs an optional extra; importing this
package needs none.

    from rag.integrations.llama_index import NewsragRetriever     # pip install 'newsrag[llama-index]'
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..lazy import EXTRAS, require  # noqa: F401  (re-exported: integrations name their extra)

if TYPE_CHECKING:
    from ..assistant import Assistant
    from ..records import Source

def search_passages(assistant: Assistant, query: str, filters: Any = None, top_k: int | None = None) -> list[Source]:
    """The passages retrieval finds for `query`, best first, with the same checks as a question (QueryError)."""
    query, checked = assistant.checked(query, filters, top_k)
    return assistant.retriever.retrieve(query, checked, top_k)



def cmd_mcp(args: argparse.Namespace) -> int:
    """`newsrag mcp`: the MCP server over stdio, for a client that launches it (Claude Desktop, Cursor...)."""
    from ..cli import settings_from
    from ..composition import open as open_assistant

    require("mcp", "newsrag mcp")
    from .mcp_server import build_server

    assistant = open_assistant(settings=settings_from(args).with_overrides(answerer=args.answerer))
    assistant.status()  # a missing or unreadable store fails here, as one line, before the client connects
    build_server(assistant).run("stdio")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `newsrag mcp` to a subcommand parser."""
    from ..cli import add_store_options

    mcp = sub.add_parser("mcp", help="serve the articles to an MCP client over stdio (Claude Desktop, Cursor...)")
    add_store_options(mcp)
    mcp.add_argument("--answerer", help="answerer backend (default: from settings)")
    mcp.set_defaults(func=cmd_mcp)
