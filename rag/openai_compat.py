"""Answers in the OpenAI chat-completions format, so OpenAI clients and Open WebUI can use newsrag as a model.

The cited sources travel twice: as a numbered list at the end of the message text (what a plain
chat client shows) and as an extra `sources` field (what a client that knows newsrag reads).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from .records import Answer

MODEL_NAME = "newsrag"


def sources_text(answer: Answer) -> str:
    """The cited sources as a numbered list, matching the [n] markers; empty for a refusal."""
    cited = answer.cited_sources
    if answer.refused or not cited:
        return ""
    lines = ["", "", "Sources:"]
    for n, source in enumerate(cited, start=1):
        where = ", ".join(x for x in (source.site, source.date) if x)
        line = f"[{n}] {source.title or 'Untitled article'}" + (f" ({where})" if where else "")
        lines.append(line + (f" {source.url}" if source.url else ""))
    return "\n".join(lines)


def extras(answer: Answer) -> dict[str, Any]:
    """The newsrag fields added to an OpenAI response."""
    data = answer.to_dict()
    cited = {s.chunk_id for s in answer.cited_sources}
    return {
        "sources": [s for s in data["sources"] if s["chunk_id"] in cited],
        "citations": data["citations"],
        "newsrag": {k: data[k] for k in ("refused", "verified", "rewritten_question", "answerer", "timings", "unsupported")},
    }


def completion(answer: Answer, model: str) -> dict[str, Any]:
    """A whole `chat.completion` object."""
    text = answer.text + sources_text(answer)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model or MODEL_NAME,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        **extras(answer),
    }


def completion_chunks(stream: Iterator[str | Answer], model: str) -> Iterator[dict[str, Any]]:
    """`chat.completion.chunk` objects: the text deltas, the sources list, then a last chunk with the extras."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model or MODEL_NAME}

    def chunk(delta: dict[str, Any], finish: str | None = None, **more: Any) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **more}

    yield chunk({"role": "assistant", "content": ""})
    for item in stream:
        if isinstance(item, Answer):
            tail = sources_text(item)
            if tail:
                yield chunk({"content": tail})
            yield chunk({}, "stop", **extras(item))
        elif item:
            yield chunk({"content": item})


def models() -> dict[str, Any]:
    """GET /v1/models: the one model newsrag serves."""
    return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "newsrag"}]}
