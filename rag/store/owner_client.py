"""Commands for a store that a serving process owns go through that process's API (`/v1/store/...`).

`newsrag serve` owns its embedded store for its lifetime and says in `<store>/owner.json` where it
listens, with a token that only users who can read the store directory see. Another newsrag process
on the machine (ingest, remove, ask, status, list, backup) sends the command there instead of opening
Chroma beside it; the answers and reports are the ones the command would print itself.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import rag.errors as errors

from ..errors import StoreError
from ..records import Answer, Citation, Filters, Source
from ..settings import Settings
from . import ownership

TOKEN_HEADER = "X-Newsrag-Owner-Token"
T = TypeVar("T")
log = logging.getLogger(__name__)


class OwnerClient:
    """The API of the process that owns a store."""

    def __init__(self, store: Path, holder: ownership.Holder) -> None:
        self.store, self.holder = store, holder

    def describe(self) -> str:
        return self.holder.describe()

    def ask(self, question: str, filters: Filters | None, top_k: int | None, as_of: str | None = None) -> dict[str, Any]:
        body = {"question": question, "top_k": top_k, "filters": filters.to_dict() if filters else None,
                "as_of": as_of}
        return dict(self.call("POST", "/v1/store/ask", body))

    def status(self) -> dict[str, Any]:
        return dict(self.call("GET", "/v1/store/status"))

    def articles(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/v1/store/articles"))

    def ingest(self, paths: list[str], feeds: list[str], options: dict[str, Any]) -> dict[str, Any]:
        return dict(self.call("POST", "/v1/store/ingest", {"paths": paths, "feeds": feeds, "options": options}))

    def remove(self, targets: list[str], missing: bool) -> dict[str, Any]:
        return dict(self.call("POST", "/v1/store/remove", {"targets": targets, "missing": missing}))

    def rebuild(self) -> dict[str, Any]:
        return dict(self.call("POST", "/v1/store/rebuild", {}))

    def backup(self, target: str) -> dict[str, Any]:
        return dict(self.call("POST", "/v1/store/backup", {"target": target}))

    def call(self, method: str, path: str, body: Any = None, timeout: float = 3600) -> Any:
        """One request; a refusal comes back as the error the command would have raised itself."""
        import httpx

        assert self.holder.url is not None and self.holder.token is not None
        try:
            response = httpx.request(method, self.holder.url + path, json=body, timeout=timeout,
                                     headers={TOKEN_HEADER: self.holder.token})
        except httpx.HTTPError as exc:
            raise StoreError(f"the store at {self.store} is owned by {self.describe()}, which does not answer "
                             f"({type(exc).__name__}: {exc}); wait until it is up, or stop it") from exc
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text[:300], "type": "StoreError"}
        if response.status_code >= 400:
            raise _error(data, response.status_code, self.describe())
        return data


def for_store(settings: Settings) -> OwnerClient | None:
    """The owner's client when another process serves this embedded store, else None (open it here)."""
    if settings.chroma_url:
        return None
    store = Path(settings.store)
    if ownership.holds(store):
        return None
    holder = ownership.holder(store)
    return OwnerClient(store, holder) if holder is not None and holder.serving else None


def routed(settings: Settings, here: Callable[[], T], there: Callable[[OwnerClient], T]) -> T:
    """Run a store command in this process (`here`), or through the serving process that owns the store.

    An owner that starts serving while this process waits for the store is used as well.
    """
    client = for_store(settings)
    if client is None:
        try:
            return here()
        except ownership.StoreOwned as refusal:
            if not refusal.holder.serving:
                raise
            client = OwnerClient(refusal.store, refusal.holder)
    log.info("the store at %s is owned by %s: the command goes through it", client.store, client.describe())
    return there(client)


def answer_from_dict(data: dict[str, Any]) -> Answer:
    """The Answer an `Answer.to_dict()` came from (fields the record does not know are ignored)."""
    def build(kind: Any, values: dict[str, Any]) -> Any:
        names = {f.name for f in dataclasses.fields(kind)}
        values = {k: v for k, v in values.items() if k in names}
        if kind is Source:
            values["highlights"] = tuple(tuple(span) for span in values.get("highlights", ()))
            values["chunk_ids"] = tuple(values.get("chunk_ids", ()))
        return kind(**values)

    return Answer(
        question=data["question"], text=data["answer"], refused=bool(data["refused"]),
        sources=[build(Source, s) for s in data.get("sources", [])],
        citations=[build(Citation, c) for c in data.get("citations", [])],
        verified=bool(data.get("verified", True)), answerer=str(data.get("answerer", "")),
        rewritten_question=data.get("rewritten_question"), timings=dict(data.get("timings") or {}),
        unsupported=list(data.get("unsupported") or []),
    )


def _error(data: Any, status: int, owner: str) -> errors.NewsragError:
    """The NewsragError an error body names (its type and message), so exit codes stay those of a local run."""
    body = data if isinstance(data, dict) else {}
    kind = getattr(errors, str(body.get("type", "")), None)
    message = str(body.get("error") or f"HTTP {status}")
    if isinstance(kind, type) and issubclass(kind, errors.NewsragError):
        return kind(message)
    return StoreError(f"{owner} refused the command: {message}")
