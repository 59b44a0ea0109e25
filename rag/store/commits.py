"""What a commit of the store's writer changed, handed to the store's followers (derived indexes such as BM25).

Every write moves the store's revision (`StoreWriter.bump`) and describes itself as a `Commit`: the revision
before and after, the article versions it made visible with the chunk rows it wrote, the articles it removed.
The store keeps its map of committed versions with it (`versions.CommittedVersions`), and the writer hands
it to each `CommitFollower` registered on it (`StoreWriter.follow`): once per `write_lock` block, the commits
inside folded into one (each handed to `prepare` as it is made), or at once for a write outside a lock. The store room cannot know its followers
(BM25 lives in the retrieval room above it), so a room above registers them (`rag.composition.open_store`).
A commit whose changes the writer cannot name (the repair after an interrupted write) is `known=False`:
followers are not told, and catch up from the store itself, since it moved the revision they knew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .collection import Store


@dataclass(frozen=True)
class WrittenArticle:
    """A committed article version with the chunks the writer stored for it (what a derived index needs)."""

    article_id: str
    version: str
    chunk_ids: tuple[str, ...]
    texts: tuple[str, ...]
    meta: Mapping[str, Any]  # the metadata every chunk of the version carries (`rows.chunk_meta`)


@dataclass
class Commit:
    """The change from revision `before` to `revision`."""

    before: str
    revision: str
    written: dict[str, WrittenArticle] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)
    known: bool = True  # False: the writer cannot say what changed; readers catch up from the store
    seq: int | None = None  # the commit number stamped on its registry records (rag.store.versions)

    @classmethod
    def fold(cls, commits: Sequence[Commit]) -> Commit | None:
        """One commit for consecutive commits (the later wins per article); None for none. Unknown when one is,
        or when they do not chain (a revision moved by someone else in between)."""
        if not commits:
            return None
        folded = cls(commits[0].before, commits[0].revision, dict(commits[0].written), set(commits[0].removed),
                     commits[0].known, commits[0].seq)
        for later in commits[1:]:
            folded.known = folded.known and later.known and later.before == folded.revision
            for article_id in later.removed:
                folded.written.pop(article_id, None)
                folded.removed.add(article_id)
            folded.written.update(later.written)
            folded.revision, folded.seq = later.revision, later.seq
        return folded


class CommitFollower(Protocol):
    """Something kept in step with a store by its writer's commits (the BM25 index)."""

    def prepare(self, commit: Commit) -> None:
        """A commit held until its `write_lock` block ends: work that needs no store state (BM25 counts terms)
        can be done now, on the writer's thread while the rest of the pipeline works, rather than at the end."""

    def committed(self, store: Store, commit: Commit) -> None:
        """Follow `commit` (known, just made by `store.writer`); errors reach the writer's caller."""
