"""Running workers and writing results: one process per measured pipeline, markdown sections in docs."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.errors import BackendError

ROOT = Path(__file__).resolve().parents[2]


def run_worker(spec: dict[str, Any], timeout: float = 6 * 3600) -> dict[str, Any]:
    """Run one task of eval.bench.worker in a fresh process; its JSON result."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        done = subprocess.run([sys.executable, "-m", "eval.bench.worker", handle.name], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise BackendError(f"benchmark task {spec['task']} failed (exit {done.returncode}): {tail}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def percentiles(values: list[float], points: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    """{"p50": ..., "p95": ..., "p99": ...} of a list of milliseconds (linear interpolation)."""
    import numpy as np

    if not values:
        return {f"p{p}": 0.0 for p in points}
    return {f"p{p}": round(float(np.percentile(values, p)), 2) for p in points}


def summarise(ms: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Percentiles of every stage of a worker's per-question timings."""
    return {stage: percentiles(values) for stage, values in ms.items()}


def load_average() -> float:
    """The 1-minute load average (other jobs on the machine share its cores)."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else 0.0


@contextlib.contextmanager
def busy_cores(count: int) -> Iterator[None]:
    """Keep `count` extra processes spinning on the CPU for the block (a machine with other work)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def rate(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def write_section(path: Path, name: str, body: str) -> None:
    """Replace (or append) the `<!-- bench:NAME -->` section of a markdown file."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def machine() -> str:
    """A one-line description of the machine the figures come from."""
    import os
    import platform

    model = ""
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return f"{len(os.sched_getaffinity(0))} CPU cores ({model or platform.machine()}), load average {load:.1f} at start"
