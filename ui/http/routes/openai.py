"""The OpenAI-compatible routes: /v1/chat/completions, /v1/models and /v1/models/{model} (shapes in `ui.http.openai`)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request

from rag.embedding.embedder import token_counter
from rag.errors import NewsragError

from .. import openai
from ..auth import require_reader
from ..errors import KEY_ERRORS
from ..schemas import OpenAIChatRequest
from ..sse import event_stream, sse
from . import assistant_of, filters_of, split_conversation


def router() -> APIRouter:
    """/v1/chat/completions, /v1/models and /v1/models/{model}; errors in OpenAI's shape (`errors`)."""
    routes = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_reader)], responses=KEY_ERRORS)

    @routes.post("/chat/completions")
    def chat_completions(body: OpenAIChatRequest, request: Request) -> Any:
        """OpenAI-compatible chat: `message.annotations` cite each [n] (url_citation), the text ends with the
        numbered sources, and `sources` holds them too; `usage` counts tokens (stream_options.include_usage)."""
        assistant = assistant_of(request)
        model = openai.check_model(body.model)
        question, history = split_conversation(body.messages)
        stream = assistant.stream(question, filters=filters_of(body.filters), top_k=body.top_k, history=history,
                                  as_of=body.as_of)
        include_usage = not body.stream or bool(body.stream_options and body.stream_options.include_usage)
        counter = token_counter(assistant.settings.embedding_model)
        reply = openai.Reply(model, lambda text: counter.count([text])[0], [m.text() for m in body.messages],
                             include_usage)
        chunks = openai.completion_chunks(stream, reply)
        if not body.stream:
            return openai.completion(chunks)
        head = [next(chunks), next(chunks)]  # runs retrieval and the first sentence: early errors keep their status
        return event_stream(_events(head, chunks))

    @routes.get("/models")
    def models(request: Request) -> Any:
        """The one model newsrag serves (what Open WebUI lists)."""
        return openai.models(_details(assistant_of(request)))

    @routes.get("/models/{model}")
    def model(model: str, request: Request) -> Any:
        """One model; 404 (OpenAI's model_not_found) for a name newsrag does not serve."""
        return openai.model_card(model, _details(assistant_of(request)))

    return routes


def _details(assistant: Any) -> dict[str, Any]:
    """What GET /v1/models says about how newsrag answers."""
    return {"newsrag": {"answerer": assistant.answerer.name, "collection": assistant.settings.collection,
                        "embedding_model": assistant.embedder.name}}


def _events(head: list[dict[str, Any]], rest: Iterator[dict[str, Any]]) -> Iterator[str]:
    try:
        for chunk in itertools.chain(head, rest):
            yield sse(None, chunk)
    except NewsragError as exc:
        yield sse(None, openai.error_body(exc.http_status, str(exc), type(exc).__name__))
    yield "data: [DONE]\n\n"
