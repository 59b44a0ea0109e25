"""The `newsrag` command: every package's commands under one parser (`rag.cli.run`), and the servers' own.

Each package registers its commands; `GROUPS` lists them in the order `newsrag --help` shows them. This
module registers `ui` (the chat alone) and `serve` (the HTTP API with the chat, `ui.http`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eval import cli as eval_cli
from eval.bench import cli as bench_cli
from index import cli as index_cli
from index import store_cli
from rag import commands, integrations
from rag.cli import Register, add_store_options, run, settings_from


def cmd_ui(args: argparse.Namespace) -> int:
    from rag.composition import open as open_assistant

    from .http.auth import Access
    from .http.server import serve_chat
    from .http.serving import check_exposure, check_port

    check_port(args.host, args.port)  # before anything loads
    settings = settings_from(args)
    check_exposure(args.host, Access.from_settings(settings), args.insecure)
    serve_chat(open_assistant(settings=settings), host=args.host, port=args.port, insecure=args.insecure)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rag.composition import open as open_assistant

    from .http.auth import Access
    from .http.server import serve
    from .http.serving import check_exposure, check_port

    check_port(args.host, args.port)  # before anything loads
    settings = settings_from(args).with_overrides(answerer=args.answerer)
    check_exposure(args.host, Access.from_settings(settings), args.insecure)
    serve(open_assistant(settings=settings), host=args.host, port=args.port, insecure=args.insecure)
    return 0


def port_number(text: str) -> int:
    """argparse type of --port: a TCP port, 1 to 65535."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port; give --port a number from 1 to 65535")
    return port


def _server_options(parser: argparse.ArgumentParser, port: int) -> None:
    add_store_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=port, help=f"port (default {port})")


INSECURE = "serve on a non-loopback address without any key (anyone can read and change the library)"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `ui` and `serve` to a subcommand parser."""
    ui = sub.add_parser("ui", help="open the chat in the browser (Gradio)")
    _server_options(ui, 7860)
    ui.add_argument("--insecure", action="store_true", help=INSECURE)
    ui.set_defaults(func=cmd_ui)

    serve = sub.add_parser("serve", help="serve the HTTP API (/v1, docs at /docs) and the chat (/)")
    _server_options(serve, 8000)
    serve.add_argument("--answerer", help="answerer backend (default: from settings)")
    serve.add_argument("--insecure", action="store_true", help=INSECURE)
    serve.set_defaults(func=cmd_serve)


def main(argv: Sequence[str] | None = None) -> int:
    """`newsrag ARGS`."""
    return run(GROUPS, argv)


GROUPS: list[Register] = [index_cli.register, commands.register, store_cli.register, eval_cli.register, register,
                          bench_cli.register, integrations.register]


if __name__ == "__main__":
    sys.exit(main())
