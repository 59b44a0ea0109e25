"""Answers in the OpenAI chat-completions format, so OpenAI clients and Open WebUI can use newsrag as a model.

The cited sources travel three ways: as `message.annotations` of type `url_citation` (what a stock
OpenAI client reads; each one spans a `[n]` marker in the content), as a numbered list at the end of
the message text (what a plain chat client shows) and as extra `sources`/`citations`/`newsrag` fields
(what a client that knows newsrag reads). The content is markdown made safe to render
(`rag.markdown`): article text never becomes HTML or a link. `usage` counts tokens with the embedding
model's WordPiece tokenizer: the messages' text as the prompt, the content as the completion (close
to, not equal to, what an OpenAI tokenizer would count). Errors on these routes use OpenAI's shape
`{"error": {"message", "type", "param", "code"}}`. The routes are in `routes/openai.py`.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rag import Answer, AnswerStream
from rag.errors import QueryError
from rag.markdown import MarkdownWriter, escape_markdown, safe_url

MODEL_NAME = "newsrag"
MODELS = (MODEL_NAME,)
_TYPES = {401: "invalid_request_error", 403: "permission_error", 404: "invalid_request_error",
          413: "invalid_request_error", 422: "invalid_request_error"}
_CODES = {"AccessError": "invalid_api_key", "ForbiddenError": "forbidden", "UnknownModelError": "model_not_found",
          "TooLarge": "request_too_large", "ValidationError": "invalid_request", "QueryError": "invalid_value",
          "BackendError": "upstream_error", "StoreError": "store_unavailable", "InternalError": "internal_error"}


class UnknownModelError(QueryError):
    """A model name this server does not serve (OpenAI answers 404 model_not_found)."""

    http_status = 404


def is_openai_path(path: str) -> bool:
    """Whether a request path is one of the OpenAI-compatible routes (their errors use OpenAI's shape)."""
    return path.rstrip("/") in ("/v1/chat/completions", "/v1/models") or path.startswith("/v1/models/")


def error_body(status: int, message: str, kind: str, param: str | None = None) -> dict[str, Any]:
    """An error as OpenAI writes it; `kind` is the newsrag error class name, turned into `code`."""
    kind_type = _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    code = _CODES.get(kind) or re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()
    return {"error": {"message": message, "type": kind_type, "param": param, "code": code}}


def check_model(model: str | None) -> str:
    """The model name to answer as; UnknownModelError for a name newsrag does not serve."""
    if model in (None, ""):
        return MODEL_NAME
    if model not in MODELS:
        raise UnknownModelError(f"the model {model!r} does not exist on this server; it serves: {', '.join(MODELS)}")
    return model


def models(details: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET /v1/models: the models newsrag serves (one: newsrag; `details` say how it answers)."""
    return {"object": "list", "data": [model_card(name, details) for name in MODELS]}


def model_card(name: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET /v1/models/{name}."""
    check_model(name)
    return {"id": name, "object": "model", "created": 0, "owned_by": "newsrag", **(details or {})}


@dataclass
class Reply:
    """One chat completion being written: its id, model, and how tokens are counted."""

    model: str
    count_tokens: Callable[[str], int]
    prompt: Sequence[str] = ()
    include_usage: bool = False
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def usage(self, content: str) -> dict[str, int]:
        prompt = sum(self.count_tokens(text) for text in self.prompt if text)
        completion = self.count_tokens(content) if content else 0
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def sources_text(answer: Answer) -> str:
    """The cited sources as a numbered markdown list, matching the [n] markers; empty for a refusal."""
    cited = answer.cited_sources
    if answer.refused or not cited:
        return ""
    lines = ["", "", "Sources:"]
    for n, source in enumerate(cited, start=1):
        where = ", ".join(escape_markdown(x) for x in (source.site, source.date) if x)
        line = f"[{n}] {escape_markdown(source.title or '') or 'Untitled article'}" + (f" ({where})" if where else "")
        url = safe_url(source.url)
        lines.append(line + (f" {url}" if url else ""))
    return "\n".join(lines)


def url_citations(answer: Answer, markers: Sequence[tuple[int, int, int]]) -> list[dict[str, Any]]:
    """One `url_citation` per `[n]` marker in the content; start/end index the marker (end exclusive)."""
    by_marker = {c.marker: answer.sources[c.source_index] for c in answer.citations
                 if 0 <= c.source_index < len(answer.sources)}
    found = []
    for start, end, marker in markers:
        source = by_marker.get(marker)
        if source is None:
            continue
        url = safe_url(source.url) or f"newsrag://article/{quote(source.article_id, safe='')}"
        title = " ".join((source.title or "").split()) or "Untitled article"
        found.append({"type": "url_citation",
                      "url_citation": {"start_index": start, "end_index": end, "title": title, "url": url}})
    return found


def extras(answer: Answer) -> dict[str, Any]:
    """The newsrag fields added to an OpenAI response."""
    data = answer.to_dict()
    cited = {s.chunk_id for s in answer.cited_sources}
    return {
        "sources": [s for s in data["sources"] if s["chunk_id"] in cited],
        "citations": data["citations"],
        "newsrag": {k: data[k] for k in ("refused", "verified", "rewritten_question", "answerer", "timings", "unsupported")},
    }


def completion_chunks(stream: AnswerStream, reply: Reply) -> Iterator[dict[str, Any]]:
    """`chat.completion.chunk` objects: the text deltas, the sources list, a last chunk with the annotations
    and extras, then (with `reply.include_usage`) OpenAI's usage chunk with no choices."""
    base = {"id": reply.id, "object": "chat.completion.chunk", "created": reply.created, "model": reply.model}
    if reply.include_usage:
        base["usage"] = None
    writer, content = MarkdownWriter(), []

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **more}

    yield chunk({"role": "assistant", "content": ""})
    for piece in stream:
        text = writer.feed(piece)
        if text:
            content.append(text)
            yield chunk({"content": text})
    answer = stream.answer
    text = writer.write(sources_text(answer))
    if text:
        content.append(text)
        yield chunk({"content": text})
    yield chunk({"annotations": url_citations(answer, writer.markers)}, "stop", **extras(answer))
    if reply.include_usage:
        yield {**base, "choices": [], "usage": reply.usage("".join(content))}


def completion(chunks: Iterator[dict[str, Any]]) -> dict[str, Any]:
    """A whole `chat.completion` object, collected from `completion_chunks` (made with include_usage)."""
    content: list[str] = []
    last: dict[str, Any] = {}
    usage: dict[str, int] | None = None
    for item in chunks:
        if not item["choices"]:
            usage = item["usage"]
            continue
        delta = item["choices"][0]["delta"]
        content.append(delta.get("content") or "")
        if item["choices"][0]["finish_reason"]:
            last = item
    final = last["choices"][0]
    more = {k: v for k, v in last.items() if k not in ("id", "object", "created", "model", "choices", "usage")}
    message = {"role": "assistant", "content": "".join(content), "refusal": None,
               "annotations": final["delta"].get("annotations", [])}
    return {
        "id": last["id"], "object": "chat.completion", "created": last["created"], "model": last["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": final["finish_reason"], "logprobs": None}],
        "usage": usage, **more,
    }
