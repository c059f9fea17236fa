"""Issue 13's messages: what a new user is told when a quantity, a SKU or an action is wrong, and where it
sends them (the order page's void button, the unknown-SKU hold, the board's segment counts)."""
from __future__ import annotations

import html

from oms_web.domain import inventory
from oms_web.domain.orders import MAX_LINE_QUANTITY
from oms_web.extensions import db
from oms_web.models import Product

from .conftest import use_both_backends

web_app = use_both_backends()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


# ---------------------------------------------------------------- one limit for each kind of quantity

def test_stock_is_received_up_to_the_one_stock_limit_on_the_form_as_in_the_service(shop, as_manager):
    """Receiving stops at MAX_STOCK_QUANTITY, as counting does; the order lines' limit is not the stock's."""
    product = shop.product("A", in_hand=5)
    big = MAX_LINE_QUANTITY + 1
    response = as_manager.htmx_post(f"/products/{product.id}/receive", {"quantity": str(big), "note": "PO 9"})
    assert response.status_code == 200, text(response)[:500]
    assert db.session.get(Product, product.id).stock_in_hand == 5 + big
    response = as_manager.htmx_post(f"/products/{product.id}/receive",
                                    {"quantity": str(inventory.MAX_STOCK_QUANTITY + 1), "note": "PO 9"})
    assert response.status_code == 422
    assert "Quantity received is too large: at most 10,000,000" in text(response)
