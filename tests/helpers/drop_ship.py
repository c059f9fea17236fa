"""Drop-ship test data: a supplier with its drop-ship location, a product it drop-ships, and the supplier's link."""
from __future__ import annotations

from urllib.parse import urlsplit

from oms_web.domain import drop_ship
from oms_web.extensions import db
from oms_web.models import Location, LocationKind, Product, Supplier


def supplier_location(name: str = "Oakline Furniture") -> Location:
    """A supplier and its drop-ship location (committed)."""
    supplier = Supplier(name=name, email="orders@oakline.example", lead_time_days=5)
    location = Location(name=f"{name} (drop-ship)", kind=LocationKind.DROP_SHIP, priority=0, supplier=supplier)
    db.session.add_all([supplier, location])
    db.session.commit()
    return location


def drop_shipped(shop, sku: str, location: Location) -> Product:
    """A product of the shop that `location`'s supplier drop-ships (none of our stock)."""
    product = shop.product(sku)
    product.drop_ship_location_id = location.id
    db.session.commit()
    return product


def link_path(order_id: int, location_id: int) -> str:
    """The supplier page's path of a new link for the order and location (needs a request context)."""
    return f"/supplier/{order_id}/{location_id}/{drop_ship.link_token(order_id, location_id)}"


def as_path(url: str) -> str:
    return urlsplit(url).path
