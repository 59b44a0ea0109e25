"""`newsrag serve` runs the API and the chat in one real server process."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT
from tests.servers import free_port


def test_serve_mounts_the_chat_at_root_and_the_api_at_v1(sample_store) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "serve", "--store", str(sample_store), "--port", str(port)],
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else "serve exited"
            try:
                health = httpx.get(f"{base}/v1/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "newsrag serve did not come up"
                time.sleep(0.2)
        assert health.json()["articles"] == 8
        page = httpx.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        answer = httpx.post(f"{base}/v1/ask", json={"question": "What did Milley say about ISIS-K?"}, timeout=120).json()
        assert answer["refused"] is False and "it’s possible" in answer["answer"]
    finally:
        process.terminate()
        process.wait(timeout=30)
