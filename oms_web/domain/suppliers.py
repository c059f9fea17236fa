"""Suppliers (admin): who we buy from, and what each of them sells us (a product at a supplier: their
SKU and our unit cost). Purchase orders (domain.purchasing) and the reorder suggestion read these.

Each service is one all-or-nothing write that checks every value before it touches a row.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..columns import column_length
from ..database import service
from ..extensions import db
from ..models import Product, Role, Supplier, SupplierProduct, User
from .errors import InvalidInput, NotFound
from .order_rules import require_role

MAX_LEAD_TIME_DAYS = 365  # the suppliers table's check constraint says the same
# A unit cost is a 32-bit INTEGER column on PostgreSQL.
MAX_COST_CENTS = 2**31 - 1
COST_MESSAGE = "A unit cost is an amount such as 12.50"


@dataclass(frozen=True)
class SupplierDetails:
    name: str
    email: str | None = None
    address: str | None = None
    lead_time_days: int = 7
    active: bool = True


def _text(value: Any, column: Any, *, field: str, label: str, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label} must be text", field=field)
    text = (value or "").strip()
    limit = column_length(column)
    if len(text) > limit:
        raise InvalidInput(f"{label} has at most {limit:,} characters ({len(text):,} given)", field=field)
    if required and not text:
        raise InvalidInput(f"{label} is required", field=field)
    return text or None


def check_cost(value: Any, *, field: str = "unit_cost") -> int:
    """A unit cost in cents: a whole number from 0; a negative one is refused in words that say so."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(COST_MESSAGE, field=field)
    if value < 0:
        raise InvalidInput("A unit cost cannot be negative", field=field)
    if value > MAX_COST_CENTS:
        raise InvalidInput(f"A unit cost is at most {MAX_COST_CENTS // 100:,}.{MAX_COST_CENTS % 100:02d}", field=field)
    return value


def _checked(details: SupplierDetails) -> dict[str, Any]:
    name = _text(details.name, Supplier.name, field="name", label="The name", required=True)
    email = _text(details.email, Supplier.email, field="email", label="The email")
    if email and ("@" not in email or any(c.isspace() for c in email)):
        raise InvalidInput("That email address does not look right", field="email")
    address = _text(details.address, Supplier.address, field="address", label="The address")
    days = details.lead_time_days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_LEAD_TIME_DAYS:
        raise InvalidInput(f"The lead time is a whole number of days from 0 to {MAX_LEAD_TIME_DAYS}", field="lead_time_days")
    return {"name": name, "email": email.lower() if email else None, "address": address, "lead_time_days": days,
            "active": bool(details.active)}


def _refuse_taken_name(name: str, supplier_id: int | None) -> None:
    query = sa.select(Supplier.id).where(sa.func.lower(Supplier.name) == name.lower())
    if supplier_id is not None:
        query = query.where(Supplier.id != supplier_id)
    if db.session.scalar(query) is not None:
        raise InvalidInput(f"A supplier named {name} exists already", field="name")


def _flush_or_taken(name: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same name saved at the same moment
        raise InvalidInput(f"A supplier named {name} exists already", field="name") from None


def get_supplier(supplier_id: int) -> Supplier:
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(f"Supplier {supplier_id} does not exist")
    return supplier


@service
def create_supplier(actor: User, details: SupplierDetails) -> Supplier:
    """Add a supplier. Raises NotAllowed below admin, InvalidInput for a missing, taken or over-long name,
    a bad email or a lead time out of range."""
    require_role(actor, Role.ADMIN, "manage suppliers")
    values = _checked(details)
    _refuse_taken_name(values["name"], None)
    supplier = Supplier(**values)
    db.session.add(supplier)
    _flush_or_taken(values["name"])
    return supplier


@service
def edit_supplier(actor: User, supplier_id: int, details: SupplierDetails) -> Supplier:
    """Change a supplier's details (an inactive one gets no new purchase orders). Raises as create_supplier."""
    require_role(actor, Role.ADMIN, "manage suppliers")
    values = _checked(details)
    supplier = get_supplier(supplier_id)
    _refuse_taken_name(values["name"], supplier.id)
    for name, value in values.items():
        setattr(supplier, name, value)
    _flush_or_taken(values["name"])
    return supplier


@service
def set_supplier_product(actor: User, supplier_id: int, sku: str, supplier_sku: str | None,
                         unit_cost_cents: int) -> SupplierProduct:
    """Say that a supplier sells us a product (by our SKU), with their SKU and the unit cost; again for the
    same product changes them. Raises NotAllowed below admin, InvalidInput for an unknown SKU, an
    over-long supplier SKU or a negative cost."""
    require_role(actor, Role.ADMIN, "manage suppliers")
    our_sku = _text(sku, Product.sku, field="sku", label="The SKU", required=True)
    their_sku = _text(supplier_sku, SupplierProduct.supplier_sku, field="supplier_sku", label="The supplier's SKU")
    cost = check_cost(unit_cost_cents)
    supplier = get_supplier(supplier_id)
    product = db.session.scalar(sa.select(Product).where(Product.sku == our_sku))
    if product is None:
        raise InvalidInput(f"No product has the SKU {our_sku}", field="sku")
    row = db.session.get(SupplierProduct, (supplier.id, product.id))
    if row is None:
        row = SupplierProduct(supplier_id=supplier.id, product_id=product.id)
        db.session.add(row)
    row.supplier_sku, row.unit_cost_cents = their_sku, cost
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same product added at the same moment: the other one stands
        raise InvalidInput(f"{our_sku} was just added to {supplier.name}: reload the page", field="sku") from None
    return row


@service
def remove_supplier_product(actor: User, supplier_id: int, product_id: int) -> None:
    """The supplier no longer sells us the product (its purchase orders keep their lines)."""
    require_role(actor, Role.ADMIN, "manage suppliers")
    row = db.session.get(SupplierProduct, (supplier_id, product_id))
    if row is None:
        raise NotFound("That supplier does not sell that product")
    db.session.delete(row)


def supplier_products(supplier_id: int) -> list[SupplierProduct]:
    return list(db.session.scalars(
        sa.select(SupplierProduct).join(Product, Product.id == SupplierProduct.product_id)
        .where(SupplierProduct.supplier_id == supplier_id).order_by(Product.sku)))


def suppliers_of(product_id: int) -> list[SupplierProduct]:
    """Who sells us the product, cheapest first."""
    return list(db.session.scalars(
        sa.select(SupplierProduct).join(Supplier, Supplier.id == SupplierProduct.supplier_id)
        .where(SupplierProduct.product_id == product_id)
        .order_by(SupplierProduct.unit_cost_cents, Supplier.name)))
