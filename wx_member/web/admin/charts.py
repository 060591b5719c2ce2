"""Charts as inline SVG, rendered on the server: no script, no external library."""
from __future__ import annotations

from markupsafe import Markup, escape

COLOR = "#1f7a46"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def columns(points: list[tuple[str, float]], label: str, height: int = 180) -> Markup:
    """Vertical bars, one per point (e.g. joins per day); every n-th x label shown."""
    n = max(len(points), 1)
    width = max(360, min(960, n * 28))
    top, bottom, left = 16, 28, 36
    plot_h, bar_w = height - top - bottom, (width - left) / n
    peak = max([v for _, v in points] + [1])
    step = max(1, n // 10)
    parts = [f'<svg viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>']
    for i, (name, value) in enumerate(points):
        h = plot_h * value / peak
        x = left + i * bar_w
        parts.append(f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 4, 1):.1f}" '
                     f'height="{h:.1f}" fill="{COLOR}"><title>{escape(name)}: {_fmt(value)}</title></rect>')
        if value and n <= 31:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 3:.1f}" font-size="10" '
                         f'text-anchor="middle">{_fmt(value)}</text>')
        if i % step == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 10}" font-size="10" '
                         f'text-anchor="middle">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars(items: list[tuple[str, float]], label: str, unit: str = "", width: int = 520) -> Markup:
    """Horizontal bars with their values (segment sizes, tiers, rates)."""
    row, left = 24, 110
    height = max(row * len(items) + 8, 32)
    peak = max([v for _, v in items] + [1])
    parts = [f'<svg viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">']
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        w = (width - left - 70) * value / peak
        parts.append(f'<text x="{left - 6}" y="{y + 15}" font-size="12" text-anchor="end">{escape(name)}</text>'
                     f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{COLOR}"/>'
                     f'<text x="{left + w + 4:.1f}" y="{y + 15}" font-size="12">{_fmt(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


SERIES_COLORS = ("#555", "#1f7a46", "#2b6cb0", "#c0392b")


def lines(labels: list[str], series: list[tuple[str, list[float]]], label: str,
          height: int = 200) -> Markup:
    """Several series over the same x labels (e.g. planned / sent / delivered / failed per
    day), a polyline and dots each, with a legend above. At least 360 px wide (a phone
    scrolls it sideways at its own size, so its 10 px text stays legible)."""
    n = max(len(labels), 1)
    width = max(360, min(960, n * 30 + 60))
    top, bottom, left, right = 30, 28, 40, 12
    plot_h = height - top - bottom
    step_x = (width - left - right) / max(n - 1, 1)
    peak = max([v for _, values in series for v in values] + [1])
    every = max(1, n // 8)
    parts = [f'<svg viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(label)}">',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">{_fmt(peak)}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>']
    for s, (name, _) in enumerate(series):  # the legend
        x = left + s * 80
        color = SERIES_COLORS[s % len(SERIES_COLORS)]
        parts.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{color}"/>'
                     f'<text x="{x + 14}" y="15" font-size="11">{escape(name)}</text>')
    for s, (name, values) in enumerate(series):
        color = SERIES_COLORS[s % len(SERIES_COLORS)]
        points = [(left + i * step_x if n > 1 else left + (width - left - right) / 2,
                   top + plot_h - plot_h * v / peak) for i, v in enumerate(values)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (x, y), v, tick in zip(points, values, labels):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                         f'<title>{escape(tick)} {escape(name)}: {_fmt(v)}</title></circle>')
    for i, tick in enumerate(labels):
        if i % every == 0:
            x = left + i * step_x if n > 1 else left + (width - left - right) / 2
            parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="10" '
                         f'text-anchor="middle">{escape(tick)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def reach(points, label: str) -> Markup:
    """Reach over time (insights/reach_view.ReachPoint per day or week): 计划 / 已发出 /
    已送达 / 失败."""
    return lines([p.label for p in points],
                 [("计划", [p.targeted for p in points]), ("已发出", [p.sent for p in points]),
                  ("已送达", [p.delivered for p in points]), ("失败/跳过", [p.failed for p in points])],
                 label)
