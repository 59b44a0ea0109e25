"""ASGI middleware of the HTTP server: request ids and access logs, and request-size limits.

Both wrap the whole app (the API and the mounted chat), so every request gets an `X-Request-ID`
and no request body larger than its limit is read: a declared length over the limit is refused
before anything is read, and a body that grows past it is cut off while it streams, so an
oversized upload never reaches a temporary file.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from rag import Settings
from rag.logs import REQUEST_ID, fields

from .openai import error_body, is_openai_path

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Limit = Callable[[str, str], int | None]  # (method, path) -> most bytes, None: no limit

log = logging.getLogger("rag.http")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestContext:
    """Give each request an id (the client's X-Request-ID when it is sane), echo it, log one line per request."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given if given and _CLIENT_ID.match(given) else uuid.uuid4().hex[:16]
        token = REQUEST_ID.set(request_id)
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            level = logging.WARNING if status[0] >= 500 else logging.INFO
            log.log(level, "request", extra=fields(
                method=scope.get("method"), path=scope.get("path"), status=status[0],
                ms=round((time.perf_counter() - started) * 1000, 1),
            ))
            REQUEST_ID.reset(token)


def body_limits(settings: Settings, upload_paths: set[str]) -> Limit:
    """(method, path) -> the most bytes a request body may have: uploads get files' worth, the rest JSON-sized."""
    uploads = settings.max_article_bytes * settings.max_upload_files + 1_000_000  # the files plus the form around them

    def limit(method: str, path: str) -> int | None:
        if method in ("GET", "HEAD", "OPTIONS"):
            return settings.max_json_bytes
        return uploads if path in upload_paths else settings.max_json_bytes

    return limit


def add_upload_paths(app: Any, *paths: str) -> None:
    """Let request bodies to these paths (of an app from `create_app`) be as large as an upload, not JSON-sized."""
    app.state.upload_paths.update(paths)


class _TooLarge(HTTPException):
    """Raised while a body streams past its limit; FastAPI and Gradio turn it into a 413 response."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


class BodyLimit:
    """Refuse request bodies over `limit(method, path)` bytes with 413 and a JSON body."""

    def __init__(self, app: App, limit: Limit) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope.get("method", "GET"), scope.get("path", ""))
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await _refuse(send, limit, scope.get("path", ""))
            return
        seen, started = [0], [False]

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise _TooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            started[0] = started[0] or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started[0]:
                await _refuse(send, limit, scope.get("path", ""))


def too_large(limit: int) -> str:
    return f"the request body is over the {limit:,}-byte limit; send less (or smaller files)"


async def _refuse(send: Send, limit: int, path: str) -> None:
    shaped = error_body(413, too_large(limit), "TooLarge") if is_openai_path(path) else None
    body = json.dumps(shaped or {"error": too_large(limit), "type": "TooLarge"}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None
