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
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    store: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing failed (skipped files do not count as failures)."""
        return not self.failed

    @property
    def articles(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        rate = self.chunks / self.seconds if self.seconds > 0 else 0.0
        line = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.skipped)} skipped, {len(self.failed)} failed; "
            f"{self.chunks} chunks embedded in {self.seconds:.1f}s ({rate:.1f} chunks/s) -> {self.store}"
        )
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
            "skipped": [{"origin": o, "reason": r} for o, r in self.skipped],
            "failed": [{"origin": o, "reason": r} for o, r in self.failed],
            "store": self.store,
            "ok": self.ok,
        }
