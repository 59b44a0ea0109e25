"""A small line chart as a standalone SVG file (no plotting library): latency against corpus size."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 560, 320
LEFT, RIGHT, TOP, BOTTOM = 60, 150, 30, 50
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def latency_svg(title: str, sizes: Sequence[int], series: Mapping[str, Sequence[float]],
                targets: Mapping[str, float]) -> str:
    """Lines of milliseconds (y, linear from 0) over chunk counts (x, logarithmic), dashed target lines."""
    top = max([*(v for values in series.values() for v in values), *targets.values(), 1.0]) * 1.1
    lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
    span = (hi - lo) or 1.0

    def x(size: float) -> float:
        return LEFT + (math.log10(size) - lo) / span * (WIDTH - LEFT - RIGHT) if hi > lo else (WIDTH - RIGHT + LEFT) / 2

    def y(ms: float) -> float:
        return HEIGHT - BOTTOM - ms / top * (HEIGHT - TOP - BOTTOM)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
           'font-family="sans-serif" font-size="11">', f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{LEFT}" y="18" font-size="13">{escape(title)}</text>']
    out += _axes(sizes, top, x, y)
    for (name, ms), colour in zip(targets.items(), ("#888", "#bbb")):
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(ms):.1f}" y2="{y(ms):.1f}" stroke="{colour}" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{WIDTH - RIGHT + 4}" y="{y(ms) + 4:.1f}" fill="#666">{escape(name)}</text>')
    for n, ((name, values), colour) in enumerate(zip(series.items(), COLOURS)):
        points = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in zip(sizes, values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out += [f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>' for s, v in zip(sizes, values)]
        out.append(f'<text x="{WIDTH - RIGHT + 4}" y="{TOP + 40 + 16 * n}" fill="{colour}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _axes(sizes: Sequence[int], top: float, x, y) -> list[str]:  # type: ignore[no-untyped-def]
    base = HEIGHT - BOTTOM
    out = [f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{base}" y2="{base}" stroke="black"/>',
           f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{base}" stroke="black"/>',
           f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 12}" text-anchor="middle">chunks in the store (log scale)</text>',
           f'<text x="14" y="{(TOP + base) / 2:.0f}" transform="rotate(-90 14 {(TOP + base) / 2:.0f})" text-anchor="middle">ms</text>']
    for size in sizes:
        out.append(f'<line x1="{x(size):.1f}" x2="{x(size):.1f}" y1="{base}" y2="{base + 4}" stroke="black"/>')
        out.append(f'<text x="{x(size):.1f}" y="{base + 16}" text-anchor="middle">{_short(size)}</text>')
    step = _nice_step(top)
    tick = 0.0
    while tick <= top:
        out.append(f'<line x1="{LEFT - 4}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
        tick += step
    return out


def _nice_step(top: float) -> float:
    raw = top / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _short(size: int) -> str:
    return f"{size / 1e6:g}M" if size >= 1_000_000 else f"{size / 1e3:g}k" if size >= 1000 else str(size)
