"""Drop shipping: the supplier tells us it shipped our customer's units, and we record it as a shipment.

A drop-shipped product's lines are allocated at its supplier's location (domain.stock); the order waits
"With supplier" until the supplier confirms. It confirms through a signed link that needs no login
(supplier_link: the order, the location and a nonce, signed with the app's secret, valid for
OMS_SUPPLIER_LINK_MAX_AGE_DAYS) or staff upload the supplier's CSV. Either way each parcel (the lines
sharing a carrier and tracking number) becomes one shipment through shipping.ship_lines(by_supplier=True)
and is handed over at once through shipping.mark_shipped, so channel confirmations, customer emails,
invoices and Fulfilled follow as for our own parcels.

A link's form carries how many times the link had been used when it was shown; (nonce, use) is unique
in supplier_link_uses and written in the shipment's transaction, so one form posted twice (a replay, a
double click, two tabs at once) records its shipment once.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from ..database import service
from ..extensions import db
from ..models import (LineAllocation, Location, LocationKind, Order, OrderLine, OrderStatus, PurchaseOrder, Role,
                      Shipment, SupplierLinkUse, User)
from . import events, shipping
from .errors import DomainError, InvalidInput
from .locking import lock_orders, lock_products
from .order_rules import MAX_LINE_QUANTITY, require_role

SALT = "oms-supplier-link"
MAX_TOKEN_LENGTH = 300  # a real token is about 110 characters; anything longer is not one of ours
CARRIER_LENGTH = Shipment.carrier.type.length  # 60
TRACKING_LENGTH = Shipment.tracking_number.type.length  # 80
MAX_CSV_ROWS = 1_000
MAX_CSV_BYTES = 200_000
CSV_COLUMNS = ("order_number", "sku", "quantity", "carrier", "tracking_number")
_NONCE = re.compile(r"[0-9a-f]{32}")
DEFAULT_PUBLIC_URL = "http://localhost:5000"  # `make run`'s address: set OMS_PUBLIC_URL for suppliers to reach


class LinkRefused(DomainError):
    """A supplier link that cannot be used: forged, expired, for another order or location, or spent.
    `status` is the HTTP status the page answers with."""

    def __init__(self, message: str, status: int = 404):
        super().__init__(message, field="link")
        self.status = status


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: which order, which supplier location, and the link's nonce."""
    order_id: int
    location_id: int
    nonce: str


@dataclass(frozen=True)
class ConfirmRow:
    """One line the supplier says it shipped: the line, how many units, by which carrier and tracking number.
    `where` is the field a refusal of the row is shown at (empty: the supplier form's `qty-<line id>`,
    `carrier-<line id>`, `tracking-<line id>`; "file" for a CSV row)."""
    line_id: int
    quantity: int
    carrier: str | None
    tracking_number: str | None
    where: str = ""


@dataclass
class FileCheck:
    """A supplier CSV checked against the orders: its rows, or the rows it cannot take and why."""
    rows: list[tuple[int, ConfirmRow]] = field(default_factory=list)  # (order id, row)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line number in the file, reason)
    parcels: int = 0


# --- The link ------------------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def max_age_seconds() -> int:
    return int(current_app.config.get("OMS_SUPPLIER_LINK_MAX_AGE_DAYS", 30)) * 24 * 3600


def link_token(order_id: int, location_id: int) -> str:
    """A new signed token for the supplier at `location_id` to confirm what it ships of the order."""
    return _serializer().dumps({"o": order_id, "l": location_id, "n": secrets.token_hex(16)})


def supplier_link(order: Order, location: Location) -> str:
    """The page the supplier confirms its shipment on (absolute URL), to send with the drop-ship PO: on its
    page, its PDF and its email. Its host is OMS_PUBLIC_URL when set; else, in a request, the one the
    request came to; else (a job on the queue renders the PDF) DEFAULT_PUBLIC_URL."""
    values = {"order_id": order.id, "location_id": location.id, "token": link_token(order.id, location.id)}
    configured = (current_app.config.get("OMS_PUBLIC_URL") or "").strip().rstrip("/")
    if not configured and has_request_context():
        return url_for("supplier_portal.confirm", _external=True, **values)
    path = current_app.url_map.bind("localhost").build("supplier_portal.confirm", values)
    return (configured or DEFAULT_PUBLIC_URL) + path


