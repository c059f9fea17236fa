"""The manager's overview: counts by status, stage and channel, today's shipping, backorders, low stock,
and orders per day by channel for 30 days. The panel polls itself every few seconds."""
from __future__ import annotations

from flask import current_app, make_response, render_template
from markupsafe import Markup

from ..domain import return_rates
from ..domain.overview_figures import DUE_COUNT_CAP, OverviewFigures, overview_figures
from ..models import Role
from ..web import allow, is_htmx
from . import bp
from .chart import chart_svg, stacked_chart

# The panel as drawn for the figures it shows, by the figures' identity: overview_figures gives the same
# object again while the database is unchanged, and then the panel is the same too (it shows nothing
# else: no user, no form, no time of its own). Bounded: a few connections' figures at a time.
_DRAWN: dict[int, tuple[OverviewFigures, Markup]] = {}
_DRAWN_AT_MOST = 16


def _panel(figures: OverviewFigures) -> Markup:
    drawn = _DRAWN.get(id(figures))
    if drawn is not None and drawn[0] is figures:
        return drawn[1]
    chart = stacked_chart(figures.days, figures.channels, figures.busiest_day)
    panel = Markup(render_template("overview/_panel.html", figures=figures, due_count_cap=DUE_COUNT_CAP,
                                   chart_svg=chart_svg(chart)))
    if len(_DRAWN) >= _DRAWN_AT_MOST:
        _DRAWN.clear()
    _DRAWN[id(figures)] = (figures, panel)
    return panel


@bp.route("/overview")
@allow(Role.MANAGER)
def index():
    panel = _panel(overview_figures(zone=current_app.config["OMS_TIMEZONE"]))
    if is_htmx():
        return make_response(panel)
    return make_response(render_template("overview/index.html", panel=panel, rate_days=return_rates.RATE_DAYS,
                                         by_channel=return_rates.by_channel(), by_product=return_rates.by_product()))
