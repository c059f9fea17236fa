"""The catalogue: adding a product and editing one (managers), each all or nothing.

A product's stock figures are not edited here: they move only through domain.stock (receive, count,
allocate, ship). Every text is bounded by its column, read from the model, so nothing a manager types
is refused by the database instead (PostgreSQL enforces lengths that SQLite ignores).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..columns import escape_like
from ..database import service
from ..extensions import db
from ..models import LocationStock, Order, OrderLine, OrderStatus, Product, Role, User
from . import drop_ship
from .errors import InvalidInput, NotFound
from .inventory import MAX_STOCK_QUANTITY
from .order_rules import require_role

MAX_PRICE_CENTS = 100_000_000  # 1,000,000.00: the price column is a 32-bit integer on PostgreSQL
PRICE_MESSAGE = f"Price must be an amount like 12.50, from 0 to {MAX_PRICE_CENTS // 100:,}.00"
SKU_MESSAGE = f"Give a SKU of up to {Product.sku.type.length} characters, without spaces"
MAX_TAX_RATE_BP = 10_000  # 100%
MAX_WEIGHT_GRAMS = 1_000_000  # a tonne: more is a typing slip
GTIN_LENGTHS = (8, 12, 13, 14)  # EAN-8, UPC-A, EAN-13, GTIN-14


# The longest side a parcel service takes is some 3 m.
MAX_SIDE_MM = 3_000


@dataclass(frozen=True)
class ProductDetails:
    """What a manager sets on a product; the SKU is set once, when it is added (channels map to it)."""

    name: str
    price_cents: int
    tax_rate_bp: int | None = None  # None: the shop's default rate
    bin_location: str | None = None
    barcode: str | None = None
    reorder_point: int = 0
    weight_grams: int = 0
    active: bool = True
    # Its own box's outside size in millimetres (0: not known), for the parcels a carrier rates.
    length_mm: int = 0
    width_mm: int = 0
    height_mm: int = 0
    # Drop-shipped by this drop-ship location (None: sold from our stock); lines allocated from then on go there.
    drop_ship_location_id: int | None = None


def gtin_check_digit(body: str) -> int:
    """The GS1 check digit of a GTIN's other digits: weights 3 and 1 alternate from the right."""
    total = sum(int(digit) * (3 if position % 2 == 0 else 1) for position, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def checked_barcode(barcode: str | None) -> str | None:
    """A GTIN of 8, 12, 13 or 14 digits whose last digit is its check digit, or None when empty."""
    barcode = (barcode or "").strip()
    if not barcode:
        return None
    if not re.fullmatch(r"[0-9]+", barcode) or len(barcode) not in GTIN_LENGTHS:
        raise InvalidInput("A barcode is a GTIN: 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14)",
                           field="barcode")
    if gtin_check_digit(barcode[:-1]) != int(barcode[-1]):
        raise InvalidInput(f"The barcode's check digit is wrong: {barcode[:-1]}{gtin_check_digit(barcode[:-1])} "
                           f"would be right; check the digits typed", field="barcode")
    return barcode


def _text(value: Any, column: Any, *, field: str, label: str, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label} must be text", field=field)
    text = (value or "").strip()
    limit = column.type.length  # the model's column is the one source of the bound
    if len(text) > limit:
        raise InvalidInput(f"{label} has at most {limit:,} characters ({len(text):,} given)", field=field)
    if required and not text:
        raise InvalidInput(f"{label} is required", field=field)
    return text or None


def _whole(value: Any, *, field: str, label: str, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{label} must be a whole number", field=field)
    if not 0 <= value <= maximum:
        raise InvalidInput(f"{label} must be between 0 and {maximum:,}", field=field)
    return value


def _checked(details: ProductDetails) -> dict[str, Any]:
    """The product's columns from the details, every field checked; raises InvalidInput naming the first bad one."""
    if not isinstance(details.active, bool):
        raise InvalidInput("Active is yes or no", field="active")
    return {
        "name": _text(details.name, Product.name, field="name", label="The name", required=True),
        "price_cents": _whole(details.price_cents, field="price", label="The price in cents", maximum=MAX_PRICE_CENTS),
        "tax_rate_bp": None if details.tax_rate_bp is None else _whole(
            details.tax_rate_bp, field="tax_rate_bp", label="Tax rate (basis points)", maximum=MAX_TAX_RATE_BP),
        "bin_location": _text(details.bin_location, Product.bin_location, field="bin_location", label="The bin"),
        "barcode": checked_barcode(_text(details.barcode, Product.barcode, field="barcode", label="The barcode")),
        "reorder_point": _whole(details.reorder_point, field="reorder_point", label="The reorder point",
                                maximum=MAX_STOCK_QUANTITY),
        "weight_grams": _whole(details.weight_grams, field="weight_grams", label="The weight in grams",
                               maximum=MAX_WEIGHT_GRAMS),
        **{name: _whole(getattr(details, name), field=name, label=label, maximum=MAX_SIDE_MM)
           for name, label in (("length_mm", "The length in mm"), ("width_mm", "The width in mm"),
                               ("height_mm", "The height in mm"))},
        "active": details.active,
        "drop_ship_location_id": drop_ship.checked_drop_ship_location(details.drop_ship_location_id),
    }


def checked_sku(sku: Any) -> str:
    """A SKU as stored: upper case, no spaces, within its column."""
    if not isinstance(sku, str) or not sku.strip() or len(sku.strip()) > Product.sku.type.length \
            or re.search(r"\s", sku.strip()):
        raise InvalidInput(SKU_MESSAGE, field="sku")
    return sku.strip().upper()


def _refuse_taken(sku: str | None, barcode: str | None, product_id: int | None) -> None:
    """Refuse a SKU or barcode another product has, with a message naming it (the unique indexes are
    the guard under concurrency: an insert that loses the race fails as a whole)."""
    if sku is not None and db.session.scalar(sa.select(Product.id).where(Product.sku == sku)):
        raise InvalidInput(f"A product with the SKU {sku} already exists", field="sku")
    if barcode is not None:
        other = db.session.scalar(sa.select(Product.sku).where(Product.barcode == barcode, Product.id != (product_id or 0)))
        if other is not None:
            raise InvalidInput(f"The barcode {barcode} is already on {other}", field="barcode")


@service
def create_product(actor: User | None, sku: str, details: ProductDetails) -> Product:
    """Add a product with no stock (stock comes in by receiving or a count).

    `actor` None is the seed. Raises NotAllowed below manager, InvalidInput naming the field for a bad
    or taken SKU, name, price, tax rate, bin, barcode, reorder point or weight.
    """
    if actor is not None:
        require_role(actor, Role.MANAGER, "add products")
    sku = checked_sku(sku)
    values = _checked(details)
    _refuse_taken(sku, values["barcode"], None)
    product = Product(sku=sku, stock_in_hand=0, stock_committed=0, **values)
    db.session.add(product)
    _flush_unique(sku, values["barcode"])
    return product


def _flush_unique(sku: str, barcode: str | None) -> None:
    """Write now, so that a SKU or barcode taken by a transaction that committed meanwhile is refused
    with its message (the transaction is rolled back as a whole by the service)."""
    try:
        db.session.flush()
    except IntegrityError:
        raise InvalidInput(f"Another product has just taken the SKU {sku} or the barcode {barcode or ''}",
                           field="sku") from None


@service
def edit_product(actor: User, product_id: int, details: ProductDetails) -> Product:
    """Change a product's name, price, tax rate, bin, barcode, reorder point, weight and active flag.

    Open orders keep the prices their lines were taken at. Raises NotAllowed below manager, NotFound,
    InvalidInput naming the field.
    """
    require_role(actor, Role.MANAGER, "edit products")
    values = _checked(details)
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist")
    _refuse_taken(None, values["barcode"], product_id)
    for name, value in values.items():
        setattr(product, name, value)
    _flush_unique(product.sku, values["barcode"])
    return product


# ---------------------------------------------------------------- the Products & stock list

PAGE_SIZE = 50
SHOWS = {"": "All products", "low": "Low stock", "backordered": "Backordered", "inactive": "Inactive"}


def _backordered_units() -> sa.Select:
    """Units short on the lines of finalized, not-held orders (what receiving stock would fill), by product."""
    return (sa.select(OrderLine.product_id, sa.func.sum(OrderLine.ordered - OrderLine.allocated).label("units"))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.allocated < OrderLine.ordered, Order.status == OrderStatus.FINALIZED,
                   Order.hold_reason.is_(None))
            .group_by(OrderLine.product_id))


def backordered(product_ids: list[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    return dict(db.session.execute(_backordered_units().where(OrderLine.product_id.in_(product_ids))).all())


@dataclass(frozen=True)
class ProductPage:
    products: list[Product]
    backordered: dict[int, int]
    total: int  # products matching the search and the filter, on every page
    page: int
    pages: int


def products_matching(text: str = "", show: str = ""):
    """Products whose SKU or name contains `text`, of one kind (SHOWS): low stock is an active product
    whose available units are at or below its reorder point."""
    query = sa.select(Product)
    if text:
        pattern = f"%{escape_like(text)}%"
        query = query.where(sa.or_(Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\")))
    if show == "low":
        query = query.where(Product.is_low_stock)
    elif show == "backordered":
        short = _backordered_units().subquery()
        query = query.where(Product.id.in_(sa.select(short.c.product_id)))
    elif show == "inactive":
        query = query.where(Product.active.is_(False))
    return query


def stock_at(location_id: int, product_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(in hand, committed) of each of these products at one location (products with no row there: none)."""
    if not product_ids:
        return {}
    return {product_id: (in_hand, committed) for product_id, in_hand, committed in db.session.execute(
        sa.select(LocationStock.product_id, LocationStock.in_hand, LocationStock.committed)
        .where(LocationStock.location_id == location_id, LocationStock.product_id.in_(product_ids)))}


def product_page(text: str = "", show: str = "", page: int = 1) -> ProductPage:
    """One page of the list, SKU order, with the total over all pages; a page past the last shows the last."""
    query = products_matching(text, show)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(max(page, 1), pages)
    products = db.session.scalars(query.order_by(Product.sku).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return ProductPage(list(products), backordered([p.id for p in products]), total, page, pages)
