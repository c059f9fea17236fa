"""A channel's shipping defaults, set by an admin: the days the shop takes to ship its orders (the
ship-by of an order whose channel states none), and the carrier and service its new shipments go by."""
from __future__ import annotations

from typing import Any

from ..columns import column_length
from ..database import service
from ..extensions import db
from ..models import Role, SalesChannel, User
from .deadlines import MAX_HANDLING_DAYS
from .errors import InvalidInput, NotFound
from .order_rules import require_role

HANDLING_DAYS_MESSAGE = f"Handling time must be a whole number of days from 0 to {MAX_HANDLING_DAYS}"


def default_shipping(channel: SalesChannel) -> tuple[str | None, str | None]:
    """(carrier, service) a new shipment of the channel's orders takes unless someone chooses others;
    None where the admin set none."""
    return channel.default_carrier or None, channel.default_service or None


def check_handling_days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_HANDLING_DAYS:
        raise InvalidInput(HANDLING_DAYS_MESSAGE, field="handling_days")
    return value


def _checked_text(value: Any, column: Any, what: str, field: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{what} must be text", field=field)
    text = (value or "").strip()
    if len(text) > column_length(column):
        raise InvalidInput(f"{what} has at most {column_length(column)} characters ({len(text):,} given)", field=field)
    return text or None


@service
def set_shipping_defaults(actor: User, channel_id: int, *, handling_days: int, carrier: str | None,
                          service_level: str | None) -> SalesChannel:
    """Set the channel's handling days (0 to MAX_HANDLING_DAYS) and default carrier and service (empty:
    none). Orders already placed keep their ship-by: it was promised when they came in.

    Raises NotAllowed unless `actor` is an admin, NotFound, InvalidInput for a value out of bounds."""
    require_role(actor, Role.ADMIN, "change a channel's shipping defaults")
    handling_days = check_handling_days(handling_days)
    carrier = _checked_text(carrier, SalesChannel.default_carrier, "The default carrier", "default_carrier")
    service_level = _checked_text(service_level, SalesChannel.default_service, "The default service", "default_service")
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None:
        raise NotFound("That channel does not exist")
    channel.handling_days = handling_days
    channel.default_carrier, channel.default_service = carrier, service_level
    return channel
