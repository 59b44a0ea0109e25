"""Command-line edge of the core: `ask`, `status`, `config`; errors become one line and an exit code."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, NoReturn

from pydantic import ValidationError

from .errors import ConfigError, NewsragError, QueryError
from .records import Answer, Filters

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]


def add_store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", help="store directory (default: $NEWSRAG_STORE or the per-user data dir)")
    parser.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--collection", help="Chroma collection name (default: newsrag)")


def settings_from(args: argparse.Namespace) -> Any:
    from .settings import Settings

    return Settings().with_overrides(
        store=getattr(args, "store", None),
        chroma_url=getattr(args, "chroma_url", None),
        collection=getattr(args, "collection", None),
    )


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def parse_date(value: str | None, flag: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise QueryError(f"{flag} {value!r} is not a date; use YYYY-MM-DD, e.g. {flag} 2021-08-01") from None


def filters_from(args: argparse.Namespace) -> Filters | None:
    since = parse_date(getattr(args, "since", None), "--since")
    until = parse_date(getattr(args, "until", None), "--until")
    if since and until and since > until:
        raise QueryError(f"--since {since} is after --until {until}; swap the dates or drop one")
    filters = Filters(since=since, until=until, sources=tuple(getattr(args, "source", None) or ()),
                      article_ids=tuple(getattr(args, "article", None) or ()))
    return None if filters.is_empty() else filters


def cmd_ask(args: argparse.Namespace) -> int:
    from .assistant import open as open_assistant

    settings = settings_from(args).with_overrides(answerer=args.answerer, retrieval_mode=args.retrieval)
    assistant = open_assistant(settings=settings)
    answer = assistant.ask(args.question, filters=filters_from(args), top_k=args.top_k)
    if args.json:
        print_json(answer.to_dict())
    else:
        print(format_answer(answer))
    return 0


def format_answer(answer: Answer) -> str:
    """An answer for the terminal: the text, then each cited passage with its supporting sentence marked."""
    lines = [textwrap.fill(answer.text, 100), ""]
    cited = answer.cited_sources
    if cited:
        lines.append("Sources:")
    for n, source in enumerate(cited, start=1):
        where = ", ".join(x for x in (source.site, source.date) if x)
        kind = " (reader comment)" if source.kind == "comment" else ""
        lines.append(f"[{n}] {source.title}{kind}" + (f" — {where}" if where else ""))
        if source.url:
            lines.append(f"    {source.url}")
        passage = "".join(f"»{t}«" if marked else t for t, marked in source.highlighted_parts())
        lines.extend(textwrap.wrap(" ".join(passage.split()), 96, initial_indent="    ", subsequent_indent="    "))
    if answer.refused and answer.sources:
        lines.append("Closest passages: " + "; ".join(dict.fromkeys(s.title for s in answer.sources[:3])))
    return "\n".join(lines).rstrip()


def cmd_status(args: argparse.Namespace) -> int:
    from .assistant import open as open_assistant

    status = open_assistant(settings=settings_from(args)).status()
    if args.json:
        print_json(status)
    else:
        width = max(len(k) for k in status)
        for key, value in status.items():
            print(f"{key:<{width}}  {value}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    from .settings import Settings

    fields = Settings.model_fields
    values = settings_from(args).describe()
    if args.json:
        print_json(values)
        return 0
    for name, value in values.items():
        print(f"{name} = {json.dumps(value)}    # {fields[name].description}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the core commands to a subcommand parser."""
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question")
    add_store_options(ask)
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--answerer", help="answerer backend (default: from settings)")
    ask.add_argument("--top-k", type=int, help="passages given to the answerer")
    ask.add_argument("--retrieval", choices=["hybrid", "rrf", "dense", "bm25"], help="how passages are found (default: hybrid)")
    ask.add_argument("--since", help="only articles dated on or after YYYY-MM-DD")
    ask.add_argument("--until", help="only articles dated on or before YYYY-MM-DD")
    ask.add_argument("--source", action="append", help="only articles from this site (repeatable)")
    ask.add_argument("--article", action="append", help="only this article id (repeatable)")
    ask.set_defaults(func=cmd_ask)

    status = sub.add_parser("status", help="articles, chunks, model and store path")
    add_store_options(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    config = sub.add_parser("config", help="print the effective settings")
    add_store_options(config)
    config.add_argument("--json", action="store_true")
    config.set_defaults(func=cmd_config)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see {self.prog} --help)\n")


def run(registers: Sequence[Register], argv: Sequence[str] | None = None, prog: str = "newsrag") -> int:
    """Parse `argv` with the given command groups and run the command; errors print one line."""
    parser = OneLineParser(prog=prog, description="Ask questions about news articles; answers cite their passages.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in registers:
        add(sub)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except NewsragError as exc:
        print(f"{prog}: error: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:  # a setting from the environment, newsrag.toml or a flag is out of range
        print(f"{prog}: error: {_one_line(settings_problem(exc))}", file=sys.stderr)
        return ConfigError.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `newsrag list | head`: the reader has gone; exit quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141


def settings_problem(exc: ValidationError) -> str:
    """A settings validation error in one sentence: which setting, what is wrong, where to fix it."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(p) for p in error.get("loc", ()))
        problems.append(f"{name} (NEWSRAG_{name.split('.')[0].upper()}): {error.get('msg')}")
    return "bad setting " + "; ".join(problems)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    return run([register], argv, prog="python -m rag")
