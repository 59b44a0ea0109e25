"""The HTTP API (FastAPI): ask, chat, an OpenAI-compatible endpoint, health and the article list.

    app = create_app(rag.open(store=".newsrag"))     # serve with uvicorn; docs at /docs

Errors become a status and a JSON body {"error": ..., "type": ...}: a bad request is 422 with
the field and the problem, a missing or wrong key 401, a body over its limit 413, a missing store
503, a failing LLM 502. Streams are server-sent events; the first part of an answer is computed
before the response starts, so early errors keep their status. With an API key set, every call
but /v1/health needs `Authorization: Bearer KEY`; `require_admin` guards the admin routes that
`index.api` adds. Every response carries an `X-Request-ID`, which the server's log lines repeat.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from collections.abc import Iterator
from importlib import metadata
from pathlib import PurePath
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import openai_compat
from .api_schemas import (
    AnswerOut,
    AskRequest,
    ChatRequest,
    ErrorOut,
    FiltersIn,
    Message,
    OpenAIChatRequest,
    TimelineOut,
    TimelineRequest,
)
from .assistant import Assistant, collect_answer
from .auth import Access
from .embedding.embedder import token_counter
from .errors import AccessError, NewsragError, QueryError
from .integrations.mcp_http import mount_mcp
from .logs import fields
from .middleware import BodyLimit, RequestContext
from .records import Answer

log = logging.getLogger(__name__)
_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": ErrorOut, "description": "The request body is over its limit."},
    422: {"model": ErrorOut, "description": "Invalid request (the message names the field)."},
    502: {"model": ErrorOut, "description": "The LLM backend failed."},
    503: {"model": ErrorOut, "description": "The store is missing or unreachable."},
}
_KEY_ERRORS: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut, "description": "The key is missing or wrong."}}
_bearer = HTTPBearer(auto_error=False, description="The API key (NEWSRAG_API_KEY); ingest and delete need the admin key.")
UPLOAD_PATHS = ("/v1/admin/upload", "/gradio_api/upload", "/upload")


def require_reader(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Dependency: the API key (or the admin key) when the server has one."""
    _access(request).check_reader(credentials.credentials if credentials else None)


