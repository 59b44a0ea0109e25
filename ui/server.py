"""`newsrag serve`: the HTTP API at /v1 (with the admin routes) and the Gradio chat at /, in one uvicorn server.

On an address other than loopback the server refuses to start without a key (NEWSRAG_API_KEY or
NEWSRAG_ADMIN_KEY, or a key file) unless `--insecure` says that an open server is intended. Any key
closes the whole server (reads too, so with only an admin key only its holder reads), and the chat
asks for a login: user `admin` with the admin key, any other name with the API key. The port is
checked before anything loads.
"""

from __future__ import annotations

import argparse
import errno
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.auth import Access, is_loopback
from rag.cli import add_store_options, settings_from
from rag.errors import ConfigError
from rag.runtime import go_offline
from rag.store import ownership

if TYPE_CHECKING:
    from rag import Assistant


def build_app(assistant: Assistant, access: Access | None = None) -> Any:
    """The FastAPI app: the API (rag.api) and admin routes (index.api), with the chat (ui.chat) mounted at "/"."""
    go_offline()
    import gradio as gr

    from index.api import admin_router
    from index.store_api import store_router
    from rag.api import add_api_fallback, create_app

    from .chat import build_chat

    access = access or Access.from_settings(assistant.settings)
    app = create_app(assistant, access)
    app.include_router(admin_router())
    app.include_router(store_router())
    add_api_fallback(app)  # unknown /v1 routes get the API's JSON errors, not the chat's
    blocks = build_chat(assistant, access=access)
    return gr.mount_gradio_app(
        app, blocks, path="/", show_error=True, ssr_mode=False, max_file_size=assistant.settings.max_article_bytes,
        **chat_login(access),
    )


def chat_login(access: Access) -> dict[str, Any]:
    """Gradio's login arguments when keys are set (none when the server is open)."""
    if not access.enabled:
        return {}
    who = "user admin with the admin key" + (", or any name with the API key" if access.api_key else "")
    return {"auth": lambda user, password: access.role(user, password) is not None,
            "auth_message": f"Log in to newsrag: {who}."}


def check_exposure(host: str, access: Access, insecure: bool) -> None:
    """Refuse to listen beyond this machine without a key, unless `--insecure`."""
    if is_loopback(host) or access.enabled or insecure:
        return
    raise ConfigError(
        f"refusing to serve on {host} without a key: anyone who can reach it could read and change the "
        "library. Set NEWSRAG_API_KEY and NEWSRAG_ADMIN_KEY (or api_key_file / admin_key_file), or pass "
        "--insecure to serve it open on purpose"
    )


def port_number(text: str) -> int:
    """argparse type of --port: a TCP port, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; give --port a number from 1 to 65535")
    return port


def check_port(host: str, port: int) -> None:
    """Raise ConfigError, naming --port, when this process cannot listen on `host`:`port` (in use, not allowed).

    Run before anything is loaded, so a busy port costs a second, not a model load and a traceback.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host!r}: {exc.strerror}; give --host an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a closed server's port is free
        try:
            sock.bind(address)
        except OSError as exc:
            raise ConfigError(_bind_problem(host, port, exc)) from None


def _bind_problem(host: str, port: int, exc: OSError) -> str:
    where = f"port {port} on {host}"
    if exc.errno == errno.EADDRINUSE:
        free = _free_port(host, port)
        return f"{where} is already in use (another server listens there); choose a free one with --port, e.g. --port {free}"
    if exc.errno == errno.EACCES:
        return f"{where} needs administrator rights; choose one above 1023 with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: it is not an address of this machine; check --host"
    return f"cannot listen on {where} ({exc.strerror}); choose another with --port"


def _free_port(host: str, port: int) -> int:
    for candidate in range(port + 1, min(port + 50, 65535) + 1):
        try:
            check_port(host, candidate)
        except ConfigError:
            continue
        return candidate
    return 8000


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 8000, insecure: bool = False) -> None:
    """Serve the API and the chat until interrupted; prints the URLs."""
    import uvicorn

    from rag import logs

    access = Access.from_settings(assistant.settings)
    check_exposure(host, access, insecure)
    logs.configure(assistant.settings, secrets=[k for k in (access.api_key, access.admin_key) if k])
    finish_interrupted_uploads(assistant)
    app = build_app(assistant, access)
    shown = f"[{host}]" if ":" in host else host
    print(f"newsrag on http://{shown}:{port}/  (API: http://{shown}:{port}/v1, docs: http://{shown}:{port}/docs); "
          f"{access.describe()}", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False,
                                           log_config=None))
    if not assistant.settings.chroma_url:  # the server owns its embedded store; others go through its API
        app.state.owner_token = ownership.new_token()
        claim_when_listening(server, assistant.settings.store, local_url(host, port), app.state.owner_token)
    server.run()


def local_url(host: str, port: int) -> str:
    """The address this machine reaches a server listening on `host` at (a wildcard means loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def claim_when_listening(server: Any, store: Path, url: str, token: str | None) -> None:
    """Advertise this process as the store's owner (rag.store.ownership) once uvicorn accepts connections."""
    def wait() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            ownership.advertise(store, url, token, "newsrag serve")

    threading.Thread(target=wait, name="newsrag-owner", daemon=True).start()


def finish_interrupted_uploads(assistant: Assistant) -> None:
    """Ingest the uploads a killed server saved but never ingested, delete half-written ones; say so."""
    from index.uploads import recover_uploads

    report, deleted = recover_uploads(assistant.settings, assistant.embedder)
    if report is not None:
        print(f"picked up the uploads an interrupted request left: {report.summary()}", flush=True)
        for origin, reason in report.failed:
            print(f"failed: {reason}" if origin in reason else f"failed: {origin}: {reason}", flush=True)
    if deleted:
        print(f"deleted {len(deleted)} half-written or unreadable upload(s) an interrupted request left", flush=True)


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.assistant import open as open_assistant

    check_port(args.host, args.port)  # before anything loads
    settings = settings_from(args).with_overrides(answerer=args.answerer)
    check_exposure(args.host, Access.from_settings(settings), args.insecure)
    serve(open_assistant(settings=settings), host=args.host, port=args.port, insecure=args.insecure)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve_cmd = sub.add_parser("serve", help="serve the HTTP API (/v1, docs at /docs) and the chat (/)")
    add_store_options(serve_cmd)
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    serve_cmd.add_argument("--port", type=port_number, default=8000, help="port (default 8000)")
    serve_cmd.add_argument("--answerer", help="answerer backend (default: from settings)")
    serve_cmd.add_argument("--insecure", action="store_true",
                           help="serve on a non-loopback address without any key (anyone can read and change the library)")
    serve_cmd.set_defaults(func=cmd_serve)
