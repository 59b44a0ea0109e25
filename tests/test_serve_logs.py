"""The logs of a real `newsrag serve` process at INFO: one JSON object per line with a request id, and no
question text (only its length), no article text and no key, whatever the API, the chat or the admin
routes were asked, rightly or wrongly."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT
from tests.servers import free_port
from tests.ui_harness import copy_store, running

pytestmark = pytest.mark.slow  # a real `newsrag serve` per module

READER, ADMIN = "reader-key-31c8e2", "admin-key-7d04aa"
WRONG_KEY, WRONG_PASSWORD = "wrong-key-5d1e90", "wrong-pass-88ab1"
QUESTION = "What did Milley say about ISIS-K and the zebracorn?"
CHAT_QUESTION = "What did Milley say about the quokkaplex and ISIS-K?"
NOTE = ("Title: Kessel Dam Opens Two Gates\nDate: 2024-05-05\n\n"
        "The Kessel dam opened two of its five gates on Sunday after three days of heavy rain.\n")
# nothing of these may reach the log: questions, article text and titles, keys and passwords
SECRETS = [READER, ADMIN, WRONG_KEY, WRONG_PASSWORD, "Bearer", "zebracorn", "quokkaplex", "Milley", "ISIS",
           "it’s possible", "Coordinate With the Taliban", "two of its five gates", "Kessel", "heavy rain"]


@pytest.fixture(scope="module")
def served(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, dict[str, Any]]]:
    """`newsrag serve` with keys over a copy of the sample store; yields its URL, its log file and what was asked."""
    root = tmp_path_factory.mktemp("serve-logs")
    store = copy_store(sample_store, root / "store")
    log = root / "server.log"
    port = free_port()
    env = {"NEWSRAG_API_KEY": READER, "NEWSRAG_ADMIN_KEY": ADMIN, "NEWSRAG_LOG_LEVEL": "INFO", "NEWSRAG_LOG_FORMAT": "json"}
    command = ["serve", "--store", str(store), "--host", "127.0.0.1", "--port", str(port)]
    asked: dict[str, Any] = {}
    with running(command, f"http://127.0.0.1:{port}/v1/health", env, log) as health:
        base = health.removesuffix("/v1/health")
        asked.update(_use_everything(base))
    yield base, log, asked


def _use_everything(base: str) -> dict[str, Any]:
    """Every kind of request a shared server gets, good and bad; returns the request ids the server gave back."""
    key = {"Authorization": f"Bearer {READER}"}
    ids: dict[str, Any] = {}
    with httpx.Client(base_url=base, timeout=120) as http:
        ask = http.post("/v1/ask", json={"question": QUESTION}, headers=key)
        assert ask.status_code == 200 and not ask.json()["refused"], ask.text
        ids["ask"] = ask.headers["x-request-id"]
        streamed = http.post("/v1/ask", json={"question": QUESTION, "stream": True}, headers=key)
        assert streamed.status_code == 200 and "event: answer" in streamed.text
        ids["stream"] = streamed.headers["x-request-id"]
        openai = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": QUESTION}]}, headers=key)
        assert openai.status_code == 200, openai.text
        ids["openai"] = openai.headers["x-request-id"]
        assert http.post("/v1/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {WRONG_KEY}"}).status_code == 401
        assert http.post("/v1/ask", json={"question": "zebracorn\x00"}, headers=key).status_code == 422
        assert http.post("/v1/ask", json={"question": QUESTION, "filters": {"sources": ["zebracorn.example"]}},
                         headers=key).status_code == 422
        assert http.get("/v1/articles", params={"limit": 2}, headers=key).status_code == 200
        upload = http.post("/v1/admin/upload", files={"files": ("kessel-dam.txt", NOTE.encode(), "text/plain")},
                           headers={"Authorization": f"Bearer {ADMIN}"})
        assert upload.status_code == 200 and upload.json()["added"] == 1, upload.text
        ids["upload"] = upload.headers["x-request-id"]
        assert http.post("/login", data={"username": "reader", "password": WRONG_PASSWORD}).status_code == 400
    _ask_in_the_chat(base)
    return ids


CHAT = """
import json, sys
from gradio_client import Client

base, key, question = sys.argv[1:]
chat = Client(base + "/", auth=("reader", key), verbose=False)
conversation, *_ = chat.predict(question, None, "", "", [], "extractive", api_name="/ask")
chat.predict("?!?", None, "", "", [], "extractive", api_name="/ask")  # refused with a warning in the chat
print(json.dumps(conversation))
"""


def _ask_in_the_chat(base: str) -> None:
    """A Gradio client asks in the chat, from its own process: its heartbeat stream ends with the process (left
    open, it keeps the server from stopping until its next heartbeat, about 15 s later)."""
    done = subprocess.run([sys.executable, "-c", CHAT, base, READER, CHAT_QUESTION], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    conversation = json.loads(done.stdout.strip().splitlines()[-1])
    assert "it’s possible" in json.dumps(conversation, ensure_ascii=False)  # the chat answered from the article


def _lines(log: Path) -> list[dict[str, Any]]:
    text = log.read_text(encoding="utf-8")
    banner, *rest = [line for line in text.splitlines() if line.strip()]
    assert banner.startswith("newsrag on http://127.0.0.1:")
    return [json.loads(line) for line in rest]  # every other line is one JSON object


def test_info_logs_hold_no_question_article_text_or_key(served: tuple[str, Path, dict[str, Any]]) -> None:
    _, log, _ = served
    text = log.read_text(encoding="utf-8")
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], f"the INFO log holds {leaked}"
    lines = _lines(log)
    assert {line["level"] for line in lines} <= {"INFO", "WARNING"}
    answered = [line for line in lines if line["event"] == "answered"]
    assert len(answered) == 4  # the three API answers and the chat's; the bad questions were refused before answering
    assert sorted(line["question_chars"] for line in answered) == sorted([len(QUESTION)] * 3 + [len(CHAT_QUESTION)])
    assert all("question" not in line and "text" not in line for line in answered)


def test_every_line_is_structured_with_its_request_id(served: tuple[str, Path, dict[str, Any]]) -> None:
    _, log, ids = served
    lines = _lines(log)
    for line in lines:
        assert {"time", "level", "logger", "request_id", "event"} <= set(line), line
    by_id: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_id.setdefault(line["request_id"], []).append(line)
    for name in ("ask", "stream", "openai"):
        events = {line["event"] for line in by_id[ids[name]]}
        assert {"answered", "request"} <= events, (name, events)
    assert any(line["event"] == "ingested" and line["added"] == 1 for line in by_id[ids["upload"]])
    statuses = {(line["method"], line["path"], line["status"]) for line in lines if line["event"] == "request"}
    assert {("POST", "/v1/ask", 200), ("POST", "/v1/ask", 401), ("POST", "/v1/ask", 422),
            ("GET", "/v1/articles", 200), ("POST", "/v1/admin/upload", 200), ("POST", "/login", 400)} <= statuses
    refused = [line for line in lines if line["event"] == "refused"]
    assert {(line["status"], line["type"]) for line in refused} >= {(401, "AccessError"), (422, "QueryError")}
