"""The routers, one per area (answers, openai, service, admin, store), and what their routes share.

Each module has `router()`; `ui.http.app.create_app` includes the read routers and `ui.http.server.build_app`
the admin and store routers too. A route finds the Assistant the app serves with `assistant_of(request)`.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from rag import Assistant
from rag.errors import QueryError

from ..schemas import FiltersIn, Message


def assistant_of(request: Request) -> Assistant:
    """The Assistant the app serves."""
    return request.app.state.assistant  # type: ignore[no-any-return]


def filters_of(filters: FiltersIn | None) -> Any:
    """The request's filters as `rag.Filters` (None: none)."""
    return filters.to_filters() if filters else None


def split_conversation(messages: list[Message]) -> tuple[str, list[dict[str, str]]]:
    """The last user message is the question; user and assistant messages before it are the history."""
    if messages[-1].role != "user":
        raise QueryError(f"the last message must come from the user (it has role {messages[-1].role!r})")
    history = [{"role": m.role, "content": m.text()} for m in messages[:-1] if m.role in ("user", "assistant")]
    return messages[-1].text(), history
