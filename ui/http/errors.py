"""Errors at the HTTP edge: every failure becomes a status and `{"error", "type"}` (OpenAI's shape on its routes).

A newsrag error keeps its `http_status`; a request that fails validation is 422 naming the field;
an unknown route 404 and a wrong method 405 say where the routes are listed; anything unexpected is
500 and logged with its traceback.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from rag.errors import AccessError, NewsragError
from rag.logs import fields

from . import openai
from .schemas import ErrorOut

log = logging.getLogger("rag.api")
ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "The request body is over its limit."},
    422: {"model": ErrorOut, "description": "Invalid request (the message names the field)."},
    502: {"model": ErrorOut, "description": "The LLM backend failed."},
    503: {"model": ErrorOut, "description": "The store is missing or unreachable."},
}
KEY_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut, "description": "The key is missing or wrong."}}


def error_body(exc: Exception) -> dict[str, str]:
    """An exception as the API's error body."""
    return {"error": str(exc), "type": type(exc).__name__}


def add_error_handlers(app: FastAPI) -> None:
    """Translate every exception a route raises into the JSON error shape."""
    @app.exception_handler(NewsragError)
    async def newsrag_error(request: Request, exc: NewsragError) -> JSONResponse:
        level = logging.WARNING if exc.http_status >= 500 else logging.INFO
        log.log(level, "refused", extra=fields(status=exc.http_status, type=type(exc).__name__))
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 and isinstance(exc, AccessError) else None
        return _error_response(request, exc.http_status, error_body(exc), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        details = [{**e, "input": _shortened(e["input"])} if "input" in e else e for e in exc.errors()]
        body = {"error": "invalid request: " + "; ".join(problems), "type": "ValidationError",
                "details": jsonable_encoder(details, custom_encoder={Exception: str})}
        return _error_response(request, 422, body, param=_first_field(exc.errors()))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc, extra=fields(path=request.url.path))
        return _error_response(request, 500, {"error": f"internal error: {type(exc).__name__}: {exc}", "type": "InternalError"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge"}.get(exc.status_code, "HTTPError")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such API route: {request.method} {request.url.path}; the routes are listed at /docs"
        elif exc.status_code == 405 and message == "Method Not Allowed":
            allowed = (exc.headers or {}).get("Allow", "another method")
            message = f"{request.method} is not allowed on {request.url.path}; use {allowed} (see /docs)"
        return _error_response(request, exc.status_code, {"error": message, "type": kind}, headers=exc.headers)


def _error_response(request: Request, status: int, body: dict[str, Any], headers: Any = None,
                    param: str | None = None) -> JSONResponse:
    """`body` ({"error", "type"}) as the response; on the OpenAI routes in OpenAI's error shape."""
    if openai.is_openai_path(request.url.path):
        body = openai.error_body(status, body["error"], body["type"], param)
    return SafeJSONResponse(body, status_code=status, headers=headers)


def _first_field(errors: Any) -> str | None:
    """The request field the first validation error is about (`messages.0.role`), for OpenAI's `param`."""
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        if loc:
            return ".".join(loc)
    return None


class SafeJSONResponse(JSONResponse):
    """JSON that renders whatever a client sent back: text that is not valid Unicode (a lone surrogate) is escaped."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _shortened(value: Any, limit: int = 200) -> Any:
    """An input echoed in a validation error, cut to `limit` characters (a 100 KB question is not sent back).

    NaN and infinity, which JSON cannot carry, are echoed as text.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    if isinstance(value, (dict, list)) and len(json.dumps(value, default=str)) > limit:
        return f"({type(value).__name__} of {len(value)} items, not shown)"
    return value