def supplier_links(purchase_order: PurchaseOrder) -> dict[int, str]:
    """For a drop-ship PO: per order on it with units its supplier has still to ship, a new signed link to
    the page where the supplier confirms them (its page, PDF and email carry them). Empty for other POs."""
    if not purchase_order.drop_ship:
        return {}
    order_ids = {line.order_line.order_id for line in purchase_order.lines if line.order_line is not None}
    links = {}
    for order in db.session.scalars(sa.select(Order).where(Order.id.in_(order_ids), Order.status == OrderStatus.FINALIZED)
                                    .order_by(Order.id)):
        for location, units in suppliers_of(order):
            if units > 0 and location.supplier_id == purchase_order.supplier_id:
                links[order.id] = supplier_link(order, location)
                break
    return links


def read_link(token: str, order_id: int, location_id: int) -> LinkClaim:
    """The claim of a link, checked: its signature, its age, and that it is for this order and location.
    Raises LinkRefused."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise LinkRefused("This link is not valid: check that it was copied whole")
    try:
        payload = _serializer().loads(token, max_age=max_age_seconds())
    except SignatureExpired:
        raise LinkRefused("This link has expired: ask us for a new one", status=410) from None
    except BadSignature:
        raise LinkRefused("This link is not valid: check that it was copied whole") from None
    if not (isinstance(payload, dict) and type(payload.get("o")) is int and type(payload.get("l")) is int
            and isinstance(payload.get("n"), str) and _NONCE.fullmatch(payload["n"])):
        raise LinkRefused("This link is not valid: check that it was copied whole")
    if payload["o"] != order_id or payload["l"] != location_id:
        raise LinkRefused("This link is for another order: use the link we sent with this order")
    return LinkClaim(order_id, location_id, payload["n"])


# --- What a supplier has to ship ------------------------------------------------------------------------

def drop_ship_location(location_id: int) -> Location:
    location = db.session.get(Location, location_id)
    if location is None or location.kind is not LocationKind.DROP_SHIP:
        raise LinkRefused("This link is for another order: use the link we sent with this order")
    return location


def supplier_name(location: Location) -> str:
    return location.supplier.name if location.supplier is not None else location.name


def lines_at(order: Order, location_id: int) -> list[tuple[OrderLine, LineAllocation]]:
    """The order's lines allocated at the location, with their allocation there (shipped or not)."""
    found = []
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.location_id == location_id and allocation.allocated > 0:
                found.append((line, allocation))
    return found


def open_units(order: Order, location_id: int) -> dict[int, int]:
    """Units the supplier at the location has still to ship, per line id."""
    return {line.id: allocation.to_ship for line, allocation in lines_at(order, location_id) if allocation.to_ship > 0}


def uses_of(nonce: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(SupplierLinkUse)
                             .where(SupplierLinkUse.nonce == nonce)) or 0


def order_for_link(claim: LinkClaim) -> tuple[Order, Location]:
    """The order and the supplier's location a checked link is for. Raises LinkRefused when the order
    has no lines at that location (never had, or no longer), or was voided."""
    location = drop_ship_location(claim.location_id)
    order = db.session.get(Order, claim.order_id)
    if order is not None and order.status is OrderStatus.VOID:
        raise LinkRefused(f"Order {order.number} was cancelled: do not ship it", status=410)
    if order is None or not lines_at(order, location.id):
        raise LinkRefused("This link is for another order: use the link we sent with this order")
    return order, location


def waiting_with_supplier(order: Order) -> dict[int, str]:
    """The order's lines with units a drop-ship supplier has still to ship: line id -> the supplier's name."""
    if not any(line.drop_ship for line in order.lines):
        return {}
    waiting = {}
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.to_ship > 0 and allocation.location.kind is LocationKind.DROP_SHIP:
                waiting[line.id] = supplier_name(allocation.location)
    return waiting


