"""The overview's stacked bar chart of orders per day by channel, laid out here rather than in the
template: the poll draws it every 5 s, and Jinja took longer over the arithmetic of ~120 bars than
the database took over all the figures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from ..domain.overview_figures import ChannelSeries

WIDTH, HEIGHT = 900, 220
COLOURS = 6  # .c0 … .c5 in the stylesheet


@dataclass(frozen=True)
class Bar:
    colour: int
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[Label]  # every fifth day


def stacked_chart(days: list[date], channels: list[ChannelSeries], busiest_day: int) -> Chart:
    step = WIDTH / len(days)
    bars, labels = [], []
    for i, day in enumerate(days):
        shown = day.strftime("%d %b")
        x = round(i * step + 2, 1)
        y = HEIGHT
        for n, channel in enumerate(channels):
            height = round(channel.per_day[i] / busiest_day * (HEIGHT - 10), 1)
            if height > 0:
                bars.append(Bar(n % COLOURS, x, round(y - height, 1), round(step - 4, 1), height,
                                f"{shown} · {channel.name}: {channel.per_day[i]}"))
            y -= height
        if i % 5 == 0:
            labels.append(Label(x, shown))
    return Chart(WIDTH, HEIGHT, bars, labels)


def chart_svg(chart: Chart) -> Markup:
    """The chart's SVG, written here: ~120 bars of six attributes each cost Jinja ten times as much (every
    value escaped on its own); only the texts need escaping, the numbers are numbers."""
    bars = "".join(f'<rect class="c{bar.colour}" x="{bar.x}" y="{bar.y}" width="{bar.width}" height="{bar.height}">'
                   f"<title>{escape(bar.title)}</title></rect>" for bar in chart.bars)
    labels = "".join(f'<text x="{label.x}" y="{chart.height + 15}" class="axis">{escape(label.text)}</text>'
                     for label in chart.labels)
    return Markup(f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height + 20}" role="img" '
                  f'aria-label="Orders per day for the last 30 days, stacked by channel">{bars}{labels}</svg>')
