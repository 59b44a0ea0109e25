"""`newsrag serve` in a real server process: the API and the chat on one port, a server killed during an
upload (the next start finishes the job), and ports that cannot be used."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, run_cli
from tests.servers import free_port
from tests.ui_harness import copy_store, running

DAM = "Title: Kessel Dam Opens Two Gates\nDate: 2024-05-05\n\nThe Kessel dam opened two of its five gates on Sunday after rain.\n"
BRIDGE = "Title: Orsk Bridge Reopens\nDate: 2024-05-06\n\nThe Orsk bridge reopened to traffic on Monday after repairs.\n"


def _wait_for(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while True:
        assert process.poll() is None, process.stdout.read() if process.stdout else "the server exited"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"no answer at {url}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def restarted(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, list[str], str]]:
    """A server SIGKILLed in the middle of a two-file upload, then started again on the same store.

    Yields (base URL of the new server, store, what the kill left in uploads/, the new server's output).
    """
    store = copy_store(sample_store, tmp_path_factory.mktemp("serve") / "store")
    port = free_port()
    killed = subprocess.Popen([sys.executable, "-m", "tests.crashpoint", "upload-second", "serve", "--store", str(store),
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(f"http://127.0.0.1:{port}/v1/health", killed)
    files = [("files", ("kessel-dam.txt", DAM.encode(), "text/plain")), ("files", ("orsk.txt", BRIDGE.encode(), "text/plain"))]
    with pytest.raises(httpx.TransportError):
        httpx.post(f"http://127.0.0.1:{port}/v1/admin/upload", files=files, timeout=120)
    assert killed.wait(timeout=60) == -signal.SIGKILL
    left = sorted(p.name for p in (store / "uploads").iterdir())
    port = free_port()
    log = tmp_path_factory.mktemp("serve-log") / "server.log"
    with running(["serve", "--store", str(store), "--port", str(port)], f"http://127.0.0.1:{port}/v1/health", log=log) as url:
        yield url.removesuffix("/v1/health"), store, left, log.read_text()


def test_the_next_start_ingests_complete_uploads_and_deletes_half_written_ones(restarted) -> None:  # type: ignore[no-untyped-def]
    base, store, left, output = restarted
    assert len(left) == 2 and left[0].startswith(".incoming-") and left[1].startswith("kessel-dam-"), left
    assert "picked up the uploads an interrupted request left: 1 added" in output
    assert "deleted 1 half-written or unreadable upload(s)" in output
    listing = httpx.get(f"{base}/v1/articles").json()
    assert listing["total"] == 9 and "Kessel Dam Opens Two Gates" in [a["title"] for a in listing["articles"]]
    assert [p.name for p in (store / "uploads").iterdir()] == [left[1]]


def test_serve_mounts_the_chat_at_root_and_the_api_at_v1(restarted) -> None:  # type: ignore[no-untyped-def]
    base = restarted[0]
    assert httpx.get(f"{base}/v1/health").json()["articles"] == 9
    page = httpx.get(f"{base}/", timeout=10)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
    answer = httpx.post(f"{base}/v1/ask", json={"question": "What did Milley say about ISIS-K?"}, timeout=120).json()
    assert answer["refused"] is False and "it’s possible" in answer["answer"]


@pytest.mark.parametrize("command", ["serve", "ui"])
def test_a_busy_or_impossible_port_is_one_line_naming_the_port_option(command: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli(command, "--store", str(tmp_path / "store"), "--port", str(port), timeout=60)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert f"port {port} on 127.0.0.1 is already in use" in line and "choose a free one with --port, e.g. --port" in line
    assert result.stdout == "" and not (tmp_path / "store").exists()  # checked before anything is loaded or printed
    for bad in ("99999", "0", "eighty"):
        result = run_cli(command, "--port", bad, timeout=60)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "give --port a number from 1 to 65535" in line
