"""`newsrag serve`: the HTTP API at /v1 (with the admin and owner routes) and the Gradio chat at /, in one
uvicorn server.

Any key closes the whole server (reads too, so with only an admin key only its holder reads); the start-up
checks (port, exposure, login, interrupted uploads) are `serving`'s. An embedded store is owned by the
server once it listens (rag.store.ownership), and other newsrag processes send their commands to `/v1/store`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from rag import Assistant, logs
from rag.store import ownership

from ..chat import build_chat
from .app import add_api_fallback, create_app
from .auth import Access
from .middleware import add_upload_paths
from .routes import admin, store
from .serving import chat_login, check_exposure, finish_interrupted_uploads, local_url

log = logging.getLogger("rag.http")

GRADIO_UPLOAD_PATHS = ("/gradio_api/upload", "/upload")  # the chat's file uploads (Gradio's routes)


def build_app(assistant: Assistant, access: Access | None = None) -> Any:
    """The FastAPI app: the API and the admin and owner routes, with the chat (ui.chat) mounted at "/"."""
    access = access or Access.from_settings(assistant.settings)
    app = create_app(assistant, access)
    admin.add_admin_routes(app)
    app.include_router(store.router())
    add_api_fallback(app)  # unknown /v1 routes get the API's JSON errors, not the chat's
    add_upload_paths(app, *GRADIO_UPLOAD_PATHS)
    return _mount_chat(app, build_chat(assistant, access=access), assistant, access)


def _mount_chat(app: Any, blocks: Any, assistant: Assistant, access: Access, **extra: Any) -> Any:
    """`blocks` mounted at "/" of `app`, as both servers serve the chat (uploads capped, login when keyed)."""
    import gradio as gr  # `import rag` went offline first: Gradio reads its analytics setting when imported

    return gr.mount_gradio_app(app, blocks, path="/", show_error=True, ssr_mode=False,
                               max_file_size=assistant.settings.max_article_bytes, **chat_login(access), **extra)


SHUTDOWN_GRACE = 10  # seconds (an upload cut short is finished by the next start: finish_interrupted_uploads)


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 8000, insecure: bool = False) -> None:
    """Serve the API and the chat until interrupted; prints the URLs."""
    access = Access.from_settings(assistant.settings)
    check_exposure(host, access, insecure)
    logs.configure(assistant.settings, secrets=[k for k in (access.api_key, access.admin_key) if k])
    finish_interrupted_uploads(assistant)
    app = build_app(assistant, access)
    shown = f"[{host}]" if ":" in host else host
    print(f"newsrag on http://{shown}:{port}/  (API: http://{shown}:{port}/v1, docs: http://{shown}:{port}/docs); "
          f"{access.describe()}", flush=True)
    server = _server(app, assistant, host, port, structured=True)
    if not assistant.settings.chroma_url:  # the server owns its embedded store; others go through its API
        app.state.owner_token = ownership.new_token()
        claim_when_listening(server, assistant.settings.store, local_url(host, port), app.state.owner_token)
    server.run()


def serve_chat(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, insecure: bool = False) -> None:
    """`newsrag ui`: the chat alone, without the API; blocks until interrupted. Keys and exposure rules as for
    `newsrag serve`, and it stops the same way (Ctrl-C or SIGTERM, with the grace period, letting go of the store)."""
    from fastapi import FastAPI

    access = Access.from_settings(assistant.settings)
    check_exposure(host, access, insecure)
    finish_interrupted_uploads(assistant)
    blocks = build_chat(assistant, access=access).queue(default_concurrency_limit=1)
    app = _mount_chat(FastAPI(docs_url=None, redoc_url=None, openapi_url=None), blocks, assistant, access,
                      footer_links=[], run_history=False)
    print(f"newsrag chat on http://{host}:{port}; {access.describe()}", flush=True)
    if not assistant.settings.chroma_url:  # it owns the store; it takes no commands from other processes
        ownership.advertise(assistant.settings.store, local_url(host, port), None, "newsrag ui")
    _server(app, assistant, host, port, structured=False).run()


class _Server(uvicorn.Server):
    """uvicorn's server, which lets go of the embedded store once it has shut down.

    On Ctrl-C or SIGTERM uvicorn gives open requests SHUTDOWN_GRACE seconds, closes the streams still open (a chat
    tab's Gradio heartbeat never ends by itself, so a browser left open does not keep the server running), then
    raises the signal again, which ends the process without Python's exit handlers. So the store is let go here,
    in between: its files are signed and the next start skips the full store check (rag.store.check), unless a
    write is still under way in a thread the shutdown did not stop.
    """

    def __init__(self, config: uvicorn.Config, assistant: Assistant, structured: bool) -> None:
        super().__init__(config)
        self.assistant = assistant
        self.structured = structured

    async def shutdown(self, sockets: Any = None) -> None:
        note = f"stopping; open requests get {SHUTDOWN_GRACE} s, then open chat tabs are disconnected"
        if self.structured:  # `newsrag serve` logs JSON lines; `newsrag ui` talks to the terminal
            log.info(note)
        else:
            print(f"newsrag: {note}", flush=True)
        await super().shutdown(sockets)
        self.assistant.let_go()


class _ShutdownNoise(logging.Filter):
    """A chat stream cut at the end of the grace period is how the server stops, not an application error: uvicorn's
    traceback for it is dropped, and its "Cancel N running task(s)" line is kept as information."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            return False
        if "graceful shutdown exceeded" in record.getMessage():
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def _server(app: Any, assistant: Assistant, host: str, port: int, structured: bool) -> _Server:
    noise = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _ShutdownNoise) for f in noise.filters):
        noise.addFilter(_ShutdownNoise())
    return _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, log_config=None,
                                  timeout_graceful_shutdown=SHUTDOWN_GRACE), assistant, structured)


def claim_when_listening(server: Any, store: Path, url: str, token: str | None) -> None:
    """Advertise this process as the store's owner (rag.store.ownership) once uvicorn accepts connections."""
    def wait() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            ownership.advertise(store, url, token, "newsrag serve")

    threading.Thread(target=wait, name="newsrag-owner", daemon=True).start()
