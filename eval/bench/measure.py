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
    return {**{f"p{p}": round(float(np.percentile(values, p)), 2) for p in points}, "mean": round(float(np.mean(values)), 2)}


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
    """Replace (or add) the `<!-- bench:NAME -->` section of a markdown file.

    A new NAME of the form `base@kind` (one CPU kind's table, see `cpu_kind`) goes right after the
    last section of the same base, so the tables of every CPU kind stay side by side; otherwise at the end.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        base = name.split("@", 1)[0]
        siblings = list(re.finditer(r"<!-- /bench:" + re.escape(base) + r"(@[\w.-]+)? -->", text))
        if siblings:
            at = siblings[-1].end()
            text = text[:at] + "\n\n" + block + text[at:]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


# /proc/cpuinfo flag -> the name printed; the instruction sets that change how fast the model runs
INSTRUCTION_SETS = {"avx2": "AVX2", "avx512f": "AVX-512", "avx512_vnni": "AVX-512 VNNI", "avx512_bf16": "AVX-512 BF16",
                    "amx_bf16": "AMX-BF16", "amx_int8": "AMX-INT8"}


def cpu() -> dict[str, Any]:
    """The CPU the figures come from: model name, cores this process may use, the instruction sets that
    matter for the model (from /proc/cpuinfo flags), and a short `kind` naming its table in the docs."""
    import platform

    model, flags = "", set[str]()
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    present = [label for flag, label in INSTRUCTION_SETS.items() if flag in flags]
    model = model or platform.machine()
    return {"model": model, "cores": len(os.sched_getaffinity(0)), "instruction_sets": present,
            "kind": cpu_kind(model, flags)}


def cpu_kind(model: str, flags: set[str]) -> str:
    """`intel-xeon-amx`, `amd-epyc-avx2`...: vendor and brand, then the widest matrix/vector unit."""
    words = re.sub(r"\((R|TM|tm|r)\)", " ", model).replace("-", " ").split()
    brand = [w.lower() for w in words if w.isalpha() and w.lower() not in ("cpu", "processor")][:2]
    tier = ("amx" if "amx_bf16" in flags else "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags
            else "base")
    return "-".join([*(brand or ["cpu"]), tier])


def describe_cpu(info: dict[str, Any]) -> str:
    """`2 CPU cores (Intel(R) Xeon(R) Processor; AVX2, AVX-512, ..., AMX-BF16)`."""
    sets = ", ".join(info["instruction_sets"]) or "no AVX2"
    return f"{info['cores']} CPU cores ({info['model']}; {sets})"


def machine() -> str:
    """A one-line description of the machine the figures come from."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return f"{describe_cpu(cpu())}, load average {load:.1f} at start"