def require_admin(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> None:
    """Dependency: the admin key (ingest, upload, delete)."""
    _access(request).check_admin(credentials.credentials if credentials else None)


def _access(request: Request) -> Access:
    return request.app.state.access  # type: ignore[no-any-return]


def body_limits(assistant: Assistant) -> Any:
    """(method, path) -> the most bytes a request body may have: uploads get files' worth, the rest JSON-sized."""
    s = assistant.settings
    uploads = s.max_article_bytes * s.max_upload_files + 1_000_000  # the files plus the form around them

    def limit(method: str, path: str) -> int | None:
        if method in ("GET", "HEAD", "OPTIONS"):
            return s.max_json_bytes
        return uploads if path.endswith(UPLOAD_PATHS) else s.max_json_bytes

    return limit


def create_app(assistant: Assistant, access: Access | None = None) -> FastAPI:
    """The API over one Assistant: /v1/ask, /v1/chat, /v1/chat/completions, /v1/models, /v1/health, /v1/articles,
    and the MCP tools at /mcp.

    `access` holds the keys (default: from the assistant's settings: env or key files).
    """
    app = FastAPIOffline(  # docs pages served from the package, not a CDN: nothing phones home
        title="newsrag API", version=_version(), responses=_ERRORS,
        description="Ask questions about stored news articles; every sentence of an answer cites its passage.",
    )
    app.state.assistant = assistant
    app.state.access = access or Access.from_settings(assistant.settings)
    app.add_middleware(BodyLimit, limit=body_limits(assistant))
    app.add_middleware(RequestContext)
    _add_error_handlers(app)
    _add_answer_routes(app, assistant)
    mount_mcp(app, assistant, app.state.access)  # the MCP tools at /mcp (rag.integrations)

    @app.get("/v1/health", tags=["service"])
    def health(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Any:
        """Whether the store can be read, and what it holds (no key needed; the store's path only with a key)."""
        status = {"status": "ok", "version": _version(), **assistant.status()}
        if not _access(request).is_key(credentials.credentials if credentials else None):
            status.pop("store", None)  # where the server keeps its files is no business of an anonymous caller
        return status

    @app.get("/v1/articles", tags=["service"], dependencies=[Depends(require_reader)], responses=_KEY_ERRORS)
    def articles(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> Any:
        """The stored articles, newest first (`origin`: a web address, or the name of the file it came from)."""
        found = assistant.articles()
        listed = [{**a.to_dict(), "origin": public_origin(a.origin)} for a in found[offset : offset + limit]]
        return {"total": len(found), "articles": listed}

    @app.get("/v1/models", tags=["openai"], dependencies=[Depends(require_reader)], responses=_KEY_ERRORS)
    def models() -> Any:
        """The one model newsrag serves (what Open WebUI lists)."""
        return openai_compat.models(_model_details(assistant))

    @app.get("/v1/models/{model}", tags=["openai"], dependencies=[Depends(require_reader)], responses=_KEY_ERRORS)
    def model(model: str) -> Any:
        """One model; 404 (OpenAI's model_not_found) for a name newsrag does not serve."""
        return openai_compat.model_card(model, _model_details(assistant))

    return app


def public_origin(origin: str) -> str:
    """Where an article came from, without the server's folders: a web address as it is, a file by its name."""
    if "://" in origin or not origin:
        return origin
    path, hash_sign, record = origin.partition("#")
    return PurePath(path).name + hash_sign + record


def add_api_fallback(app: FastAPI, prefix: str = "/v1") -> None:
    """Answer unknown `prefix` paths and wrong methods with the JSON error shape.

    Call it after the last `prefix` route and before mounting an app at "/" (the chat), which would
    otherwise answer them with its own `{"detail": ...}`.
    """
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    @app.api_route(prefix + "/{rest:path}", methods=methods, include_in_schema=False)
    def no_such_route(request: Request, rest: str) -> None:
        allowed = sorted({m for route in app.routes if isinstance(route, APIRoute) and route.endpoint is not no_such_route
                          and route.path_regex.match(request.url.path) for m in route.methods or ()})
        if allowed:
            raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})
        raise StarletteHTTPException(404)


def _add_answer_routes(app: FastAPI, assistant: Assistant) -> None:
    guarded: dict[str, Any] = {"dependencies": [Depends(require_reader)], "responses": _KEY_ERRORS}

    @app.post("/v1/ask", response_model=AnswerOut, tags=["answers"], **guarded)
    def ask(body: AskRequest) -> Any:
        """Answer one question. With `"stream": true`, server-sent events `delta` then `answer`."""
        stream = assistant.stream(body.question, filters=_filters(body.filters), top_k=body.top_k, as_of=body.as_of)
        return _respond(stream, body.stream)

    @app.post("/v1/chat", response_model=AnswerOut, tags=["answers"], **guarded)
    def chat(body: ChatRequest) -> Any:
        """Answer the last message of a conversation; a follow-up is first rewritten into a standalone question."""
        question, history = _split_conversation(body.messages)
        stream = assistant.stream(question, filters=_filters(body.filters), top_k=body.top_k, history=history,
                                  as_of=body.as_of)
        return _respond(stream, body.stream)

    @app.post("/v1/chat/completions", tags=["openai"], **guarded)
    def chat_completions(body: OpenAIChatRequest) -> Any:
        """OpenAI-compatible chat: `message.annotations` cite each [n] (url_citation), the text ends with the
        numbered sources, and `sources` holds them too; `usage` counts tokens (stream_options.include_usage)."""
        model = openai_compat.check_model(body.model)
        question, history = _split_conversation(body.messages)
        stream = assistant.stream(question, filters=_filters(body.filters), top_k=body.top_k, history=history,
                                  as_of=body.as_of)
        include_usage = not body.stream or bool(body.stream_options and body.stream_options.include_usage)
        counter = token_counter(assistant.settings.embedding_model)
        reply = openai_compat.Reply(model, lambda text: counter.count([text])[0],
                                    [m.text() for m in body.messages], include_usage)
        chunks = openai_compat.completion_chunks(stream, reply)
        if not body.stream:
            return openai_compat.completion(chunks)
        head = [next(chunks), next(chunks)]  # runs retrieval and the first sentence: early errors keep their status
        return _event_stream(_openai_events(head, chunks))


    @app.post("/v1/timeline", response_model=TimelineOut, tags=["answers"], **guarded)
    def timeline(body: TimelineRequest) -> Any:
        """How a story unfolded: one cited sentence per event, by article date, grouped by day."""
        return assistant.timeline(body.topic, filters=_filters(body.filters), as_of=body.as_of, top_k=body.top_k).to_dict()


def _filters(filters: FiltersIn | None) -> Any:
    return filters.to_filters() if filters else None


def _split_conversation(messages: list[Message]) -> tuple[str, list[dict[str, str]]]:
    """The last user message is the question; user and assistant messages before it are the history."""
    if messages[-1].role != "user":
        raise QueryError(f"the last message must come from the user (it has role {messages[-1].role!r})")
    history = [{"role": m.role, "content": m.text()} for m in messages[:-1] if m.role in ("user", "assistant")]
    return messages[-1].text(), history


def _respond(stream: Iterator[str | Answer], streaming: bool) -> Any:
    if not streaming:
        return collect_answer(stream).to_dict()
    first = next(stream)  # retrieval and the first sentence; errors here still become a JSON status
    return _event_stream(_answer_events(first, stream))


def _answer_events(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str]:
    try:
        for item in itertools.chain([first], rest):
            if isinstance(item, Answer):
                yield _sse("answer", item.to_dict())
            elif item:
                yield _sse("delta", {"text": item})
        yield _sse("done", {})
    except NewsragError as exc:
        yield _sse("error", _error_body(exc))


def _openai_events(head: list[dict[str, Any]], rest: Iterator[dict[str, Any]]) -> Iterator[str]:
    try:
        for chunk in itertools.chain(head, rest):
            yield _sse(None, chunk)
    except NewsragError as exc:
        yield _sse(None, openai_compat.error_body(exc.http_status, str(exc), type(exc).__name__))
    yield "data: [DONE]\n\n"


def _sse(event: str | None, data: dict[str, Any]) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def _event_stream(events: Iterator[str]) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


def _error_body(exc: Exception) -> dict[str, str]:
    return {"error": str(exc), "type": type(exc).__name__}


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NewsragError)
    async def newsrag_error(request: Request, exc: NewsragError) -> JSONResponse:
        level = logging.WARNING if exc.http_status >= 500 else logging.INFO
        log.log(level, "refused", extra=fields(status=exc.http_status, type=type(exc).__name__))
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 and isinstance(exc, AccessError) else None
        return _error_response(request, exc.http_status, _error_body(exc), headers=headers)

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
    if openai_compat.is_openai_path(request.url.path):
        body = openai_compat.error_body(status, body["error"], body["type"], param)
    return SafeJSONResponse(body, status_code=status, headers=headers)


def _first_field(errors: Any) -> str | None:
    """The request field the first validation error is about (`messages.0.role`), for OpenAI's `param`."""
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        if loc:
            return ".".join(loc)
    return None


def _model_details(assistant: Assistant) -> dict[str, Any]:
    """What GET /v1/models says about how newsrag answers."""
    return {"newsrag": {"answerer": assistant.answerer.name, "collection": assistant.settings.collection,
                        "embedding_model": assistant.embedder.name}}


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


def _version() -> str:
    try:
        return metadata.version("newsrag")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"
