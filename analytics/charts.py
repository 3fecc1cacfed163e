"""Charts drawn on the server as SVG (no chart library, nothing from a CDN).

`bar_chart` turns a series into the geometry a template draws; the template
(`analytics/_bar_chart.html`) gives the SVG a title and a description, and the
figures are also in a table beside it, so the chart never carries them alone.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 84, 34, 22
# Up to this many bars, each carries its figure above it (a funnel, a short range).
LABELLED_BARS = 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str

    @property
    def centre(self) -> float:
        return round(self.x + self.width / 2, 1)


def _nice_top(largest: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at or above `largest`."""
    if largest <= 0:
        return 1
    scale = 10 ** (len(str(int(largest))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if step * scale >= largest:
            return step * scale
    return 10 * scale


def whole_number(number: float) -> str:
    return f"{number:,.0f}"


def bar_chart(
    series: Sequence[tuple[object, float]],
    *,
    title: str,
    label: Callable[[object], str] = str,
    value: Callable[[float], str] = whole_number,
    tick: Callable[[float], str] | None = None,
    tick_every: int = 1,
) -> dict:
    """Bars for `series` ([(key, number), ...]) with axis ticks at 0, half and top,
    written with `tick` (by default as the values are)."""
    top = _nice_top(max((number for _, number in series), default=0))
    plot_width = WIDTH - PAD_LEFT
    plot_height = HEIGHT - PAD_BOTTOM - PAD_TOP
    slot = plot_width / max(len(series), 1)
    bars = []
    for index, (key, number) in enumerate(series):
        height = plot_height * number / top
        bars.append(
            Bar(
                x=round(PAD_LEFT + index * slot + slot * 0.15, 1),
                y=round(PAD_TOP + plot_height - height, 1),
                width=round(slot * 0.7, 1),
                height=round(height, 1),
                label=label(key),
                value=value(number),
            )
        )
    ticks = [
        {"y": round(PAD_TOP + plot_height * (1 - share), 1), "text": (tick or value)(top * share)}
        for share in (0, 0.5, 1)
    ]
    axis_labels = [
        {"x": bar.centre, "text": bar.label}
        for index, bar in enumerate(bars)
        if index % tick_every == 0
    ]
    return {
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "left": PAD_LEFT,
        "baseline": HEIGHT - PAD_BOTTOM,
        "bars": bars,
        "ticks": ticks,
        "axis_labels": axis_labels,
        "labelled": len(bars) <= LABELLED_BARS,
    }
