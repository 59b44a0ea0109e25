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
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
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
from .errors import AccessError, NewsragError, QueryError
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
    """The API over one Assistant: /v1/ask, /v1/chat, /v1/chat/completions, /v1/models, /v1/health, /v1/articles.

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

    @app.get("/v1/health", tags=["service"])
    def health() -> Any:
        """Whether the store can be read, and what it holds (no key needed)."""
        return {"status": "ok", "version": _version(), **assistant.status()}

    @app.get("/v1/articles", tags=["service"], dependencies=[Depends(require_reader)], responses=_KEY_ERRORS)
    def articles(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> Any:
        """The stored articles, newest first."""
        found = assistant.articles()
        return {"total": len(found), "articles": [a.to_dict() for a in found[offset : offset + limit]]}

    @app.get("/v1/models", tags=["openai"], dependencies=[Depends(require_reader)], responses=_KEY_ERRORS)
    def models() -> Any:
        """The one model newsrag serves (what Open WebUI lists)."""
        return openai_compat.models()

    return app


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
        """OpenAI-compatible chat: the answer text ends with the numbered sources; `sources` holds them too."""
        question, history = _split_conversation(body.messages)
        stream = assistant.stream(question, filters=_filters(body.filters), top_k=body.top_k, history=history,
                                  as_of=body.as_of)
        if not body.stream:
            return openai_compat.completion(collect_answer(stream), body.model)
        chunks = openai_compat.completion_chunks(stream, body.model)
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
        yield _sse(None, {"error": {"message": str(exc), "type": type(exc).__name__}})
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
        return SafeJSONResponse(_error_body(exc), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        details = [{**e, "input": _shortened(e["input"])} if "input" in e else e for e in exc.errors()]
        body = {"error": "invalid request: " + "; ".join(problems), "type": "ValidationError",
                "details": jsonable_encoder(details, custom_encoder={Exception: str})}
        return SafeJSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc, extra=fields(path=request.url.path))
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}", "type": "InternalError"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "TooLarge" if exc.status_code == 413 else "HTTPError"
        return JSONResponse({"error": str(exc.detail), "type": kind}, status_code=exc.status_code, headers=exc.headers)


class SafeJSONResponse(JSONResponse):
    """JSON that renders whatever a client sent back: text that is not valid Unicode (a lone surrogate) is escaped."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def _shortened(value: Any, limit: int = 200) -> Any:
    """An input echoed in a validation error, cut to `limit` characters (a 100 KB question is not sent back)."""
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
