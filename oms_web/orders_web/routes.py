"""One order's page and the actions on it, each re-rendering the sections it changes; the manual order form."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Response, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..columns import escape_like
from ..domain import invoicing, orders as order_services, shipping
from ..domain.errors import DomainError, NotFound
from ..domain.orders import CustomerDetails, LineChange, LineRequest, NewOrder
from ..extensions import db
from ..models import (Address, ChannelKind, Customer, Order, OrderEvent, OrderLine, PaymentStatus, Product, Role,
                      SalesChannel, Shipment)
from ..web import MAX_ID, allow, as_id, checked_text, form_int, form_text, is_htmx, refreshed
from . import bp

# Which sections of the order page each action changes: the first is the one its form sits in.
SECTIONS = {
    "finalize": ["header", "lines", "ship", "timeline"],
    "allocate": ["header", "lines", "ship", "timeline"],
    "paid": ["header", "ship", "timeline"],
    "release": ["header", "lines", "ship", "timeline"],
    "void": ["header", "lines", "ship", "timeline"],
    "edit": ["lines", "header", "ship", "timeline"],
    # Shipped units can be invoiced: the invoices section offers "Invoice shipped, not invoiced".
    "ship": ["ship", "lines", "shipments", "invoices", "header", "timeline"],
    # The last delivery fulfils the order, which closes its lines to editing and ends shipping.
    "shipment": ["shipments", "header", "lines", "ship", "timeline"],
    "invoice": ["invoices", "lines", "shipments", "timeline"],
    "note": ["timeline"],
}


def load_order(order_id: int) -> Order:
    """The one loader every order view uses: 404 for an order that does not exist."""
    order = db.session.scalar(
        sa.select(Order).where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.shipments).selectinload(Shipment.lines),
                 selectinload(Order.invoices)))
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    return order


def _context(order: Order, errors: dict | None = None, form: dict | None = None, failed_action: str | None = None) -> dict:
    events = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)
                                .options(selectinload(OrderEvent.user)).order_by(OrderEvent.id.desc())).all()
    errors = errors or {}
    return {"order": order, "events": events, "errors": errors, "form": form or {}, "failed_action": failed_action,
            "error_message": next(iter(errors.values()), None),
            "lines_by_id": {line.id: line for line in order.lines},
            "products": {p.id: p for p in db.session.scalars(sa.select(Product).where(
                Product.id.in_([l.product_id for l in order.lines if l.product_id])))}}


def _sections(order_id: int, action: str, *, status: int = 200, errors: dict | None = None) -> Response:
    db.session.expire_all()
    order = load_order(order_id)
    names = SECTIONS[action] if status < 400 else SECTIONS[action][:1]
    context = _context(order, errors, request.form.to_dict() if status >= 400 else None,
                       action if status >= 400 else None)
    html = "".join(render_template(f"orders/_{name}.html", oob=i > 0, **context) for i, name in enumerate(names))
    response = make_response(html, status)
    return refreshed(response) if status < 400 else response


def _act(order_id: int, action: str, fn) -> Response:
    """Run one service; success re-renders what changed, a refusal re-renders the form with the message."""
    try:
        fn()
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        if not is_htmx():
            raise
        return _sections(order_id, action, status=422, errors={error.field or "_form": error.message})
    if not is_htmx():
        return redirect(url_for("orders.detail", order_id=order_id))
    return _sections(order_id, action)


@bp.route("/orders/<int:order_id>")
@allow(Role.STAFF)
def detail(order_id: int):
    return render_template("orders/detail.html", **_context(load_order(order_id)))


@bp.route("/orders/<int:order_id>/finalize", methods=["POST"])
@allow(Role.STAFF)
def finalize(order_id: int):
    return _act(order_id, "finalize", lambda: order_services.finalize_order(current_user, order_id))


@bp.route("/orders/<int:order_id>/allocate", methods=["POST"])
@allow(Role.STAFF)
def allocate(order_id: int):
    return _act(order_id, "allocate", lambda: order_services.allocate_now(current_user, order_id))


@bp.route("/orders/<int:order_id>/paid", methods=["POST"])
@allow(Role.STAFF)
def paid(order_id: int):
    return _act(order_id, "paid", lambda: order_services.mark_paid(current_user, order_id))


@bp.route("/orders/<int:order_id>/release", methods=["POST"])
@allow(Role.STAFF)
def release(order_id: int):
    return _act(order_id, "release", lambda: order_services.release_hold(current_user, order_id))


@bp.route("/orders/<int:order_id>/void", methods=["POST"])
@allow(Role.ADMIN)
def void(order_id: int):
    return _act(order_id, "void", lambda: order_services.void_order(
        current_user, order_id, form_text("reason", Order.void_reason, label="The reason") or ""))


@bp.route("/orders/<int:order_id>/notes", methods=["POST"])
@allow(Role.STAFF)
def add_note(order_id: int):
    return _act(order_id, "note", lambda: order_services.add_note(current_user, order_id, request.form.get("note", "")))


@bp.route("/orders/<int:order_id>/lines", methods=["POST"])
@allow(Role.STAFF)
def edit_lines(order_id: int):
    def run() -> None:
        changes = []
        order = load_order(order_id)
        for line in order.lines:
            if request.form.get(f"remove-{line.id}"):
                changes.append(LineChange(quantity=0, line_id=line.id))
                continue
            quantity = form_int(f"qty-{line.id}", label=f"Quantity of {line.sku}", required=False)
            if quantity is not None and quantity != line.ordered:
                changes.append(LineChange(quantity=quantity, line_id=line.id))
        sku = form_text("new_sku", OrderLine.sku, label="The SKU")
        if sku:
            changes.append(LineChange(quantity=form_int("new_qty", label="Quantity", minimum=1), sku=sku))
        order_services.edit_order(current_user, order_id, changes)

    return _act(order_id, "edit", run)


@bp.route("/orders/<int:order_id>/ship", methods=["POST"])
@allow(Role.STAFF)
def ship(order_id: int):
    def run() -> None:
        order = load_order(order_id)
        quantities = {line.id: form_int(f"ship-{line.id}", label=f"Units of {line.sku}", required=False) or 0
                      for line in order.lines}
        shipping.ship_lines(current_user, order_id, quantities, **_carrier_fields("carrier", "service_level",
                                                                                 "tracking_number"))

    return _act(order_id, "ship", run)


def _carrier_fields(*names: str) -> dict[str, str | None]:
    """The shipment's carrier, service and tracking number from the form, each within its column."""
    labels = {"carrier": "The carrier", "service_level": "The service", "tracking_number": "The tracking number"}
    return {name: form_text(name, getattr(Shipment, name), label=labels[name]) for name in names}


