"""Transfers: managers create, ship and cancel them; staff receive them (SPEC's roles: a receipt is the
warehouse's work). The list filters by state; the new-transfer form takes lines by SKU and shows what the
source has available for each; a transfer's page says what each action will do before it is done.

The forms are parsed here (each value bounded and typed, named by its field), the services do the rest
and their refusals are shown next to the field they name, the page answered with 422 and nothing changed.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ..domain import locations, transfers
from ..domain.errors import DomainError, InvalidInput, InvalidState, NotFound
from ..domain.inventory import MAX_STOCK_QUANTITY
from ..extensions import db
from ..models import Product, Role, StockMove, TransferState
from ..web import allow, as_id, checked_text, form_text, whole_number
from . import bp

LINE_ROWS = 6  # empty rows of a new transfer; "More lines" adds as many again
PER_PAGE = 50


def _status(error: DomainError) -> int:
    return 404 if isinstance(error, NotFound) else 409 if isinstance(error, InvalidState) else 422


@bp.route("/transfers")
@allow(Role.STAFF)
def index():
    raw = request.args.get("state", "")
    state = next((s for s in TransferState if s.value == raw), None)
    if raw and state is None:
        raise InvalidInput("Show one of the states listed", field="state")
    page = as_id(request.args.get("page", "1"))
    if page is None or not 1 <= page <= 100_000:
        raise InvalidInput("The page is a whole number from 1", field="page")
    rows, more = transfers.transfers_page(state, page, PER_PAGE)
    return render_template("transfers/index.html", rows=rows, more=more, page=page, state=state,
                           states=list(TransferState), counts=transfers.state_counts())


# --- A new transfer -------------------------------------------------------------------------------------

def _row_count(posted: int = 0) -> int:
    wanted = as_id(request.args.get("rows")) or LINE_ROWS
    return max(LINE_ROWS, min(transfers.MAX_LINES, max(wanted, posted)))


def _posted_rows() -> list[tuple[int, str, str]]:
    """(row, SKU text, quantity text) of every row the form posted, blank ones too."""
    rows = []
    for row in range(transfers.MAX_LINES):
        sku, quantity = request.form.get(f"sku-{row}"), request.form.get(f"quantity-{row}")
        if sku is not None or quantity is not None:
            rows.append((row, sku or "", quantity or ""))
    return rows


def _parsed_lines(rows: list[tuple[int, str, str]]) -> tuple[list[tuple[str, int]], list[int]]:
    """The filled rows as (SKU, units) and the form row of each; a refusal names the row's field."""
    lines, row_of = [], []
    for row, sku_text, quantity_text in rows:
        sku = checked_text(sku_text, Product.sku, field=f"sku-{row}", label="The SKU")
        if sku is None and not quantity_text.strip():
            continue
        if sku is None:
            raise InvalidInput("Give the product's SKU", field=f"sku-{row}")
        if not quantity_text.strip():
            raise InvalidInput("Give how many units to transfer", field=f"quantity-{row}")
        units = whole_number(quantity_text, label="The quantity", field=f"quantity-{row}", minimum=1,
                             maximum=MAX_STOCK_QUANTITY)
        lines.append((sku, units))
        row_of.append(row)
    return lines, row_of


def _form_field(field: str | None, row_of: list[int]) -> str:
    """The form's field for a field the service names by a line's position (sku-0 is the first filled row)."""
    name, _, position = (field or "").rpartition("-")
    if name in ("sku", "quantity") and position.isdigit() and int(position) < len(row_of):
        return f"{name}-{row_of[int(position)]}"
    return field or "_form"


