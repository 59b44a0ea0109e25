"""Plots as hand-written SVG, so the HTML report needs no plotting library and no network."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_W, _H, _L, _R, _T, _B = 520, 300, 52, 130, 16, 40  # size and margins


def line_chart(title: str, xs: Sequence[float], series: Mapping[str, Sequence[float]], x_label: str,
               y_label: str, y_max: float = 1.0) -> str:
    """Lines over shared x values (e.g. recall@k for k = 1..20), one per named series, y from 0 to y_max."""
    plot_w, plot_h = _W - _L - _R, _H - _T - _B
    x_lo, x_hi = min(xs), max(xs) if len(xs) > 1 else min(xs) + 1

    def px(x: float) -> float:
        return _L + (x - x_lo) / (x_hi - x_lo) * plot_w

    def py(y: float) -> float:
        return _T + plot_h - (y / y_max) * plot_h

    parts = [_frame(title, x_label, y_label)]
    for i in range(6):
        y = y_max * i / 5
        parts.append(f'<line x1="{_L}" x2="{_L + plot_w}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#eee"/>'
                     f'<text x="{_L - 6}" y="{py(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
    for x in _ticks(x_lo, x_hi):
        parts.append(f'<text x="{px(x):.1f}" y="{_T + plot_h + 16}" text-anchor="middle">{x:g}</text>')
    for n, (name, ys) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        parts.extend(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="2.5" fill="{color}"><title>{escape(name)} '
                     f'k={x:g}: {y:.3f}</title></circle>' for x, y in zip(xs, ys, strict=True))
        parts.append(_legend(n, name, color))
    return _svg(title, parts)


def histogram(title: str, values: Sequence[float], x_label: str, bins: int = 20,
              markers: Mapping[str, float] | None = None) -> str:
    """Counts of `values` in equal-width bins, with optional vertical markers (e.g. p50, p95)."""
    plot_w, plot_h = _W - _L - _R, _H - _T - _B
    if not values:
        return _svg(title, [_frame(title, x_label, "questions"),
                            f'<text x="{_L + 10}" y="{_T + 30}">no timings</text>'])
    lo, hi = 0.0, max(values) * 1.05 or 1.0
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    top = max(counts)
    parts = [_frame(title, x_label, "questions")]
    for i, count in enumerate(counts):
        h = count / top * plot_h
        x = _L + i * plot_w / bins
        parts.append(f'<rect x="{x:.1f}" y="{_T + plot_h - h:.1f}" width="{plot_w / bins - 1:.1f}" height="{h:.1f}" '
                     f'fill="{PALETTE[0]}"><title>{lo + i * width:.0f}-{lo + (i + 1) * width:.0f} ms: '
                     f'{count}</title></rect>')
    for x in _ticks(lo, hi):
        parts.append(f'<text x="{_L + (x - lo) / (hi - lo) * plot_w:.1f}" y="{_T + plot_h + 16}" '
                     f'text-anchor="middle">{x:g}</text>')
    parts.append(f'<text x="{_L - 6}" y="{_T + 8}" text-anchor="end">{top}</text>')
    for n, (name, value) in enumerate((markers or {}).items()):
        x = _L + (value - lo) / (hi - lo) * plot_w
        color = PALETTE[(n + 1) % len(PALETTE)]
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{_T}" y2="{_T + plot_h}" stroke="{color}" '
                     f'stroke-dasharray="4 3" stroke-width="2"/>')
        parts.append(_legend(n, f"{name} {value:.0f} ms", color))
    return _svg(title, parts)


def _frame(title: str, x_label: str, y_label: str) -> str:
    plot_w, plot_h = _W - _L - _R, _H - _T - _B
    return (f'<rect x="{_L}" y="{_T}" width="{plot_w}" height="{plot_h}" fill="white" stroke="#999"/>'
            f'<text x="{_L + plot_w / 2}" y="{_H - 6}" text-anchor="middle">{escape(x_label)}</text>'
            f'<text transform="translate(14 {_T + plot_h / 2}) rotate(-90)" text-anchor="middle">'
            f'{escape(y_label)}</text>')


def _legend(n: int, name: str, color: str) -> str:
    x, y = _W - _R + 12, _T + 12 + 18 * n
    return (f'<rect x="{x}" y="{y - 9}" width="12" height="10" fill="{color}"/>'
            f'<text x="{x + 17}" y="{y}">{escape(name)}</text>')


def _ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    step = 10 ** math.floor(math.log10(span / count))
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


def _svg(title: str, parts: Sequence[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
            f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">'
            f'<title>{escape(title)}</title>{"".join(parts)}</svg>')
