"""The admin routes (admin key): ingest URLs and feeds, upload files, delete articles.

    app = ui.http.app.create_app(assistant)
    add_admin_routes(app)                             # what `newsrag serve` does

Ingest runs in the server process with the model it already loaded. A bad request (no URL, an
invalid URL, a file of the wrong type, too large or empty, too many files) is refused with 422
before anything is written; problems while reading sources come back in the report (422 when
any failed), and files whose ingest failed are not kept.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, File, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from index import uploads
from index.pipeline import ingest
from rag.errors import IngestError

from ..auth import require_admin
from ..middleware import add_upload_paths
from ..schemas import ErrorOut

_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "The admin key is missing or wrong."},
    403: {"model": ErrorOut, "description": "Admin operations are switched off (no admin key set)."},
    404: {"model": ErrorOut, "description": "No such article."},
}
MAX_URL_CHARS = 2048
UPLOAD_PATH = "/v1/admin/upload"  # the route below, whose bodies may be files' worth


class IngestRequest(BaseModel):
    """POST /v1/admin/ingest: web pages and feeds to add (fetched by the server)."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(default_factory=list, max_length=100, description="http(s) addresses of article pages.")
    feeds: list[str] = Field(default_factory=list, max_length=20, description="RSS or Atom feeds: each entry is added.")


class ReportOut(BaseModel):
    """What an ingest or delete did (the `newsrag ingest --json` report)."""

    model_config = ConfigDict(extra="allow")

    added: int
    updated: int
    unchanged: int
    removed: int
    chunks: int
    ok: bool


def add_admin_routes(app: FastAPI) -> None:
    """Add the admin routes to an app from `create_app`; uploads may be as large as files' worth."""
    app.include_router(router())
    add_upload_paths(app, UPLOAD_PATH)


def router() -> APIRouter:
    """The admin routes; they read the Assistant and keys that `create_app` put on the app."""
    routes = APIRouter(prefix="/v1", tags=["admin"], dependencies=[Depends(require_admin)], responses=_RESPONSES)

    @routes.post("/admin/ingest", response_model=ReportOut)
    def ingest_urls(body: IngestRequest, request: Request) -> Any:
        """Fetch and add web pages and feed entries (private addresses are refused unless allowed in settings)."""
        checked = [check_url(u, "urls") for u in body.urls] + [check_url(f, "feeds") for f in body.feeds]
        if not checked:
            raise IngestError("nothing to ingest: give at least one address in urls or feeds")
        assistant = request.app.state.assistant
        report = ingest(body.urls, settings=assistant.settings, feeds=body.feeds, embedder=assistant.embedder)
        return _report_response(report)

    @routes.post("/admin/upload", response_model=ReportOut)
    def upload(request: Request, files: list[UploadFile] = File(..., description="Article files (.txt .md .html .json .jsonl .csv .pdf).")) -> Any:
        """Add uploaded article files; each is checked for type and size before anything is kept."""
        assistant = request.app.state.assistant
        settings = assistant.settings
        saved = save_files(files, settings)
        try:
            report = ingest([str(p) for p in saved], settings=settings, embedder=assistant.embedder)
        finally:
            uploads.discard_unused(saved, dict(assistant.store.registry_records()), Path(settings.store))
        return _report_response(report)

    @routes.delete("/articles/{article_id}", response_model=ReportOut)
    def delete(article_id: str, request: Request) -> Any:
        """Delete one article and all its chunks (and its uploaded file)."""
        report = uploads.remove_articles([article_id], request.app.state.assistant.settings)
        if not report.removed:
            return JSONResponse({"error": f"no stored article has the id {article_id!r} (see GET /v1/articles)",
                                 "type": "NotFound"}, status_code=404)
        return report.to_dict()

    return routes


def check_url(url: str, field: str) -> str:
    """An http(s) URL as given, or an IngestError (422) that names it and says why."""
    shown = url if len(url) <= 200 else url[:200] + "…"
    if not url.strip() or len(url) > MAX_URL_CHARS or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise IngestError(f"{field}: {shown!r} is not a web address (empty, too long, or with spaces or control characters)")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise IngestError(f"{field}: {shown!r} is not a valid web address ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise IngestError(f"{field}: {shown!r} is not a web address; give full addresses starting with https://")
    return url


def save_files(files: list[UploadFile], settings: Any) -> list[Path]:
    """Check every file (count, type, size, empty) and only then keep them all in the uploads folder."""
    if not files:
        raise IngestError("no files in the upload; send them as multipart form field 'files'")
    if len(files) > settings.max_upload_files:
        raise IngestError(f"{len(files)} files in one upload; the limit is {settings.max_upload_files} (NEWSRAG_MAX_UPLOAD_FILES)")
    allowed = uploads.allowed_types()
    for item in files:
        problem = _problem(item, settings.max_article_bytes, allowed)
        if problem:
            raise IngestError(problem)
    return [_keep(item, Path(settings.store)) for item in files]


def _problem(item: UploadFile, max_bytes: int, allowed: list[str]) -> str | None:
    name = uploads.base_name(item.filename or "")
    suffix = Path(name).suffix.lower()
    if suffix not in allowed:
        return f"“{name}” is a {suffix or 'file without a type'} file; uploads may be {', '.join(allowed)} files"
    size = item.size if item.size is not None else _size(item)
    if size > max_bytes:
        shown, limit = uploads.size_and_limit(size, max_bytes)
        return f"“{name}” is {shown}; the limit is {limit} per file (NEWSRAG_MAX_ARTICLE_BYTES)"
    if size == 0:
        return f"“{name}” is empty"
    return None


def _size(item: UploadFile) -> int:
    item.file.seek(0, os.SEEK_END)
    size = item.file.tell()
    item.file.seek(0)
    return size


def _keep(item: UploadFile, store: Path) -> Path:
    """Copy the upload into the uploads folder under its content-hash name (never the client's path)."""
    folder = store / uploads.UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    tmp = uploads.incoming_path(folder)
    digest = hashlib.sha256()
    item.file.seek(0)
    with open(tmp, "wb") as out:
        for block in iter(lambda: item.file.read(1 << 20), b""):
            digest.update(block)
            out.write(block)
    target = uploads.upload_path(digest.hexdigest(), item.filename or "", store)
    os.replace(tmp, target)
    return target


def _report_response(report: Any) -> Any:
    data = report.to_dict()
    if report.ok:
        return data
    first = report.failed[0][1]
    more = f" (and {len(report.failed) - 1} more problems)" if len(report.failed) > 1 else ""
    return JSONResponse({"error": first + more, "type": IngestError.__name__, "report": data}, status_code=422)


__all__ = ["add_admin_routes", "check_url", "router", "save_files"]
