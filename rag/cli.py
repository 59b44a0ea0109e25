"""The one command line: its parser, its error policy and the options every command shares.

Each package registers its commands (`register(sub)` in `rag.commands`, `index.cli`, `index.store_cli`,
`eval.cli`, `eval.bench.cli`, `rag.integrations`, `ui.cli`); `ui.cli.main` is `newsrag` with all of them, and
`python -m rag|index|eval` run the same parser over their own groups. Whatever a command raises ends here:
a newsrag error or a bad setting is one line on stderr and its exit code, a usage error one line and 2,
Ctrl-C 130, a closed pipe 141.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from pydantic import ValidationError

from .errors import ConfigError, NewsragError

SubParsers = argparse._SubParsersAction  # type: ignore[type-arg]
Register = Callable[[SubParsers], None]
DESCRIPTION = "Ask questions about news articles; answers cite their passages."


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2), like every other error.

    A command may have subcommands chosen by their first word beside its own arguments (`add_subcommand`):
    `newsrag eval compare A B` beside `newsrag eval QUESTIONS`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.subcommands: dict[str, argparse.ArgumentParser] = {}

    def add_subcommand(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A subcommand: `PROG NAME ...` is parsed by the parser returned, whatever files are around."""
        parser = OneLineParser(prog=f"{self.prog} {name}", **kwargs)
        self.subcommands[name] = parser
        return parser

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        words = list(sys.argv[1:] if args is None else args)
        if words and words[0] in self.subcommands:
            return self.subcommands[words[0]].parse_known_args(words[1:], namespace)
        return super().parse_known_args(words, namespace)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def add_subcommand(parser: argparse.ArgumentParser, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand of a command made by `run`'s parser: `PROG NAME ...` is always parsed by the parser returned,
    whatever files are around (`newsrag eval compare A B` beside `newsrag eval QUESTIONS`)."""
    if not isinstance(parser, OneLineParser):
        raise TypeError(f"{parser.prog} was not made by rag.cli.run's parser")
    return parser.add_subcommand(name, **kwargs)


def run(registers: Sequence[Register], argv: Sequence[str] | None = None, prog: str = "newsrag",
        description: str = DESCRIPTION, command: str | None = None) -> int:
    """Parse `argv` with the given command groups and run the command; errors print one line.

    With `command`, `prog` is that command's own name (`python -m eval` for `newsrag eval`): `argv` is its
    arguments.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    top = prog.rsplit(" ", 1)[0] if command else prog
    parser = OneLineParser(prog=top, description=description)
    if not command:  # `newsrag --store DIR ask ...` as well as `newsrag ask --store DIR ...`
        _add_global_store_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in registers:
        add(sub)
    args, extra = parser.parse_known_args([command, *words] if command else words)
    if extra:
        parser.error(_unrecognized(prog, args, extra))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    _apply_global_store_options(parser, args)
    return run_command(args.func, args, prog)


_STORE_OPTIONS = ("store", "chroma_url", "collection")


def _add_global_store_options(parser: argparse.ArgumentParser) -> None:
    """The store options before the command; they apply to it unless it is given its own."""
    group = parser.add_argument_group("store (also accepted after the command)")
    for name in _STORE_OPTIONS:  # own dest: a subcommand's default None would overwrite a shared one
        group.add_argument("--" + name.replace("_", "-"), dest="global_" + name, default=None, metavar=name.upper())


def _apply_global_store_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for name in _STORE_OPTIONS:
        value = getattr(args, "global_" + name, None)
        if value is None:
            continue
        if not hasattr(args, name):
            parser.error(f"--{name.replace('_', '-')} does not apply to `{args.command}`")
        if getattr(args, name) is None:
            setattr(args, name, value)


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace, prog: str) -> int:
    """The error policy: run one command and turn what it raises into one line and an exit code."""
    try:
        return int(func(args))
    except NewsragError as exc:
        print(f"{prog}: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:  # a setting from the environment, newsrag.toml or a flag is out of range
        print(f"{prog}: error: {_one_line(settings_problem(exc))}", file=sys.stderr)
        return ConfigError.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return interrupted()
    except BrokenPipeError:  # `newsrag list | head`: the reader has gone; exit quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141


def interrupted() -> NoReturn:
    """End the process with 130 at once, after Ctrl-C (the store was left consistent where it was written).

    A normal interpreter exit would wait on, or tear down under, the native threads the embedding model
    and Chroma still run, which aborts ("terminate called without an active exception") or segfaults.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(130)


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """--store, --chroma-url and --collection."""
    parser.add_argument("--store", help="store directory (default: $NEWSRAG_STORE or the per-user data dir)")
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--collection", help="Chroma collection name (default: newsrag)")


def settings_from(args: argparse.Namespace) -> Any:
    """The settings with the store options of `args` applied."""
    from .settings import Settings

    return Settings().with_overrides(
        store=getattr(args, "store", None),
        chroma_url=getattr(args, "chroma_url", None),
        collection=getattr(args, "collection", None),
    )


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def _unrecognized(prog: str, args: argparse.Namespace, extra: list[str]) -> str:
    """The usage error for leftover arguments; words after a question mean it was not quoted."""
    question = getattr(args, "question", None)
    if args.command == "ask" and question and not any(e.startswith("-") for e in extra):
        whole = " ".join([question, *extra]).replace('"', '\\"')
        return (f"unrecognized arguments: {' '.join(extra)}; put the question in quotes, "
                f'e.g. {prog} ask "{whole}"')
    return f"unrecognized arguments: {' '.join(extra)}"


def settings_problem(exc: ValidationError) -> str:
    """A settings validation error in one sentence: which setting, what is wrong, where to fix it."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{name} (NEWSRAG_{name.split('.')[0].upper()}): {error.get('msg')}")
    return "bad setting " + "; ".join(problems)


def _one_line(text: str) -> str:
    return " ".join(text.split())
