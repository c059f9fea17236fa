"""Transfers: units moved between two own locations (warehouses, 3PLs, quarantine areas).

A manager creates a transfer (source, destination, products and quantities), then ships it: every line at
once, out of the source's available units only (allocated units never leave), all or nothing. The units
are then in transit, available nowhere. Staff receive them at the destination, a line at a time or all
together; each receipt fills the backorders that may use the destination, oldest first. A transfer not
yet shipped can be cancelled. Every stock change is stock.take_out / stock.receive, so each end has its
ledger rows, naming the transfer (reasons transfer_out and transfer_in).

Locks (domain.locking): the lines' products by id, then (a receipt) the orders it will fill, then the
transfer, whose numbers are read again and checked under its lock: nothing is shipped or received twice.
Creating one locks its products too, before its locations are checked active: a location being
deactivated (which locks every product) never ends inactive with a transfer open to or from it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..database import service
from ..extensions import db
from ..models import Location, LocationStock, Product, Role, Transfer, TransferLine, TransferState, User, utcnow
from . import stock
from .errors import InvalidInput, InvalidState, NotFound, QuantityTooLarge, Shortfall
from .inventory import MAX_STOCK_QUANTITY
from .locking import lock_orders_to_fill, lock_products, lock_transfer
from .order_rules import fill_backorders_and_refresh, require_role

MAX_LINES = 100  # products on one transfer: more is a pallet list for a purchase order, not a form
NOTE_LENGTH = Transfer.__table__.c.note.type.length
OPEN_STATES = (TransferState.CREATED, TransferState.SHIPPED, TransferState.PARTIALLY_RECEIVED)


# --- Checks ---------------------------------------------------------------------------------------------

def own_location(location_id: object, *, field: str) -> Location:
    """An active location of ours that holds stock (a warehouse, a 3PL or a quarantine area)."""
    if isinstance(location_id, bool) or not isinstance(location_id, int):
        raise InvalidInput("Choose a location", field=field)
    location = db.session.get(Location, location_id, populate_existing=True)  # as it is now, not as first read
    if location is None:
        raise InvalidInput("That location does not exist", field=field)
    if not location.kind.holds_our_stock:
        raise InvalidInput(f"{location.name} is a drop-ship supplier: none of our stock is there to move",
                           field=field)
    if not location.active:
        raise InvalidInput(f"{location.name} is not active", field=field)
    return location


def _check_quantity(value: object, *, field: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("The quantity must be a whole number", field=field)
    if value > MAX_STOCK_QUANTITY:
        raise InvalidInput(f"The quantity is too large: at most {MAX_STOCK_QUANTITY:,}", field=field)
    if value < minimum:
        raise InvalidInput(f"The quantity must be between {minimum:,} and {MAX_STOCK_QUANTITY:,}", field=field)
    return value


def available_at(location_id: int, product_ids: Sequence[int]) -> dict[int, int]:
    """Units of each product available at the location now (in hand less committed). A read."""
    ids = sorted(set(product_ids))
    found = dict(db.session.execute(
        sa.select(LocationStock.product_id, LocationStock.in_hand - LocationStock.committed)
        .where(LocationStock.location_id == location_id, LocationStock.product_id.in_(ids))).all()) if ids else {}
    return {product_id: int(found.get(product_id, 0)) for product_id in ids}


def _shortfalls(source: Location, wanted: Sequence[tuple[Product, int]]) -> list[Shortfall]:
    have = available_at(source.id, [product.id for product, _ in wanted])
    return [Shortfall(product.sku, units, have[product.id]) for product, units in wanted if units > have[product.id]]


def _refuse_shortfalls(source: Location, shortfalls: list[Shortfall], *, field: str) -> None:
    if shortfalls:
        raise QuantityTooLarge(f"Transferring more than is available at {source.name} (allocated units stay)",
                               shortfalls, field=field)


# --- The services ---------------------------------------------------------------------------------------

@service
def create_transfer(actor: User, source_id: int, destination_id: int, lines: Sequence[tuple[str, int]],
                    note: str | None = None) -> Transfer:
    """A transfer, not yet shipped: nothing moves until ship_transfer. `lines` are (SKU, units); a SKU named
    twice is one line of both quantities. Refusal fields: source, destination, sku-N / quantity-N (N: the
    position in `lines`), note.

    Raises NotAllowed below manager; InvalidInput for a location that is not an active own one, the same
    place twice, an unknown SKU, a bad quantity; QuantityTooLarge when the source has fewer available units
    than asked for (field "lines").
    """
    require_role(actor, Role.MANAGER, "create transfers")
    own_location(source_id, field="source")
    own_location(destination_id, field="destination")
    if source_id == destination_id:
        raise InvalidInput("The destination must be another location than the source", field="destination")
    if not lines:
        raise InvalidInput("Add at least one product to transfer", field="sku-0")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"A transfer has at most {MAX_LINES} products", field="sku-0")
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_LENGTH:
        raise InvalidInput(f"The note has at most {NOTE_LENGTH} characters", field="note")
    units_of: dict[int, int] = {}
    products: dict[int, Product] = {}
    for index, (sku, units) in enumerate(lines):
        sku = sku.strip() if isinstance(sku, str) else ""
        if not sku:
            raise InvalidInput("Give the product's SKU", field=f"sku-{index}")
        _check_quantity(units, field=f"quantity-{index}")
        product = db.session.scalar(sa.select(Product).where(Product.sku == sku))
        if product is None:
            raise InvalidInput(f"No product has the SKU {sku}", field=f"sku-{index}")
        products[product.id] = product
        units_of[product.id] = units_of.get(product.id, 0) + units
        _check_quantity(units_of[product.id], field=f"quantity-{index}")
    # Deactivating a location locks every product first; with the transfer's products locked, the two
    # locations are read again: either the deactivation finds this transfer open, or this finds it inactive.
    lock_products(units_of)
    source = own_location(source_id, field="source")
    destination = own_location(destination_id, field="destination")
    _refuse_shortfalls(source, _shortfalls(source, [(products[p], u) for p, u in units_of.items()]), field="lines")
    transfer = Transfer(source_id=source.id, destination_id=destination.id, note=note,
                        created_by_id=actor.id, state=TransferState.CREATED)
    transfer.lines = [TransferLine(product_id=product_id, quantity=units, shipped=0, received=0)
                      for product_id, units in sorted(units_of.items())]
    db.session.add(transfer)
    db.session.flush()
    return transfer


def _product_ids_of(transfer_id: int) -> dict[int, int]:
    """line id -> product id of the transfer's lines (they never change once made); NotFound if none."""
    rows = dict(db.session.execute(sa.select(TransferLine.id, TransferLine.product_id)
                                   .where(TransferLine.transfer_id == transfer_id)).all())
    if not rows:
        raise NotFound(f"There is no transfer {Transfer.number_of(transfer_id)}")
    return rows


