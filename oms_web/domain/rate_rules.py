"""Which rate a channel's parcels go by, as its admin set it: the cheapest, the cheapest arriving within
N days, or a fixed carrier and service (the channel's default carrier and service)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..carriers import Rate
from ..database import service
from ..extensions import db
from ..models import Role, SalesChannel, User
from .errors import InvalidInput, NotFound
from .order_rules import require_role

RULES = {"manual": "Manual: our own label, tracking number typed",
         "cheapest": "Cheapest rate",
         "cheapest_within": "Cheapest arriving within N days",
         "fixed": "Fixed carrier and service (the channel's default)"}
MAX_RATE_DAYS = 30


def choose(rates: Sequence[Rate], channel: SalesChannel) -> Rate:
    """The rate the channel's rule picks. Raises InvalidInput when no rate fits the rule."""
    rule = channel.rate_rule
    candidates = list(rates)
    if rule == "cheapest_within":
        days = channel.rate_days or 0
        candidates = [r for r in rates if r.delivery_days is not None and r.delivery_days <= days]
        if not candidates:
            raise InvalidInput(f"No carrier promises delivery within {days} day(s): pick a rate", field="rate_id")
    elif rule == "fixed":
        carrier, wanted = (channel.default_carrier or "").lower(), (channel.default_service or "").lower()
        candidates = [r for r in rates if r.carrier.lower() == carrier and (not wanted or r.service.lower() == wanted)]
        if not candidates:
            raise InvalidInput(f"{channel.default_carrier or 'No carrier'} {channel.default_service or ''} offers no "
                               "rate for this parcel: pick another", field="rate_id")
    return min(candidates, key=lambda r: (r.cents, r.delivery_days if r.delivery_days is not None else 99, r.id))


def check_rule(rule: Any, days: Any) -> tuple[str, int | None]:
    if rule not in RULES:
        raise InvalidInput("Choose one of the rate rules", field="rate_rule")
    if rule != "cheapest_within":
        return rule, None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RATE_DAYS:
        raise InvalidInput(f"Days must be a whole number from 1 to {MAX_RATE_DAYS}", field="rate_days")
    return rule, days


@service
def set_carrier_settings(actor: User, channel_id: int, *, rate_rule: str, rate_days: int | None,
                         ship_email: bool, delivered_email: bool) -> SalesChannel:
    """Set how the channel's labels are bought and which customer emails it sends.
    Raises NotAllowed unless an admin, NotFound, InvalidInput."""
    require_role(actor, Role.ADMIN, "change a channel's carrier settings")
    rule, days = check_rule(rate_rule, rate_days)
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None:
        raise NotFound("That channel does not exist")
    channel.rate_rule, channel.rate_days = rule, days
    channel.ship_email, channel.delivered_email = bool(ship_email), bool(delivered_email)
    return channel
