"""`newsrag bench` runs end to end in its tiny --smoke mode (benchmarks are not tests: no figure is judged)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from eval.bench.measure import cpu, write_section
from eval.bench.serving import BREAKDOWN
from tests.conftest import run_cli, shared_path

SIZES = (30, 100)  # the scale corpora of the smoke run (chunks): two sizes, as small as shows the tables


@pytest.fixture(scope="module")
def smoke_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke store of RealTimeQA articles as the benchmarks build it (`stores.realtimeqa_store`), built once
    for the module; the query and scale benchmarks read it through `--store` (through copies: it stays as built)."""
    from eval.bench.stores import SMOKE_ARTICLES, realtimeqa_store
    from rag.settings import Settings

    shared_path("realtimeqa", "2025-q1", "20250103_gcs.jsonl")
    store, info = realtimeqa_store(Settings(), tmp_path_factory.mktemp("bench-store"), smoke=True)
    assert info["origin"] == "built" and 0 < info["articles"] <= SMOKE_ARTICLES and info["chunks"] > 0, info
    return store


@pytest.mark.slow
def test_bench_smoke_runs_ingest_query_and_scale_and_writes_the_doc(tmp_path: Path, smoke_store: Path) -> None:
    """`newsrag bench --smoke` (all benchmarks) on a tiny corpus; figures are printed, none is judged."""
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nHand-written introduction.\n", encoding="utf-8")
    result = run_cli("bench", "--smoke", "--json", "--out", str(out), "--cache", str(tmp_path / "cache"),
                     "--store", str(smoke_store), "--sizes", ",".join(map(str, SIZES)), timeout=900)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    ingest, query, scale = data["ingest"], data["query"], data["scale"]
    assert ingest["articles"] == 3 and ingest["bare_model"]["chunks"] == ingest["newsrag"]["chunks"] > 0
    assert set(ingest["ratios_vs_llamaindex"]) == {"articles_per_second", "chunks_per_second"}
    ours = query["pipelines"]["newsrag"]
    assert ours["questions"] == query["questions"] == 4 and ours["chunks"] > 0 and ours["bm25_full_builds"] == 0
    assert set(ours["ms"]) >= {"embed", "dense", "bm25", "fuse", "answer", "verify", "retrieval", "total"}
    assert ours["ms"]["total"]["p50"] > 0 and set(ours["ms"]["total"]) == {"p50", "p95", "p99", "mean"}
    for baseline in ("llamaindex", "llamaindex_newsrag_encoder"):
        assert query["pipelines"][baseline]["ms"]["retrieval"]["p50"] > 0
    assert {(r["busy_processes"], r["query_threads"]) for r in query["threads"]} == {(0, 1), (0, 2)}
    assert query["startup"]["help_ms"] > 0 and query["startup"]["ask_cold_ms"] > 0
    assert query["store"]["origin"] == scale["store"]["origin"] == "given" and smoke_store.joinpath("chroma").is_dir()
    assert [row["size"] for row in scale["sizes"]] == list(SIZES)
    for row in scale["sizes"]:
        assert row["chunks"] == row["size"] == row["build"]["chunks"] and row["bm25_full_builds"] == 0
        assert row["recall"] and all(0 <= r["recall_at_10"] <= 1 for r in row["recall"])
    machine = cpu()
    assert ingest["cpu"] == machine and machine["model"] in ingest["machine"]
    assert "CPU cores (" in ingest["machine"] and ", ".join(machine["instruction_sets"]) in ingest["machine"]
    text = out.read_text(encoding="utf-8")
    assert "Hand-written introduction." in text
    for section in ("ingest", "query", "scale"):  # one table per kind of CPU
        assert text.count(f"<!-- bench:{section}@{machine['kind']} -->") == 1
    assert "(benchmarks-latency.svg)" in text
    svg = ElementTree.parse(tmp_path / "benchmarks-latency.svg").getroot()
    assert svg.tag.endswith("svg") and len(svg.findall(".//{http://www.w3.org/2000/svg}polyline")) == 4


