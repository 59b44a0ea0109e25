"""The error hierarchy: raised inside, translated to one clear line at the edges (CLI, HTTP, UI)."""

from __future__ import annotations


class NewsragError(Exception):
    """Base class. The message says what went wrong, where, and what to do."""

    exit_code = 1
    http_status = 500


class ConfigError(NewsragError):
    """Settings or a store that cannot be used as configured."""

    exit_code = 2
    http_status = 500


class StoreError(NewsragError):
    """The Chroma store is missing, unreachable, or built with another model."""

    exit_code = 3
    http_status = 503


class IngestError(NewsragError):
    """An article or a whole ingest request could not be read or stored."""

    exit_code = 4
    http_status = 422


class QueryError(NewsragError):
    """A question or filter that cannot be answered as given (empty, too long, bad date)."""

    exit_code = 5
    http_status = 422


class BackendError(NewsragError):
    """An optional backend (LLM, reranker, ONNX) is missing or failed."""

    exit_code = 6
    http_status = 502


class AccessError(NewsragError):
    """A request without the key it needs (HTTP 401), or one the server does not allow (403)."""

    exit_code = 7
    http_status = 401


class ForbiddenError(AccessError):
    """The key is right but the operation is switched off on this server."""

    http_status = 403
