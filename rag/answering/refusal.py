"""The refusal message: say plainly that the articles do not answer, what the collection covers, and the closest articles."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..records import Filters, Source
from ..store.collection import Store


@dataclass(frozen=True)
class Coverage:
    """What the stored collection holds, in a few figures."""

    articles: int
    first_date: str | None
    last_date: str | None
    sites: tuple[str, ...]  # the three most frequent
    site_count: int
    all_sites: tuple[str, ...] = ()  # every site, most frequent first

    def describe(self) -> str:
        if not self.articles:
            return "The collection is empty: ingest articles with `newsrag ingest PATH`."
        parts = [f"The collection holds {self.articles} article{'s' if self.articles != 1 else ''}"]
        if self.sites:
            more = self.site_count - len(self.sites)
            parts.append("from " + ", ".join(self.sites) + (f" and {more} other site{'s' if more != 1 else ''}" if more > 0 else ""))
        if self.first_date and self.last_date:
            parts.append(f"dated {self.first_date} to {self.last_date}" if self.first_date != self.last_date else f"dated {self.first_date}")
        return " ".join(parts) + "."


class CollectionSummary:
    """The collection's Coverage, recomputed only when the store changed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cached: tuple[str, Coverage] | None = None
        self._lock = threading.Lock()

    def get(self) -> Coverage:
        revision = self.store.revision()
        with self._lock:
            if self._cached is None or self._cached[0] != revision:
                self._cached = (revision, self._compute())
            return self._cached[1]

    def _compute(self) -> Coverage:
        """Two registry keys, not every article's record: at 40k articles, 8 s through Chroma's `get` made the
        first refusal of a new process the slowest answer it gave (docs/benchmarks.md, cold start)."""
        dates = sorted(d for d in self.store.registry_values("date").values() if d)
        sites = Counter(s for s in self.store.registry_values("site").values() if s)
        ranked = sorted(sites, key=lambda site: (-sites[site], site))  # most articles first, ties by name
        return Coverage(
            articles=self.store.count_articles(),
            first_date=dates[0] if dates else None,
            last_date=dates[-1] if dates else None,
            sites=tuple(ranked[:3]),
            site_count=len(sites),
            all_sites=tuple(ranked),
        )


def describe_filters(filters: Filters | None) -> str:
    """Filters in words: "dated on or after 2021-10-01, from antiwar.com"."""
    if filters is None or filters.is_empty():
        return ""
    parts = []
    if filters.since:
        parts.append(f"dated on or after {filters.since.isoformat()}")
    if filters.until:
        parts.append(f"dated on or before {filters.until.isoformat()}")
    if filters.sources:
        parts.append("from " + ", ".join(filters.sources))
    if filters.article_ids:
        parts.append(f"among {len(filters.article_ids)} chosen article{'s' if len(filters.article_ids) != 1 else ''}")
    return ", ".join(parts)


def refusal_message(passages: Sequence[Source], coverage: Coverage, filters: Filters | None = None) -> str:
    """Say the articles do not answer; describe the collection and point at the closest articles."""
    restriction = describe_filters(filters)
    if not passages:
        head = "Not in the articles: no stored article" + (f" {restriction}" if restriction else "") + " matches this question."
    else:
        scope = f" the articles {restriction}" if restriction else " the stored articles"
        head = f"Not in the articles: none of{scope} answers this question."
    lines = [head, coverage.describe()]
    titles: list[str] = []
    for p in passages:
        label = f"“{p.title}”" + (f" ({p.date})" if p.date else "")
        if p.title and label not in titles:
            titles.append(label)
    if titles:
        lines.append("Closest articles: " + "; ".join(titles[:3]) + ".")
    return " ".join(lines)
