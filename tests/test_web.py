"""URLs and feeds, served by a real HTTP server on 127.0.0.1: pages, an RSS feed, and failing URLs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import index
from rag.settings import Settings
from rag.store.collection import Store
from tests.conftest import run_cli
from tests.servers import SiteHandler, http_site
from tests.test_formats import PAGE

RELEASE = threading.Event()  # the slow page answers only after the test that waits for it is over
LOOPBACK = ["127.0.0.1/32"]  # the test site is on loopback, which URL ingest refuses unless allowed
ALLOW_LOOPBACK = {"NEWSRAG_FETCH_ALLOW_NETWORKS": '["127.0.0.1/32"]'}


def _article_page(title: str, body: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("|"))
    return f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"


ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/ferry": (200, "text/html; charset=utf-8", PAGE.encode()),
    "/news/dam": (200, "text/html", _article_page(
        "Dam Opens Two Gates After Heavy Rain",
        "The Kessler dam opened two of its five gates on Sunday after three days of heavy rain.|"
        "Water levels downstream rose by 40 centimetres, the river authority said.").encode()),
    "/news/bridge": (200, "text/html", _article_page(
        "Old Bridge Closes For Repairs",
        "The old stone bridge over the Arden closes on Friday for six weeks of repairs.|"
        "Buses will use the ring road while the work goes on, the council said.").encode()),
    "/plain.txt": (200, "text/plain", b"Title: Plain Notice From The Council\n\nThe council meets on Tuesday at 7 pm."),
    "/binary": (200, "application/octet-stream", b"\x00\x01\x02"),
    "/big": (200, "text/html", b"<html><body>" + b"<p>word</p>" * 4000 + b"</body></html>"),
}


def _feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>{base}{p}</link><pubDate>{d}</pubDate><author>{a}</author></item>"
        for t, p, d, a in [
            ("Dam Opens Two Gates After Heavy Rain", "/news/dam", "Sun, 05 May 2024 09:00:00 GMT", "desk@x.example (Desk)"),
            ("Old Bridge Closes For Repairs", "/news/bridge", "Mon, 06 May 2024 09:00:00 GMT", "ann@x.example (Ann)"),
            ("Gone Story", "/news/gone", "Tue, 07 May 2024 09:00:00 GMT", "bo@x.example (Bo)"),
        ]
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Kessler Courier</title>'
            f"<link>{base}/</link><description>News</description>{items}</channel></rss>").encode()


class _Handler(SiteHandler):
    def do_GET(self) -> None:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/slow":
            RELEASE.wait(timeout=30)
            route = ROUTES["/ferry"]
        elif self.path == "/feed.xml":
            route = (200, "application/rss+xml", _feed(base))
        else:
            route = ROUTES.get(self.path, (404, "text/html", b"<html><body>Not found</body></html>"))
        self.send_body(*route)


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with http_site(_Handler) as url:
        yield url
        RELEASE.set()  # let a dripping response finish before the server shuts down


def _stored(store: Path) -> dict[str, dict]:
    return {m["title"]: m for _, m in Store(Settings(store=store)).registry_records()}


def test_page_url_is_extracted_with_its_metadata(site: str, tmp_path: Path) -> None:
    settings = Settings(store=tmp_path, fetch_allow_networks=LOOPBACK)
    report = index.ingest([f"{site}/ferry", f"{site}/plain.txt"], settings=settings)
    assert report.ok and report.added == 2, report.failed
    stored = _stored(tmp_path)
    ferry = stored["Solar Ferry Begins Service on Lake Arden"]
    assert ferry["url"] == "https://arden-gazette.example/2024/05/02/solar-ferry/"  # the page's canonical url
    assert ferry["date"] == "2024-05-02" and ferry["origin"] == f"{site}/ferry"
    assert stored["Plain Notice From The Council"]["url"] == f"{site}/plain.txt"
    again = index.ingest([f"{site}/ferry"], settings=settings)
    assert (again.unchanged, again.chunks) == (1, 0)


def test_feed_entries_are_fetched_and_failures_named(site: str, tmp_path: Path) -> None:
    result = run_cli("ingest", "--feed", f"{site}/feed.xml", "--store", str(tmp_path), "--json", env=ALLOW_LOOPBACK)
    assert result.returncode == 1, result.stderr  # one entry's page is gone
    data = json.loads(result.stdout)
    assert data["added"] == 2
    (failure,) = data["failed"]
    assert failure["origin"] == f"{site}/news/gone" and "HTTP 404" in failure["reason"]
    stored = _stored(tmp_path)
    dam = stored["Dam Opens Two Gates After Heavy Rain"]
    assert dam["date"] == "2024-05-05" and dam["url"] == f"{site}/news/dam"
    assert stored["Old Bridge Closes For Repairs"]["date"] == "2024-05-06"


def test_url_failures_are_one_line_each(site: str, tmp_path: Path) -> None:
    result = run_cli("ingest", f"{site}/missing", f"{site}/slow", f"{site}/big", f"{site}/binary",
                     "http://127.0.0.1:9/refused", f"{site}/news/dam",
                     "--store", str(tmp_path), "--timeout", "1", "--max-bytes", "20000", env=ALLOW_LOOPBACK)
    assert result.returncode == 1
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert len(failures) == 5, result.stderr
    text = "\n".join(failures)
    assert f"{site}/missing: HTTP 404" in text
    assert f"{site}/slow: no answer within 1 s" in text
    assert f"{site}/big:" in text and "20,000-byte limit" in text
    assert f"{site}/binary: cannot read content type 'application/octet-stream'" in text
    assert "http://127.0.0.1:9/refused: cannot fetch" in text
    assert "1 added" in result.stdout
