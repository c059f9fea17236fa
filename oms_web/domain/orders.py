"""The order services under one name: callers import them from here, each lives in the module of its idea.

| module | what |
|---|---|
| `new_orders.py` | what a new order is: NewOrder, LineRequest, CustomerDetails, their checks, rows and first events, Created |
| `intake.py` | create_order (a draft, or one channel order) and create_orders (a batch of channel orders) |
| `batch_intake.py` | the set-based path of create_orders; its rows go in through `bulk_rows.py` |
| `order_rules.py` | what every action shares: the limits, check_quantity, require_role, get_order, refresh_order |
| `order_actions.py` | finalize, allocate now, edit, void, mark paid, release a hold, add a note |
| `channel_updates.py` | what a channel tells later: paid, cancelled, its lines' prices |

Stock is allocated by domain.stock (plan_allocation, the one rule) under the locks of domain.locking.
"""
from __future__ import annotations

from .channel_updates import (channel_price_changes, record_channel_cancellation, record_channel_payment,
                              record_channel_prices)
from .intake import create_order, create_orders
from .money import line_tax_cents
from .new_orders import ORDER_HEADLINE, Created, CustomerDetails, LineRequest, NewOrder
from .order_actions import (LineChange, add_note, allocate_now, edit_order, finalize_order, mark_paid, release_hold,
                            void_order, why_not_voidable)
from .order_rules import (MAX_LINE_QUANTITY, MAX_NOTE_LENGTH, MAX_PRICE_CENTS, check_quantity, default_tax_rate_bp,
                          fill_backorders_and_refresh, get_order, products_by_sku, refresh_order, require_role)

_products_by_sku = products_by_sku  # its former name, still imported by channels.reports

__all__ = [
    "ORDER_HEADLINE", "MAX_LINE_QUANTITY", "MAX_NOTE_LENGTH", "MAX_PRICE_CENTS", "Created", "CustomerDetails",
    "LineChange", "LineRequest", "NewOrder", "add_note", "allocate_now", "channel_price_changes", "check_quantity",
    "create_order", "create_orders", "default_tax_rate_bp", "edit_order", "fill_backorders_and_refresh",
    "finalize_order", "get_order", "line_tax_cents", "mark_paid", "products_by_sku", "record_channel_cancellation",
    "record_channel_payment", "record_channel_prices", "refresh_order", "release_hold", "require_role",
    "void_order", "why_not_voidable",
]
