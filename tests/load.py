"""A load test for a running newsrag server: N clients ask questions in a loop for T seconds.

    python -m tests.load --url http://127.0.0.1:8000 --clients 20 --seconds 30 \
        --questions ../shared/data/sample/questions.jsonl [--key KEY]

Prints requests, errors, throughput and latency percentiles. `tests/test_concurrency.py` runs it
against `newsrag serve` while another process re-ingests an article, and checks every answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

Check = Callable[[str, dict[str, Any]], str | None]  # (question, answer) -> a problem, or None


@dataclass
class LoadResult:
    """What the clients saw."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # answers the check rejected
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def summary(self) -> str:
        mean = statistics.fmean(self.latencies) if self.latencies else 0.0
        return (f"{self.clients} clients, {self.seconds:.1f} s: {self.requests} requests, {len(self.errors)} errors, "
                f"{len(self.problems)} bad answers; {self.throughput:.2f} answers/s; latency mean {mean * 1000:.0f} ms, "
                f"p50 {self.percentile(0.5) * 1000:.0f} ms, p95 {self.percentile(0.95) * 1000:.0f} ms, "
                f"max {max(self.latencies, default=0) * 1000:.0f} ms")


def run_load(base: str, questions: Sequence[str], clients: int = 20, seconds: float = 30.0,
             key: str | None = None, check: Check | None = None, timeout: float = 120.0,
             stop: threading.Event | None = None) -> LoadResult:
    """`clients` threads each ask the questions in turn (from different offsets) until `seconds` have passed
    (or `stop` is set, when given)."""
    result = LoadResult(clients=clients)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=timeout) as http:
            n = offset
            while time.monotonic() < deadline and not (stop is not None and stop.is_set()):
                question = questions[n % len(questions)]
                n += 1
                _one_request(http, question, result, check)

    threads = [threading.Thread(target=client, args=(i,), name=f"load-{i}") for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


def _one_request(http: httpx.Client, question: str, result: LoadResult, check: Check | None) -> None:
    started = time.perf_counter()
    try:
        response = http.post("/v1/ask", json={"question": question})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
        answer = response.json()
    except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
        with result.lock:
            result.errors.append(f"{question[:60]!r}: {type(exc).__name__}: {exc}")
        return
    try:
        problem = check(question, answer) if check else None
    except Exception as exc:  # noqa: BLE001 - a check that cannot read the answer is a bad answer
        problem = f"{question[:60]!r}: the check failed: {type(exc).__name__}: {exc}"
    with result.lock:
        result.latencies.append(elapsed)
        if problem:
            result.problems.append(problem)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--questions", type=Path, required=True, help="a questions.jsonl (field 'question') or .txt file")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--key", help="the API key, when the server has one")
    args = parser.parse_args(argv)
    lines = [line for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [json.loads(line)["question"] if line.lstrip().startswith("{") else line for line in lines]
    result = run_load(args.url.rstrip("/"), questions, args.clients, args.seconds, args.key)
    print(result.summary())
    for error in result.errors[:10]:
        print("error:", error)
    return 1 if result.errors else 0


if __name__ == "__main__":
    raise SystemExit(main())


def reingest_loop(store: str, article: str, versions: Sequence[str], seconds: float) -> None:
    """Write each version of `article` in turn and ingest it, for `seconds` after the first ingest (a background
    writer: its clients start when it prints "ready", so it writes for as long as they ask).

    Prints "ready" after the first ingest and the number of ingests at the end.
    """
    import index
    from rag.embedding.embedder import Embedder
    from rag.settings import Settings

    settings = Settings(store=store)
    embedder = Embedder(settings)
    path = Path(article)
    deadline, done = float("inf"), 0
    while time.monotonic() < deadline:
        path.write_text(Path(versions[done % len(versions)]).read_text(encoding="utf-8"), encoding="utf-8")
        report = index.ingest([path], settings=settings, embedder=embedder)
        if not report.ok or report.added + report.updated + report.unchanged != 1:
            raise SystemExit(f"ingest {done} went wrong: {report.to_dict()}")
        done += 1
        if done == 1:
            deadline = time.monotonic() + seconds
            print("ready", flush=True)
    print(f"ingests {done}", flush=True)
