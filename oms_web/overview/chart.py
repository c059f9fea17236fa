"""The overview's stacked bar chart of orders per day by channel, laid out here rather than in the
template: the poll draws it every 5 s, and Jinja took longer over the arithmetic of ~120 bars than
the database took over all the figures."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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
