"""The rows of `newsrag list` and of the owner's `/v1/store/articles`: a registry record as a plain dict."""

from __future__ import annotations

import json
from typing import Any


def list_row(article_id: str, meta: dict[str, Any]) -> dict[str, Any]:
    """One stored article (`newsrag list --json` prints these): title, date, site, urls, copies, chunks..."""
    def items(key: str) -> list[str]:
        try:
            value = json.loads(meta.get(key) or "[]")
        except (TypeError, ValueError):
            return []
        return [str(v) for v in value] if isinstance(value, list) else []

    return {"article_id": article_id, "title": str(meta.get("title", "")), "date": meta.get("date"),
            "site": meta.get("site"), "author": meta.get("author"), "url": meta.get("url"), "urls": items("urls"),
            "copies": items("copies"), "chunks": int(meta.get("chunks", 0)), "chars": int(meta.get("chars", 0)),
            "origin": str(meta.get("origin", "")), "ingested_at": meta.get("ingested_at")}
