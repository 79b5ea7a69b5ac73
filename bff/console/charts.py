"""Charts drawn on the server as inline SVG: pure functions from numbers to markup, no chart library
and nothing for the browser to run (the console works on an intranet, and a chart prints).

``line_chart`` draws series over ordered labels (hours, days); ``bar_chart`` draws one value per
label, largest first, as horizontal bars (long Chinese names read better across). Both have axes
with tick labels, a title and, as the SVG's ``<title>``, an accessible name; every point and bar
carries its own ``<title>`` (the value on hover). Text is escaped: labels may come from data.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#b91c1c", "#1d4ed8", "#047857", "#b45309", "#7c3aed", "#0e7490", "#be185d", "#4d7c0f")
FONT = 'font-family="system-ui, \'PingFang SC\', \'Microsoft YaHei\', \'Noto Sans CJK SC\', sans-serif"'
MAX_X_LABELS = 12


def number(value: float) -> str:
    """A value as a Chinese reader reads it: 9,876 · 1.2万 · 3.4亿 (a fraction keeps one decimal)."""
    if abs(value) >= 1e8:
        return _trim(f"{value / 1e8:.1f}") + "亿"
    if abs(value) >= 1e4:
        return _trim(f"{value / 1e4:.1f}") + "万"
    if value != int(value):
        return _trim(f"{value:.1f}")
    return f"{int(value):,}"


def _trim(text: str) -> str:
    return text[:-2] if text.endswith(".0") else text


def ticks(top: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Evenly spaced round ticks from 0 covering ``top`` (1, 2, 2.5 or 5 times a power of ten);
    ``whole``: counts, whose ticks are whole numbers."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / (count - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if whole:
        step = max(1, math.ceil(step))
    return [round(step * n, 9) for n in range(math.ceil(top / step - 1e-9) + 1)]


def _open(width: int, height: int, title: str, kind: str, extra: str = "") -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" {FONT} font-size="12"{extra}>',
            f"<title>{escape(title)}</title>",
            f'<text class="chart-title" x="{width / 2:g}" y="20" text-anchor="middle" font-size="14" '
            f'font-weight="600" fill="#1f2937">{escape(title)}</text>']


def _empty(parts: list[str], width: int, height: int) -> str:
    parts.append(f'<text class="empty" x="{width / 2:g}" y="{height / 2:g}" text-anchor="middle" '
                 f'fill="#6b7280">暂无数据</text></svg>')
    return "".join(parts)


def line_chart(*, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
               unit: str = "", width: int = 560, height: int = 280) -> str:
    """One polyline per series over ``labels`` (each series has a value per label), a legend below."""
    points = sum(len(values) for _, values in series)
    parts = _open(width, height, title, "line-chart", f' data-series="{len(series)}" data-points="{points}"')
    if not labels or not series:
        return _empty(parts, width, height)
    left, right, top, bottom = 64, 16, 36, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    scale = ticks(max([max(values, default=0) for _, values in series] + [0]),
                  whole=all(float(v).is_integer() for _, values in series for v in values))
    high = scale[-1]

    def x(n: int) -> float:
        return left + (plot_w / 2 if len(labels) == 1 else plot_w * n / (len(labels) - 1))

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / high

    parts += _y_axis(scale, left, width - right, y, unit, top)
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    parts.append(f'<g class="x-axis"><line x1="{left}" y1="{top + plot_h}" x2="{width - right}" '
                 f'y2="{top + plot_h}" stroke="#9ca3af"/>')
    for n, label in enumerate(labels):
        if (len(labels) - 1 - n) % every == 0:  # counted from the last: the latest is always named
            parts.append(f'<text x="{x(n):.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                         f'fill="#4b5563">{escape(label)}</text>')
    parts.append("</g>")
    for index, (name, values) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        coords = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in enumerate(values))
        parts.append(f'<g class="series" data-name="{escape(name)}"><polyline points="{coords}" fill="none" '
                     f'stroke="{color}" stroke-width="2"/>')
        for n, value in enumerate(values):
            parts.append(f'<circle cx="{x(n):.1f}" cy="{y(value):.1f}" r="3" fill="{color}">'
                         f"<title>{escape(name)} {escape(labels[n])}：{number(value)}{escape(unit)}</title></circle>")
        parts.append("</g>")
    parts += _legend([name for name, _ in series], left, height - 20)
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(*, title: str, items: Sequence[tuple[str, float]], unit: str = "", width: int = 560,
              limit: int = 12) -> str:
    """A horizontal bar per label, largest first (the first ``limit``; the rest summed as 其他)."""
    ranked = sorted(items, key=lambda item: -item[1])
    if len(ranked) > limit:
        ranked = ranked[:limit - 1] + [("其他", sum(value for _, value in ranked[limit - 1:]))]
    row, left, right, top = 26, 132, 64, 36
    height = top + row * max(1, len(ranked)) + 32
    parts = _open(width, height, title, "bar-chart", f' data-bars="{len(ranked)}"')
    if not ranked or not any(value for _, value in ranked):
        return _empty(parts, width, height)
    plot_w = width - left - right
    scale = ticks(ranked[0][1], count=4, whole=all(float(v).is_integer() for _, v in ranked))
    bottom = top + row * len(ranked)
    parts.append('<g class="x-axis">')
    for tick in scale:
        at = left + plot_w * tick / scale[-1]
        parts.append(f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{bottom}" stroke="#e5e7eb"/>'
                     f'<text x="{at:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#4b5563">'
                     f"{number(tick)}</text>")
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#9ca3af"/></g>')
    for n, (label, value) in enumerate(ranked):
        y = top + row * n
        length = plot_w * value / scale[-1]
        shown = label if len(label) <= 9 else label[:8] + "…"
        parts.append(f'<g class="bar" data-name="{escape(label)}"><text x="{left - 6}" y="{y + row / 2 + 4:.1f}" '
                     f'text-anchor="end" fill="#1f2937">{escape(shown)}</text>'
                     f'<rect x="{left}" y="{y + 4}" width="{max(length, 1):.1f}" height="{row - 8}" '
                     f'fill="{PALETTE[1]}" rx="2">'
                     f"<title>{escape(label)}：{number(value)}{escape(unit)}</title></rect>"
                     f'<text x="{left + length + 4:.1f}" y="{y + row / 2 + 4:.1f}" fill="#374151">'
                     f"{number(value)}{escape(unit)}</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def _y_axis(scale: list[float], left: int, right: int, y, unit: str, top: int) -> list[str]:
    parts = ['<g class="y-axis">']
    for tick in scale:
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{right}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#4b5563">'
                     f"{number(tick)}</text>")
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{y(0):.1f}" stroke="#9ca3af"/>')
    if unit:
        parts.append(f'<text x="{left - 6}" y="{top - 8}" text-anchor="end" fill="#6b7280">{escape(unit)}</text>')
    parts.append("</g>")
    return parts


def _legend(names: Sequence[str], left: int, y: float) -> list[str]:
    parts, x = ['<g class="legend">'], float(left)
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x + 16:.1f}" y="{y + 1:.1f}" fill="#374151">{escape(name)}</text>')
        x += 28 + 13 * len(name)
    parts.append("</g>")
    return parts
