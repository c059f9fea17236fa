"""Receiving a return by scan at the pack station: the return slip's barcode (RMA-000123) opens the
return's receipt, each scanned item (barcode or SKU, "12*SKU" for several) counts units back on its
return line, the packer picks each line's condition, and the receipt goes through
returns.receive_return (all or nothing; a return is received once).

As with packing (domain.packing), the receipt is the station's, held in the page: with each scan it
posts back what it was shown (each return line's units) and what it has counted, and both are checked
against the return again. A scan changes nothing in the database; a refused one cannot change anything.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..models import Return, ReturnState, User
from . import returns
from .errors import InvalidInput, InvalidState, NotFound
from .packing import MAX_ROW_ID, Scan, _product_for

CONDITION_LABELS = {"restock": "Restock", "quarantine": "Quarantine", "write_off": "Write off"}


@dataclass(frozen=True)
class ReceiptLine:
    line_id: int  # the return line's
    sku: str
    name: str
    barcode: str | None
    expected: int  # the return line's units, as the station showed them
    counted: int = 0
    condition: str = "restock"

    @property
    def left(self) -> int:
        return self.expected - self.counted

    def matches(self, code: str) -> bool:
        return code == self.barcode or code.upper() == self.sku.upper()


@dataclass(frozen=True)
class ReturnReceipt:
    """A return's lines on the bench, what has been counted of them and the condition each goes back in."""

    return_id: int
    number: str
    order_number: str
    customer_name: str
    lines: tuple[ReceiptLine, ...]

    @property
    def expected_units(self) -> int:
        return sum(line.expected for line in self.lines)

    @property
    def counted_units(self) -> int:
        return sum(line.counted for line in self.lines)

    @property
    def complete(self) -> bool:
        return all(line.left == 0 for line in self.lines)

    def shown(self) -> dict[int, int]:
        return {line.line_id: line.expected for line in self.lines}

    def counted(self) -> dict[int, int]:
        return {line.line_id: line.counted for line in self.lines}

    def conditions(self) -> dict[int, str]:
        return {line.line_id: line.condition for line in self.lines}


def names_a_return(code: str) -> bool:
    """Whether a code has the shape of a return number (RMA-…)."""
    return code.strip().upper().startswith(Return.NUMBER_PREFIX)


def _refuse_unreceivable(ret: Return, field: str = "code") -> None:
    if ret.state is ReturnState.AUTHORIZED:
        return
    if ret.state in (ReturnState.RECEIVED, ReturnState.CLOSED):
        raise InvalidState(f"{ret.number} was received already: a return is received once", field=field)
    if ret.state is ReturnState.REQUESTED:
        raise InvalidState(f"{ret.number} is not authorized yet: authorize it on its page first", field=field)
    raise InvalidState(f"{ret.number} was rejected: nothing to receive", field=field)


def _receipt(ret: Return) -> ReturnReceipt:
    lines = []
    for line in ret.lines:
        product = line.order_line.product
        lines.append(ReceiptLine(line.id, line.order_line.sku, line.order_line.name,
                                 product.barcode if product is not None else None, line.quantity))
    return ReturnReceipt(ret.id, ret.number, ret.order.number, ret.order.customer_name or "", tuple(lines))


def open_receipt(code: str) -> ReturnReceipt:
    """The return a scanned slip names, ready to count: nothing counted yet, every line to restock.

    Raises NotFound for a code that names no return, InvalidState for one that is not authorized
    (requested, received already, rejected)."""
    ret = returns.find_by_number(code)
    _refuse_unreceivable(ret)
    return _receipt(ret)


def receipt_as_shown(return_id: int, shown: Mapping[int, int], counted: Mapping[int, int],
                     conditions: Mapping[int, str]) -> ReturnReceipt:
    """The receipt a station is counting, as it says it was shown and what it counted, checked against
    the return as it is now. Raises InvalidState when the return was received (or changed) meanwhile,
    InvalidInput when the figures are not this return's or out of their bounds (a forged or garbled post)."""
    from ..extensions import db

    ret = db.session.get(Return, return_id) if 0 < return_id <= MAX_ROW_ID else None
    if ret is None:
        raise NotFound(f"Return {Return.number_of(return_id)} does not exist: scan the next slip", field="code")
    _refuse_unreceivable(ret)
    receipt = _receipt(ret)
    if receipt.shown() != dict(shown):
        raise InvalidState(f"{ret.number} changed meanwhile: scan its slip again", field="code")
    if set(counted) != set(shown) or not set(conditions) <= set(shown):
        raise InvalidInput(f"The counts sent are not those of {ret.number}: scan its slip again", field="code")
    lines = []
    for line in receipt.lines:
        count = counted[line.line_id]
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= line.expected:
            raise InvalidInput(f"The count of {line.sku} is out of bounds: scan {ret.number} again", field="code")
        condition = conditions.get(line.line_id, "restock")
        if condition not in CONDITION_LABELS:
            raise InvalidInput(f"Choose restock, quarantine or write off for {line.sku}", field="code")
        lines.append(replace(line, counted=count, condition=condition))
    return replace(receipt, lines=tuple(lines))


def scan_item(receipt: ReturnReceipt, scan: Scan) -> tuple[ReturnReceipt, ReceiptLine]:
    """The receipt with the scanned item(s) counted, and the line they went to.

    Raises InvalidInput (field "code") for an item that is not on the return, or for more units of a
    line than the return holds."""
    matching = [line for line in receipt.lines if line.matches(scan.code)]
    if not matching:
        product = _product_for(scan.code)
        if product is not None:
            raise InvalidInput(f"Wrong item: {product.sku} ({product.name}) is not on {receipt.number}", field="code")
        raise InvalidInput(f"Unknown code {scan.code}: no product has this barcode or SKU", field="code")
    left = sum(line.left for line in matching)
    if scan.quantity > left:
        sku, expected = matching[0].sku, sum(line.expected for line in matching)
        if left == 0:
            raise InvalidInput(f"Too many {sku}: all {expected} of {receipt.number} are counted already", field="code")
        raise InvalidInput(f"Too many {sku}: {scan.quantity} scanned, only {left} of {expected} left on "
                           f"{receipt.number}", field="code")
    remaining, lines, counted = scan.quantity, [], None
    for line in receipt.lines:
        if remaining and line in matching and line.left:
            take = min(remaining, line.left)
            remaining -= take
            line = replace(line, counted=line.counted + take)
            counted = counted or line
        lines.append(line)
    assert counted is not None
    return replace(receipt, lines=tuple(lines)), counted


def receive(actor: User, receipt: ReturnReceipt, location_id: int | None = None) -> Return:
    """Receive what was counted, each line in its condition, through returns.receive_return (restocked
    units at `location_id`, the default location unless given). Uncounted units are not received.

    Raises InvalidInput when nothing is counted, and whatever receive_return refuses (received
    meanwhile at another bench or on the return's page: InvalidState)."""
    receipts = {line.line_id: returns.Receipt(**{line.condition: line.counted})
                for line in receipt.lines if line.counted}
    if not receipts:
        raise InvalidInput(f"Nothing is counted yet: scan the items of {receipt.number} first", field="code")
    return returns.receive_return(actor, receipt.return_id, receipts, location_id)