def _locked(transfer_id: int) -> Transfer:
    transfer = lock_transfer(transfer_id)
    if transfer is None:
        raise NotFound(f"There is no transfer {Transfer.number_of(transfer_id)}")
    return transfer


@service
def ship_transfer(actor: User, transfer_id: int) -> Transfer:
    """Every line leaves the source at once (stock.take_out, reason transfer_out): in transit from now,
    available nowhere. Only available units go; if any line is short, nothing moves.

    Raises NotAllowed below manager, NotFound, InvalidState unless created, QuantityTooLarge (field
    "transfer") naming every short line.
    """
    require_role(actor, Role.MANAGER, "ship transfers")
    products = lock_products(_product_ids_of(transfer_id).values())
    transfer = _locked(transfer_id)
    if transfer.state is not TransferState.CREATED:
        raise InvalidState(f"{transfer.number} is {transfer.state.label.lower()}: only a created transfer ships",
                           field="transfer")
    source = transfer.source
    _refuse_shortfalls(source, _shortfalls(source, [(products[line.product_id], line.quantity)
                                                    for line in transfer.lines]), field="transfer")
    for line in transfer.lines:
        stock.take_out(line.product_id, source.id, line.quantity, actor, reason="transfer_out",
                       note=f"{transfer.number} to {transfer.destination.name}"[:300], transfer_id=transfer.id)
        line.shipped = line.quantity
    transfer.state = TransferState.SHIPPED
    transfer.shipped_at, transfer.shipped_by_id = utcnow(), actor.id
    return transfer


@service
def receive_transfer(actor: User, transfer_id: int, quantities: Mapping[int, int]) -> Transfer:
    """Units of the transfer arrive at its destination: `quantities` per line id (0 or absent: none of that
    line now). Each goes in with stock.receive (reason transfer_in), then fills the backorders that may use
    the destination, oldest first. Receiving the last units makes the transfer received.

    Raises NotAllowed (signed out), NotFound, InvalidState unless shipped or partially received,
    InvalidInput (field received-<line id>) for a bad quantity or for receiving more than was sent.
    """
    require_role(actor, Role.STAFF, "receive transfers")
    product_of = _product_ids_of(transfer_id)
    wanted: dict[int, int] = {}
    for line_id, units in quantities.items():
        if line_id not in product_of:
            raise InvalidInput("That line is not on this transfer: reload the page", field="transfer")
        _check_quantity(units, field=f"received-{line_id}", minimum=0)
        if units:
            wanted[line_id] = units
    destination_id = db.session.scalar(sa.select(Transfer.destination_id).where(Transfer.id == transfer_id))
    products = lock_products(product_of.values())
    incoming: dict[int, dict[int, int]] = {}
    for line_id, units in wanted.items():
        incoming.setdefault(product_of[line_id], {})[destination_id] = units
    lock_orders_to_fill(incoming)
    transfer = _locked(transfer_id)
    if not transfer.state.in_transit:
        raise InvalidState(f"{transfer.number} is {transfer.state.label.lower()}: there is nothing to receive",
                           field="transfer")
    if not wanted:
        raise InvalidInput("Enter how many units arrived", field=f"received-{min(product_of)}")
    lines = {line.id: line for line in transfer.lines}
    for line_id, units in sorted(wanted.items()):  # checked again under the lock: never received twice
        line = lines[line_id]
        if units > line.to_receive:
            sku = products[line.product_id].sku
            raise InvalidInput(f"Receiving more than was sent: {units:,} unit(s) of {sku} given, "
                               f"{line.to_receive:,} still to come ({line.shipped:,} sent, {line.received:,} received)",
                               field=f"received-{line_id}")
    for line_id, units in sorted(wanted.items()):
        line = lines[line_id]
        stock.receive(products[line.product_id], units, actor, f"{transfer.number} from {transfer.source.name}"[:300],
                      transfer.destination_id, reason="transfer_in", transfer_id=transfer.id)
        line.received = line.received + units
    transfer.state = (TransferState.RECEIVED if all(line.received == line.shipped for line in lines.values())
                      else TransferState.PARTIALLY_RECEIVED)
    transfer.received_at, transfer.received_by_id = utcnow(), actor.id
    fill_backorders_and_refresh({lines[line_id].product_id for line_id in wanted}, actor)
    return transfer


