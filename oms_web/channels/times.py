"""A channel's timestamps as the database keeps them: naive UTC."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .addresses import clean


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp ("2026-01-02T10:00:00Z") as the naive UTC datetime the database holds;
    None when absent or unreadable."""
    text = clean(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        # 9999-12-31T23:00:00-05:00 is a valid timestamp that overflows on its way to UTC
        return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        return None


class BadTime(ValueError):
    """A channel's timestamp that is there but is no time, or out of range: the order is refused with it."""


def parse_ship_by(value: Any, name: str) -> datetime | None:
    """A channel's ship-by date (Amazon's LatestShipDate, eBay's shipByDate, ...) as naive UTC; None when
    absent (the channel's handling days then apply). Raises BadTime, naming the field `name`, for a
    value that is no ISO 8601 time or falls outside deadlines.FIRST_SHIP_BY .. LAST_SHIP_BY."""
    from ..domain.deadlines import FIRST_SHIP_BY, LAST_SHIP_BY, out_of_range_message

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    moment = parse_time(value) if isinstance(value, str) else None
    if moment is None:
        shown = repr(value)[:40]
        raise BadTime(f"{name} {shown} is not a date and time like 2026-01-02T10:00:00Z")
    if not FIRST_SHIP_BY <= moment < LAST_SHIP_BY:
        raise BadTime(f"{name}: {out_of_range_message(moment)}")
    return moment
