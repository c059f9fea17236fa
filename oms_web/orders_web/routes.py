"""One order's page and the actions on it, each re-rendering the sections it changes; the manual order form."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..columns import escape_like
from ..domain import allocations, drop_ship, invoicing, labels, orders as order_services, refunds, shipping
from ..domain.customers import EmailOnFile, IfEmailOnFile
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.orders import MAX_LINE_QUANTITY, CustomerDetails, LineChange, LineRequest, NewOrder
from ..extensions import db
from ..formfields import field_errors, validated
from ..models import (ChannelKind, Customer, Order, OrderStatus, PackagePreset, OrderEvent, OrderLine, PaymentStatus,
                      Product, Refund, Role, SalesChannel)
from ..web import MAX_ID, allow, as_id, checked_text, form_int, is_htmx, refreshed, whole_number
from . import bp
from .forms import NoteForm, ShippedForm, VoidForm, lines_form, ship_form
from .loaders import load_order, load_shipment
from .new_order_form import NewOrderForm
from ..work_site.routes import work_site_id
from .refund_form import refund_form

# Which sections of the order page each action changes: the first is the one its form sits in.
SECTIONS = {
    # The returns section shows once an order is finalized, and offers the units shipped (returns_web).
    "finalize": ["header", "lines", "ship", "timeline", "returns"],
    "allocate": ["header", "lines", "ship", "timeline"],
    "paid": ["header", "ship", "timeline"],
    "release": ["header", "lines", "ship", "timeline"],
    "void": ["header", "lines", "ship", "timeline", "returns"],
    "edit": ["lines", "header", "ship", "timeline"],
    # Shipped units can be invoiced: the invoices section offers "Invoice shipped, not invoiced".
    "ship": ["ship", "lines", "shipments", "invoices", "header", "timeline", "returns"],
    # The last delivery fulfils the order, which closes its lines to editing and ends shipping.
    "shipment": ["shipments", "header", "lines", "ship", "invoices", "timeline", "returns"],
    # An invoice is what a refund corrects: the refunds section offers to refund its units.
    "invoice": ["invoices", "lines", "shipments", "refunds", "timeline"],
    "note": ["timeline"],
    "refund": ["refunds", "timeline"],
    # Moving an allocation changes where the units are (the lines) and what each location can ship.
    "move": ["lines", "ship", "header", "timeline"],
}


def _refund_context(order: Order, formdata=None) -> dict:
    """The refunds section: the order's refunds with their credit notes, and what may still be refunded
    (None for an order with no invoice: there is nothing a credit note could correct). Opened from a
    received return's "Refund these units" (?refund_return=<id>, then the form's return_id), the form
    holds that return's units and the proposal is their invoiced amount."""
    listed = db.session.scalars(sa.select(Refund).where(Refund.order_id == order.id)
                                .options(selectinload(Refund.credit_note), selectinload(Refund.created_by))
                                .order_by(Refund.id)).all()
    left = refunds.refundable(order) if order.invoices else None
    refund_return = _refund_return(order, formdata) if left else None
    return_units = refunds.units_received(refund_return) if refund_return else {}
    return {"refunds": listed, "refundable": left,
            "refund_proposals": refunds.line_proposals(order, left.lines) if left else {},
            "refund_return": refund_return, "refund_return_units": return_units,
            "refund_return_proposal": refunds.refund_proposal(order, return_units) if refund_return else None}


def _refund_return(order: Order, formdata=None):
    """The received return the refund form is for, if it was opened from one (else None)."""
    raw = formdata.get("return_id") if formdata is not None else request.args.get("refund_return")
    return_id = as_id(raw)
    if return_id is None or return_id > MAX_ID:
        return None
    try:
        return refunds.return_to_refund(order, return_id)
    except DomainError:
        return None


def _ship_from(order: Order, choices: dict[int, str], formdata=None) -> int | None:
    """The location the ship form packs from: the one asked (the form's select, or ?ship_from= as it
    changes), else the one the user stands in, else the first holding units."""
    asked = as_id((formdata or {}).get("location") or request.args.get("location"))
    if asked in choices:
        return asked
    here = work_site_id()
    return here if here in choices else next(iter(choices), None)


