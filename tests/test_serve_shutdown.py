"""`newsrag serve` stops on SIGTERM even while a chat tab is open: Gradio's heartbeat stream to a browser never
ends by itself, and the server used to wait for it for good. It now gives open requests a grace period
(`ui.http.server.SHUTDOWN_GRACE`), then closes them, exits cleanly and lets go of its store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

import rag
from tests.conftest import ROOT, let_go
from tests.servers import free_port, stop_process
from tests.ui_harness import copy_store

pytestmark = pytest.mark.slow  # a real `newsrag serve`


def _wait_until_up(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited before it answered"
        try:
            if httpx.get(f"{base}/v1/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the server did not answer at {base}")


def _hold_heartbeat(base: str, opened: threading.Event, ended: threading.Event) -> None:
    """What an open chat tab does: keep Gradio's heartbeat stream open until the server closes it."""
    try:
        with httpx.stream("GET", f"{base}/gradio_api/heartbeat/tab0shutdown", timeout=None) as response:
            assert response.status_code == 200
            opened.set()
            for _ in response.iter_bytes():
                pass
    except httpx.HTTPError:
        pass  # the server cut the stream: what a browser sees when the server goes
    finally:
        opened.set()
        ended.set()


def test_sigterm_stops_the_server_while_a_chat_tab_holds_a_stream(sample_store: Path, tmp_path: Path) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    let_go()
    process = subprocess.Popen([sys.executable, "-m", "ui.cli", "serve", "--store", str(store), "--port", str(port)],
                               cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(process, base)
        opened, ended = threading.Event(), threading.Event()
        threading.Thread(target=_hold_heartbeat, args=(base, opened, ended), daemon=True).start()
        assert opened.wait(60) and not ended.is_set(), "the heartbeat stream did not open"
        process.send_signal(signal.SIGTERM)
        try:  # the grace period, then the stream is closed; before, this waited for the tab to close
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail("newsrag serve was still running 90 s after SIGTERM with a chat stream open")
        assert process.returncode in (0, -signal.SIGTERM)  # uvicorn raises the signal again once it has shut down
        assert ended.wait(30), "the stream stayed open after the server exited"
    finally:
        stop_process(process)
    assert rag.open(store=store).articles()  # the store was let go: this process takes it at once
    let_go()
