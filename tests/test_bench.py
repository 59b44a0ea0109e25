"""`newsrag bench` runs end to end in its tiny --smoke mode (benchmarks are not tests: no figure is judged)."""

from __future__ import annotations

import json
from pathlib import Path

from eval.bench.measure import write_section
from tests.conftest import run_cli, shared_path


def test_bench_ingest_smoke_reports_both_pipelines() -> None:
    shared_path("realtimeqa", "2025-q1", "20250103_gcs.jsonl")
    result = run_cli("bench", "ingest", "--smoke", "--json", timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["articles"] == 3
    for pipeline in ("newsrag", "llamaindex"):
        assert data[pipeline]["chunks"] > 0 and data[pipeline]["peak_rss_mb"] > 50
    assert data["bare_model"]["chunks"] == data["newsrag"]["chunks"]
    assert set(data["ratios_vs_llamaindex"]) == {"articles_per_second", "chunks_per_second"}


def test_bench_backends_smoke_writes_its_section(tmp_path: Path) -> None:
    shared_path("realtimeqa", "2025-q1", "20250110_qa.jsonl")
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nHand-written introduction.\n", encoding="utf-8")
    result = run_cli("bench", "backends", "--smoke", "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "Hand-written introduction." in text and "| OpenVINO bf16 |" in text and "recall@5" in text
    write_section(out, "backends", "replaced table")
    text = out.read_text(encoding="utf-8")
    assert text.count("<!-- bench:backends -->") == 1 and "replaced table" in text and "| OpenVINO bf16 |" not in text