def _forms(order: Order, formdata=None, refundable: refunds.Refundable | None = None,
           ship_from: int | None = None, refund_units: dict[int, int] | None = None) -> dict:
    """The page's forms: empty, or holding what was posted when a refusal shows it again to correct."""
    return {"void": VoidForm(formdata=formdata), "note": NoteForm(formdata=formdata),
            "lines": lines_form(order, formdata), "ship": ship_form(order, formdata, ship_from),
            "shipped": ShippedForm(formdata=formdata),
            "refund": refund_form(order, refundable, formdata, prefill_units=refund_units)}


def _context(order: Order, errors: dict | None = None, formdata=None, failed_action: str | None = None) -> dict:
    events = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)
                                .options(selectinload(OrderEvent.user)).order_by(OrderEvent.id.desc())).all()
    errors = errors or {}
    refund_context = _refund_context(order, formdata)
    ship_from_choices = allocations.ship_from_choices(order)
    ship_from = _ship_from(order, ship_from_choices, formdata)
    return {"order": order, "events": events, "errors": errors,
            "forms": _forms(order, formdata, refund_context["refundable"], ship_from,
                            refund_context["refund_return_units"]), **refund_context,
            "placements": allocations.placements(order), "ship_from_choices": ship_from_choices,
            "ship_from": ship_from, "units_here": allocations.units_at(order, ship_from) if ship_from else {},
            "move_targets": allocations.move_targets(order) if order.status.value == "finalized" else {},
            "failed_action": failed_action,
            "error_message": next(iter(errors.values()), None),
            "lines_by_id": {line.id: line for line in order.lines},
            "void_refusal": order_services.why_not_voidable(order),
            # A line with no product is an unknown SKU the order is held for: the channel's mapping fixes it.
            "unknown_skus": sorted({line.sku for line in order.lines if line.product_id is None}),
            # A channel that buys its labels: the ship form offers the boxes and the carrier's rates.
            "buys_labels": labels.buys_labels(order, labels.active_account()),
            # Drop-ship lines: which supplier still has them, and each supplier's link (domain.drop_ship).
            "with_supplier": drop_ship.waiting_with_supplier(order),
            "drop_ship_suppliers": drop_ship.suppliers_of(order) if order.status is OrderStatus.FINALIZED else [],
            "supplier_link": drop_ship.supplier_link,
            "presets": db.session.scalars(sa.select(PackagePreset).order_by(PackagePreset.name)).all(),
            "products": {p.id: p for p in db.session.scalars(sa.select(Product).where(
                Product.id.in_([l.product_id for l in order.lines if l.product_id])))}}


def _sections(order_id: int, action: str, *, status: int = 200, errors: dict | None = None) -> Response:
    db.session.expire_all()
    order = load_order(order_id)
    names = SECTIONS[action] if status < 400 else SECTIONS[action][:1]
    context = _context(order, errors, request.form if status >= 400 else None, action if status >= 400 else None)
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
        current_user, order_id, validated(VoidForm()).reason.data or ""))


@bp.route("/orders/<int:order_id>/notes", methods=["POST"])
@allow(Role.STAFF)
def add_note(order_id: int):
    return _act(order_id, "note", lambda: order_services.add_note(current_user, order_id, validated(NoteForm()).note.data or ""))


@bp.route("/orders/<int:order_id>/lines", methods=["POST"])
@allow(Role.STAFF)
def edit_lines(order_id: int):
    def run() -> None:
        changes = []
        order = load_order(order_id)
        form = validated(lines_form(order, request.form))
        for line in order.lines:
            if form[f"remove-{line.id}"].data:
                changes.append(LineChange(quantity=0, line_id=line.id))
                continue
            quantity = form[f"qty-{line.id}"].data
            if quantity is not None and quantity != line.ordered:
                changes.append(LineChange(quantity=quantity, line_id=line.id))
        if form.new_sku.value:
            if form.new_qty.data is None:
                raise InvalidInput("Quantity is required", field="new_qty")
            changes.append(LineChange(quantity=form.new_qty.data, sku=form.new_sku.value))
        order_services.edit_order(current_user, order_id, changes)

    return _act(order_id, "edit", run)


