"""The scale section of docs/benchmarks.md: tables, the latency plot, and the targets checked against them."""

from __future__ import annotations

from typing import Any

from .plot import latency_svg
from .scale import format_scale

TARGET_SIZE = 100_000
TARGETS = {"p50": 60.0, "p95": 150.0, "rss_mb": 1536.0}  # whole answer at 100k chunks on 2 cores; RSS 1.5 GB


def scale_plot(result: dict[str, Any]) -> str:
    rows = result["sizes"]
    sizes = [r["size"] for r in rows]
    series = {"answer p95": [r["ms"]["total"]["p95"] for r in rows], "answer p50": [r["ms"]["total"]["p50"] for r in rows],
              "retrieval p50": [r["ms"]["retrieval"]["p50"] for r in rows], "dense p50": [r["ms"]["dense"]["p50"] for r in rows]}
    return latency_svg("newsrag ask latency against corpus size (2 CPU cores)", sizes, series,
                       {"p95 target": TARGETS["p95"], "p50 target": TARGETS["p50"]})


def target_lines(result: dict[str, Any]) -> list[str]:
    """Each target at 100k chunks: the figure, met or missed and by how much."""
    row = next((r for r in result["sizes"] if r["size"] == TARGET_SIZE), None)
    if row is None:
        return []
    figures = {"p50": row["ms"]["total"]["p50"], "p95": row["ms"]["total"]["p95"], "rss_mb": row["rss_mb"]}
    labels = {"p50": "whole answer p50", "p95": "whole answer p95", "rss_mb": "resident memory serving"}
    lines = []
    for key, limit in TARGETS.items():
        value, unit = figures[key], " MB" if key == "rss_mb" else " ms"
        verdict = "met" if value < limit else f"**missed by {value - limit:.0f}{unit} ({value / limit:.2f}x)**"
        lines.append(f"- {labels[key]} at {TARGET_SIZE:,} chunks: {value:.1f}{unit} (target under {limit:.0f}{unit}): {verdict}")
    return lines


def format_scale_section(result: dict[str, Any], plot_file: str) -> str:
    parts = [format_scale(result), "", f"![newsrag ask latency against corpus size]({plot_file})"]
    lines = target_lines(result)
    if lines:
        parts += ["", "Targets (2 CPU cores):", "", *lines]
    return "\n".join(parts)
