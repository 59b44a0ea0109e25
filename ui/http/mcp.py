"""The MCP server on newsrag's HTTP server: streamable HTTP at /mcp, behind the same API key as /v1.

`create_app` calls `mount_mcp`; the tools themselves are `rag.integrations.mcp_server`. Every MCP tool only reads, so the API key (or the admin key) opens it,
sent as `Authorization: Bearer KEY`. An open server (no key) answers /mcp only for a loopback Host
header (the SDK's DNS-rebinding check). Without the `mcp` extra, /mcp answers 501 naming the extra.
The MCP session manager runs inside the app's lifespan (uvicorn runs lifespans by default).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from rag.errors import AccessError

from .auth import Access, bearer_token

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rag import Assistant

PATH = "/mcp"
LOOPBACK_HOSTS = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
LOOPBACK_ORIGINS = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]


def mount_mcp(app: FastAPI, assistant: Assistant, access: Access) -> None:
    """Serve the newsrag MCP tools at /mcp on `app` (or a 501 that names the extra when `mcp` is missing)."""
    from starlette.routing import Route

    try:
        from mcp.server.transport_security import TransportSecuritySettings
    except ImportError:
        app.router.routes.append(Route(PATH, _MissingExtra()))
        return
    from rag.integrations.mcp_server import build_server

    server = build_server(assistant)
    security = TransportSecuritySettings(enable_dns_rebinding_protection=not access.enabled,
                                         allowed_hosts=LOOPBACK_HOSTS, allowed_origins=LOOPBACK_ORIGINS)
    inner = server.streamable_http_app(streamable_http_path=PATH, stateless_http=True, json_response=True,
                                       transport_security=security)
    guard = _KeyGuard(inner, access)
    app.router.routes.append(Route(PATH, guard))
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(host: Any) -> AsyncIterator[Any]:
        async with server.session_manager.run():
            guard.running = True
            try:
                async with previous(host) as state:
                    yield state
            finally:
                guard.running = False

    app.router.lifespan_context = lifespan


class _KeyGuard:
    """ASGI: the API key check in front of the MCP app (the same check as the /v1 read routes)."""

    def __init__(self, app: Any, access: Access) -> None:
        self.app = app
        self.access = access
        self.running = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        given = bearer_token(_header(scope, b"authorization"))
        try:
            self.access.check_reader(given)
        except AccessError as exc:
            await _json(send, 401, {"error": str(exc), "type": "AccessError"}, [(b"www-authenticate", b"Bearer")])
            return
        if not self.running:
            await _json(send, 503, {"error": "the MCP endpoint starts with the server's lifespan; serve the app "
                                              "with lifespan events on (uvicorn's default)", "type": "ConfigError"})
            return
        await self.app(scope, receive, send)


class _MissingExtra:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _json(send, 501, {"error": "the MCP endpoint needs the mcp extra: pip install 'newsrag[mcp]'",
                                "type": "BackendError"})


def _header(scope: Any, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _json(send: Any, status: int, body: dict[str, str], headers: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": data})
