"""Structured logs: one JSON object (or key=value line) per event, each carrying the request id.

    configure(settings)                       # servers call this once at start
    log.info("answered", extra=fields(refused=False, ms=12.5))

Events carry counts, ids, timings and statuses. Article text and questions are logged only at DEBUG;
keys never (a filter masks anything that looks like an Authorization header or a configured key).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

from .records import Answer
from .settings import Settings

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("newsrag_request_id", default="-")
_FIELDS = "newsrag_fields"


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a log call: structured fields that end up as keys of the log line."""
    return {_FIELDS: values}


class _Context(logging.Filter):
    """Adds the current request id and hides configured keys, should one ever reach a message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, request_id, event, then the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname, "logger": record.name, "request_id": getattr(record, "request_id", "-"),
            "event": record.getMessage(),
        }
        data.update(getattr(record, _FIELDS, {}))
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(data, ensure_ascii=False, default=str)


class KeyValueFormatter(JsonFormatter):
    """`time=... level=INFO logger=... request_id=... event="..." key=value ...`, one line per event."""

    def format(self, record: logging.LogRecord) -> str:
        data = json.loads(super().format(record))
        return " ".join(f"{k}={_kv(v)}" for k, v in data.items())


def _kv(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c in text for c in ' "=')) else text


def configure(settings: Settings, secrets: list[str] | None = None, stream: Any = None) -> None:
    """Send newsrag's (and uvicorn's error) logs to stderr in the configured format and level."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else KeyValueFormatter())
    handler.addFilter(_Context(list(secrets or [])))
    for name in ("rag", "index", "ui", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(settings.log_level)
        logger.propagate = False


def log_answer(logger: logging.Logger, answer: Answer) -> None:
    """One INFO line per answer (sizes, outcome, timings); the question itself only at DEBUG."""
    logger.info("answered", extra=fields(
        question_chars=len(answer.question), refused=answer.refused, verified=answer.verified,
        citations=len(answer.citations), sources=len(answer.sources), answerer=answer.answerer,
        ms=round(answer.timings.get("total", 0.0), 1),
    ))
    logger.debug("question", extra=fields(question=answer.question, rewritten=answer.rewritten_question))