def suppliers_of(order: Order) -> list[tuple[Location, int]]:
    """The drop-ship locations of the order's lines, with the units each has still to ship."""
    found: dict[int, list] = {}
    for line in order.lines:
        for allocation in line.allocations:
            if allocation.allocated > 0 and allocation.location.kind is LocationKind.DROP_SHIP:
                entry = found.setdefault(allocation.location_id, [allocation.location, 0])
                entry[1] += allocation.to_ship
    return [(location, units) for location, units in sorted(found.values(), key=lambda e: e[0].id)]


# --- Checking what the supplier typed ----------------------------------------------------------------------

def checked_text(value: object, *, field: str, label: str, limit: int, required: bool) -> str | None:
    """A carrier or tracking number: text, printable, within its column. Raises InvalidInput."""
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{label} must be text", field=field)
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{label} has at most {limit:,} characters ({len(text):,} given)", field=field)
    if not text.isprintable():
        raise InvalidInput(f"{label} may hold only printable characters", field=field)
    if required and not text:
        raise InvalidInput(f"Enter the {label.lower()}", field=field)
    return text or None


def _checked_rows(order: Order, location: Location, rows: Sequence[ConfirmRow]) -> list[tuple[str, str | None, dict[int, int]]]:
    """The parcels the rows make: (carrier, tracking number, units per line), one per carrier and tracking
    number, in the order first met. Every row is checked against what is open at the location.
    Raises InvalidInput naming the row's field."""
    still_open = open_units(order, location.id)
    needs_tracking = order.channel.kind.confirms_shipments
    parcels: dict[tuple[str, str | None], dict[int, int]] = {}
    for row in rows:
        if row.quantity == 0:
            continue
        where = row.where or f"qty-{row.line_id}"
        if isinstance(row.quantity, bool) or not isinstance(row.quantity, int) or row.quantity < 0:
            raise InvalidInput("Quantity must be a whole number, 0 or more", field=where)
        if row.line_id not in still_open:
            raise InvalidInput(f"That line of {order.number} has nothing left to ship from {supplier_name(location)}",
                               field=where)
        if row.quantity > still_open[row.line_id]:
            raise InvalidInput(f"Only {still_open[row.line_id]:,} unit(s) of that line are left to ship", field=where)
        still_open[row.line_id] -= row.quantity
        carrier = checked_text(row.carrier, field=f"carrier-{row.line_id}" if not row.where else row.where,
                               label="Carrier", limit=CARRIER_LENGTH, required=True)
        tracking = checked_text(row.tracking_number, field=f"tracking-{row.line_id}" if not row.where else row.where,
                                label="Tracking number", limit=TRACKING_LENGTH, required=needs_tracking)
        parcel = parcels.setdefault((carrier, tracking), {})
        parcel[row.line_id] = parcel.get(row.line_id, 0) + row.quantity
    if not parcels:
        raise InvalidInput("Enter how many units of at least one line you shipped", field="quantities")
    return [(carrier, tracking, units) for (carrier, tracking), units in parcels.items()]


def _ship(actor: User | None, order: Order, location: Location,
          parcels: list[tuple[str, str | None, dict[int, int]]], how: str) -> list[Shipment]:
    shipments = []
    for carrier, tracking, units in parcels:
        shipment = shipping.ship_lines(actor, order.id, units, carrier=carrier, tracking_number=tracking,
                                       location_id=location.id, by_supplier=True)
        shipping.mark_shipped(actor, shipment.id, carrier, tracking)
        events.drop_ship_confirmed(order, actor, shipment, supplier_name(location), how)
        shipments.append(shipment)
    return shipments


# --- The services ---------------------------------------------------------------------------------------

