"""The ingest report: what was added, updated, left unchanged, skipped or failed, and how fast."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class IngestReport:
    """Counts per outcome; `skipped` and `failed` carry (origin, reason) pairs."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0  # chunks written (embedded) by this run
    repaired: int = 0  # orphan chunks of an interrupted earlier run, removed
    rebuilt: int = 0  # stored articles chunked and embedded again because the build settings changed (index.rebuild)
    build_changes: list[str] = field(default_factory=list)  # what changed, "chunk_tokens 120 -> 60"
    seconds: float = 0.0
    embed_seconds: float = 0.0  # time spent in the embedding model
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    store: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped inputs do not count as failures)."""
        return not self.failed

    @property
    def articles(self) -> int:
        """Articles now stored from this run's sources (added, updated or unchanged)."""
        return self.added + self.updated + self.unchanged

    @property
    def done(self) -> int:
        """Articles dealt with so far, whatever the outcome (for progress)."""
        return self.articles + len(self.skipped) + self.rebuilt

    @property
    def articles_per_second(self) -> float:
        return (self.added + self.updated) / self.seconds if self.seconds > 0 else 0.0

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        line = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped, {len(self.failed)} failed; "
            f"{self.chunks} chunks in {self.seconds:.1f}s "
            f"({self.articles_per_second:.1f} articles/s, {self.chunks_per_second:.1f} chunks/s) -> {self.store}"
        )
        if self.removed:
            line = f"{self.removed} removed; " + line
        if self.rebuilt or self.build_changes:
            line = f"{self.rebuilt} stored articles rebuilt ({'; '.join(self.build_changes) or 'unfinished rebuild'}); " + line
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "repaired_orphans": self.repaired,
            "rebuilt": self.rebuilt,
            "build_changes": list(self.build_changes),
            "seconds": round(self.seconds, 3),
            "embed_seconds": round(self.embed_seconds, 3),
            "articles_per_second": round(self.articles_per_second, 2),
            "chunks_per_second": round(self.chunks_per_second, 2),
            "skipped": [{"origin": o, "reason": r} for o, r in self.skipped],
            "failed": [{"origin": o, "reason": r} for o, r in self.failed],
            "store": self.store,
            "ok": self.ok,
        }


def report_from_dict(data: dict[str, Any], store: str) -> IngestReport:
    """The report a `to_dict()` came from (another process's, e.g. the server that owns the store)."""
    def pairs(key: str) -> list[tuple[str, str]]:
        return [(str(p.get("origin", "")), str(p.get("reason", ""))) for p in data.get(key) or []]

    return IngestReport(
        added=int(data.get("added", 0)), updated=int(data.get("updated", 0)), unchanged=int(data.get("unchanged", 0)),
        removed=int(data.get("removed", 0)), chunks=int(data.get("chunks", 0)),
        repaired=int(data.get("repaired_orphans", 0)), rebuilt=int(data.get("rebuilt", 0)),
        build_changes=[str(c) for c in data.get("build_changes") or []], seconds=float(data.get("seconds", 0.0)),
        embed_seconds=float(data.get("embed_seconds", 0.0)), skipped=pairs("skipped"), failed=pairs("failed"),
        store=store,
    )
