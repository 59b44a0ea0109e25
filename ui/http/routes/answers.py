"""The answer routes: /v1/ask, /v1/chat and /v1/timeline, as JSON or as server-sent events."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request

from rag import AnswerStream
from rag.errors import NewsragError

from ..auth import require_reader
from ..errors import KEY_ERRORS, error_body
from ..schemas import AnswerOut, AskRequest, ChatRequest, TimelineOut, TimelineRequest
from ..sse import event_stream, sse
from . import assistant_of, filters_of, split_conversation


def router() -> APIRouter:
    """The routes; they answer with the Assistant that `create_app` put on the app."""
    routes = APIRouter(prefix="/v1", tags=["answers"], dependencies=[Depends(require_reader)], responses=KEY_ERRORS)

    @routes.post("/ask", response_model=AnswerOut)
    def ask(body: AskRequest, request: Request) -> Any:
        """Answer one question. With `"stream": true`, server-sent events `delta` then `answer`."""
        stream = assistant_of(request).stream(body.question, filters=filters_of(body.filters), top_k=body.top_k,
                                              as_of=body.as_of)
        return _respond(stream, body.stream)

    @routes.post("/chat", response_model=AnswerOut)
    def chat(body: ChatRequest, request: Request) -> Any:
        """Answer the last message of a conversation; a follow-up is first rewritten into a standalone question."""
        question, history = split_conversation(body.messages)
        stream = assistant_of(request).stream(question, filters=filters_of(body.filters), top_k=body.top_k,
                                              history=history, as_of=body.as_of)
        return _respond(stream, body.stream)

    @routes.post("/timeline", response_model=TimelineOut)
    def timeline(body: TimelineRequest, request: Request) -> Any:
        """How a story unfolded: one cited sentence per event, by article date, grouped by day."""
        found = assistant_of(request).timeline(body.topic, filters=filters_of(body.filters), as_of=body.as_of,
                                               top_k=body.top_k)
        return found.to_dict()

    return routes


def _respond(stream: AnswerStream, streaming: bool) -> Any:
    if not streaming:
        return stream.collect().to_dict()
    first = next(stream, "")  # retrieval and the first sentence; errors here still become a JSON status
    return event_stream(_answer_events(first, stream))


def _answer_events(first: str, stream: AnswerStream) -> Iterator[str]:
    try:
        for text in itertools.chain([first], stream):
            if text:
                yield sse("delta", {"text": text})
        yield sse("answer", stream.answer.to_dict())
        yield sse("done", {})
    except NewsragError as exc:
        yield sse("error", error_body(exc))