@service
def confirm_by_link(claim: LinkClaim, use_number: int, rows: Sequence[ConfirmRow]) -> list[Shipment]:
    """The supplier confirms through its link what it shipped: one shipment per carrier and tracking number,
    handed over at once. Nobody is signed in: the events name the supplier.

    Raises LinkRefused (409) when nothing is left to ship there ("already confirmed") or when this form was
    already sent (`use_number` is not the link's count of uses); LinkRefused for a link not for this
    order; InvalidInput naming the row for a bad carrier, tracking number or quantity; InvalidState for an
    order that cannot ship (on hold, awaiting payment).
    """
    if isinstance(use_number, bool) or not isinstance(use_number, int) or not 0 <= use_number <= MAX_LINE_QUANTITY:
        raise LinkRefused("This form is not ours: open the link again", status=400)
    _lock_for_confirmation([claim.order_id])
    db.session.expire_all()  # read under the lock: what a request that held it before us recorded counts
    order, location = order_for_link(claim)
    if not open_units(order, location.id):
        raise LinkRefused(f"Already confirmed: every unit of {order.number} from {supplier_name(location)} "
                          "is recorded as shipped. Thank you.", status=409)
    if uses_of(claim.nonce) != use_number:
        raise LinkRefused("This form was already sent: open the link again to see what is recorded", status=409)
    parcels = _checked_rows(order, location, rows)
    db.session.add(SupplierLinkUse(nonce=claim.nonce, use_number=use_number, order_id=order.id,
                                   location_id=location.id))
    try:
        db.session.flush()
    except IntegrityError:  # the same form, sent at the same moment by another request that won
        raise LinkRefused("This form was already sent: open the link again to see what is recorded",
                          status=409) from None
    return _ship(None, order, location, parcels, "through the supplier link")


def _lock_for_confirmation(order_ids: Iterable[int]) -> dict[int, Order]:
    """Lock the orders (and, first, their products: the lock order) whose drop-ship lines are confirmed."""
    ids = sorted(set(order_ids))
    lock_products(db.session.scalars(sa.select(OrderLine.product_id).where(
        OrderLine.order_id.in_(ids), OrderLine.product_id.is_not(None))))
    return lock_orders(ids)


def read_supplier_csv(data: bytes) -> FileCheck:
    """Check a supplier's CSV (columns order_number, sku, quantity, carrier, tracking_number; a header row)
    against the orders: every row that cannot be taken is listed with its line number and the reason.
    A read: nothing is written."""
    check = FileCheck()
    if len(data) > MAX_CSV_BYTES:
        check.problems.append((0, f"The file is larger than {MAX_CSV_BYTES // 1000:,} KB: split it"))
        return check
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        check.problems.append((0, "The file is not UTF-8 text: save it as CSV (UTF-8)"))
        return check
    if "\x00" in text:
        check.problems.append((0, "The file holds a NUL character: it is not a CSV file"))
        return check
    reader = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
    except csv.Error as error:
        check.problems.append((1, f"Not readable as CSV: {error}"))
        return check
    if tuple(header) != CSV_COLUMNS:
        check.problems.append((1, "The first row must name the columns: " + ", ".join(CSV_COLUMNS)))
        return check
    orders: dict[str, Order | None] = {}
    still_open: dict[tuple[int, int], int] = {}  # (line id, location id) -> units left after the rows above
    parcels: set[tuple[int, int, str, str | None]] = set()
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(check.rows) + len(check.problems) >= MAX_CSV_ROWS:
                check.problems.append((number, f"More than {MAX_CSV_ROWS:,} rows: split the file"))
                break
            problem = _check_csv_row(row, orders, still_open, parcels, check)
            if problem:
                check.problems.append((number, problem))
    except csv.Error as error:
        check.problems.append((reader.line_num, f"Not readable as CSV: {error}"))
    if not check.rows and not check.problems:
        check.problems.append((2, "The file has no rows under its header"))
    check.parcels = len(parcels)
    return check


