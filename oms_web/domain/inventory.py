"""Stock-keeping services for managers: receive stock, adjust a count after a stocktake."""
from __future__ import annotations

from ..database import service
from ..models import Role, User
from . import stock
from .errors import InvalidInput
from .locking import lock_backorders_for, lock_product
from .orders import fill_backorders_and_refresh, check_quantity, require_role

# A count above this is a typing slip (and would overflow the database's integer column).
MAX_STOCK_COUNT = 10_000_000


@service
def receive_stock(actor: User, product_id: int, quantity: int, note: str | None = None) -> int:
    """Add received units to stock in hand; they go to backordered lines at once, oldest finalized first.

    Returns the new in-hand count. Raises NotAllowed below manager, InvalidInput for a bad quantity.
    """
    require_role(actor, Role.MANAGER, "receive stock")
    check_quantity(quantity)
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
    if isinstance(counted, bool) or not isinstance(counted, int):
        raise InvalidInput("The count must be a whole number", field="counted")
    if counted > MAX_STOCK_COUNT:
        raise InvalidInput(f"The count must be at most {MAX_STOCK_COUNT:,}", field="counted")
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Give a reason for the adjustment", field="note")
    product = lock_product(product_id)
    lock_backorders_for(product, counted - product.stock_in_hand)
    delta = stock.adjust(product, counted, actor, note[:300])
    if delta > 0:
        fill_backorders_and_refresh({product.id}, actor)
    return delta
