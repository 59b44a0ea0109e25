"""`newsrag serve`: the HTTP API at /v1 (with the admin and owner routes) and the Gradio chat at /, in one
uvicorn server.

Any key closes the whole server (reads too, so with only an admin key only its holder reads); the start-up
checks (port, exposure, login, interrupted uploads) are `serving`'s. An embedded store is owned by the
server once it listens (rag.store.ownership), and other newsrag processes send their commands to `/v1/store`.
"""

from __future__ import annotations

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

GRADIO_UPLOAD_PATHS = ("/gradio_api/upload", "/upload")  # the chat's file uploads (Gradio's routes)


def build_app(assistant: Assistant, access: Access | None = None) -> Any:
    """The FastAPI app: the API and the admin and owner routes, with the chat (ui.chat) mounted at "/"."""
    import gradio as gr  # `import rag` went offline first: Gradio reads its analytics setting when imported

    access = access or Access.from_settings(assistant.settings)
    app = create_app(assistant, access)
    admin.add_admin_routes(app)
    app.include_router(store.router())
    add_api_fallback(app)  # unknown /v1 routes get the API's JSON errors, not the chat's
    add_upload_paths(app, *GRADIO_UPLOAD_PATHS)
    blocks = build_chat(assistant, access=access)
    return gr.mount_gradio_app(
        app, blocks, path="/", show_error=True, ssr_mode=False, max_file_size=assistant.settings.max_article_bytes,
        **chat_login(access),
    )


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
    # on Ctrl-C or SIGTERM, requests get SHUTDOWN_GRACE seconds to finish; then open streams (a chat tab's Gradio
    # heartbeat never ends by itself) are cancelled, so a browser left open does not keep the server running
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           log_config=None, timeout_graceful_shutdown=SHUTDOWN_GRACE))
    if not assistant.settings.chroma_url:  # the server owns its embedded store; others go through its API
        app.state.owner_token = ownership.new_token()
        claim_when_listening(server, assistant.settings.store, local_url(host, port), app.state.owner_token)
    server.run()


def claim_when_listening(server: Any, store: Path, url: str, token: str | None) -> None:
    """Advertise this process as the store's owner (rag.store.ownership) once uvicorn accepts connections."""
    def wait() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            ownership.advertise(store, url, token, "newsrag serve")

    threading.Thread(target=wait, name="newsrag-owner", daemon=True).start()
