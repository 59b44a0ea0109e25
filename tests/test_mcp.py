"""The MCP server, driven by the official `mcp` SDK's own client: over stdio (`newsrag mcp` in its own
process, as Claude Desktop launches it) and over streamable HTTP at /mcp on the `newsrag serve` app."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from tests.conftest import ISIS_K_TITLE, ROOT
from tests.servers import uvicorn_server
from tests.ui_harness import copy_store

mcp = pytest.importorskip("mcp", reason="pip install -e '.[mcp]'")
from mcp import Client, StdioServerParameters  # noqa: E402

MILLEY = "What did Milley say about ISIS-K?"
TOOLS = {"ask", "search", "list_articles", "get_article"}
READER = "mcp-reader-key"


async def _session_checks(client: Client) -> dict[str, Any]:
    """What a user of an MCP client sees: the tools, an answer with its citation, and an error."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    answer = await client.call_tool("ask", {"question": MILLEY})
    bad = await client.call_tool("ask", {"question": MILLEY, "since": "yesterday"})
    return {"tools": tools, "answer": answer, "bad": bad}


def _assert_milley(seen: dict[str, Any]) -> None:
    assert set(seen["tools"]) == TOOLS
    assert all(t.annotations.read_only_hint for t in seen["tools"].values())
    answer = seen["answer"]
    assert not answer.is_error, answer.content
    data = answer.structured_content
    assert data["refused"] is False and data["verified"] is True and "[1]" in data["answer"]
    cited = data["sources"][0]
    assert cited["n"] == 1 and cited["title"] == ISIS_K_TITLE and "it’s possible" in cited["text"]
    assert cited["url"].startswith("https://news.antiwar.com/") and cited["resource"].startswith("newsrag://article/")
    text = answer.content[0].text  # what a model reads: the answer, then the cited source with its url
    assert text.startswith(data["answer"]) and f"[1] {ISIS_K_TITLE}" in text and cited["url"] in text
    assert seen["bad"].is_error and "'yesterday' is not a date" in seen["bad"].content[0].text


@pytest.fixture(scope="module")
def own_store(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample store for the `newsrag mcp` process (embedded Chroma is one process's)."""
    return copy_store(sample_store, tmp_path_factory.mktemp("mcp") / "store")


def test_stdio_client_lists_the_tools_and_gets_the_cited_milley_answer(own_store: Path) -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "ui.cli", "mcp", "--store", str(own_store)],
                                   cwd=str(ROOT), env=dict(os.environ))

    async def session() -> dict[str, Any]:
        async with Client(params, read_timeout_seconds=120) as client:
            seen = await _session_checks(client)
            listing = await client.call_tool("list_articles", {"limit": 3})
            article_id = listing.structured_content["articles"][0]["article_id"]
            seen["resource"] = await client.read_resource(f"newsrag://article/{article_id}")
            seen["article"] = await client.call_tool("get_article", {"article_id": article_id})
            seen["listing"] = listing
            seen["search"] = await client.call_tool("search", {"query": "drone strike in Kabul", "k": 2})
            seen["bad_k"] = await client.call_tool("search", {"query": "drone strike", "k": 0})
            seen["missing"] = await client.call_tool("get_article", {"article_id": "no-such-id"})
            return seen

    seen = anyio.run(session)
    _assert_milley(seen)
    listing = seen["listing"].structured_content
    assert listing["total"] == 8 and len(listing["articles"]) == 3
    article = seen["article"].structured_content
    assert article["text"] and seen["resource"].contents[0].text.endswith(article["text"])
    passages = seen["search"].structured_content["passages"]
    assert len(passages) == 2 and any("drone" in p["text"] for p in passages) and passages[0]["score"] > 0
    assert seen["bad_k"].is_error and "greater than or equal to 1" in seen["bad_k"].content[0].text
    assert seen["missing"].is_error and "no article 'no-such-id' is stored" in seen["missing"].content[0].text


@pytest.fixture(scope="module")
def serve_url(assistant) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """`newsrag serve`'s app (API, /mcp and the chat) with an API key, under uvicorn with its lifespan on."""
    from ui.http.auth import Access
    from ui.http.server import build_app

    with uvicorn_server(build_app(assistant, Access(api_key=READER)), lifespan="on") as url:
        yield url


def test_http_client_at_slash_mcp_gets_the_cited_milley_answer(serve_url: str) -> None:
    import httpx2

    async def session() -> dict[str, Any]:
        from mcp.client.streamable_http import streamable_http_client

        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {READER}"}, timeout=120) as http:
            async with Client(streamable_http_client(f"{serve_url}/mcp", http_client=http)) as client:
                return await _session_checks(client)

    _assert_milley(anyio.run(session))


def test_slash_mcp_needs_the_api_key(serve_url: str) -> None:
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = httpx.post(f"{serve_url}/mcp", json=ping, headers=headers)
        assert refused.status_code == 401 and refused.json()["type"] == "AccessError"
        assert refused.headers["www-authenticate"] == "Bearer"


def test_a_missing_mcp_extra_is_one_line_naming_it(sample_store: Path) -> None:
    code = ("import sys; sys.modules['mcp'] = None\nfrom ui.cli import main\n"
            f"sys.exit(main(['mcp', '--store', {str(sample_store)!r}]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 6, done.stderr
    assert done.stderr.strip() == "newsrag: error: newsrag mcp needs the mcp extra: pip install 'newsrag[mcp]'"


@pytest.mark.parametrize(("blocked", "module", "extra"), [("mcp", "rag.integrations.mcp_server", "mcp"),
                                                          ("llama_index.core", "rag.integrations.llama_index", "llama-index")])
def test_importing_an_integration_without_its_extra_names_the_extra(blocked: str, module: str, extra: str) -> None:
    code = f"import sys, importlib; sys.modules[{blocked!r}] = None\nimportlib.import_module({module!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"ImportError: {module} needs the {extra} extra: pip install 'newsrag[{extra}]'")


def test_help_and_import_rag_load_no_integration_library() -> None:
    code = ("import sys\nimport rag, rag.integrations\nfrom ui import cli\ntry:\n    cli.main(['mcp', '--help'])\n"
            "except SystemExit:\n    pass\nprint([m for m in ('mcp', 'opentelemetry', 'llama_index') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    assert "usage: newsrag mcp" in done.stdout and done.stdout.strip().splitlines()[-1] == "[]"