def _shipment_of(order_id: int, shipment_id: int) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.order_id != order_id:
        raise NotFound("That shipment is not part of this order")
    return shipment


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/shipped", methods=["POST"])
@allow(Role.STAFF)
def shipment_shipped(order_id: int, shipment_id: int):
    _shipment_of(order_id, shipment_id)

    def run() -> None:
        fields = _carrier_fields("carrier", "tracking_number")
        shipping.mark_shipped(current_user, shipment_id, fields["carrier"] or "", fields["tracking_number"] or "")

    return _act(order_id, "shipment", run)


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/delivered", methods=["POST"])
@allow(Role.STAFF)
def shipment_delivered(order_id: int, shipment_id: int):
    _shipment_of(order_id, shipment_id)
    return _act(order_id, "shipment", lambda: shipping.mark_delivered(current_user, shipment_id))


@bp.route("/orders/<int:order_id>/invoice", methods=["POST"])
@allow(Role.STAFF)
def invoice(order_id: int):
    shipment_id = request.form.get("shipment_id", "")
    if shipment_id:
        _shipment_of(order_id, as_id(shipment_id) or -1)
    return _act(order_id, "invoice", lambda: invoicing.issue_invoice(
        current_user, order_id, int(shipment_id) if shipment_id else None))


# ---------------------------------------------------------------- the manual order form