@bp.route("/orders/<int:order_id>/ship", methods=["POST"])
@allow(Role.STAFF)
def ship(order_id: int):
    def run() -> None:
        order = load_order(order_id)
        form = validated(ship_form(order, request.form))
        labels.pack(current_user, order_id, form.quantities(order), carrier=form.carrier.value,
                    service_level=form.service_level.value, tracking_number=form.tracking_number.value,
                    rate_id=form.rate_id.value, quote_id=form.quote_id.value, preset_id=form.preset_id.data,
                    location_id=_posted_location())

    return _act(order_id, "ship", run)


def _posted_location(name: str = "location", label: str = "The location") -> int | None:
    """A location's id from a select of the form (None when the form has none: one location holds it all)."""
    return form_int(name, label=label, minimum=1, maximum=MAX_ID, required=False)


@bp.route("/orders/<int:order_id>/move", methods=["POST"])
@allow(Role.STAFF)
def move_allocation(order_id: int):
    def run() -> None:
        load_order(order_id)
        line_id = form_int("line", label="The line", minimum=1, maximum=MAX_ID)
        source = form_int("from_location", label="The location the units are at", minimum=1, maximum=MAX_ID)
        target = form_int("to_location", label="The location to move them to", minimum=1, maximum=MAX_ID)
        units = form_int("units", label="Units to move", minimum=1, maximum=MAX_LINE_QUANTITY)
        allocations.move_allocation(current_user, order_id, line_id, source, target, units)

    return _act(order_id, "move", run)


@bp.route("/orders/<int:order_id>/rates", methods=["POST"])
@allow(Role.STAFF)
def rates(order_id: int):
    """The carrier's rates for the parcel the ship form describes (no charge), the channel's rule's choice
    ticked: a fragment inside the ship form, so that staff can pick another before packing."""
    order = load_order(order_id)
    try:
        form = validated(ship_form(order, request.form))
        quoted, chosen = labels.quote(order_id, form.quantities(order), preset_id=form.preset_id.data,
                                      location_id=_posted_location())
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        if not is_htmx():
            return render_template("orders/detail.html", **_context(order, formdata=request.form),
                                   rates_error=error.message), 422
        response = make_response(render_template("orders/_rates.html", rates_error=error.message), 422)
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    rates = {"quote": quoted, "chosen": chosen, "rule": order.channel.rate_rule}
    if not is_htmx():  # without htmx: the order page, its ship form holding the quantities and the rates
        return render_template("orders/detail.html", **_context(load_order(order_id), formdata=request.form), **rates)
    return render_template("orders/_rates.html", **rates)


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/shipped", methods=["POST"])
@allow(Role.STAFF)
def shipment_shipped(order_id: int, shipment_id: int):
    load_shipment(order_id, shipment_id)

    def run() -> None:
        form = validated(ShippedForm())
        shipping.mark_shipped(current_user, shipment_id, form.carrier.data or "", form.tracking_number.data or "")

    return _act(order_id, "shipment", run)


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/cancel", methods=["POST"])
@allow(Role.STAFF)
def shipment_cancelled(order_id: int, shipment_id: int):
    load_shipment(order_id, shipment_id)
    return _act(order_id, "shipment", lambda: labels.cancel(current_user, shipment_id))


@bp.route("/orders/<int:order_id>/shipments/<int:shipment_id>/delivered", methods=["POST"])
@allow(Role.STAFF)
def shipment_delivered(order_id: int, shipment_id: int):
    load_shipment(order_id, shipment_id)
    return _act(order_id, "shipment", lambda: shipping.mark_delivered(current_user, shipment_id))


@bp.route("/orders/<int:order_id>/invoice", methods=["POST"])
@allow(Role.STAFF)
def invoice(order_id: int):
    shipment_id = request.form.get("shipment_id", "")
    if shipment_id:
        load_shipment(order_id, as_id(shipment_id) or -1)
    return _act(order_id, "invoice", lambda: invoicing.issue_invoice(
        current_user, order_id, int(shipment_id) if shipment_id else None))


