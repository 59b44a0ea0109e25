"""Ingest never stops on one bad item: odd file names, absurdly nested JSON, hostile or non-text record fields.

Each bad item is reported with its reason and the rest of the batch is stored, in Python, on the command
line (exit 1, one line per problem, no traceback) and through the admin upload (422 with the report, never 500).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import index
from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import run_cli
from tests.servers import uvicorn_server
from tests.ui_harness import copy_store

GOOD = "Title: Kessel Dam Opens Two Gates\nDate: 2024-05-05\n\nThe Kessel dam opened two of its five gates on Sunday after rain.\n"
DEEP = ("[" * 100_000 + "]" * 100_000).encode()
HUGE_TITLE = json.dumps({"title": "[" + "~" * 200_000 + "1]",
                         "text": "The Orlen ferry resumed its crossings on Monday after the storm passed."}).encode()
NOT_TEXT = "\n".join(json.dumps({"title": f"Record {i}", "text": value}) for i, value in enumerate([42, True, 3.5])).encode()
NESTED_TEXT = json.dumps({"title": "Nested", "text": [[[[[[[[[[[[["a"]]]]]]]]]]]]]}).encode()
BAD_NAME = os.fsdecode(b"bad\xffbytes.txt")

# (file name, bytes, what the failure says): one failure each
BAD_ITEMS = [
    ("deep.json", DEEP, "deep.json: the JSON is nested too deeply"),
    ("deep.jsonl", DEEP + b"\n", "deep.jsonl:1: the JSON is nested too deeply"),
    ("numbers.jsonl", NOT_TEXT, "the text field is 42 (a number), not article text"),
    ("numbers.jsonl", NOT_TEXT, "the text field is true (true/false), not article text"),
    ("numbers.jsonl", NOT_TEXT, "the text field is 3.5 (a number), not article text"),
    ("nested.json", NESTED_TEXT, "lists nested more than 10 deep"),
]


def _titles(store: Path) -> list[str]:
    return sorted(a.title for a in Store(Settings(store=store)).articles())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder with one good article, one hostile-but-valid record, and every bad item."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD, encoding="utf-8")
    (folder / "huge-title.json").write_bytes(HUGE_TITLE)
    for name, data, _ in BAD_ITEMS:
        (folder / name).write_bytes(data)
    (folder / BAD_NAME).write_text(GOOD.replace("Kessel", "Orsk"), encoding="utf-8")
    return folder


def test_each_bad_item_is_reported_and_the_rest_are_stored(folder: Path, tmp_path: Path) -> None:
    report = index.ingest([folder], store=tmp_path / "s")
    reasons = [reason for _, reason in report.failed]
    for name, _, reason in BAD_ITEMS:
        assert any(name in r and reason in r for r in reasons), (name, reason, reasons)
    (name_problem,) = [r for r in reasons if "bad\\xffbytes.txt" in r]
    assert "the file name is not UTF-8 text; rename the file" in name_problem
    assert len(reasons) == len(BAD_ITEMS) + 1
    # the record whose title once went through literal_eval is stored as it is written
    assert report.added == 2 and _titles(tmp_path / "s")[0].startswith("Kessel Dam")
    assert any(t.startswith("[~~~") for t in _titles(tmp_path / "s"))


def test_the_command_line_reports_each_bad_item_on_one_line(folder: Path, tmp_path: Path) -> None:
    result = run_cli("ingest", str(folder), "--store", str(tmp_path / "s"), "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 2 and len(report["failed"]) == len(BAD_ITEMS) + 1
    assert any("bad\\xffbytes.txt" in f["origin"] for f in report["failed"])


@pytest.fixture(scope="module")
def admin(sample_store: Path, assistant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:  # type: ignore[no-untyped-def]
    """The API with the admin routes (open: no keys, on loopback) over a private copy of the sample store."""
    from rag.composition import compose
    from ui.http.app import create_app
    from ui.http.routes.admin import add_admin_routes

    store = copy_store(sample_store, tmp_path_factory.mktemp("bad-files") / "store")
    settings = assistant.settings.with_overrides(store=store)
    app = create_app(compose(settings, Store(settings), assistant.embedder))
    add_admin_routes(app)
    with uvicorn_server(app) as base:
        yield base, store


def test_admin_upload_reports_bad_items_without_a_server_error(admin: tuple[str, Path]) -> None:
    base, store = admin
    before = len(_titles(store))
    files = [("files", ("good.txt", GOOD.encode(), "text/plain")),
             ("files", ("huge-title.json", HUGE_TITLE, "application/json")),
             ("files", ("deep.json", DEEP, "application/json")),
             ("files", ("numbers.jsonl", NOT_TEXT, "application/json")),
             ("files", (BAD_NAME.encode("utf-8", "surrogateescape").decode("latin-1"), GOOD.replace("Kessel", "Orsk").encode(), "text/plain"))]
    response = httpx.post(f"{base}/v1/admin/upload", files=files, timeout=120)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "IngestError" and "nested too deeply" in body["error"] and "(and 3 more problems)" in body["error"]
    report = body["report"]
    assert report["added"] == 3 and len(report["failed"]) == 4  # good, huge title and the odd name go in
    assert len(_titles(store)) == before + 3
    kept = sorted(p.name for p in (store / "uploads").iterdir())
    assert len(kept) == 3 and not any(name.startswith(("deep", "numbers", ".")) for name in kept)
