"""Products and stock: the list with in hand / committed / available / backordered, receiving and
adjusting in place (manager and admin), each product's ledger, and adding products."""
from __future__ import annotations

import sqlalchemy as sa
from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from ..columns import escape_like
from ..domain import inventory
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.locking import backordered_lines
from ..extensions import db
from ..models import Order, OrderLine, OrderStatus, Product, Role, StockMove
from ..web import allow, column_length, error_response, form_int, form_text, is_htmx, page_or_fragment, refreshed
from . import bp

PAGE_SIZE = 100
MAX_PRICE_CENTS = 100_000_000  # 1,000,000.00: the price column is a 32-bit integer on PostgreSQL


def _backordered(product_ids: list[int]) -> dict[int, int]:
    if not product_ids:
        return {}
    return dict(db.session.execute(
        sa.select(OrderLine.product_id, sa.func.sum(OrderLine.ordered - OrderLine.allocated)).join(Order)
        .where(OrderLine.product_id.in_(product_ids), OrderLine.allocated < OrderLine.ordered,
               Order.status == OrderStatus.FINALIZED, Order.hold_reason.is_(None))
        .group_by(OrderLine.product_id)).all())


def _search(text: str):
    query = sa.select(Product).order_by(Product.sku)
    if text:
        pattern = f"%{escape_like(text)}%"
        query = query.where(sa.or_(Product.sku.ilike(pattern, escape="\\"), Product.name.ilike(pattern, escape="\\")))
    return query


def load_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist")
    return product


@bp.route("/products")
@allow(Role.STAFF)
def index():
    text = (request.args.get("q") or "").strip()[:100]
    products = db.session.scalars(_search(text).limit(PAGE_SIZE)).all()
    return page_or_fragment("catalog/index.html", "catalog/_rows.html", products=products, q=text,
                            backordered=_backordered([p.id for p in products]), errors={}, failed=None)


@bp.route("/products/lookup")
@allow(Role.STAFF)
def lookup():
    text = next((request.args[k] for k in ("q", "new_sku", "sku", "product_sku") if request.args.get(k)), "").strip()[:100]
    products = db.session.scalars(_search(text).where(Product.active).limit(15)).all() if text else []
    return render_template("catalog/_options.html", products=products)


def _row(product_id: int, *, status: int = 200, errors: dict | None = None):
    if errors and not is_htmx():  # a plain post gets a page with the message, not a table row
        return error_response(status, next(iter(errors.values())))
    db.session.expire_all()
    product = load_product(product_id)
    response = make_response(render_template(
        "catalog/_row.html", product=product, backordered=_backordered([product.id]), errors=errors or {},
        failed=product.id if errors else None, form=request.form if errors else {}), status)
    return refreshed(response, "stock-changed") if status < 400 else response


@bp.route("/products/<int:product_id>/receive", methods=["POST"])
@allow(Role.MANAGER)
def receive(product_id: int):
    load_product(product_id)
    try:
        quantity = form_int("quantity", label="Quantity received", minimum=1, maximum=100_000)
        inventory.receive_stock(current_user, product_id, quantity, form_text("note", StockMove.note, label="The note"))
    except DomainError as error:
        return _row(product_id, status=422, errors={error.field or "quantity": error.message})
    return _row(product_id) if is_htmx() else redirect(url_for("catalog.index"))


@bp.route("/products/<int:product_id>/adjust", methods=["POST"])
@allow(Role.MANAGER)
def adjust(product_id: int):
    load_product(product_id)
    try:
        counted = form_int("counted", label="Counted quantity", minimum=0, maximum=10_000_000)
        inventory.adjust_stock(current_user, product_id, counted,
                               form_text("note", StockMove.note, label="The reason") or "")
    except DomainError as error:
        return _row(product_id, status=422, errors={error.field or "counted": error.message})
    return _row(product_id) if is_htmx() else redirect(url_for("catalog.index"))


@bp.route("/products/<int:product_id>")
@allow(Role.STAFF)
def ledger(product_id: int):
    product = load_product(product_id)
    moves = db.session.scalars(sa.select(StockMove).where(StockMove.product_id == product_id)
                               .order_by(StockMove.id.desc()).limit(200)).all()
    waiting = db.session.scalars(backordered_lines(product_id).limit(50)).all()
    return render_template("catalog/ledger.html", product=product, moves=moves, waiting=waiting,
                           backordered=_backordered([product.id]))


@bp.route("/products/new", methods=["GET", "POST"])
@allow(Role.MANAGER)
def new():
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            product = _product_from_form()
            db.session.add(product)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            errors[error.field or "_form"] = error.message
        except IntegrityError:
            db.session.rollback()
            errors["sku"] = f"A product with the SKU {form.get('sku', '').strip().upper()} already exists"
        else:
            return redirect(url_for("catalog.index", q=product.sku))
    return render_template("catalog/new.html", errors=errors, form=form), (422 if errors else 200)


def _product_from_form() -> Product:
    sku = (request.form.get("sku") or "").strip().upper()
    if not sku or len(sku) > column_length(Product.sku) or " " in sku:
        raise InvalidInput(f"Give a SKU of up to {column_length(Product.sku)} characters, without spaces", field="sku")
    name = form_text("name", Product.name, label="The name")
    if not name:
        raise InvalidInput("Give the product a name", field="name")
    price = (request.form.get("price") or "").strip()
    try:
        from decimal import Decimal, DecimalException, InvalidOperation

        cents = Decimal(price) * 100
        if not cents.is_finite() or cents < 0 or cents > MAX_PRICE_CENTS or cents != cents.to_integral_value():
            raise InvalidOperation
    except (DecimalException, ValueError):
        raise InvalidInput("Price must be an amount like 12.50", field="price") from None
    tax = form_int("tax_rate_bp", label="Tax rate (basis points)", maximum=10_000, required=False)
    return Product(sku=sku, name=name, price_cents=int(cents),
                   weight_grams=form_int("weight_grams", label="Weight", maximum=1_000_000, required=False) or 0,
                   tax_rate_bp=tax, reorder_point=form_int("reorder_point", label="Reorder point", required=False) or 0)
