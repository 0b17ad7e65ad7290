"""Server-rendered SVG charts (no JavaScript, no chart library, nothing fetched): pure functions from numbers to
markup. Text is escaped; sizes are in the viewBox so the charts scale with the page on a laptop or a phone."""

from __future__ import annotations

from markupsafe import Markup, escape

COLORS = {"allow": "#3f9b52", "review": "#d9a400", "block": "#c8433a"}


def stacked_bars(labels: list[str], series: dict[str, list[int]], *, title: str, width: int = 640,
                 height: int = 220) -> Markup:
    """One bar per label (a day), stacked by series (verdicts), with the total above each bar."""
    pad_left, pad_bottom, pad_top = 36, 28, 18
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = max(totals, default=0) or 1
    slot = (width - pad_left) / max(len(labels), 1)
    bar = slot * 0.7
    scale = (height - pad_bottom - pad_top) / top
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{pad_left}" y1="{height - pad_bottom}" x2="{width}" y2="{height - pad_bottom}" '
             'stroke="#999"/>',
             f'<text x="2" y="{pad_top + 4}" font-size="11" fill="#555">{top}</text>']
    for i, label in enumerate(labels):
        x = pad_left + i * slot + (slot - bar) / 2
        y: float = height - pad_bottom
        for name, values in series.items():
            h = values[i] * scale
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                             f'fill="{COLORS.get(name, "#888")}"><title>{escape(label)} {escape(name)}: '
                             f"{values[i]}</title></rect>")
        if totals[i]:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" font-size="10" text-anchor="middle" '
                         f'fill="#333">{totals[i]}</text>')
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - 10}" font-size="10" text-anchor="middle" '
                     f'fill="#555">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def horizontal_bars(items: list[tuple[str, int]], *, title: str, width: int = 640, color: str = "#4a6fa5"
                    ) -> Markup:
    """Labelled bars, largest first (top reasons, queue ages)."""
    row, label_w = 22, 190
    height = max(len(items), 1) * row + 6
    top = max((n for _, n in items), default=0) or 1
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>"]
    for i, (label, n) in enumerate(items):
        y = i * row + 4
        w = (width - label_w - 50) * n / top
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="11" text-anchor="end" fill="#333">'
                     f"{escape(label)}</text>")
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{row - 6}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="11" fill="#333">{n}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
