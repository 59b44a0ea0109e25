"""A scripted LLM server for tests: speaks the OpenAI and Ollama wire protocols over real HTTP.

It answers with replies the test scripts (plain text, possibly with wrong or out-of-range [n]
markers), streams them in small deltas when asked, and records every request and prompt it
received, so tests can check both what newsrag sent and what it made of the reply.

    with ScriptedLLM() as llm:                     # listens on 127.0.0.1, a free port
        llm.script("Milley said it is possible [1].")
        settings = Settings(answerer="llm", llm_base_url=llm.base_url, llm_model="scripted")
        ...
        assert "ISIS-K" in llm.prompts[-1]

Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models (OpenAI style, with
`"stream": true` as server-sent events) and POST /api/chat, /api/generate, /api/show (Ollama
style, streamed as JSON lines). Stdlib only, so it runs wherever the tests run.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | Callable[[str], str]  # fixed text, or a function of the prompt


@dataclass
class Rule:
    """Reply with `reply` to prompts that contain `when` (every prompt when None); `times` uses, or forever."""

    reply: Reply
    when: str | None = None
    times: int | None = None
    status: int = 200


@dataclass
class Received:
    """One request the server got: its path, its JSON body and the prompt text it carried."""

    path: str
    body: dict[str, Any]
    prompt: str
    stream: bool


@dataclass
class ScriptedLLM:
    """The server. `script()` adds a reply rule; the first rule that matches a prompt answers it."""

    default_reply: str = "Not in the articles."  # when no rule matches
    rules: list[Rule] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    delta_chars: int = 7  # size of the streamed pieces

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ control
    def start(self) -> ScriptedLLM:
        handler = type("Handler", (_Handler,), {"llm": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (the Ollama base URL)."""
        assert self._server is not None, "the server is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/v1 (the OpenAI base URL)."""
        return self.url + "/v1"

    def script(self, reply: Reply, when: str | None = None, times: int | None = None, status: int = 200) -> None:
        """Add a rule; rules are tried in the order they were added, and the first that matches answers."""
        with self._lock:
            self.rules.append(Rule(reply, when, times, status))

    def reset(self) -> None:
        """Forget every rule and every recorded request."""
        with self._lock:
            self.rules.clear()
            self.received.clear()

    @property
    def prompts(self) -> list[str]:
        """The prompt text of every request, oldest first (chat messages joined by blank lines)."""
        return [r.prompt for r in self.received]

    # ------------------------------------------------------------------ answering
    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        prompt = _prompt_of(body)
        with self._lock:
            self.received.append(Received(path, body, prompt, bool(body.get("stream"))))
            for rule in self.rules:
                if rule.when is not None and rule.when not in prompt:
                    continue
                if rule.times is not None:
                    if rule.times <= 0:
                        continue
                    rule.times -= 1
                reply = rule.reply(prompt) if callable(rule.reply) else rule.reply
                return rule.status, reply
        return 200, self.default_reply

    def pieces(self, text: str) -> list[str]:
        """The reply cut into small deltas, as a real server streams tokens."""
        return [text[i : i + self.delta_chars] for i in range(0, len(text), self.delta_chars)] or [""]


def _prompt_of(body: dict[str, Any]) -> str:
    if "messages" in body:
        parts = []
        for message in body["messages"]:
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            parts.append(str(content or ""))
        return "\n\n".join(parts)
    return str(body.get("prompt", ""))


class _Handler(BaseHTTPRequestHandler):
    llm: ScriptedLLM
    protocol_version = "HTTP/1.0"  # a streamed body ends when the connection closes

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "tests"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._json(400, {"error": {"message": "body is not JSON"}})
            return
        path = self.path.split("?")[0].rstrip("/")
        routes = {
            "/v1/chat/completions": self._openai, "/v1/completions": self._openai,
            "/api/chat": self._ollama, "/api/generate": self._ollama, "/api/show": self._ollama_show,
        }
        route = routes.get(path)
        if route is None:
            self._json(404, {"error": {"message": f"no route {path}"}})
            return
        route(path, body)

    # ------------------------------------------------------------------ OpenAI protocol
    def _openai(self, path: str, body: dict[str, Any]) -> None:
        status, reply = self.llm.answer(path, body)
        if status != 200:
            self._json(status, {"error": {"message": reply, "type": "scripted_error"}})
            return
        chat = path.endswith("chat/completions")
        base = {"id": f"scripted-{time.time_ns()}", "created": int(time.time()), "model": body.get("model", "scripted")}
        if not body.get("stream"):
            choice: dict[str, Any] = {"index": 0, "finish_reason": "stop", "logprobs": None}
            if chat:
                choice["message"] = {"role": "assistant", "content": reply}
            else:
                choice["text"] = reply
            usage = {"prompt_tokens": 1, "completion_tokens": len(reply.split()), "total_tokens": 1 + len(reply.split())}
            self._json(200, {**base, "object": "chat.completion" if chat else "text_completion",
                             "choices": [choice], "usage": usage})
            return
        self._start_stream("text/event-stream")
        kind = "chat.completion.chunk" if chat else "text_completion"
        for i, piece in enumerate(self.llm.pieces(reply)):
            if chat:
                delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
                choice = {"index": 0, "delta": delta, "finish_reason": None}
            else:
                choice = {"index": 0, "text": piece, "finish_reason": None, "logprobs": None}
            self._event({**base, "object": kind, "choices": [choice]})
        end = {"index": 0, "delta": {}, "finish_reason": "stop"} if chat else {"index": 0, "text": "", "finish_reason": "stop"}
        self._event({**base, "object": kind, "choices": [end]})
        self.wfile.write(b"data: [DONE]\n\n")

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
        self.wfile.flush()

    # ------------------------------------------------------------------ Ollama protocol
    def _ollama(self, path: str, body: dict[str, Any]) -> None:
        status, reply = self.llm.answer(path, body)
        if status != 200:
            self._json(status, {"error": reply})
            return
        chat = path == "/api/chat"
        model = body.get("model", "scripted")

        def line(text: str, done: bool) -> dict[str, Any]:
            out: dict[str, Any] = {"model": model, "created_at": "2024-01-01T00:00:00Z", "done": done}
            if chat:
                out["message"] = {"role": "assistant", "content": text}
            else:
                out["response"] = text
            if done:
                out.update(done_reason="stop", total_duration=1, prompt_eval_count=1, eval_count=1)
            return out

        if body.get("stream", True) is False:
            self._json(200, line(reply, True))
            return
        self._start_stream("application/x-ndjson")
        for piece in self.llm.pieces(reply):
            self.wfile.write(json.dumps(line(piece, False)).encode() + b"\n")
            self.wfile.flush()
        self.wfile.write(json.dumps(line("", True)).encode() + b"\n")

    def _ollama_show(self, path: str, body: dict[str, Any]) -> None:
        self._json(200, {"modelfile": "", "parameters": "", "template": "", "details": {"family": "scripted"},
                         "model_info": {"general.architecture": "scripted", "scripted.context_length": 8192}})

    # ------------------------------------------------------------------ plumbing
    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()

    def _json(self, status: int, data: dict[str, Any]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def passages_in(prompt: str) -> dict[int, str]:
    """The numbered passages of a newsrag prompt: {n: passage text}, for scripting replies that cite them."""
    found = re.findall(r'<passage n="(\d+)"[^>]*>\n?(.*?)\n?</passage>', prompt, re.DOTALL)
    return {int(n): text for n, text in found}
