"""Test helper: suppliers, a second warehouse and drop-ship locations for the purchasing tests (plain rows:
the locations' admin screens are another module's), and purchase orders made through the services."""
from __future__ import annotations

from datetime import date

from oms_web.domain import purchasing, suppliers
from oms_web.extensions import db
from oms_web.models import Location, LocationKind, Product, PurchaseOrder, Supplier, SupplierProduct

MAIN = 1  # the migrated database's "Main warehouse"


def supplier(name: str = "Acme Supplies", lead_time_days: int = 5, email: str | None = "orders@acme.example") -> Supplier:
    row = Supplier(name=name, email=email, address="1 Supply Road, Leeds", lead_time_days=lead_time_days, active=True)
    db.session.add(row)
    db.session.commit()
    return row


def warehouse(name: str = "East warehouse", priority: int = 50) -> Location:
    row = Location(name=name, kind=LocationKind.WAREHOUSE, priority=priority, active=True, line1="9 Dock Street",
                   city="Hull", postal_code="HU1 1AA", country="GB")
    db.session.add(row)
    db.session.commit()
    return row


def drop_shipped(sku: str, by: Supplier) -> Location:
    """A drop-ship location of the supplier, and the product drop-shipped from it."""
    location = Location(name=f"{by.name} (drop-ship)", kind=LocationKind.DROP_SHIP, priority=0, active=True,
                        supplier_id=by.id)
    db.session.add(location)
    db.session.flush()
    product = db.session.query(Product).filter_by(sku=sku).one()
    product.drop_ship_location_id = location.id
    db.session.commit()
    return location


def sells(by: Supplier, product: Product, cost_cents: int, supplier_sku: str | None = None) -> None:
    db.session.add(SupplierProduct(supplier_id=by.id, product_id=product.id, unit_cost_cents=cost_cents,
                                   supplier_sku=supplier_sku))
    db.session.commit()


def sent_po(manager, by: Supplier, *lines: tuple[str, int, int], location_id: int = MAIN,
            expected_on: date | None = None) -> PurchaseOrder:
    """A sent PO of (sku, quantity, unit cost) lines."""
    po = purchasing.create_purchase_order(manager, by.id, location_id, expected_on)
    for sku, quantity, cost in lines:
        purchasing.add_line(manager, po.id, sku, quantity, cost)
    purchasing.send_purchase_order(manager, po.id)
    return fresh(po.id)


def fresh(purchase_order_id: int) -> PurchaseOrder:
    db.session.rollback()
    po = db.session.get(PurchaseOrder, purchase_order_id)
    db.session.refresh(po)
    for line in po.lines:
        db.session.refresh(line)
    return po


def line_of(po: PurchaseOrder, sku: str):
    return next(line for line in po.lines if line.product.sku == sku)


__all__ = ["supplier", "warehouse", "drop_shipped", "sells", "sent_po", "fresh", "line_of", "suppliers"]
