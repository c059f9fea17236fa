"""Ship-by deadlines: when an order must be handed to the carrier, and whether it is late or due today.

An order's ship-by is the marketplace's own date when it states one (Amazon's LatestShipDate, eBay's
shipByDate), else its placed time plus its channel's handling days. It is kept on the order (naive UTC,
like every time the database holds), so that the board's work segments sort by it through an index.

Late and due today are days of the shop (OMS_TIMEZONE), as the staff count them: an order is late once
the shop's day its ship-by falls on is over, and due today on that day. Only orders still to be shipped
(the work segments) are ever late.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

import sqlalchemy as sa

from ..models import Order, SalesChannel, Segment
from .errors import InvalidInput

DEFAULT_HANDLING_DAYS = 2
MAX_HANDLING_DAYS = 30  # the models' check constraint says the same
# The ship-by dates taken from outside: far enough either way for any real order, near enough that a
# day more or less (or a time zone) never overflows Python's or the databases' calendars.
FIRST_SHIP_BY = datetime(2000, 1, 1)
LAST_SHIP_BY = datetime(2100, 1, 1)

# The board's work segments: orders someone still has to ship (a packed parcel still waits for the carrier).
WORK_SEGMENTS = (Segment.NEEDS_ATTENTION, Segment.AWAITING_PAYMENT, Segment.AWAITING_STOCK, Segment.READY_TO_SHIP,
                 Segment.PACKED, Segment.PARTIALLY_SHIPPED)


class Due(str, enum.Enum):
    """Where an open order's ship-by stands on the shop's day."""

    LATE = "late"
    TODAY = "today"

    @property
    def label(self) -> str:
        return {"late": "Late", "today": "Due today"}[self.value]


def ship_by_for(placed_at: datetime, handling_days: int) -> datetime:
    """The default rule: the placed time (naive UTC) plus the channel's handling days."""
    return placed_at + timedelta(days=handling_days)


def ship_by_of_new_order(stated: datetime | None, placed_at: datetime, channel: SalesChannel) -> datetime:
    """A new order's ship-by: the one its channel stated (checked), else the default rule."""
    if stated is not None:
        return check_ship_by(stated)
    return ship_by_for(placed_at, handling_days_of(channel))


def handling_days_of(channel: SalesChannel | Any) -> int:
    days = getattr(channel, "handling_days", None)
    return DEFAULT_HANDLING_DAYS if days is None else days


def check_ship_by(value: Any, field: str = "ship_by") -> datetime:
    """A ship-by date given to a service: a naive UTC datetime within FIRST_SHIP_BY and LAST_SHIP_BY."""
    if not isinstance(value, datetime):
        raise InvalidInput("The ship-by date must be a date and time", field=field)
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if not FIRST_SHIP_BY <= value < LAST_SHIP_BY:
        raise InvalidInput(out_of_range_message(value), field=field)
    return value


def check_placed_at(value: datetime) -> datetime:
    """A channel's placed time, which the default rule adds days to: within the same range."""
    if not FIRST_SHIP_BY <= value.replace(tzinfo=None) < LAST_SHIP_BY - timedelta(days=MAX_HANDLING_DAYS):
        raise InvalidInput(f"The placed date {value:%Y-%m-%d} is out of range: it must fall from "
                           f"{FIRST_SHIP_BY:%Y-%m-%d} to {LAST_SHIP_BY - timedelta(days=MAX_HANDLING_DAYS + 1):%Y-%m-%d}",
                           field="placed_at")
    return value


def out_of_range_message(value: datetime) -> str:
    return (f"The ship-by date {value:%Y-%m-%d} is out of range: it must fall from "
            f"{FIRST_SHIP_BY:%Y-%m-%d} to {LAST_SHIP_BY - timedelta(days=1):%Y-%m-%d}")


# ---------------------------------------------------------------- late and due today, on the shop's day

@dataclass(frozen=True)
class ShopDay:
    """The shop's day as the database's naive UTC times: [starts, ends)."""

    day: date
    starts: datetime
    ends: datetime

    @classmethod
    def of(cls, day: date | None = None, zone: tzinfo = timezone.utc) -> ShopDay:
        from .overview_figures import utc_start_of

        day = day or datetime.now(zone).date()
        return cls(day, utc_start_of(day, zone), utc_start_of(day + timedelta(days=1), zone))

    def due(self, ship_by: datetime | None, segment: Segment) -> Due | None:
        """Late, due today, or neither (None), for an order of `segment` with this ship-by."""
        if ship_by is None or segment not in WORK_SEGMENTS:
            return None
        if ship_by < self.starts:
            return Due.LATE
        if ship_by < self.ends:
            return Due.TODAY
        return None

    def condition(self, due: Due) -> sa.ColumnElement[bool]:
        """The orders' ship-by test of `due`, a range on the (segment, ship_by) index (the segment is the
        caller's: one of WORK_SEGMENTS)."""
        if due is Due.LATE:
            return Order.ship_by < self.starts
        return sa.and_(Order.ship_by >= self.starts, Order.ship_by < self.ends)
