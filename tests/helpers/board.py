"""Orders for the board's tests, and the order numbers a board page lists."""
from __future__ import annotations

import itertools
import re

from oms_web.domain import orders
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder


_ids = itertools.count(1)


def order_numbers(response) -> list[str]:
    """The order numbers listed on the board, top to bottom."""
    return re.findall(r'<a href="/orders/\d+">(SO-\d{6})</a>', response.get_data(as_text=True))


def order_for(shop, name: str, email: str, *lines: tuple[str, int]):
    return orders.create_order(None, NewOrder(
        channel_id=shop.web.id, channel_order_id=f"B{next(_ids)}", customer=CustomerDetails(name=name, email=email),
        lines=[LineRequest(sku, qty) for sku, qty in lines]))
