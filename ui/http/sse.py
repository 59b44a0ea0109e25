"""Server-sent events: the wire format of every streamed answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.responses import StreamingResponse


def sse(event: str | None, data: dict[str, Any]) -> str:
    """One server-sent event (no `event:` line when `event` is None, as OpenAI streams)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n"


def event_stream(events: Iterator[str]) -> StreamingResponse:
    """A server-sent-events response that proxies do not buffer."""
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)
