"""URL ingest fetches only public addresses (SSRF): every redirect hop and every resolved address is checked,
redirects are counted, and a download that drips past the timeout is cut off. The test site runs on
127.0.0.1, so tests that should reach it allow exactly that address."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import index
from index.loading import LoadOptions
from index.netguard import AddressPolicy
from index.web import fetch, new_client
from rag.errors import IngestError
from rag.settings import Settings
from tests.conftest import run_cli
from tests.servers import SiteHandler, http_site
from tests.test_formats import PAGE

LOOPBACK = ("127.0.0.1/32",)
PRIVATE = "private, loopback or link-local"


class _Handler(SiteHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        routes = {
            "/to-metadata": "http://169.254.169.254/latest/meta-data/",
            "/to-private": "http://10.20.30.40/admin",
            "/to-ipv6-loopback": f"http://[::1]:{port}/ferry",
            "/to-any": f"http://0.0.0.0:{port}/ferry",
            "/to-localhost": f"http://localhost:{port}/ferry",
            "/to-file": "file:///etc/passwd",
            "/loop": "/loop",
        }
        if self.path in routes:
            self.send_response(302)
            self.send_header("Location", routes[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            for _ in range(40):
                self.wfile.write(b"<p>word</p>")
                self.wfile.flush()
                time.sleep(0.1)
        else:
            self.send_body(200, "text/html", PAGE.encode())


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    with http_site(_Handler) as url:
        yield url


def _options(allow: tuple[str, ...] = (), **more: object) -> LoadOptions:
    return LoadOptions(allow_networks=allow, **{"timeout": 5.0, **more})  # type: ignore[arg-type]


def test_loopback_private_and_link_local_addresses_are_refused_by_default(site: str) -> None:
    port = site.rsplit(":", 1)[1]
    for url in (f"{site}/ferry", f"http://localhost:{port}/ferry", f"http://0.0.0.0:{port}/ferry",
                f"http://[::1]:{port}/ferry", f"http://[::ffff:127.0.0.1]:{port}/ferry", f"http://2130706433:{port}/ferry",
                "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://192.168.1.1/", "http://[fe80::1]/"):
        with pytest.raises(IngestError, match=PRIVATE) as caught:
            fetch(url, _options())
        assert str(caught.value).startswith(url)
    assert fetch(f"{site}/ferry", _options(LOOPBACK)).content_type == "text/html"  # allowed on purpose


@pytest.mark.parametrize("hop", ["/to-metadata", "/to-private", "/to-ipv6-loopback", "/to-any"])
def test_every_redirect_hop_is_checked(site: str, hop: str) -> None:
    with pytest.raises(IngestError, match=PRIVATE):
        fetch(f"{site}{hop}", _options(LOOPBACK))


def test_redirects_are_followed_by_name_and_counted(site: str) -> None:
    page = fetch(f"{site}/to-localhost", _options(LOOPBACK))  # localhost resolves to 127.0.0.1: allowed
    assert page.url.startswith("http://localhost:") and b"Arden Gazette" in page.data
    with pytest.raises(IngestError, match="more than 3 redirects"):
        fetch(f"{site}/loop", _options(LOOPBACK, max_redirects=3))
    with pytest.raises(IngestError, match="only http and https"):
        fetch(f"{site}/to-file", _options(LOOPBACK))


def test_connections_are_checked_when_they_are_made(site: str) -> None:
    """The transport itself refuses, whatever resolved earlier (DNS rebinding cannot slip through)."""
    with new_client(_options()) as client, pytest.raises(httpx.ConnectError, match=PRIVATE):
        client.get(f"{site}/ferry")
    policy = AddressPolicy(["10.0.0.0/8"])
    assert policy.resolve("10.1.2.3", 80) and not policy.permits(__import__("ipaddress").ip_address("127.0.0.1"))


def test_a_download_that_drips_past_the_timeout_is_cut_off(site: str) -> None:
    started = time.monotonic()
    with pytest.raises(IngestError, match="took longer than 1 s"):
        fetch(f"{site}/drip", _options(LOOPBACK, timeout=1.0))
    assert time.monotonic() - started < 4


def test_cli_and_ingest_report_a_refused_address_in_one_line(site: str, tmp_path: Path) -> None:
    report = index.ingest([f"{site}/ferry"], settings=Settings(store=tmp_path / "a"))
    assert report.added == 0 and PRIVATE in report.failed[0][1]
    result = run_cli("ingest", f"{site}/to-metadata", "--store", str(tmp_path / "b"),
                     env={"NEWSRAG_FETCH_ALLOW_NETWORKS": '["127.0.0.1/32"]'})
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert f"{site}/to-metadata" in line and PRIVATE in line
    bad = run_cli("ingest", "x", "--store", str(tmp_path / "c"), env={"NEWSRAG_FETCH_ALLOW_NETWORKS": '["not-a-net"]'})
    assert bad.returncode == 2 and "fetch_allow_networks" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1


def test_admin_ingest_refuses_private_and_invalid_addresses(sample_store: Path, assistant, tmp_path: Path, site: str) -> None:  # type: ignore[no-untyped-def]
    from tests.servers import uvicorn_server
    from tests.test_access import _app
    from tests.ui_harness import copy_store
    from ui.http.auth import Access

    store = copy_store(sample_store, tmp_path / "store")
    with uvicorn_server(_app(assistant, store, Access())) as base:
        for urls, message in ([["not a url"]], "not a web address"), ([["ftp://x.example/a"]], "starting with https://"), \
                             ([["http://"]], "not a web address"), ([[]], "nothing to ingest"), ([["a" * 3000]], "too long"):
            response = httpx.post(f"{base}/v1/admin/ingest", json={"urls": urls[0]})
            assert response.status_code == 422 and message in response.json()["error"], response.text
        refused = httpx.post(f"{base}/v1/admin/ingest", json={"urls": [f"{site}/ferry"]}, timeout=60)
        assert refused.status_code == 422 and PRIVATE in refused.json()["error"]
        assert refused.json()["report"]["added"] == 0
        articles = httpx.get(f"{base}/v1/articles").json()
        assert articles["total"] == 8
