"""Server-side chart geometry for inline SVG (no script, no CDN): grouped and stacked horizontal bars.

The view builds a Chart; templates/dashboard/_charts.html draws it. The viewBox is narrow (420 units)
so that labels stay legible when a phone scales the chart down to its width.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

WIDTH = 420
LABEL_W = 100
VALUE_W = 66
BAR_W = WIDTH - LABEL_W - VALUE_W
BAR_H = 14
GAP = 3
ROW_GAP = 10
TOP = 6
LABEL_CHARS = 6

BLUE, LIGHT, GREEN, ORANGE, RED, GREY = "#1d4f91", "#8fb3e0", "#2e8b57", "#e08a00", "#c0392b", "#b8c0c8"


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    color: str
    title: str
    href: str | None = None
    text: str = ""
    text_x: float = 0


@dataclass
class Label:
    y: float
    text: str
    full: str
    href: str | None = None


@dataclass
class Chart:
    id: str
    title: str
    height: float
    legend: list[tuple[str, str]]
    labels: list[Label] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    width: int = WIDTH
    empty: bool = False


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"


def grouped_bars(chart_id: str, title: str, rows: list[tuple[str, list[int], list[str | None]]],
                 series: list[tuple[str, str]], fmt: Callable[[int], str]) -> Chart:
    """One group of bars per row (a category, a district, a year), one bar per series."""
    peak = max((v for _label, values, _h in rows for v in values), default=0)
    n = len(series)
    row_h = n * BAR_H + (n - 1) * GAP
    chart = Chart(id=chart_id, title=title, legend=list(series), height=TOP * 2 + len(rows) * (row_h + ROW_GAP),
                  empty=not rows or peak <= 0)
    y = TOP
    for label, values, hrefs in rows:
        chart.labels.append(Label(y=y + row_h / 2, text=_short(label), full=label,
                                  href=next((h for h in hrefs if h), None)))
        for i, ((name, color), value) in enumerate(zip(series, values)):
            w = BAR_W * value / peak if peak > 0 else 0
            by = y + i * (BAR_H + GAP)
            chart.bars.append(Bar(x=LABEL_W, y=by, w=max(w, 1 if value else 0), h=BAR_H, color=color,
                                  title=f"{label} · {name}：{fmt(value)}", href=hrefs[i] if i < len(hrefs) else None,
                                  text=fmt(value), text_x=LABEL_W + w + 3))
        y += row_h + ROW_GAP
    return chart


def stacked_bars(chart_id: str, title: str,
                 rows: list[tuple[str, list[tuple[str, int, str, str | None]]]], fmt: Callable[[int], str]) -> Chart:
    """One bar per row split into segments [(name, value, color, href)], on a common scale (money flow)."""
    peak = max((sum(v for _n, v, _c, _h in segs) for _label, segs in rows), default=0)
    legend: list[tuple[str, str]] = []
    for _label, segs in rows:
        for name, _v, color, _h in segs:
            if (name, color) not in legend:
                legend.append((name, color))
    bar_h = BAR_H * 2
    chart = Chart(id=chart_id, title=title, legend=legend, height=TOP * 2 + len(rows) * (bar_h + ROW_GAP),
                  empty=peak <= 0)
    y = TOP
    for label, segs in rows:
        total = sum(v for _n, v, _c, _h in segs)
        chart.labels.append(Label(y=y + bar_h / 2, text=_short(label), full=label))
        x = LABEL_W
        for name, value, color, href in segs:
            w = BAR_W * value / peak if peak > 0 else 0
            if value > 0:
                chart.bars.append(Bar(x=x, y=y, w=max(w, 1), h=bar_h, color=color,
                                      title=f"{label} · {name}：{fmt(value)}", href=href))
            x += w
        chart.bars.append(Bar(x=x, y=y, w=0, h=bar_h, color="none", title="", text=fmt(total), text_x=x + 3))
        y += bar_h + ROW_GAP
    return chart