def _check_csv_row(row: list[str], orders: dict[str, Order | None], still_open: dict[tuple[int, int], int],
                   parcels: set, check: FileCheck) -> str | None:
    """Why a CSV row cannot be taken, or None (then it joins check.rows)."""
    if len(row) != len(CSV_COLUMNS):
        return f"{len(row)} columns: a row has {len(CSV_COLUMNS)}"
    number, sku, quantity, carrier, tracking = (cell.strip() for cell in row)
    key = number.upper()
    if key not in orders:
        order_id = Order.id_from_number(number) if len(number) <= 20 else None
        orders[key] = db.session.get(Order, order_id) if order_id else None
    order = orders[key]
    if order is None:
        return f"No order {number[:30]!r}"
    if order.status is not OrderStatus.FINALIZED:
        return f"{order.number} is {order.status.value}: only a finalized order ships"
    matches = [(line, allocation) for line in order.lines if line.sku.upper() == sku.upper()
               for allocation in line.allocations if allocation.location.kind is LocationKind.DROP_SHIP]
    if not matches:
        return f"{order.number} has no drop-shipped line of SKU {sku[:40]!r}"
    if not re.fullmatch(r"[0-9]{1,7}", quantity) or int(quantity) == 0:
        return f"Quantity {quantity[:20]!r} is not a whole number above 0"
    units = int(quantity)
    line, allocation = next(((l, a) for l, a in matches if a.to_ship > 0), matches[0])
    left = still_open.setdefault((line.id, allocation.location_id), allocation.to_ship)
    if units > left:
        return (f"{order.number} {line.sku}: only {left:,} unit(s) are left to ship" if left
                else f"{order.number} {line.sku}: already confirmed, nothing is left to ship")
    try:
        carrier_text = checked_text(carrier, field="file", label="Carrier", limit=CARRIER_LENGTH, required=True)
        tracking_text = checked_text(tracking, field="file", label="Tracking number", limit=TRACKING_LENGTH,
                                     required=order.channel.kind.confirms_shipments)
    except InvalidInput as error:
        return error.message
    still_open[(line.id, allocation.location_id)] = left - units
    check.rows.append((order.id, ConfirmRow(line.id, units, carrier_text, tracking_text, where="file")))
    parcels.add((order.id, allocation.location_id, carrier_text, tracking_text))
    return None


class FileRefused(DomainError):
    """A supplier CSV with rows that cannot be taken: `problems` are (line number, reason)."""

    def __init__(self, problems: list[tuple[int, str]]):
        super().__init__(f"{len(problems)} row(s) of the file cannot be taken: nothing was recorded", field="file")
        self.problems = problems


@service
def confirm_by_file(actor: User, data: bytes) -> list[Shipment]:
    """Staff record a supplier's CSV: every row is checked first (under the orders' locks), and only a file
    with no bad row is recorded, one shipment per order, supplier, carrier and tracking number, each handed
    over at once. Raises NotAllowed when not signed in as staff, FileRefused listing the bad rows (nothing
    recorded), InvalidState for an order that cannot ship (on hold, awaiting payment)."""
    require_role(actor, Role.STAFF, "record a supplier's shipments")
    check = read_supplier_csv(data)
    if check.problems:
        raise FileRefused(check.problems)
    _lock_for_confirmation(order_id for order_id, _ in check.rows)
    db.session.expire_all()
    check = read_supplier_csv(data)  # again under the locks: what another request recorded meanwhile counts
    if check.problems:
        raise FileRefused(check.problems)
    by_order: dict[int, list[ConfirmRow]] = {}
    for order_id, row in check.rows:
        by_order.setdefault(order_id, []).append(row)
    shipments = []
    for order_id in sorted(by_order):
        order = db.session.get(Order, order_id)
        at: dict[int, list[ConfirmRow]] = {}
        for row in by_order[order_id]:
            line = db.session.get(OrderLine, row.line_id)
            location_id = next(a.location_id for a in line.allocations
                               if a.location.kind is LocationKind.DROP_SHIP and a.to_ship > 0)
            at.setdefault(location_id, []).append(row)
        for location_id in sorted(at):
            location = db.session.get(Location, location_id)
            parcels = _checked_rows(order, location, at[location_id])
            shipments += _ship(actor, order, location, parcels, "by the supplier's file")
    return shipments


# --- Products --------------------------------------------------------------------------------------------

def drop_ship_choices() -> list[Location]:
    """The drop-ship locations a product may be drop-shipped by: active ones, by name."""
    return list(db.session.scalars(sa.select(Location).where(
        Location.kind == LocationKind.DROP_SHIP, Location.active).order_by(Location.name)))


def checked_drop_ship_location(location_id: object) -> int | None:
    """A product's "Drop-shipped by": None, or an active drop-ship location's id. Raises InvalidInput."""
    if location_id is None:
        return None
    if isinstance(location_id, bool) or not isinstance(location_id, int):
        raise InvalidInput("Choose a drop-ship supplier from the list", field="drop_ship_location_id")
    location = db.session.get(Location, location_id)
    if location is None or location.kind is not LocationKind.DROP_SHIP or not location.active:
        raise InvalidInput("Choose a drop-ship supplier from the list (an active drop-ship location)",
                           field="drop_ship_location_id")
    return location_id
