"""The HTTP API (FastAPI): ask, chat, an OpenAI-compatible endpoint, health and the article list.

    app = create_app(rag.open(store=".newsrag"))     # serve with uvicorn; docs at /docs

Errors become a status and a JSON body {"error": ..., "type": ...}: a bad request is 422 with
the field and the problem, a missing store 503, a failing LLM 502. Streams are server-sent events;
the first part of an answer is computed before the response starts, so early errors keep their status.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from importlib import metadata
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
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
)
from .assistant import Assistant, collect_answer
from .errors import NewsragError, QueryError
from .records import Answer

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ErrorOut, "description": "Invalid request (the message names the field)."},
    502: {"model": ErrorOut, "description": "The LLM backend failed."},
    503: {"model": ErrorOut, "description": "The store is missing or unreachable."},
}


def create_app(assistant: Assistant) -> FastAPI:
    """The API over one Assistant: /v1/ask, /v1/chat, /v1/chat/completions, /v1/models, /v1/health, /v1/articles."""
    app = FastAPIOffline(  # docs pages served from the package, not a CDN: nothing phones home
        title="newsrag API", version=_version(), responses=_ERRORS,
        description="Ask questions about stored news articles; every sentence of an answer cites its passage.",
    )
    _add_error_handlers(app)

    @app.post("/v1/ask", response_model=AnswerOut, tags=["answers"])
    def ask(body: AskRequest) -> Any:
        """Answer one question. With `"stream": true`, server-sent events `delta` then `answer`."""
        stream = assistant.stream(body.question, filters=_filters(body.filters), top_k=body.top_k)
        return _respond(stream, body.stream)

    @app.post("/v1/chat", response_model=AnswerOut, tags=["answers"])
    def chat(body: ChatRequest) -> Any:
        """Answer the last message of a conversation; a follow-up is first rewritten into a standalone question."""
        question, history = _split_conversation(body.messages)
        stream = assistant.stream(question, filters=_filters(body.filters), top_k=body.top_k, history=history)
        return _respond(stream, body.stream)

    @app.post("/v1/chat/completions", tags=["openai"])
    def chat_completions(body: OpenAIChatRequest) -> Any:
        """OpenAI-compatible chat: the answer text ends with the numbered sources; `sources` holds them too."""
        question, history = _split_conversation(body.messages)
        stream = assistant.stream(question, filters=_filters(body.filters), top_k=body.top_k, history=history)
        if not body.stream:
            return openai_compat.completion(collect_answer(stream), body.model)
        chunks = openai_compat.completion_chunks(stream, body.model)
        head = [next(chunks), next(chunks)]  # runs retrieval and the first sentence: early errors keep their status
        return _event_stream(_openai_events(head, chunks))

    @app.get("/v1/models", tags=["openai"])
    def models() -> Any:
        """The one model newsrag serves (what Open WebUI lists)."""
        return openai_compat.models()

    @app.get("/v1/health", tags=["service"])
    def health() -> Any:
        """Whether the store can be read, and what it holds."""
        return {"status": "ok", "version": _version(), **assistant.status()}

    @app.get("/v1/articles", tags=["service"])
    def articles(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> Any:
        """The stored articles, newest first."""
        found = assistant.articles()
        return {"total": len(found), "articles": [a.to_dict() for a in found[offset : offset + limit]]}

    return app


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
        return JSONResponse(_error_body(exc), status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()]
        body = {"error": "invalid request: " + "; ".join(problems), "type": "ValidationError",
                "details": jsonable_encoder(exc.errors(), custom_encoder={Exception: str})}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error: {type(exc).__name__}: {exc}", "type": "InternalError"}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail), "type": "HTTPError"}, status_code=exc.status_code)


def _version() -> str:
    try:
        return metadata.version("newsrag")
    except metadata.PackageNotFoundError:  # running from a checkout without install
        return "0+unknown"
