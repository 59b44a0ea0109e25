"""The core's commands: `ask`, `timeline`, `status`, `config` (the parser and error policy are `rag.cli`'s)."""

from __future__ import annotations

import argparse
import json
import textwrap
from datetime import date
from typing import TYPE_CHECKING

from .cli import add_store_options, print_json, settings_from
from .errors import ConfigError, QueryError
from .records import Answer, Filters

if TYPE_CHECKING:
    from .answering.timeline import Timeline


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
    from .composition import open as open_assistant
    from .store.owner_client import OwnerClient, answer_from_dict, routed

    settings = settings_from(args).with_overrides(answerer=args.answerer, retrieval_mode=args.retrieval)
    filters = filters_from(args)

    def there(owner: OwnerClient) -> Answer:
        if args.answerer or args.retrieval:
            raise ConfigError(f"the store at {settings.store} is served by {owner.describe()}, which answers with "
                              "its own answerer and retrieval; drop --answerer/--retrieval, or stop it first")
        return answer_from_dict(owner.ask(args.question, filters, args.top_k, args.as_of))

    answer = routed(settings, lambda: open_assistant(settings=settings).ask(args.question, filters=filters,
                                                                            top_k=args.top_k, as_of=args.as_of), there)
    if args.json:
        print_json(answer.to_dict())
    else:
        print(format_answer(answer))
    return 0


def format_answer(answer: Answer) -> str:
    """An answer for the terminal: the text, then each cited passage with its supporting sentence marked."""
    lines = [textwrap.fill(line, 100) if line.strip() else "" for line in answer.text.splitlines()] + [""]
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
    from .composition import open as open_assistant
    from .store.owner_client import routed

    settings = settings_from(args)
    status = routed(settings, lambda: open_assistant(settings=settings).status(), lambda owner: owner.status())
    if args.json:
        print_json(status)
    else:
        width = max(len(k) for k in status)
        for key, value in status.items():
            shown = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
            print(f"{key:<{width}}  {shown}")
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


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    """--since, --until, --source, --article and --as-of."""
    parser.add_argument("--since", help="only articles dated on or after YYYY-MM-DD")
    parser.add_argument("--until", help="only articles dated on or before YYYY-MM-DD")
    parser.add_argument("--source", action="append", help="only articles from this site (repeatable)")
    parser.add_argument("--article", action="append", help="only this article id (repeatable)")
    parser.add_argument("--as-of", help="what was known then: YYYY-MM-DD (the end of that day) or an ISO time; later "
                                        "articles are not used and 'last week' is read from it (default: now)")


def cmd_timeline(args: argparse.Namespace) -> int:
    from .composition import open as open_assistant

    assistant = open_assistant(settings=settings_from(args).with_overrides(retrieval_mode=getattr(args, "retrieval", None)))
    timeline = assistant.timeline(args.topic, filters=filters_from(args), as_of=args.as_of, top_k=args.top_k)
    if args.json:
        print_json(timeline.to_dict())
    elif not timeline.events:
        print(f"No article{' dated ' + timeline.window.describe() if timeline.window else ''} reports events of "
              f"“{timeline.topic}”.")
    else:
        print(format_timeline(timeline))
    return 0


def format_timeline(timeline: Timeline) -> str:
    """A timeline for the terminal: a heading per day, the events with their markers, then the sources."""
    lines = [line for line in timeline.text().splitlines()]
    wrapped = [textwrap.fill(line, 100, subsequent_indent="  ") if line.startswith("- ") else line for line in lines]
    sources = ["", "Sources:"]
    for n, source in enumerate(timeline.sources, start=1):
        where = ", ".join(x for x in (source.site, source.date) if x)
        sources.append(f"[{n}] {source.title}" + (f" — {where}" if where else "") + (f"\n    {source.url}" if source.url else ""))
    return "\n".join(wrapped + sources)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the core commands to a subcommand parser."""
    ask = sub.add_parser("ask", help="answer a question with cited passages")
    ask.add_argument("question")
    add_store_options(ask)
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    ask.add_argument("--answerer", help="answerer backend (default: from settings)")
    ask.add_argument("--top-k", type=int, help="passages given to the answerer")
    ask.add_argument("--retrieval", choices=["hybrid", "rrf", "dense", "bm25"], help="how passages are found (default: hybrid)")
    add_filter_options(ask)
    ask.set_defaults(func=cmd_ask)

    timeline = sub.add_parser("timeline", help="how a story unfolded: cited sentences by day")
    timeline.add_argument("topic", help='the story, e.g. "Kabul drone strike"')
    add_store_options(timeline)
    timeline.add_argument("--json", action="store_true", help="print the timeline as JSON")
    timeline.add_argument("--top-k", type=int, help="passages read (default 30)")
    add_filter_options(timeline)
    timeline.set_defaults(func=cmd_timeline)

    status = sub.add_parser("status", help="articles, chunks, model, build settings and store path")
    add_store_options(status)
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    config = sub.add_parser("config", help="print the effective settings")
    add_store_options(config)
    config.add_argument("--json", action="store_true")
    config.set_defaults(func=cmd_config)
