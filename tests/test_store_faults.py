"""Faults while writing: a full disk is one clear error naming the space needed, Ctrl-C exits 130 cleanly.

The disk-full test mounts a small tmpfs (root can; CI runs as root). Where mounting is not allowed it
runs the same ingest with the free space the store check sees cut to almost nothing (a simulated full
disk: the same pre-write check refuses the same way).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli, shared_path

CORPUS = ("realtimeqa", "2025-q1", "20250103_gcs.jsonl")  # ~80 articles, ~1,400 chunks: more than 6 MB stored
FULL_DISK_LINES = 4  # its first 4 questions: ~40 articles, two write batches; the first fits in 6 MB, the second not


@contextlib.contextmanager
def small_disk(folder: Path, megabytes: int) -> Iterator[bool]:
    """A tmpfs of this size at `folder` (yields True), or the folder as it is when mounting is not allowed."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(folder)],
                             capture_output=True).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


@pytest.mark.slow
def test_a_full_disk_during_ingest_is_one_error_naming_the_space_needed(tmp_path: Path) -> None:
    """The first batch is written, the second is refused before it is written: the store keeps the first whole."""
    lines = shared_path(*CORPUS).read_text(encoding="utf-8").splitlines(keepends=True)[:FULL_DISK_LINES]
    corpus = tmp_path / "week_gcs.jsonl"
    corpus.write_text("".join(lines), encoding="utf-8")
    with small_disk(tmp_path / "disk", 6) as mounted:
        store = tmp_path / "disk" / "store"
        command = ["ingest", str(corpus), "--store", str(store), "--quiet"]
        if mounted:
            result = run_cli(*command, timeout=600)
        else:  # simulated: the free space the pre-write check reads is 1 MB
            result = subprocess.run(
                [sys.executable, "-c", "import sys, rag.store.diskspace as d; d.free_bytes = lambda path: 1 << 20; "
                 "from ui.cli import main; sys.exit(main(sys.argv[1:]))", *command],
                cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 3, (result.returncode, result.stderr[-2000:])  # not 134 (abort) nor a traceback
        errors = [line for line in result.stderr.splitlines() if line.startswith("newsrag: error")]
        assert len(errors) == 1 and "Traceback" not in result.stderr and "terminate called" not in result.stderr
        assert "not enough disk space" in errors[0] and "needs about" in errors[0] and " MB" in errors[0], errors[0]
        status = run_cli("status", "--store", str(store), "--json")  # what was stored before is whole
        assert status.returncode == 0, status.stderr
        stored = json.loads(status.stdout)
        listed = json.loads(run_cli("list", "--store", str(store), "--json").stdout)
        assert stored["articles"] == len(listed) and stored["chunks"] == sum(r["chunks"] for r in listed)
        if mounted:  # the first batch fitted (a simulated full disk refuses every write)
            assert 0 < stored["articles"] < FULL_DISK_LINES * 10, stored


@pytest.mark.slow
def test_ctrl_c_during_ingest_exits_130_with_the_recovery_line(tmp_path: Path) -> None:
    corpus = shared_path(*CORPUS)
    second = shared_path("realtimeqa", "2025-q1", "20250110_gcs.jsonl")  # still being read when the first is done
    store = tmp_path / "store"
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "ingest", str(corpus), str(second), "--store", str(store), "--progress", "lines"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NEWSRAG_INGEST_BATCH_CHUNKS": "32"},  # the first articles are written sooner
    )
    assert process.stderr is not None
    deadline = time.monotonic() + 300
    lines = []
    while time.monotonic() < deadline:  # interrupt once articles are being written (the journal is open)
        line = process.stderr.readline()
        lines.append(line)
        if " articles, " in line and not line.lstrip().startswith("0 articles"):
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    err = "".join(lines) + err
    assert process.returncode == 130, (process.returncode, err[-2000:])
    assert "recovered the store at" in err and "newsrag: interrupted" in err
    assert "Traceback" not in err and "terminate called" not in err and "Segmentation" not in err
    status = run_cli("status", "--store", str(store), "--json")
    assert status.returncode == 0 and json.loads(status.stdout)["articles"] >= 1, status.stderr