@pytest.mark.slow
def test_bench_backends_smoke_writes_its_section(tmp_path: Path) -> None:
    shared_path("realtimeqa", "2025-q1", "20250110_qa.jsonl")
    out = tmp_path / "benchmarks.md"
    out.write_text("# Benchmarks\n\nHand-written introduction.\n", encoding="utf-8")
    result = run_cli("bench", "backends", "--smoke", "--out", str(out), timeout=600)
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "Hand-written introduction." in text and "| OpenVINO bf16 |" in text and "recall@5" in text
    section = f"backends@{cpu()['kind']}"
    write_section(out, section, "replaced table")
    write_section(out, "backends@another-cpu", "another CPU's table")
    text = out.read_text(encoding="utf-8")
    assert text.count(f"<!-- bench:{section} -->") == 1 and "replaced table" in text and "| OpenVINO bf16 |" not in text
    assert text.index("replaced table") < text.index("another CPU's table")  # side by side, in order of first run


@pytest.mark.slow
def test_bench_query_over_a_scale_corpus_breaks_the_answer_down_by_stage(tmp_path: Path, smoke_store: Path) -> None:
    """`newsrag bench query --chunks N` serves the scale corpus of N chunks and accounts for the whole answer
    stage by stage (selector, windows, ranking, citation check...)."""
    out = tmp_path / "benchmarks.md"
    cache = tmp_path / "cache"
    result = run_cli("bench", "query", "--smoke", "--chunks", "400", "--only-newsrag", "--json", "--out", str(out),
                     "--cache", str(cache), "--store", str(smoke_store), timeout=900)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    ours = data["pipelines"]["newsrag"]
    assert ours["chunks"] == 400 and data["store"]["origin"] == "built synthetic"
    ms = ours["ms"]
    for stage in ("embed", "dense", "bm25", "chunk reads", "ranking", "windows", "selector", "sentence embeddings",
                  "citation check", "other"):
        assert ms[stage]["mean"] >= 0, stage
    assert ms["sentence embeddings"]["mean"] > 0 and ms["ranking"]["mean"] > 0 and ms["chunk reads"]["mean"] > 0
    parts = sum(ms[s]["mean"] for s in BREAKDOWN)
    assert abs(parts - ms["total"]["mean"]) <= 0.05 * ms["total"]["mean"]  # every millisecond in one stage
    update = data["bm25_update"]  # the BM25 index follows changed articles by appending to its log
    assert update["appends"] == update["articles_changed"] and update["saves"] == 0 and update["log_bytes"] > 0
    assert update["reopen_followed"] >= update["articles_changed"]
    text = out.read_text(encoding="utf-8")
    assert f"<!-- bench:query-400@{cpu()['kind']} -->" in text and "selector's sentence embeddings" in text
    assert "llama-index" not in text.split("query-400")[1]  # --only-newsrag


@pytest.mark.slow
def test_bench_bm25_smoke_measures_a_change_a_reopen_and_a_compaction(tmp_path: Path) -> None:
    """Without --store: the command builds its own RealTimeQA store first."""
    shared_path("realtimeqa", "2025-q1", "20250103_gcs.jsonl")
    result = run_cli("bench", "bm25", "--smoke", "--json", "--cache", str(tmp_path / "cache"), timeout=600)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["chunks"] == 500 and data["appends"] == len(data["save_ms"]) == 5 and data["reopen_followed"] == 5
    assert data["compaction_ms"] > 0 and data["index_bytes"] > data["log_bytes"] > 0


def test_bench_data_comes_from_the_data_dir_setting(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from eval.bench.corpus import data_dir
    from rag.errors import ConfigError

    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match=str(tmp_path / "realtimeqa" / "2025-q1")):
        data_dir()
    (tmp_path / "realtimeqa" / "2025-q1").mkdir(parents=True)
    (tmp_path / "realtimeqa" / "2025-q1" / "20250103_gcs.jsonl").write_text("", encoding="utf-8")
    assert data_dir() == tmp_path / "realtimeqa" / "2025-q1"
