"""`newsrag serve` and `newsrag ui` stop on SIGTERM or Ctrl-C even while a chat tab is open: Gradio's heartbeat
stream to a browser never ends by itself, and the servers used to wait for it for good (`newsrag ui` still did on
Ctrl-C). They now give open requests a grace period (`ui.http.server.SHUTDOWN_GRACE`), then close them, and let go
of the store cleanly: the next start skips the full store check (uvicorn ends the process by raising the signal
again, which used to skip the exit handler that signs the files)."""

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


def _wait_until_up(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited before it answered"
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the server did not answer at {url}")


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


@pytest.mark.parametrize(("command", "sig", "up"), [("serve", signal.SIGTERM, "/v1/health"), ("ui", signal.SIGINT, "/")])
def test_a_signal_stops_the_server_while_a_chat_tab_holds_a_stream(command: str, sig: signal.Signals, up: str,
                                                                    sample_store: Path, tmp_path: Path) -> None:
    store = copy_store(sample_store, tmp_path / "store")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    let_go()
    process = subprocess.Popen([sys.executable, "-m", "ui.cli", command, "--store", str(store), "--port", str(port)],
                               cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(process, base + up)
        opened, ended = threading.Event(), threading.Event()
        threading.Thread(target=_hold_heartbeat, args=(base, opened, ended), daemon=True).start()
        assert opened.wait(60) and not ended.is_set(), "the heartbeat stream did not open"
        process.send_signal(sig)
        try:  # the grace period, then the stream is closed; before, this waited for the tab to close
            process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            pytest.fail(f"newsrag {command} was still running 90 s after {sig.name} with a chat stream open")
        # uvicorn raises the signal again once it has shut down; after Ctrl-C newsrag ends with 130
        assert process.returncode in (0, -sig, 130)
        assert ended.wait(30), "the stream stayed open after the server exited"
    finally:
        stop_process(process)
    assistant = rag.open(store=store)  # the store was let go: this process takes it at once
    assert assistant.articles()
    assert assistant.status()["store_check"]["check"] == "skipped"  # signed at the clean stop: no full check
    let_go()
