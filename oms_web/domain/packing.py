"""Scan-to-pack: what a packer's scans mean, checked against the order as it is now, and the parcel
packed from them through shipping.ship_lines.

The scans are kept by the packer's station, not here: with each scan it sends back what it was shown
to pack (each line's units left) and what has been scanned so far, and both are checked against the
order again. So a scan changes nothing in the database (a refused one cannot change anything), and
two packers cannot pack the same units twice: the first parcel closed changes what the order has left
to pack, and the other station's next scan or close, which still shows the old figures, is refused.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

import sqlalchemy as sa

from ..database import service
from ..extensions import db
from ..models import Order, Product, Shipment, User
from . import shipping, stock
from .errors import InvalidInput, InvalidState, NotFound
from .locking import lock_order
from .order_rules import MAX_LINE_QUANTITY

# The longest text a scan may be: a keyed quantity, "*" and the longest SKU, with room to spare.
MAX_SCAN_LENGTH = 100
_KEYED_QUANTITY = re.compile(r"([0-9]+)\s*\*\s*(\S.*)")
_SHIPMENT_NUMBER = re.compile(r"SH-?([0-9]{1,18})")
# Orders' and shipments' ids are 32-bit integers on PostgreSQL: a larger number names none (and would
# make PostgreSQL refuse the query rather than find nothing). A product's EAN-13 is such a number.
MAX_ROW_ID = 2**31 - 1


@dataclass(frozen=True)
class Scan:
    """One scan: a code (an order or shipment number, a product barcode or SKU), and the units it
    stands for (1 unless keyed before it: "12*SKU")."""

    code: str
    quantity: int = 1


def read_scan(text: str | None) -> Scan:
    """The scan a station sent. Raises InvalidInput (field "code") for an empty, overlong or garbled one."""
    if text is not None and not isinstance(text, str):
        raise InvalidInput("A scan is text", field="code")
    text = (text or "").strip()
    if not text:
        raise InvalidInput("Scan a barcode or type a code, then Enter", field="code")
    if len(text) > MAX_SCAN_LENGTH:
        raise InvalidInput(f"A scan has at most {MAX_SCAN_LENGTH} characters ({len(text):,} given): "
                           "scan one code at a time", field="code")
    if not text.isprintable():
        raise InvalidInput("The scan holds a control character: scan it again", field="code")
    keyed = _KEYED_QUANTITY.fullmatch(text)
    if keyed is None:
        if re.match(r"[-+0-9.,\s]*\*", text):  # a quantity meant, but not a whole number from 1
            raise InvalidInput("Key a quantity as a whole number from 1 before the code, like 12*SKU", field="code")
        return Scan(text)
    digits, code = keyed.groups()
    quantity = int(digits) if len(digits.lstrip("0")) <= 18 else MAX_LINE_QUANTITY + 1
    if quantity < 1:
        raise InvalidInput("Key a quantity as a whole number from 1 before the code, like 12*SKU", field="code")
    if quantity > MAX_LINE_QUANTITY:
        raise InvalidInput(f"The keyed quantity is too large: at most {MAX_LINE_QUANTITY:,}", field="code")
    return Scan(code.strip(), quantity)


def order_id_for(code: str) -> int | None:
    """The order a code names: an order number (SO-000123, or its digits) or a shipment number (SH-000123,
    that shipment's order). None when the code is neither shape, or names no order."""
    text = code.strip().upper()
    shipment = _SHIPMENT_NUMBER.fullmatch(text)
    if shipment:
        shipment_id = int(shipment.group(1))
        return db.session.scalar(sa.select(Shipment.order_id).where(Shipment.id == shipment_id)) \
            if shipment_id <= MAX_ROW_ID else None
    if not text.startswith(Order.NUMBER_PREFIX) and not text.isdigit():
        return None
    order_id = Order.id_from_number(text)
    return order_id if order_id is not None and order_id <= MAX_ROW_ID else None


def names_an_order(code: str) -> bool:
    """Whether a code has the shape of an order or shipment number (SO-…, SH-…)."""
    text = code.strip().upper()
    return text.startswith(Order.NUMBER_PREFIX) or bool(_SHIPMENT_NUMBER.fullmatch(text))


# ---------------------------------------------------------------- the parcel on the bench

@dataclass(frozen=True)
class PackLine:
    line_id: int
    sku: str
    name: str
    barcode: str | None
    bin_location: str | None
    expected: int  # allocated units not yet in a shipment, as the station showed them
    scanned: int = 0

    @property
    def left(self) -> int:
        return self.expected - self.scanned

    def matches(self, code: str) -> bool:
        return code == self.barcode or code.upper() == self.sku.upper()


@dataclass(frozen=True)
class Parcel:
    """An order's lines with units left to pack, and what has been scanned of them."""

    order_id: int
    number: str
    customer_name: str
    lines: tuple[PackLine, ...]

    @property
    def expected_units(self) -> int:
        return sum(line.expected for line in self.lines)

    @property
    def scanned_units(self) -> int:
        return sum(line.scanned for line in self.lines)

    @property
    def complete(self) -> bool:
        return all(line.left == 0 for line in self.lines)

    def shown(self) -> dict[int, int]:
        return {line.line_id: line.expected for line in self.lines}

    def scanned(self) -> dict[int, int]:
        return {line.line_id: line.scanned for line in self.lines}


def _units_here(line, location_id: int | None) -> int:
    """The line's allocated, unpacked units at the location (at every location when None)."""
    return line.to_ship if location_id is None else stock.shippable_from(line).get(location_id, 0)


def _parcel(order: Order, location_id: int | None = None) -> Parcel:
    """The order's lines that have allocated units not yet packed (at the location, when given), with
    nothing scanned."""
    lines = [line for line in order.lines if line.product_id is not None and _units_here(line, location_id) > 0]
    products = {p.id: p for p in db.session.scalars(
        sa.select(Product).where(Product.id.in_({line.product_id for line in lines})))} if lines else {}
    return Parcel(order.id, order.number, order.customer_name, tuple(
        PackLine(line.id, products[line.product_id].sku, line.name, products[line.product_id].barcode,
                 products[line.product_id].bin_location, _units_here(line, location_id)) for line in lines))


def _refuse_nothing_to_pack(order: Order, parcel: Parcel, location_id: int | None = None) -> None:
    if parcel.lines:
        return
    elsewhere = {} if location_id is None else _units_elsewhere(order)
    if elsewhere:
        from .allocations import location_names

        names = location_names(list(elsewhere) + [location_id])
        at = " · ".join(f"{names[site]} {units}" for site, units in sorted(elsewhere.items(), key=lambda i: names[i[0]]))
        raise InvalidState(f"{order.number} has no units to pack at {names[location_id]}: they are at {at}")
    if any(line.backordered > 0 for line in order.lines):
        raise InvalidState(f"{order.number} has no allocated units to pack: it is waiting for stock")
    raise InvalidState(f"{order.number} has nothing left to pack: every unit is in a shipment")


def _units_elsewhere(order: Order) -> dict[int, int]:
    """Units of the order that can be packed now, per location."""
    found: dict[int, int] = {}
    for line in order.lines:
        for site, units in stock.shippable_from(line).items():
            found[site] = found.get(site, 0) + units
    return found


def open_parcel(code: str, location_id: int | None = None) -> Parcel:
    """The order a scanned order or shipment number names, ready to pack: nothing scanned yet.

    Raises NotFound for a code that names no order, InvalidState for an order that cannot ship now
    (shipping.refuse_unshippable's reasons) or has no allocated units left to pack."""
    order_id = order_id_for(code)
    order = db.session.get(Order, order_id) if order_id is not None else None
    if order is None:
        product = _product_for(code)
        if product is not None:
            raise InvalidInput(f"{code} is an item ({product.sku}), not an order: scan the order first", field="code")
        raise NotFound(f"No order or shipment has the number {code}", field="code")
    shipping.refuse_unshippable(order)
    parcel = _parcel(order, location_id)
    _refuse_nothing_to_pack(order, parcel, location_id)
    return parcel


def parcel_as_shown(order_id: int, shown: Mapping[int, int], scanned: Mapping[int, int],
                    location_id: int | None = None) -> Parcel:
    """The parcel a station is packing, as it says it was shown it and what it has scanned, checked
    against the order as it is now.

    Raises InvalidState when the order changed since the station showed it (another packer packed
    some of it, an edit, a hold): it must be scanned again; InvalidInput when the counts are not this
    order's or out of their bounds (a forged or garbled post)."""
    order = db.session.get(Order, order_id) if 0 < order_id <= MAX_ROW_ID else None
    if order is None:
        raise NotFound(f"Order {Order.number_of(order_id)} does not exist: scan the next order", field="code")
    shipping.refuse_unshippable(order)
    parcel = _parcel(order, location_id)
    if parcel.shown() != dict(shown):
        # Fewer units left than shown: a parcel of them was packed elsewhere; else an edit or allocation.
        left_now = parcel.shown()
        packed = any(left_now.get(line_id, 0) < units for line_id, units in shown.items())
        raise InvalidState(f"{order.number} was {'packed' if packed else 'changed'} meanwhile: scan it again",
                           field="code")
    if set(scanned) != set(shown):
        raise InvalidInput(f"The scanned counts sent are not those of {order.number}: scan it again", field="code")
    lines = []
    for line in parcel.lines:
        count = scanned[line.line_id]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= line.expected:
            raise InvalidInput(f"The scanned count of {line.sku} is out of bounds: scan {order.number} again",
                               field="code")
        lines.append(replace(line, scanned=count))
    return replace(parcel, lines=tuple(lines))


def _product_for(code: str) -> Product | None:
    """The catalogue's product with this barcode or SKU (both unique: each an index lookup)."""
    return (db.session.scalar(sa.select(Product).where(Product.barcode == code))
            or db.session.scalar(sa.select(Product).where(Product.sku == code.upper())))


def scan_item(parcel: Parcel, scan: Scan) -> tuple[Parcel, PackLine]:
    """The parcel with the scanned item(s) counted, and the line they went to.

    Raises InvalidInput (field "code") for an item that is not on the order (a product of the
    catalogue, or a code no product has), or for more units of a line than are left to pack."""
    matching = [line for line in parcel.lines if line.matches(scan.code)]
    if not matching:
        product = _product_for(scan.code)
        if product is not None:
            raise InvalidInput(f"Wrong item: {product.sku} ({product.name}) is not on {parcel.number}", field="code")
        raise InvalidInput(f"Unknown code {scan.code}: no product has this barcode or SKU", field="code")
    left = sum(line.left for line in matching)
    if scan.quantity > left:
        sku, expected = matching[0].sku, sum(line.expected for line in matching)
        if left == 0:
            raise InvalidInput(f"Too many {sku}: all {expected} of {parcel.number} are scanned already", field="code")
        raise InvalidInput(f"Too many {sku}: {scan.quantity} scanned, only {left} of {expected} left to pack",
                           field="code")
    remaining, lines, counted = scan.quantity, [], None
    for line in parcel.lines:
        if remaining and line in matching and line.left:
            take = min(remaining, line.left)
            remaining -= take
            line = replace(line, scanned=line.scanned + take)
            counted = counted or line
        lines.append(line)
    assert counted is not None
    return replace(parcel, lines=tuple(lines)), counted


def pack_parcel(actor: User, order_id: int, shown: Mapping[int, int], scanned: Mapping[int, int],
                preset_id: int | None = None, weighed_grams: int | None = None,
                location_id: int | None = None) -> Shipment:
    """Pack the scanned units into a shipment, if the order still has exactly what the station showed to
    pack: through shipping.ship_lines (our own label), or through domain.labels when the order's channel
    buys its labels (`preset_id`: the box, for the parcel's size and weight; `weighed_grams`: what the
    parcel weighed on the bench's scale, instead of the products' weights).

    Raises InvalidState when it changed meanwhile (another packer closed a parcel of it first: checked
    under the order's lock, so only one of two closing at once succeeds), InvalidInput when nothing
    was scanned or the counts are out of bounds, whatever ship_lines refuses, and CarrierFailed."""
    from . import labels

    order = db.session.get(Order, order_id)
    if order is not None and labels.buys_labels(order, labels.active_account()):
        quantities = _scanned_units(order_id, shown, scanned, location_id)
        return labels.pack(actor, order_id, quantities, preset_id=preset_id, weighed_grams=weighed_grams,
                           location_id=location_id)
    return _pack_with_own_label(actor, order_id, shown, scanned, location_id)


@service
def _scanned_units(order_id: int, shown: Mapping[int, int], scanned: Mapping[int, int],
                   location_id: int | None = None) -> dict[int, int]:
    lock_order(order_id)
    parcel = parcel_as_shown(order_id, shown, scanned, location_id)
    quantities = {line_id: count for line_id, count in parcel.scanned().items() if count > 0}
    if not quantities:
        raise InvalidInput(f"Nothing is scanned yet: scan the items of {parcel.number} first", field="code")
    return quantities


@service
def _pack_with_own_label(actor: User, order_id: int, shown: Mapping[int, int], scanned: Mapping[int, int],
                         location_id: int | None = None) -> Shipment:
    return shipping.ship_lines(actor, order_id, _scanned_units(order_id, shown, scanned, location_id),
                               location_id=location_id)
