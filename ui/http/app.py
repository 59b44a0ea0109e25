"""The HTTP API (FastAPI): one app over one Assistant, made of one router per area.

    app = create_app(rag.open())     # serve with uvicorn; docs at /docs

Errors become a status and a JSON body {"error": ..., "type": ...}: a bad request is 422 with
the field and the problem, a missing or wrong key 401, a body over its limit 413, a missing store
503, a failing LLM 502. Streams are server-sent events; the first part of an answer is computed
before the response starts, so early errors keep their status. With an API key set, every call
but /v1/health needs `Authorization: Bearer KEY`; `auth.require_admin` guards the admin routes
(`admin.add_admin_routes`). Every response carries an `X-Request-ID`, which the server's log lines repeat.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from importlib import metadata

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute

from rag import Assistant

from .auth import Access
from .errors import ERRORS, add_error_handlers
from .mcp import mount_mcp
from .middleware import BodyLimit, RequestContext, body_limits
from .routes import answers, openai, service


def create_app(assistant: Assistant, access: Access | None = None) -> FastAPI:
    """The API over one Assistant: /v1/ask, /v1/chat, /v1/timeline, /v1/chat/completions, /v1/models, /v1/health,
    /v1/articles, and the MCP tools at /mcp.

    `access` holds the keys (default: from the assistant's settings: env or key files).
    """
    app = FastAPIOffline(  # docs pages served from the package, not a CDN: nothing phones home
        title="newsrag API", version=version(), responses=ERRORS,
        description="Ask questions about stored news articles; every sentence of an answer cites its passage.",
    )
    app.state.assistant = assistant
    app.state.access = access or Access.from_settings(assistant.settings)
    app.state.upload_paths = set()  # routes that take files (middleware.add_upload_paths)
    app.add_middleware(BodyLimit, limit=body_limits(assistant.settings, app.state.upload_paths))
    app.add_middleware(RequestContext)
    add_error_handlers(app)
    for router in (answers.router(), openai.router(), service.router(version)):
        app.include_router(router)
    mount_mcp(app, assistant, app.state.access)  # the MCP tools at /mcp
    return app


def add_api_fallback(app: FastAPI, prefix: str = "/v1") -> None:
    """Answer unknown `prefix` paths and wrong methods with the JSON error shape.

    Call it after the last `prefix` route and before mounting an app at "/" (the chat), which would
    otherwise answer them with its own `{"detail": ...}`.
    """
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.api_route(prefix + "/{rest:path}", methods=methods, include_in_schema=False)
    def no_such_route(request: Request, rest: str) -> None:
        allowed = sorted({m for route in api_routes(app.routes) if route.endpoint is not no_such_route
                          and route.path_regex.match(request.url.path) for m in route.methods or ()})
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404)


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, also those of included routers (FastAPI 0.16x keeps an included router whole)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def version() -> str:
    """The installed newsrag version."""
    try:
        return metadata.version("newsrag")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"


__all__ = ["add_api_fallback", "create_app", "version"]
