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
