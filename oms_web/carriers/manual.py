"""The manual carrier: no service is asked. The shop prints its own label (documents/) and staff type
the tracking number when the parcel is handed over; domain.labels takes this path for a channel whose
rate rule is "manual" or when no carrier account is active."""
from __future__ import annotations

NAME = "manual"


def applies(rate_rule: str | None, account: object | None) -> bool:
    return rate_rule in (None, "", NAME) or account is None
