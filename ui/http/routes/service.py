"""The service routes: /v1/health (no key) and /v1/articles."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials

from ..auth import access_of, bearer, require_reader
from ..errors import KEY_ERRORS
from . import assistant_of


def router(version: Callable[[], str]) -> APIRouter:
    """The routes; `version` gives the version /v1/health reports."""
    routes = APIRouter(prefix="/v1", tags=["service"])

    @routes.get("/health")
    def health(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> Any:
        """Whether the store can be read, and what it holds (no key needed; the store's path only with a key)."""
        status = {"status": "ok", "version": version(), **assistant_of(request).status()}
        if not access_of(request).is_key(credentials.credentials if credentials else None):
            status.pop("store", None)  # where the server keeps its files is no business of an anonymous caller
        return status

    @routes.get("/articles", dependencies=[Depends(require_reader)], responses=KEY_ERRORS)
    def articles(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)) -> Any:
        """The stored articles, newest first (`origin`: a web address, or the name of the file it came from)."""
        found = assistant_of(request).articles()
        listed = [{**a.to_dict(), "origin": public_origin(a.origin)} for a in found[offset : offset + limit]]
        return {"total": len(found), "articles": listed}

    return routes


def public_origin(origin: str) -> str:
    """Where an article came from, without the server's folders: a web address as it is, a file by its name."""
    if "://" in origin or not origin:
        return origin
    path, hash_sign, record = origin.partition("#")
    return PurePath(path).name + hash_sign + record