@service
def receive_everything(actor: User, transfer_id: int) -> Transfer:
    """Every unit still to come arrives (the transfer page's "Receive all")."""
    transfer = get_transfer(transfer_id)
    return receive_transfer(actor, transfer_id, {line.id: line.to_receive for line in transfer.lines})


@service
def cancel_transfer(actor: User, transfer_id: int) -> Transfer:
    """A transfer not yet shipped is called off: no stock had moved, none moves.

    Raises NotAllowed below manager, NotFound, InvalidState once shipped (or already cancelled).
    """
    require_role(actor, Role.MANAGER, "cancel transfers")
    transfer = _locked(transfer_id)
    if transfer.state is not TransferState.CREATED:
        raise InvalidState(f"{transfer.number} is {transfer.state.label.lower()}: only a transfer not yet shipped "
                           "can be cancelled", field="transfer")
    transfer.state = TransferState.CANCELLED
    transfer.cancelled_at, transfer.cancelled_by_id = utcnow(), actor.id
    return transfer


# --- Reads ----------------------------------------------------------------------------------------------

def get_transfer(transfer_id: int) -> Transfer:
    transfer = db.session.scalar(sa.select(Transfer).where(Transfer.id == transfer_id).options(
        selectinload(Transfer.lines).joinedload(TransferLine.product), joinedload(Transfer.source),
        joinedload(Transfer.destination)))
    if transfer is None:
        raise NotFound(f"There is no transfer {Transfer.number_of(transfer_id)}")
    return transfer


@dataclass(frozen=True)
class TransferRow:
    transfer: Transfer
    products: int
    units: int
    received: int


def transfers_page(state: TransferState | None, page: int = 1, per_page: int = 50) -> tuple[list[TransferRow], bool]:
    """Transfers newest first (of one state, or all), each with its products and units; and whether
    there are more."""
    sums = (sa.select(TransferLine.transfer_id, sa.func.count().label("products"),
                      sa.func.sum(TransferLine.quantity).label("units"),
                      sa.func.sum(TransferLine.received).label("received"))
            .group_by(TransferLine.transfer_id).subquery())
    query = (sa.select(Transfer, sums.c.products, sums.c.units, sums.c.received)
             .join(sums, sums.c.transfer_id == Transfer.id)
             .options(joinedload(Transfer.source), joinedload(Transfer.destination))
             .order_by(Transfer.id.desc()).offset((page - 1) * per_page).limit(per_page + 1))
    if state is not None:
        query = query.where(Transfer.state == state)
    rows = [TransferRow(t, int(p), int(u or 0), int(r or 0)) for t, p, u, r in db.session.execute(query).all()]
    return rows[:per_page], len(rows) > per_page


def state_counts() -> dict[TransferState, int]:
    return dict(db.session.execute(sa.select(Transfer.state, sa.func.count()).group_by(Transfer.state)).all())


def in_transit(product_ids: Sequence[int]) -> dict[int, int]:
    """Units of each product shipped on a transfer and not yet received (available nowhere meanwhile)."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    return {product_id: int(units) for product_id, units in db.session.execute(
        sa.select(TransferLine.product_id, sa.func.sum(TransferLine.shipped - TransferLine.received))
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(TransferLine.product_id.in_(ids), Transfer.state.in_([s for s in TransferState if s.in_transit]))
        .group_by(TransferLine.product_id)).all() if units}


def open_transfers_at(location_id: int) -> int:
    """Transfers not finished that leave from or arrive at the location."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Transfer).where(
        Transfer.state.in_(OPEN_STATES),
        sa.or_(Transfer.source_id == location_id, Transfer.destination_id == location_id))) or 0