def _available_by_sku(source_id: int | None, skus: list[str]) -> dict[str, int | None]:
    """What the source has available of each SKU typed (None: no such product)."""
    skus = [s for s in dict.fromkeys(skus) if s]
    if not source_id or not skus:
        return {}
    ids = dict(db.session.execute(sa.select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
    have = transfers.available_at(source_id, list(ids.values()))
    return {sku: have.get(ids[sku]) if sku in ids else None for sku in skus}


def _new_page(*, errors: dict | None = None, status: int = 200):
    places = locations.own_locations()
    form = request.form if request.method == "POST" else {}
    source = as_id(form.get("source")) if form else (places[0].id if places else None)
    destination = as_id(form.get("destination")) if form else (places[1].id if len(places) > 1 else None)
    posted = _posted_rows()
    count = _row_count(max((row for row, _, _ in posted), default=-1) + 1)
    values = {row: (sku.strip()[:64], quantity.strip()[:12]) for row, sku, quantity in posted}
    rows = [(row, *values.get(row, ("", ""))) for row in range(count)]
    available = _available_by_sku(source, [sku for _, sku, _ in rows])
    return make_response(render_template(
        "transfers/new.html", places=places, source=source, destination=destination, rows=rows,
        available=available, note=(form.get("note") or "")[:300] if form else "", errors=errors or {},
        more_rows=min(count + LINE_ROWS, transfers.MAX_LINES), max_lines=transfers.MAX_LINES), status)


@bp.route("/transfers/new", methods=["GET", "POST"])
@allow(Role.MANAGER)
def new():
    if request.method == "GET":
        return _new_page()
    row_of: list[int] = []
    try:
        source = as_id(request.form.get("source"))
        destination = as_id(request.form.get("destination"))
        if source is None:
            raise InvalidInput("Choose where the units leave from", field="source")
        if destination is None:
            raise InvalidInput("Choose where the units go", field="destination")
        note = form_text("note", StockMove.note, label="The note")
        lines, row_of = _parsed_lines(_posted_rows())
        made = transfers.create_transfer(current_user, source, destination, lines, note)
    except DomainError as error:
        return _new_page(errors={_form_field(error.field, row_of): error.message}, status=_status(error))
    flash(f"{made.number} created: nothing has moved yet. Ship it when the units leave.")
    return redirect(url_for("transfers.detail", transfer_id=made.id))


@bp.route("/transfers/available")
@allow(Role.MANAGER)
def available():
    """What the chosen source has available of the SKU typed in one row (the new-transfer form asks as you type)."""
    source = as_id(request.args.get("source"))
    sku = next((v for k, v in request.args.items() if k.startswith("sku-")), "").strip()[:64]
    found = _available_by_sku(source, [sku])
    return render_template("transfers/_available.html", sku=sku, units=found.get(sku), known=source is not None)


# --- A transfer -----------------------------------------------------------------------------------------

def _detail_page(transfer_id: int, *, errors: dict | None = None, status: int = 200, received: dict | None = None):
    db.session.rollback()
    transfer = transfers.get_transfer(transfer_id)
    have = transfers.available_at(transfer.source_id, [line.product_id for line in transfer.lines]) \
        if transfer.state is TransferState.CREATED else {}
    moves = db.session.scalars(sa.select(StockMove).where(StockMove.transfer_id == transfer.id)
                               .order_by(StockMove.id)).all()
    return make_response(render_template(
        "transfers/detail.html", transfer=transfer, have=have, moves=moves, errors=errors or {},
        received=received or {}, short=[line for line in transfer.lines if have.get(line.product_id, 0) < line.quantity]
        if have else []), status)


@bp.route("/transfers/<int:transfer_id>")
@allow(Role.STAFF)
def detail(transfer_id: int):
    return _detail_page(transfer_id)


@bp.route("/transfers/<int:transfer_id>/ship", methods=["POST"])
@allow(Role.MANAGER)
def ship(transfer_id: int):
    try:
        done = transfers.ship_transfer(current_user, transfer_id)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        return _detail_page(transfer_id, errors={"transfer": error.message}, status=_status(error))
    units = sum(line.shipped for line in done.lines)
    flash(f"{done.number} shipped: {units:,} unit(s) left {done.source.name} and are in transit to {done.destination.name}.")
    return redirect(url_for("transfers.detail", transfer_id=transfer_id))


@bp.route("/transfers/<int:transfer_id>/receive", methods=["POST"])
@allow(Role.STAFF)
def receive(transfer_id: int):
    transfer = transfers.get_transfer(transfer_id)
    typed = {line.id: request.form.get(f"received-{line.id}", "") for line in transfer.lines}
    try:
        quantities = {}
        for line_id, raw in typed.items():
            if raw.strip():
                quantities[line_id] = whole_number(raw, label="The units received", field=f"received-{line_id}",
                                                   minimum=0, maximum=MAX_STOCK_QUANTITY)
        done = transfers.receive_transfer(current_user, transfer_id, quantities)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        return _detail_page(transfer_id, errors={error.field or "transfer": error.message}, status=_status(error),
                            received={line_id: raw.strip()[:12] for line_id, raw in typed.items()})
    units = sum(quantities.values())
    flash(f"{units:,} unit(s) received at {done.destination.name}; {done.number} is {done.state.label.lower()}.")
    return redirect(url_for("transfers.detail", transfer_id=transfer_id))


@bp.route("/transfers/<int:transfer_id>/cancel", methods=["POST"])
@allow(Role.MANAGER)
def cancel(transfer_id: int):
    try:
        done = transfers.cancel_transfer(current_user, transfer_id)
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        return _detail_page(transfer_id, errors={"transfer": error.message}, status=_status(error))
    flash(f"{done.number} cancelled; no stock had moved.")
    return redirect(url_for("transfers.detail", transfer_id=transfer_id))
