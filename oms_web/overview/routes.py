"""The manager's overview: counts by status, stage and channel, today's shipping, backorders, low stock,
and orders per day by channel for 30 days. The panel polls itself every few seconds."""
from __future__ import annotations

from flask import current_app

from ..domain.overview_figures import DUE_COUNT_CAP, overview_figures
from ..models import Role
from ..web import allow, page_or_fragment
from . import bp
from .chart import stacked_chart


@bp.route("/overview")
@allow(Role.MANAGER)
def index():
    figures = overview_figures(zone=current_app.config["OMS_TIMEZONE"])
    return page_or_fragment("overview/index.html", "overview/_panel.html", figures=figures,
                            chart=stacked_chart(figures.days, figures.channels, figures.busiest_day),
                            due_count_cap=DUE_COUNT_CAP)
