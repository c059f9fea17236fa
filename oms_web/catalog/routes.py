"""Products and stock: the list (searched, filtered, paged, with its total) with in hand / committed /
available / backordered, receiving and counting in place (manager and admin; a count that takes units
from orders is confirmed first), each product's ledger, and adding and editing products."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.forms import field_errors
from ..domain import catalog, drop_ship, inventory, transfers
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.locking import backordered_lines
from ..extensions import db
from ..models import Location, LocationStock, Product, Role, StockMove
from ..work_site.routes import own_sites
from ..web import MAX_ID, allow, as_id, error_response, form_int, is_htmx, page_or_fragment, refreshed
from ..formfields import validated
from . import bp
from .forms import CountForm, NewProductForm, ProductForm, ReceiveForm, row_forms


def _search_text() -> str:
    return (request.args.get("q") or "").strip()[:100]


def load_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist")
    return product


@bp.route("/products")
@allow(Role.STAFF)
def index():
    text, show = _search_text(), request.args.get("show", "")
    if show not in catalog.SHOWS:
        return error_response(400, f"Show one of: {', '.join(k or 'all' for k in catalog.SHOWS)}", "show")
    raw_page = request.args.get("page", "1")
    page = as_id(raw_page)
    if page is None or page < 1:
        return error_response(400, "The page is a whole number from 1", "page")
    sites = own_sites()
    try:
        at = _stock_at(sites)
    except DomainError as error:
        return error_response(400, error.message, error.field)
    listing = catalog.product_page(text, show, page)
    site_figures = catalog.stock_at(at, [p.id for p in listing.products]) if at else None
    return page_or_fragment("catalog/index.html", "catalog/_list.html", listing=listing,
                            products=listing.products, backordered=listing.backordered, q=text, show=show,
                            shows=catalog.SHOWS, errors={}, failed=None, forms=row_forms(),
                            sites=sites, at=at, site_figures=site_figures)


@bp.route("/products/lookup")
@allow(Role.STAFF)
def lookup():
    text = next((request.args[k] for k in ("q", "new_sku", "sku", "product_sku") if request.args.get(k)), "").strip()[:100]
    products = db.session.scalars(catalog.products_matching(text).where(Product.active).order_by(Product.sku)
                                  .limit(15)).all() if text else []
    return render_template("catalog/_options.html", products=products)


def _stock_at(sites: dict[int, str] | None = None) -> int | None:
    """The list's "Stock at" (?at=<id>, one of the shop's own locations), or None for the sums over them
    all. The row forms post it back in their URL, so the row they answer with shows the same location."""
    raw = request.args.get("at", "")
    if not raw:
        return None
    at = as_id(raw)
    if at not in (own_sites() if sites is None else sites):
        raise InvalidInput("Choose one of the shop's locations", field="at")
    return at


def _row(product_id: int, *, status: int = 200, errors: dict | None = None, count_takes: list | None = None,
         form: str | None = None, at: int | None = None):
    """The product's row again (its figures at `at`, the list's "Stock at", when one is chosen); after a
    refusal, with the message and what was typed into `form`."""
    if errors and not is_htmx() and not count_takes:  # a plain post gets a page with the message, not a table row
        return error_response(status, next(iter(errors.values())))
    db.session.expire_all()
    product = load_product(product_id)
    context = dict(product=product, backordered=catalog.backordered([product.id]), errors=errors or {},
                   failed=product.id if errors else None, form=request.form if errors else {},
                   count_takes=count_takes, answer=True, failed_form=form,
                   forms=row_forms(form, request.form if errors else None),
                   at=at, site_figures=catalog.stock_at(at, [product.id]) if at else None)
    if count_takes and not is_htmx():  # the confirm step as a page of its own
        return make_response(render_template("catalog/confirm_count.html", **context), status)
    response = make_response(render_template("catalog/_row.html", **context), status)
    return refreshed(response, "stock-changed") if status < 400 else response


def _location() -> int | None:
    """The location a receipt or count is at: the form's select (shown once there are two sites), else
    the default location (the service's)."""
    return form_int("location", label="The location", minimum=1, maximum=MAX_ID, required=False)


@bp.route("/products/<int:product_id>/receive", methods=["POST"])
@allow(Role.MANAGER)
def receive(product_id: int):
    load_product(product_id)
    try:
        at = _stock_at()
    except DomainError as error:
        return error_response(422, error.message, error.field)
    try:
        form = validated(ReceiveForm())
        inventory.receive_stock(current_user, product_id, form.quantity.data, form.note.value, _location())
    except DomainError as error:
        return _row(product_id, status=422, errors={error.field or "quantity": error.message}, form="receive", at=at)
    return _row(product_id, at=at) if is_htmx() else redirect(url_for("catalog.index", at=at))


@bp.route("/products/<int:product_id>/adjust", methods=["POST"])
@allow(Role.MANAGER)
def adjust(product_id: int):
    load_product(product_id)
    try:
        at = _stock_at()
    except DomainError as error:
        return error_response(422, error.message, error.field)
    try:
        form = validated(CountForm())
        counted = form.counted.data
        # The orders the manager saw in the confirm step; a count taking units from any other is shown again.
        confirmed = {order_id for order_id in map(as_id, request.form.getlist("confirm_order")) if order_id}
        inventory.adjust_stock(current_user, product_id, counted,
                               form.note.value or "", confirmed=confirmed, location_id=_location())
    except inventory.CountTakesAllocations as error:
        return _row(product_id, status=422, errors={"counted": error.message}, count_takes=error.taken, form="count",
                    at=at)
    except DomainError as error:
        return _row(product_id, status=422, errors={error.field or "counted": error.message}, form="count", at=at)
    return _row(product_id, at=at) if is_htmx() else redirect(url_for("catalog.index", at=at))


@bp.route("/products/<int:product_id>")
@allow(Role.STAFF)
def ledger(product_id: int):
    product = load_product(product_id)
    moves = db.session.scalars(sa.select(StockMove).where(StockMove.product_id == product_id)
                               .options(selectinload(StockMove.location), selectinload(StockMove.user))
                               .order_by(StockMove.id.desc()).limit(200)).all()
    waiting = db.session.scalars(backordered_lines(product_id).limit(50)).all()
    # Its stock per location (those holding a row for it), highest priority first.
    sites = db.session.execute(
        sa.select(Location.name, Location.kind, LocationStock.in_hand, LocationStock.committed)
        .join(Location, Location.id == LocationStock.location_id).where(LocationStock.product_id == product_id)
        .order_by(Location.priority.desc(), Location.id)).all()
    return render_template("catalog/ledger.html", product=product, moves=moves, waiting=waiting, per_location=sites,
                           backordered=catalog.backordered([product.id]),
                           in_transit=transfers.in_transit([product.id]).get(product.id, 0))


@bp.route("/products/new", methods=["GET", "POST"])
@allow(Role.MANAGER)
def new():
    form = NewProductForm()
    errors: dict[str, str] = {}
    if form.is_submitted():
        errors = field_errors(form) if not form.validate() else {}
        if not errors:
            try:
                product = catalog.create_product(current_user, form.sku.data, form.details())
            except DomainError as error:
                errors[error.field or "_form"] = error.message
            else:
                return redirect(url_for("catalog.index", q=product.sku))
    return render_template("catalog/product_form.html", form=form, errors=errors, product=None,
                           drop_ship_choices=drop_ship.drop_ship_choices()), (422 if errors else 200)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@allow(Role.MANAGER)
def edit(product_id: int):
    product = load_product(product_id)
    form = ProductForm()
    errors: dict[str, str] = {}
    if not form.is_submitted():
        form.fill_from(product)
    else:
        errors = field_errors(form) if not form.validate() else {}
        if not errors:
            try:
                catalog.edit_product(current_user, product_id, form.details())
            except DomainError as error:
                errors[error.field or "_form"] = error.message
            else:
                return redirect(url_for("catalog.index", q=product.sku))
    return render_template("catalog/product_form.html", form=form, errors=errors, product=product,
                           drop_ship_choices=drop_ship.drop_ship_choices()), (422 if errors else 200)
