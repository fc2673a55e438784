"""Server-drawn SVG charts: geometry only, no library and no script (the CSP allows none).

``grouped_bars`` lays out one group of bars per label (a month), one bar per series, on a
y axis rounded up to a "nice" maximum; the template draws the rectangles and the ticks.
Every number drawn is also in the table the template puts under the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # index into the series, for its CSS class (colour) and legend
    value: int


@dataclass(frozen=True, slots=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True, slots=True)
class Group:
    x: float  # centre of the group, for its label
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    groups: tuple[Group, ...]


def nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k that is >= ``value`` (at least 1)."""
    if value <= 1:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5, 10):
            candidate = step * scale
            if candidate >= value:
                return candidate
        scale *= 10


def grouped_bars(
    labels: Sequence[str],
    series: Sequence[Sequence[int]],
    *,
    width: int = 720,
    height: int = 280,
    left: int = 48,
    bottom: int = 32,
    top: int = 12,
) -> Chart:
    """Bars for ``series[s][i]`` (value of series s at label i) grouped by label.

    Each series must have one value per label (ValueError otherwise); negative values are
    drawn as zero-height bars (a count is never negative).
    """
    for values in series:
        if len(values) != len(labels):
            raise ValueError("every series needs one value per label")
    plot_w = width - left - 8
    plot_h = height - bottom - top
    peak = nice_max(max((v for values in series for v in values), default=0))
    groups: list[Group] = []
    bars: list[Bar] = []
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = slot * 0.8 / max(len(series), 1)
    for i, label in enumerate(labels):
        x0 = left + i * slot + slot * 0.1
        groups.append(Group(round(left + i * slot + slot / 2, 1), label))
        for s, values in enumerate(series):
            h = plot_h * max(values[i], 0) / peak
            bars.append(
                Bar(
                    round(x0 + s * bar_w, 1),
                    round(top + plot_h - h, 1),
                    round(bar_w - 1, 1),
                    round(h, 1),
                    s,
                    values[i],
                )
            )
    # As many ticks (at most 5) as divide the peak, so every tick is a whole count.
    ticks = next(k for k in (5, 4, 2, 1) if peak % k == 0)
    marks = tuple(
        Tick(round(top + plot_h - plot_h * k / ticks, 1), peak * k // ticks)
        for k in range(ticks + 1)
    )
    return Chart(width, height, left, top + plot_h, tuple(bars), marks, tuple(groups))
