"""Stock-keeping services for managers: receive stock, adjust a count after a stocktake."""
from __future__ import annotations

from ..database import service
from ..models import Role, User
from . import stock
from .errors import InvalidInput
from .locking import lock_backorders_for, lock_product
from .orders import fill_backorders_and_refresh, require_role

# The most units received or counted at once, on every stock form and service: more is a typing slip (and
# nears the limit of the in-hand integer column). A warehouse holds more of a product than one order asks
# for, so this is not the order lines' MAX_LINE_QUANTITY.
MAX_STOCK_QUANTITY = 10_000_000


def _check_stock_quantity(value: object, *, label: str, field: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{label} must be a whole number", field=field)
    if value > MAX_STOCK_QUANTITY:
        raise InvalidInput(f"{label} is too large: at most {MAX_STOCK_QUANTITY:,}", field=field)
    if value < minimum:
        raise InvalidInput(f"{label} must be between {minimum:,} and {MAX_STOCK_QUANTITY:,}", field=field)
    return value


@service
def receive_stock(actor: User, product_id: int, quantity: int, note: str | None = None) -> int:
    """Add received units to stock in hand; they go to backordered lines at once, oldest finalized first.

    Returns the new in-hand count. Raises NotAllowed below manager, InvalidInput for a bad quantity.
    """
    require_role(actor, Role.MANAGER, "receive stock")
    _check_stock_quantity(quantity, label="Quantity received", field="quantity", minimum=1)
    product = lock_product(product_id)
    lock_backorders_for(product, quantity)
    stock.receive(product, quantity, actor, (note or "").strip()[:300] or None)
    fill_backorders_and_refresh({product.id}, actor)
    return product.stock_in_hand


@service
def adjust_stock(actor: User, product_id: int, counted: int, note: str) -> int:
    """Set stock in hand to a counted figure, with a reason; an upward count fills backorders.

    Returns the change applied. Raises NotAllowed below manager, InvalidInput for a negative or
    implausibly large count, a count below what is committed, or a missing reason.
    """
    require_role(actor, Role.MANAGER, "adjust stock")
    _check_stock_quantity(counted, label="Counted quantity", field="counted", minimum=0)
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Give a reason for the adjustment", field="note")
    product = lock_product(product_id)
    lock_backorders_for(product, counted - product.stock_in_hand)
    delta = stock.adjust(product, counted, actor, note[:300])
    if delta > 0:
        fill_backorders_and_refresh({product.id}, actor)
    return delta