def _manual_channels() -> list[SalesChannel]:
    return db.session.scalars(sa.select(SalesChannel).where(
        SalesChannel.kind == ChannelKind.MANUAL, SalesChannel.active).order_by(SalesChannel.id)).all()


@bp.route("/orders/new", methods=["GET", "POST"])
@allow(Role.STAFF)
def new():
    errors: dict[str, str] = {}
    form = request.form
    rows = max(1, len(form.getlist("sku"))) if request.method == "POST" else 1
    if request.method == "POST":
        try:
            order = order_services.create_order(current_user, _new_order_from_form())
        except DomainError as error:
            errors[error.field or "_form"] = error.message
        else:
            return redirect(url_for("orders.detail", order_id=order.id))
    customer = None
    if as_id(form.get("customer_id")):
        customer = db.session.get(Customer, as_id(form.get("customer_id")))
    return render_template("orders/new.html", errors=errors, form=form, rows=rows, customer=customer,
                           lines=list(zip(form.getlist("sku"), form.getlist("quantity"))) or [("", "1")],
                           channels=_manual_channels()), (422 if errors else 200)


SHIP_TO_LABELS = {"line1": "The street", "line2": "Street, line 2", "city": "The city", "region": "State / region",
                  "postal_code": "The postal code", "country": "The country"}


def _new_order_from_form() -> NewOrder:
    from ..domain.errors import InvalidInput

    form = request.form
    channels = _manual_channels()
    channel_id = form_int("channel", label="Channel", required=False) or (channels[0].id if channels else 0)
    lines = []
    for sku, quantity in zip(form.getlist("sku"), form.getlist("quantity")):
        # The product picker may offer "SKU name": the SKU is its first word.
        sku = checked_text(sku.strip().split(" ")[0], OrderLine.sku, field="lines", label="A SKU")
        if not sku:
            continue
        if not re.fullmatch(r"[0-9]{1,18}", quantity.strip()) or int(quantity) < 1:
            raise InvalidInput(f"Quantity of {sku} must be a whole number of at least 1", field="lines")
        lines.append(LineRequest(sku=sku, quantity=int(quantity)))
    if not lines:  # an empty draft is only a step towards a mistake; ask for the lines now
        raise InvalidInput("Add at least one line: a product and its quantity", field="lines")
    customer_id = form_int("customer_id", label="Customer", maximum=MAX_ID, required=False)
    details = None
    if customer_id is None:
        name = form_text("customer_name", Customer.name, label="The name")
        email = form_text("customer_email", Customer.email, label="The email")
        phone = form_text("customer_phone", Customer.phone, label="The phone number")
        ship_to = {k: form_text(f"ship_{k}", getattr(Address, k), label=label) for k, label in SHIP_TO_LABELS.items()}
        if not ship_to["line1"] or not ship_to["city"] or not ship_to["postal_code"] or not ship_to["country"]:
            raise InvalidInput("Enter the ship-to address: street, city, postal code and country", field="ship_line1")
        ship_to["country"] = ship_to["country"].upper()
        ship_to["name"] = name or ""
        details = CustomerDetails(name=name or "", email=email, phone=phone, ship_to=ship_to)
    return NewOrder(channel_id=channel_id, lines=lines, customer=details, customer_id=customer_id,
                    payment_status=PaymentStatus.PAID)


@bp.route("/orders/new/line")
@allow(Role.STAFF)
def new_line():
    return render_template("orders/_new_line.html", sku="", quantity="1")


@bp.route("/customers/lookup")
@allow(Role.STAFF)
def customer_lookup():
    text = (request.args.get("customer_search") or "").strip()[:100]  # as the board's search: longer finds nothing more
    customers = []
    if len(text) >= 2:
        pattern = f"%{escape_like(text)}%"
        customers = db.session.scalars(sa.select(Customer).where(sa.or_(
            Customer.name.ilike(pattern, escape="\\"), Customer.email.ilike(pattern, escape="\\")))
            .order_by(Customer.name).limit(10)).all()
    return render_template("orders/_customer_results.html", customers=customers, text=text)
