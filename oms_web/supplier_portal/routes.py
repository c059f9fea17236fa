"""The supplier's page (public: the signed link says who may use it, domain.drop_ship.read_link) and the
staff's Drop-ship screen with the supplier CSV upload (preview first, then all rows or none)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from ..domain import drop_ship
from ..domain.drop_ship import ConfirmRow, FileRefused, LinkRefused
from ..domain.errors import DomainError, InvalidState, NotAllowed
from ..extensions import db
from ..models import LineAllocation, Location, LocationKind, Order, OrderLine, OrderStatus, Role
from ..web import PUBLIC, allow, as_id, whole_number
from . import bp


def _refused(error: LinkRefused):
    return make_response(render_template("supplier_portal/refused.html", message=error.message), error.status)


def _page(order: Order, location, token: str, nonce: str, *, errors: dict | None = None, status: int = 200):
    lines = drop_ship.lines_at(order, location.id)
    return make_response(render_template(
        "supplier_portal/confirm.html", order=order, location=location, token=token,
        supplier=drop_ship.supplier_name(location), lines=lines,
        open_units=sum(allocation.to_ship for _, allocation in lines),
        shipments=[s for s in order.shipments if s.location_id == location.id],
        use_number=drop_ship.uses_of(nonce), recorded=as_id(request.args.get("recorded")),
        needs_tracking=order.channel.kind.confirms_shipments,
        errors=errors or {}, form=request.form if errors else {}), status)


def _text(name: str, label: str, limit: int) -> str | None:
    return drop_ship.checked_text(request.form.get(name), field=name, label=label, limit=limit, required=False)


def _rows(order: Order, location_id: int) -> list[ConfirmRow]:
    """The rows the supplier filled in, every field bounded and typed first. A line's blank carrier or
    tracking number is the one at the top (one parcel for every line). Raises InvalidInput."""
    carrier = _text("carrier", "Carrier", drop_ship.CARRIER_LENGTH)
    tracking = _text("tracking_number", "Tracking number", drop_ship.TRACKING_LENGTH)
    rows = []
    for line, allocation in drop_ship.lines_at(order, location_id):
        if not allocation.to_ship:
            continue  # not on the form: nothing left to ship of it
        raw = (request.form.get(f"qty-{line.id}") or "").strip()
        line_carrier = _text(f"carrier-{line.id}", "Carrier", drop_ship.CARRIER_LENGTH)
        line_tracking = _text(f"tracking-{line.id}", "Tracking number", drop_ship.TRACKING_LENGTH)
        quantity = whole_number(raw, label="Quantity shipped", field=f"qty-{line.id}",
                                maximum=allocation.to_ship) if raw else 0
        if quantity:
            rows.append(ConfirmRow(line.id, quantity, line_carrier or carrier, line_tracking or tracking))
    return rows


@bp.route("/supplier/<int:order_id>/<int:location_id>/<token>", methods=["GET", "POST"])
@allow(PUBLIC)  # the signed link says who may post, not a session; the CSRF token still guards the form
def confirm(order_id: int, location_id: int, token: str):
    try:
        claim = drop_ship.read_link(token, order_id, location_id)
        order, location = drop_ship.order_for_link(claim)
    except LinkRefused as error:
        return _refused(error)
    if request.method == "GET":
        return _page(order, location, token, claim.nonce)
    use_number = as_id(request.form.get("use"))
    try:
        if use_number is None:
            raise LinkRefused("This form is not ours: open the link again", status=400)
        rows = _rows(order, location.id)
        shipments = drop_ship.confirm_by_link(claim, use_number, rows)
    except LinkRefused as error:
        db.session.rollback()
        return _refused(error)
    except DomainError as error:  # bad input, or an order that cannot ship now (on hold, awaiting payment)
        db.session.rollback()
        order, location = drop_ship.order_for_link(claim)
        return _page(order, location, token, claim.nonce, errors={error.field or "_form": error.message}, status=422)
    return redirect(url_for("supplier_portal.confirm", order_id=order_id, location_id=location_id, token=token,
                            recorded=len(shipments)), 303)


# --- Staff: the Drop-ship screen ----------------------------------------------------------------------------

def _waiting() -> list[tuple[Order, str, int]]:
    """Finalized orders with units a drop-ship supplier has still to ship: (order, supplier, units), oldest first."""
    rows = db.session.execute(
        sa.select(Order.id, Location.id, sa.func.sum(LineAllocation.allocated - LineAllocation.shipped))
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(LineAllocation, LineAllocation.order_line_id == OrderLine.id)
        .join(Location, Location.id == LineAllocation.location_id)
        .where(Order.status == OrderStatus.FINALIZED, OrderLine.drop_ship, Location.kind == LocationKind.DROP_SHIP,
               LineAllocation.allocated > LineAllocation.shipped)
        .group_by(Order.id, Location.id).order_by(Order.id).limit(200)).all()
    orders = {o.id: o for o in db.session.scalars(sa.select(Order).where(Order.id.in_({r[0] for r in rows})))}
    locations = {l.id: l for l in db.session.scalars(sa.select(Location).where(Location.id.in_({r[1] for r in rows}))
                                                     .options(selectinload(Location.supplier)))}
    return [(orders[o], drop_ship.supplier_name(locations[l]), int(units)) for o, l, units in rows]


def _screen(*, errors: dict | None = None, problems=None, status: int = 200):
    return make_response(render_template("supplier_portal/index.html", waiting=_waiting(), errors=errors or {},
                                         problems=problems or []), status)


@bp.route("/drop-ship")
@allow(Role.STAFF)
def index():
    return _screen()


@bp.route("/drop-ship/upload", methods=["POST"])
@allow(Role.STAFF)
def upload():
    """A supplier's CSV: first a preview of the shipments it makes (nothing written), then, confirmed,
    every row recorded or, if any row cannot be taken, none."""
    if request.form.get("confirmed") == "1":
        text = request.form.get("csv") or ""
        if len(text) > drop_ship.MAX_CSV_BYTES:
            return _screen(errors={"file": "The file is too large: upload it again"}, status=413)
        try:
            shipments = drop_ship.confirm_by_file(current_user, text.encode("utf-8"))
        except FileRefused as error:
            db.session.rollback()
            return _screen(errors={"file": error.message}, problems=error.problems, status=422)
        except DomainError as error:
            db.session.rollback()
            status = 403 if isinstance(error, NotAllowed) else 409 if isinstance(error, InvalidState) else 422
            return _screen(errors={"file": error.message}, status=status)
        return make_response(render_template("supplier_portal/recorded.html", shipments=shipments))
    upload = request.files.get("file")
    data = upload.read(drop_ship.MAX_CSV_BYTES + 1) if upload else b""
    if not data:
        return _screen(errors={"file": "Choose the supplier's CSV file"}, status=422)
    check = drop_ship.read_supplier_csv(data)
    if check.problems:
        db.session.rollback()
        return _screen(errors={"file": f"{len(check.problems)} row(s) of the file cannot be taken: nothing was "
                                       "recorded. Correct them and upload it again."},
                       problems=check.problems, status=422)
    orders = {o.id: o for o in db.session.scalars(sa.select(Order).where(Order.id.in_({o for o, _ in check.rows})))}
    lines = {l.id: l for l in db.session.scalars(sa.select(OrderLine).where(
        OrderLine.id.in_({row.line_id for _, row in check.rows})))}
    preview = [(orders[order_id], lines[row.line_id], row) for order_id, row in check.rows]
    return render_template("supplier_portal/preview.html", preview=preview, parcels=check.parcels,
                           csv_text=data.decode("utf-8-sig"), filename=upload.filename or "")
