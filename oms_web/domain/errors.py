"""The refusals of the domain layer, each with a message a staff member understands.

The web layer turns these into a 4xx with the message next to the field named in `field`.
"""
from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """An action was refused and nothing was changed."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    pass


class NotAllowed(DomainError):
    """The acting user's role may not do this."""


class InvalidState(DomainError):
    """The order or shipment is not in a state that allows this action."""


class InvalidInput(DomainError):
    pass


@dataclass(frozen=True)
class Shortfall:
    what: str  # the line's or product's SKU
    wanted: int
    possible: int

    def __str__(self) -> str:
        return f"{self.what}: asked for {self.wanted}, only {self.possible} possible"


class QuantityTooLarge(DomainError):
    """Every line whose quantity could not be met, collected so the user sees all of them at once."""

    def __init__(self, reason: str, shortfalls: list[Shortfall], *, field: str | None = None):
        self.shortfalls = shortfalls
        super().__init__(f"{reason}: " + "; ".join(str(s) for s in shortfalls), field=field)


class CarrierFailed(DomainError):
    """The label service refused or did not answer: nothing was bought, nothing changed here."""


class DuplicateChannelOrder(DomainError):
    """The channel's order was imported before; `order_id` is the order it became."""

    def __init__(self, channel_name: str, channel_order_id: str, order_id: int):
        super().__init__(f"{channel_name} order {channel_order_id} was already imported", field="channel_order_id")
        self.order_id = order_id
