"""The demo's back office beyond the orders: a second warehouse with stock, a supplier with a purchase
order on its way there and a transfer on the road, and returns and a refund on delivered orders. Made
through the services, once (a shop that already has a second warehouse is left as it is), so that every
screen of locations, purchasing, transfers, returns and refunds has something to show.
"""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from ..domain import inventory, locations, purchasing, refunds, returns, suppliers, transfers
from ..domain.errors import DomainError
from ..domain.locations import LocationDetails
from ..domain.refunds import RefundReason, RefundRequest
from ..domain.returns import Receipt, ReturnRequest
from ..domain.suppliers import SupplierDetails
from ..extensions import db
from ..models import Location, LocationKind, Order, OrderStatus, Product, User, utcnow

SECOND_WAREHOUSE = "East warehouse"
SUPPLIER = "Northwind Wholesale"


def seed_back_office(users: dict[str, User], rng: random.Random) -> list[str]:
    """Make the demo's back office; returns a line per thing made (for the seed's echo)."""
    if db.session.scalar(sa.select(Location.id).where(Location.name == SECOND_WAREHOUSE)) is not None:
        return []
    admin, manager, staff = users["admin"], users["manager"], users["staff"]
    made = []
    main = db.session.scalar(sa.select(Location.id).where(Location.name == "Main warehouse"))
    east = locations.create_location(admin, LocationKind.WAREHOUSE, LocationDetails(
        name=SECOND_WAREHOUSE, priority=90, ship_from_name="Acme Outfitters East", line1="400 Harbor Blvd",
        city="Newark", region="NJ", postal_code="07114", country="US"))
    products = db.session.scalars(sa.select(Product).where(Product.active, Product.drop_ship_location_id.is_(None))
                                  .order_by(Product.id)).all()
    stocked = products[: max(len(products) // 3, 1)]
    for product in stocked:
        inventory.receive_stock(manager, product.id, rng.randint(8, 40), "Opening stock of the East warehouse",
                                location_id=east.id)
    made.append(f"{SECOND_WAREHOUSE}: stock of {len(stocked)} products")

    supplier = suppliers.create_supplier(admin, SupplierDetails(
        name=SUPPLIER, email="orders@northwind.example", address="18 Commerce Way, Columbus, OH 43215, US",
        lead_time_days=6))
    for product in products[:12]:
        suppliers.set_supplier_product(admin, supplier.id, product.sku, f"NW-{product.sku}",
                                       max(product.price_cents * 55 // 100, 1))
    po = purchasing.create_purchase_order(manager, supplier.id, east.id)
    for product in products[:3]:
        purchasing.add_line(manager, po.id, product.sku, rng.choice([24, 36, 48]))
    purchasing.send_purchase_order(manager, po.id)
    made.append(f"{SUPPLIER}: {po.number} sent, due at {SECOND_WAREHOUSE}")

    for product in stocked[:4]:
        try:
            transfer = transfers.create_transfer(manager, main, east.id, [(product.sku, 2)])
            transfers.ship_transfer(manager, transfer.id)
            made.append(f"{transfer.number}: 2 × {product.sku} on the road to {SECOND_WAREHOUSE}")
            break
        except DomainError:
            continue  # nothing spare of this one at the main warehouse

    made.extend(_returns(staff, manager))
    return made


def _returns(staff: User, manager: User) -> list[str]:
    """On today's delivered orders: a return received and restocked, refunded with its credit note; and a
    return authorized, on its way back."""
    delivered = db.session.scalars(
        sa.select(Order).where(Order.status == OrderStatus.FULFILLED, Order.created_at >= utcnow() - timedelta(days=2))
        .order_by(Order.id.desc()).limit(6)).all()
    made = []
    for number, order in enumerate(delivered[:2]):
        line = next((line for line in order.lines if line.shipped), None)
        if line is None:
            continue
        try:
            ret = returns.open_return(staff, order.id, [ReturnRequest(line.id, 1, "damaged" if number else "no_longer_wanted")])
            returns.authorize_return(staff, ret.id)
            if number == 0:
                returns.receive_return(staff, ret.id, {ret.lines[0].id: Receipt(restock=1)})
                if order.invoices:
                    refund = refunds.issue_refund(manager, order.id, RefundRequest(
                        reason=RefundReason.RETURNED, units={line.id: 1}, return_id=ret.id))
                    made.append(f"{ret.number} received and restocked; refunded on {refund.credit_note.display_number}")
                else:
                    made.append(f"{ret.number} received and restocked")
            else:
                made.append(f"{ret.number} authorized: on its way back")
        except DomainError as refusal:
            made.append(f"return on {order.number} not made: {refusal}")
    return made
