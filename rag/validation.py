"""Checks on what a user asks before anything is searched: the question text and the filters.

Each problem is one QueryError that says what is wrong and what to write instead; the CLI, the HTTP API
and the chat show that message as it is (exit code 5, HTTP 422, a warning in the chat).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence

from .errors import QueryError
from .records import Filters
from .store.rows import site_key

EXAMPLE = "What did Milley say about ISIS-K?"
_WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c")
_SHOWN_SITES = 8
_FILTER_FIELDS = ("since", "until", "sources", "article_ids")


def check_question(question: object, max_chars: int) -> str:
    """The question with its whitespace normalised, or QueryError when it cannot be a question."""
    if not isinstance(question, str):
        raise QueryError(f"the question must be text, not {type(question).__name__}")
    bad = next((i for i, ch in enumerate(question) if _not_text(ch)), None)
    if bad is not None:
        what = "half of a UTF-16 pair" if unicodedata.category(question[bad]) == "Cs" else "a control character"
        raise QueryError(
            f"the question contains U+{ord(question[bad]):04X}, {what}, at position {bad}; remove it and ask again"
        )
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in question).split())
    if not cleaned:
        raise QueryError(f"the question is empty; type a question such as '{EXAMPLE}'")
    if len(cleaned) > max_chars:
        raise QueryError(
            f"the question is {len(cleaned):,} characters long; the limit is {max_chars:,} "
            "(NEWSRAG_MAX_QUESTION_CHARS): ask a shorter question"
        )
    if not any(ch.isalnum() for ch in cleaned):
        raise QueryError(f"the question has no words, only punctuation or symbols; ask in words, e.g. '{EXAMPLE}'")
    return cleaned


def _not_text(ch: str) -> bool:
    """NUL and other control characters (tabs and line breaks are fine), and lone UTF-16 surrogates."""
    category = unicodedata.category(ch)
    return (category == "Cc" and ch not in _WHITESPACE_CONTROLS) or category == "Cs"


def as_filters(value: object) -> Filters | None:
    """Filters from a Filters, a dict of its fields, or None; QueryError for anything else."""
    if value is None or isinstance(value, Filters):
        return None if value is None or value.is_empty() else value
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in value if k not in _FILTER_FIELDS)
        if unknown:
            raise QueryError(f"unknown filter {', '.join(unknown)}; filters are {', '.join(_FILTER_FIELDS)}")
        filters = Filters(**{str(k): v for k, v in value.items()})
        return None if filters.is_empty() else filters
    raise QueryError(f"filters must be a rag.Filters or a dict such as {{'since': '2021-08-01'}}, not {type(value).__name__}")


def check_filters(filters: Filters | None, sites: Sequence[str], versions: Mapping[str, str]) -> None:
    """QueryError when a filter names a site or an article the collection does not hold.

    `sites` are the stored articles' sites (most frequent first), `versions` the stored article ids.
    """
    if filters is None:
        return
    stored = {site_key(s) for s in sites}
    unknown = [s for s in filters.sources if site_key(s) and site_key(s) not in stored]
    if unknown:
        shown = ", ".join(sites[:_SHOWN_SITES]) + (f" and {len(sites) - _SHOWN_SITES} more" if len(sites) > _SHOWN_SITES else "")
        choices = f"the stored sources are: {shown}" if sites else "no stored article names its source"
        raise QueryError(f"no stored article comes from {_listing(unknown)}; {choices} (or drop the source filter)")
    missing = [a for a in filters.article_ids if a not in versions]
    if missing:
        raise QueryError(
            f"article {_listing(missing)} is not stored; take ids from `newsrag list` or GET /v1/articles"
        )


def _listing(names: Sequence[str]) -> str:
    quoted = [repr(n) for n in names[:3]]
    return ", ".join(quoted) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")
