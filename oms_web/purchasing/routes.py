"""Suppliers and purchase orders.

Suppliers: admins add and edit them and say what each sells us (a product at a supplier); managers may
look. Purchase orders: managers draft, send, cancel and close them; staff see them and receive what
arrives. The overview's "Reorder" drafts POs for the low-stock products.

Every change is a plain form post answered by a redirect (or the page again with the message next to its
field, 422); the services (domain.suppliers, domain.purchasing) make every check again.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, make_response, render_template, request, url_for
from flask_login import current_user

from ..documents.purchase_orders import purchase_order_pdf
from ..documents.routes import pdf_response
from ..domain import drop_ship, purchase_order_emails, purchasing, suppliers
from ..domain.errors import DomainError, InvalidInput, NotFound
from ..domain.inventory import MAX_STOCK_QUANTITY
from ..extensions import db
from ..formfields import validated
from ..models import PurchaseOrder, PurchaseOrderState, Role, Supplier
from ..web import allow, as_id, redirect_to, whole_number
from . import bp
from .forms import (AddLineForm, LineForm, PurchaseOrderForm, SupplierForm, SupplierProductForm, chosen_id,
                    cost_text)

PER_PAGE = 50


def _page(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


# --- Suppliers ----------------------------------------------------------------------------------------------

def _suppliers() -> list[Supplier]:
    return list(db.session.scalars(sa.select(Supplier).order_by(Supplier.active.desc(), Supplier.name)))


def _suppliers_page(form: SupplierForm | None = None, errors: dict | None = None):
    return _page("purchasing/suppliers.html", 422 if errors else 200, suppliers=_suppliers(),
                 form=form or SupplierForm(formdata=None), errors=errors or {})


@bp.route("/suppliers")
@allow(Role.MANAGER)
def supplier_list():
    return _suppliers_page()


@bp.route("/suppliers/new", methods=["POST"])
@allow(Role.ADMIN)
def add_supplier():
    form = SupplierForm()
    try:
        supplier = suppliers.create_supplier(current_user, validated(form).details())
    except DomainError as error:
        return _suppliers_page(form, {error.field or "_form": error.message})
    flash(f"Supplier {supplier.name} added.")
    return redirect_to(url_for("purchasing.supplier", supplier_id=supplier.id))


def _supplier_page(supplier_id: int, *, form: SupplierForm | None = None, product_form: SupplierProductForm | None = None,
                   errors: dict | None = None, product_errors: dict | None = None):
    db.session.rollback()  # after a refusal: read what is stored
    supplier = suppliers.get_supplier(supplier_id)
    if form is None:
        form = SupplierForm(formdata=None)
        form.fill_from(supplier)
    orders = db.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.supplier_id == supplier_id)
                                .order_by(PurchaseOrder.id.desc()).limit(PER_PAGE)).all()
    return _page("purchasing/supplier.html", 422 if errors or product_errors else 200, supplier=supplier, form=form,
                 errors=errors or {}, product_form=product_form or SupplierProductForm(formdata=None),
                 product_errors=product_errors or {}, products=suppliers.supplier_products(supplier_id),
                 orders=orders, cost_text=cost_text)


@bp.route("/suppliers/<int:supplier_id>")
@allow(Role.MANAGER)
def supplier(supplier_id: int):
    return _supplier_page(supplier_id)


@bp.route("/suppliers/<int:supplier_id>", methods=["POST"])
@allow(Role.ADMIN)
def edit_supplier(supplier_id: int):
    suppliers.get_supplier(supplier_id)
    form = SupplierForm()
    try:
        suppliers.edit_supplier(current_user, supplier_id, validated(form).details())
    except DomainError as error:
        return _supplier_page(supplier_id, form=form, errors={error.field or "_form": error.message})
    flash("Supplier saved.")
    return redirect_to(url_for("purchasing.supplier", supplier_id=supplier_id))


@bp.route("/suppliers/<int:supplier_id>/products", methods=["POST"])
@allow(Role.ADMIN)
def set_supplier_product(supplier_id: int):
    suppliers.get_supplier(supplier_id)
    form = SupplierProductForm()
    try:
        validated(form)
        suppliers.set_supplier_product(current_user, supplier_id, form.sku.data or "", form.supplier_sku.value,
                                       form.unit_cost.cents)
    except DomainError as error:
        return _supplier_page(supplier_id, product_form=form, product_errors={error.field or "_form": error.message})
    flash(f"{form.sku.data} saved for this supplier.")
    return redirect_to(url_for("purchasing.supplier", supplier_id=supplier_id))


@bp.route("/suppliers/<int:supplier_id>/products/<int:product_id>/remove", methods=["POST"])
@allow(Role.ADMIN)
def remove_supplier_product(supplier_id: int, product_id: int):
    suppliers.remove_supplier_product(current_user, supplier_id, product_id)
    flash("Product removed from this supplier.")
    return redirect_to(url_for("purchasing.supplier", supplier_id=supplier_id))


# --- Purchase orders ----------------------------------------------------------------------------------------

def _filters() -> tuple[PurchaseOrderState | None, int | None]:
    state_text, supplier_text = request.args.get("state", ""), request.args.get("supplier", "")
    state = None
    if state_text:
        try:
            state = PurchaseOrderState(state_text)
        except ValueError:
            raise InvalidInput("Choose a state from the list", field="state") from None
    supplier_id = as_id(supplier_text) if supplier_text else None
    if supplier_text and supplier_id is None:
        raise InvalidInput("Choose a supplier from the list", field="supplier")
    return state, supplier_id


def _list_page(form: PurchaseOrderForm | None = None, errors: dict | None = None, chosen: dict | None = None):
    state, supplier_id = _filters()
    before = as_id(request.args.get("before"))  # keyset: the page after the one that ended at this PO
    query = sa.select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(PER_PAGE + 1)
    if before is not None:
        query = query.where(PurchaseOrder.id < before)
    if state is not None:
        query = query.where(PurchaseOrder.state == state)
    if supplier_id is not None:
        query = query.where(PurchaseOrder.supplier_id == supplier_id)
    found = db.session.scalars(query).all()
    shown = found[:PER_PAGE]
    filters = {k: v for k, v in (("state", state.value if state else None), ("supplier", supplier_id)) if v}
    return _page("purchasing/orders.html", 422 if errors else 200, orders=shown,
                 next_before=shown[-1].id if len(found) > PER_PAGE else None, paged=before is not None,
                 filters=filters,
                 states=list(PurchaseOrderState), state=state, supplier_id=supplier_id, suppliers=_suppliers(),
                 destinations=purchasing.destinations(), form=form or PurchaseOrderForm(formdata=None),
                 errors=errors or {}, chosen=chosen or {})


@bp.route("/purchase-orders")
@allow(Role.STAFF)
def orders():
    return _list_page()


@bp.route("/purchase-orders/new", methods=["POST"])
@allow(Role.MANAGER)
def create_po():
    form = PurchaseOrderForm()
    chosen = {"supplier": chosen_id(request.form, "supplier"), "location": chosen_id(request.form, "location")}
    try:
        validated(form)
        if chosen["supplier"] is None:
            raise InvalidInput("Choose a supplier", field="supplier")
        if chosen["location"] is None:
            raise InvalidInput("Choose where the goods are delivered", field="location")
        po = purchasing.create_purchase_order(current_user, chosen["supplier"], chosen["location"],
                                              form.expected_on.day, form.notes.value)
    except DomainError as error:
        return _list_page(form, {error.field or "_form": error.message}, chosen)
    flash(f"{po.number} drafted: add its lines.")
    return redirect_to(url_for("purchasing.detail", purchase_order_id=po.id))


def _detail_page(purchase_order_id: int, *, status: int = 200, errors: dict | None = None,
                 form: PurchaseOrderForm | None = None, line_form: AddLineForm | None = None, failed_line: int | None = None):
    db.session.rollback()  # after a refusal: read what is stored
    po = purchasing.get_purchase_order(purchase_order_id)
    if form is None:
        form = PurchaseOrderForm(formdata=None)
        form.expected_on.data = po.expected_on.isoformat() if po.expected_on else ""
        form.notes.data = po.notes
    return _page("purchasing/order.html", status, po=po, form=form, line_form=line_form or AddLineForm(formdata=None),
                 line_forms={line.id: _line_form(line, request.form if failed_line == line.id else None)
                             for line in po.lines},
                 errors=errors or {}, failed_line=failed_line, destinations=purchasing.destinations(),
                 on_order=purchasing.on_order({line.product_id for line in po.lines}),
                 receivable=po.state in purchasing.RECEIVABLE and not po.drop_ship,
                 links=drop_ship.supplier_links(po), emails=purchase_order_emails.emails_of(po.id),
                 typed=request.form if errors else {}, field_of=purchasing.receipt_field, cost_text=cost_text)


def _line_form(line, formdata) -> LineForm:
    if formdata is not None:
        return LineForm(formdata=formdata)
    form = LineForm(formdata=None)
    form.quantity.data, form.unit_cost.data = line.quantity, cost_text(line.unit_cost_cents)
    return form


@bp.route("/purchase-orders/<int:purchase_order_id>")
@allow(Role.STAFF)
def detail(purchase_order_id: int):
    return _detail_page(purchase_order_id)


@bp.route("/purchase-orders/<int:purchase_order_id>.pdf")
@allow(Role.STAFF)
def document(purchase_order_id: int):
    po = purchasing.get_purchase_order(purchase_order_id)
    return pdf_response(purchase_order_pdf(po), f"{po.number}.pdf")


def _refused(purchase_order_id: int, error: DomainError, **context):
    return _detail_page(purchase_order_id, status=404 if isinstance(error, NotFound) else 422,
                        errors={error.field or "_form": error.message}, **context)


@bp.route("/purchase-orders/<int:purchase_order_id>/details", methods=["POST"])
@allow(Role.MANAGER)
def edit_po(purchase_order_id: int):
    purchasing.get_purchase_order(purchase_order_id)
    form = PurchaseOrderForm()
    try:
        validated(form)
        location_id = chosen_id(request.form, "location")
        if location_id is None:
            raise InvalidInput("Choose where the goods are delivered", field="location")
        purchasing.update_purchase_order(current_user, purchase_order_id, location_id, form.expected_on.day,
                                         form.notes.value)
    except DomainError as error:
        return _refused(purchase_order_id, error, form=form)
    flash("Saved.")
    return redirect_to(url_for("purchasing.detail", purchase_order_id=purchase_order_id))


@bp.route("/purchase-orders/<int:purchase_order_id>/lines", methods=["POST"])
@allow(Role.MANAGER)
def add_line(purchase_order_id: int):
    purchasing.get_purchase_order(purchase_order_id)
    form = AddLineForm()
    try:
        validated(form)
        purchasing.add_line(current_user, purchase_order_id, form.sku.data or "", form.quantity.data,
                            form.unit_cost.cents)
    except DomainError as error:
        return _refused(purchase_order_id, error, line_form=form)
    return redirect_to(url_for("purchasing.detail", purchase_order_id=purchase_order_id) + "#f-sku")


@bp.route("/purchase-orders/<int:purchase_order_id>/lines/<int:line_id>", methods=["POST"])
@allow(Role.MANAGER)
def change_line(purchase_order_id: int, line_id: int):
    purchasing.get_purchase_order(purchase_order_id)
    form = LineForm()
    try:
        validated(form)
        purchasing.change_line(current_user, purchase_order_id, line_id, form.quantity.data, form.unit_cost.cents)
    except DomainError as error:
        error.field = f"{error.field}-{line_id}" if error.field else None
        return _refused(purchase_order_id, error, failed_line=line_id)
    return redirect_to(url_for("purchasing.detail", purchase_order_id=purchase_order_id))


def _state_change(purchase_order_id: int, action, done: str):
    try:
        po = action(current_user, purchase_order_id)
    except DomainError as error:
        return _refused(purchase_order_id, error)
    flash(f"{po.number} {done}.")
    return redirect_to(url_for("purchasing.detail", purchase_order_id=purchase_order_id))


@bp.route("/purchase-orders/<int:purchase_order_id>/send", methods=["POST"])
@allow(Role.MANAGER)
def send(purchase_order_id: int):
    po = purchasing.get_purchase_order(purchase_order_id)
    email = po.supplier.email
    return _state_change(purchase_order_id, purchasing.send_purchase_order,
                         f"sent: emailed to {email} with its PDF" if email
                         else "marked sent. No email on file: send the PDF yourself")


@bp.route("/purchase-orders/<int:purchase_order_id>/cancel", methods=["POST"])
@allow(Role.MANAGER)
def cancel(purchase_order_id: int):
    return _state_change(purchase_order_id, purchasing.cancel_purchase_order, "cancelled")


@bp.route("/purchase-orders/<int:purchase_order_id>/close", methods=["POST"])
@allow(Role.MANAGER)
def close(purchase_order_id: int):
    return _state_change(purchase_order_id, purchasing.close_purchase_order, "closed: nothing more is expected")


@bp.route("/purchase-orders/<int:purchase_order_id>/receive", methods=["POST"])
@allow(Role.STAFF)
def receive(purchase_order_id: int):
    po = purchasing.get_purchase_order(purchase_order_id)
    try:
        units = {}
        for line in po.lines:
            name = purchasing.receipt_field(line.id)
            raw = (request.form.get(name) or "").strip()
            if raw:
                units[line.id] = whole_number(raw, label=f"Units of {line.product.sku} arrived", field=name,
                                              minimum=0, maximum=MAX_STOCK_QUANTITY)
        note = (request.form.get("note") or "").strip()
        if len(note) > 300:
            raise InvalidInput(f"The note has at most 300 characters ({len(note):,} given)", field="note")
        po = purchasing.receive_purchase_order(current_user, purchase_order_id, units,
                                               over_receipt=request.form.get("over_receipt") == "y", note=note)
    except DomainError as error:
        return _refused(purchase_order_id, error)
    flash(f"Received on {po.number}: it is now {po.state.label.lower()}.")
    return redirect_to(url_for("purchasing.detail", purchase_order_id=purchase_order_id))


# --- Reorder (the overview's low-stock list) -------------------------------------------------------------

@bp.route("/purchase-orders/reorder", methods=["POST"])
@allow(Role.MANAGER)
def reorder():
    result = purchasing.reorder_low_stock(current_user)
    if result.drafts:
        flash(f"Drafted {', '.join(po.number for po in result.drafts)} for the low-stock products: check and send them.")
    elif result.already:
        flash("Nothing added: the low-stock products' units are on order or on draft purchase orders already. "
              "Check and send the drafts.")
    else:
        flash("No low-stock product has a supplier to reorder from.", "error" if result.skipped else "message")
    if result.drafts and result.already:
        flash(f"Already on order or on drafts, not added again: {', '.join(result.already[:50])}"
              f"{' …' if len(result.already) > 50 else ''}")
    if result.skipped:
        flash(f"Skipped (no supplier sells them): {', '.join(result.skipped[:50])}"
              f"{' …' if len(result.skipped) > 50 else ''}", "error")
    return redirect_to(url_for("purchasing.orders", state=PurchaseOrderState.DRAFT.value))
