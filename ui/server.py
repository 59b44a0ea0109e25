"""`newsrag serve`: the HTTP API at /v1 and the Gradio chat at /, in one uvicorn server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rag.cli import add_store_options, settings_from
from rag.runtime import go_offline

if TYPE_CHECKING:
    from rag import Assistant


def build_app(assistant: Assistant) -> Any:
    """The FastAPI app: the API (rag.api) with the chat (ui.chat.build_chat) mounted at "/"."""
    go_offline()
    import gradio as gr

    from rag.api import create_app

    from .chat import build_chat

    app = create_app(assistant)
    return gr.mount_gradio_app(app, build_chat(assistant), path="/", show_error=True, ssr_mode=False)


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and the chat until interrupted; prints the URLs."""
    import uvicorn

    app = build_app(assistant)
    print(f"newsrag on http://{host}:{port}/  (API: http://{host}:{port}/v1, docs: http://{host}:{port}/docs)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.assistant import open as open_assistant

    settings = settings_from(args).with_overrides(answerer=args.answerer)
    serve(open_assistant(settings=settings), host=args.host, port=args.port)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve_cmd = sub.add_parser("serve", help="serve the HTTP API (/v1, docs at /docs) and the chat (/)")
    add_store_options(serve_cmd)
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve_cmd.add_argument("--answerer", help="answerer backend (default: from settings)")
    serve_cmd.set_defaults(func=cmd_serve)
