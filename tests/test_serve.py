"""`newsrag serve` and `newsrag ui` in real server processes: the API and the chat on one port, a server killed
during an upload (the next start finishes the job), and ports that cannot be used."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.settings import Settings
from rag.store.collection import Store
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


@pytest.mark.slow
def test_serve_answers_then_the_next_start_finishes_an_upload_it_was_killed_in(sample_store: Path, tmp_path: Path) -> None:
    """`serve` answers the chat at / and the API at /v1; SIGKILLed in the middle of a two-file upload, the next
    start (`newsrag ui` here, so both commands run for real) ingests the complete file and deletes the other."""
    store = copy_store(sample_store, tmp_path / "store")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    killed = subprocess.Popen([sys.executable, "-m", "tests.crashpoint", "upload-second", "serve", "--store", str(store),
                               "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    _wait_for(f"{base}/v1/health", killed)
    assert httpx.get(f"{base}/v1/health").json()["articles"] == 8
    page = httpx.get(f"{base}/", timeout=10)
    assert page.status_code == 200 and "gradio" in page.text.lower()
    assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
    answer = httpx.post(f"{base}/v1/ask", json={"question": "What did Milley say about ISIS-K?"}, timeout=120).json()
    assert answer["refused"] is False and "it’s possible" in answer["answer"]

    files = [("files", ("kessel-dam.txt", DAM.encode(), "text/plain")), ("files", ("orsk.txt", BRIDGE.encode(), "text/plain"))]
    with pytest.raises(httpx.TransportError):
        httpx.post(f"{base}/v1/admin/upload", files=files, timeout=120)
    assert killed.wait(timeout=60) == -signal.SIGKILL
    left = sorted(p.name for p in (store / "uploads").iterdir())
    assert len(left) == 2 and left[0].startswith(".incoming-") and left[1].startswith("kessel-dam-"), left

    port = free_port()
    log = tmp_path / "ui.log"
    with running(["ui", "--store", str(store), "--port", str(port)], f"http://127.0.0.1:{port}/", log=log):
        output = log.read_text()
    assert "picked up the uploads an interrupted request left: 1 added" in output
    assert "deleted 1 half-written or unreadable upload(s)" in output
    titles = [a.title for a in Store(Settings(store=store)).articles()]  # read once the server has stopped
    assert len(titles) == 9 and "Kessel Dam Opens Two Gates" in titles
    assert [p.name for p in (store / "uploads").iterdir()] == [left[1]]


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
