"""The owner's API (`/v1/store/...`): other newsrag processes on this machine send their store commands here.

`newsrag serve` owns its embedded store (rag.store.ownership). `newsrag ingest`, `remove`, `ask`, `status`,
`list` and `backup` run in another process find its address and token in `<store>/owner.json` and call
these routes instead of opening Chroma beside it (rag.store.owner_client). The token proves that the caller
can read the store directory, so the routes may name local paths (files to ingest, a backup folder):
they do what the caller could have done to the store files itself. They are not in the public docs;
remote clients use /v1/ask and the admin routes with their keys.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from index.listing import list_row
from index.pipeline import INGEST_OPTIONS
from index.pipeline import ingest as run_ingest
from index.pipeline import remove as run_remove
from index.rebuilding import rebuild as run_rebuild
from rag import Filters
from rag.errors import AccessError, ConfigError
from rag.store.backup import backup as run_backup
from rag.store.collection import Store
from rag.store.owner_client import TOKEN_HEADER


def require_owner_token(request: Request) -> None:
    """Dependency: the token from this server's owner.json."""
    expected = getattr(request.app.state, "owner_token", None)
    given = request.headers.get(TOKEN_HEADER, "")
    if not expected or not hmac.compare_digest(given.encode(), str(expected).encode()):
        raise AccessError("store commands need the token in the store's owner.json (run them as newsrag commands "
                          "on the machine that holds the store)")


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str
    filters: dict[str, Any] | None = None
    top_k: int | None = None
    as_of: str | None = None


class IngestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(default_factory=list)
    feeds: list[str] = Field(default_factory=list)
    options: dict[str, Any] = Field(default_factory=dict)


class RemoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    targets: list[str] = Field(default_factory=list)
    missing: bool = False


class BackupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str


def router() -> APIRouter:
    """The routes; they use the Assistant that `create_app` put on the app (and `serve` its owner token)."""
    routes = APIRouter(prefix="/v1/store", include_in_schema=False, dependencies=[Depends(require_owner_token)])

    @routes.post("/ask")
    def ask(body: AskBody, request: Request) -> Any:
        filters = Filters(**body.filters) if body.filters else None
        answer = request.app.state.assistant.ask(body.question, filters=filters, top_k=body.top_k, as_of=body.as_of)
        return answer.to_dict()

    @routes.get("/status")
    def status(request: Request) -> Any:
        return request.app.state.assistant.status()

    @routes.get("/articles")
    def articles(request: Request) -> Any:
        return [list_row(i, m) for i, m in Store(request.app.state.assistant.settings).registry_records()]

    @routes.post("/ingest")
    def ingest(body: IngestBody, request: Request) -> Any:
        assistant = request.app.state.assistant
        unknown = sorted(set(body.options) - set(INGEST_OPTIONS))
        if unknown:
            raise ConfigError(f"ingest options {', '.join(unknown)} cannot be sent to the server")
        settings = assistant.settings.with_overrides(**body.options)
        report = run_ingest(body.paths, settings=settings, feeds=body.feeds, embedder=assistant.embedder)
        return report.to_dict()

    @routes.post("/rebuild")
    def rebuild(request: Request) -> Any:
        assistant = request.app.state.assistant
        return run_rebuild(settings=assistant.settings, embedder=assistant.embedder).to_dict()

    @routes.post("/remove")
    def remove(body: RemoveBody, request: Request) -> Any:
        return run_remove(body.targets, settings=request.app.state.assistant.settings, missing=body.missing).to_dict()

    @routes.post("/backup")
    def backup(body: BackupBody, request: Request) -> Any:
        return run_backup(Store(request.app.state.assistant.settings), Path(body.target))

    return routes
