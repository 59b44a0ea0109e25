"""The `newsrag` command: every command group (core, ingestion, chat) under one name."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eval import cli as eval_cli
from eval.bench import cli as bench_cli
from index import cli as index_cli
from index import store_cli
from rag import cli as rag_cli
from rag import integrations
from rag.cli import add_store_options, settings_from

from . import server


def cmd_ui(args: argparse.Namespace) -> int:
    from rag.assistant import open as open_assistant
    from rag.auth import Access

    from .chat import launch
    from .server import check_exposure, check_port

    check_port(args.host, args.port)  # before anything loads
    settings = settings_from(args)
    check_exposure(args.host, Access.from_settings(settings), args.insecure)
    launch(open_assistant(settings=settings), host=args.host, port=args.port, insecure=args.insecure)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    ui = sub.add_parser("ui", help="open the chat in the browser (Gradio)")
    add_store_options(ui)
    ui.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    ui.add_argument("--port", type=server.port_number, default=7860, help="port (default 7860)")
    ui.add_argument("--insecure", action="store_true",
                    help="serve on a non-loopback address without any key (anyone can read and change the library)")
    ui.set_defaults(func=cmd_ui)


def main(argv: Sequence[str] | None = None) -> int:
    return rag_cli.run(
        [index_cli.register, rag_cli.register, store_cli.register, eval_cli.register, register, server.register,
         bench_cli.register, integrations.register], argv
    )


if __name__ == "__main__":
    sys.exit(main())
