"""What every newsrag server checks and does as it starts (`newsrag serve` and `newsrag ui` alike).

The port is checked before anything loads; an address other than loopback needs a key (NEWSRAG_API_KEY or
NEWSRAG_ADMIN_KEY, or a key file) unless `--insecure` says that an open server is intended; with keys the
chat asks for a login (user `admin` with the admin key, any other name with the API key); uploads an
interrupted server left are finished.
"""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING, Any

from rag.errors import ConfigError

from .auth import Access, is_loopback

if TYPE_CHECKING:
    from rag import Assistant


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


def local_url(host: str, port: int) -> str:
    """The address this machine reaches a server listening on `host` at (a wildcard means loopback)."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


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