@bp.route("/orders/<int:order_id>/refund", methods=["POST"])
@allow(Role.MANAGER)
def refund(order_id: int):
    def run() -> None:
        order = load_order(order_id)
        left = refunds.refundable(order) if order.invoices else None
        raw_return = (request.form.get("return_id") or "").strip()
        return_id = as_id(raw_return) if raw_return else None
        if raw_return and (return_id is None or return_id > MAX_ID):
            raise InvalidInput("The return is not one of this order's: open the refund from the return's page",
                               field="return_id")
        form = validated(refund_form(order, left, request.form))
        refunds.issue_refund(current_user, order_id, form.request(order, return_id))

    return _act(order_id, "refund", run)


# ---------------------------------------------------------------- the manual order form

def _manual_channels() -> list[SalesChannel]:
    return db.session.scalars(sa.select(SalesChannel).where(
        SalesChannel.kind == ChannelKind.MANUAL, SalesChannel.active).order_by(SalesChannel.id)).all()


@bp.route("/orders/new", methods=["GET", "POST"])
@allow(Role.STAFF)
def new():
    form = NewOrderForm()
    errors: dict[str, str] = {}
    on_file = None  # the customer whose email a new customer brought, for the user to choose
    if request.method == "POST" and not form.validate():
        errors = field_errors(form)
    elif request.method == "POST":
        try:
            order = order_services.create_order(current_user, _new_order_from_form(form))
        except EmailOnFile as error:
            errors[error.field] = error.message
            on_file = db.session.get(Customer, error.customer_id)
        except DomainError as error:
            errors[error.field or "_form"] = error.message
        else:
            return redirect(url_for("orders.detail", order_id=order.id))
    customer_id = as_id(request.form.get("customer_id"))
    customer = db.session.get(Customer, customer_id) if customer_id else None
    rows = request.form
    return render_template("orders/new.html", errors=errors, form=form, customer=customer, on_file=on_file,
                           chosen_address=as_id(rows.get(f"address_id-{customer_id}")),
                           lines=list(zip(rows.getlist("sku"), rows.getlist("quantity"))) or [("", "1")],
                           channels=_manual_channels()), (422 if errors else 200)


def _new_order_from_form(form: NewOrderForm) -> NewOrder:
    """The order the form asks for: lines, a customer on file (with one of their addresses or a new
    one) or a new customer with their address, and whether it is paid."""
    channels = _manual_channels()
    channel_id = form_int("channel", label="Channel", required=False) or (channels[0].id if channels else 0)
    lines = []
    for sku, quantity in zip(request.form.getlist("sku"), request.form.getlist("quantity")):
        # As typed: a product's name typed here is answered with the products of that name (a SKU has no spaces).
        sku = checked_text(sku, OrderLine.sku, field="lines", label="A SKU")
        if not sku:
            continue
        lines.append(LineRequest(sku=sku, quantity=whole_number(quantity, label=f"Quantity of {sku}", field="lines",
                                                                minimum=1, maximum=MAX_LINE_QUANTITY)))
    if not lines:  # an empty draft is only a step towards a mistake; ask for the lines now
        raise InvalidInput("Add at least one line: a product and its quantity", field="lines")
    customer_id = form_int("customer_id", label="Customer", maximum=MAX_ID, required=False)
    address_id = None
    if customer_id is not None:
        address_id = form_int(f"address_id-{customer_id}", label="Address", maximum=MAX_ID, required=False)
    details = None
    new_address = None if address_id else form.new_address()
    if customer_id is None:
        details = CustomerDetails(name=form.customer_name.data or "", email=form.customer_email.data,
                                  phone=form.customer_phone.data)
        new_address = new_address or {}  # a new customer's address is required: the domain says what is missing
    return NewOrder(channel_id=channel_id, lines=lines, customer=details, customer_id=customer_id,
                    address_id=address_id, new_address=new_address,
                    if_email_on_file=IfEmailOnFile(form.email_on_file.data or IfEmailOnFile.ASK.value),
                    payment_status=PaymentStatus(form.payment.data))


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
            .options(selectinload(Customer.addresses)).order_by(Customer.name).limit(10)).all()
    return render_template("orders/_customer_results.html", customers=customers, text=text)
