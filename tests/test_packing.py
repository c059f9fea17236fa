"""Scan-to-pack in the domain: what a scan means (an order, a shipment, an item by barcode or SKU, a keyed
quantity), what is refused at once (a wrong item, an unknown code, an over-scan, an order that cannot
ship), and the parcel packed through ship_lines only if the order is still as the station showed it.
On SQLite and (with OMS_TEST_DATABASE_URL) PostgreSQL."""
from __future__ import annotations

import pytest

from oms_web.domain import orders, packing, shipping
from oms_web.domain.errors import InvalidInput, InvalidState, NotFound, QuantityTooLarge
from oms_web.domain.invariants import check_invariants
from oms_web.domain.packing import Scan
from oms_web.extensions import db
from oms_web.models import PaymentStatus, ShipmentLine

EAN_A = "4006381333931"
UPC_B = "036000291452"


@pytest.fixture
def order(shop):
    """A paid web order of 2 × A (barcode EAN_A) and 3 × B (barcode UPC_B), all allocated; C is in the
    catalogue (no barcode) and on no order."""
    for sku, barcode in (("A", EAN_A), ("B", UPC_B), ("C", None)):
        shop.product(sku, in_hand=10).barcode = barcode
    db.session.commit()
    return shop.web_order(("A", 2), ("B", 3))


def _scan_all(parcel, *codes):
    for code in codes:
        parcel, _ = packing.scan_item(parcel, packing.read_scan(code))
    return parcel


# ---------------------------------------------------------------- reading a scan

@pytest.mark.parametrize(("text", "scan"), [
    ("A", Scan("A")), ("  4006381333931 ", Scan(EAN_A)), ("12*SKU-1", Scan("SKU-1", 12)), ("3 * B", Scan("B", 3)),
    ("007*A", Scan("A", 7)), ("100000*A", Scan("A", 100_000)), ("2XL-TEE", Scan("2XL-TEE")),
])
def test_a_scan_is_a_code_with_an_optional_keyed_quantity(text, scan):
    assert packing.read_scan(text) == scan


@pytest.mark.parametrize(("text", "message"), [
    ("", "Scan a barcode or type a code"), ("   ", "Scan a barcode or type a code"), (None, "Scan a barcode"),
    ("0*A", "whole number from 1"), ("-1*A", "whole number from 1"), ("*A", "whole number from 1"),
    ("1.5*A", "whole number from 1"), ("100001*A", "too large: at most 100,000"),
    ("9" * 40 + "*A", "too large: at most 100,000"), ("A" * 101, "at most 100 characters"),
    ("A\x07B", "control character"), (12, "A scan is text"),
])
def test_a_garbled_scan_is_refused(text, message):
    with pytest.raises(InvalidInput, match=message) as refused:
        packing.read_scan(text)
    assert refused.value.field == "code"


# ---------------------------------------------------------------- the order on the bench

def test_an_order_is_opened_by_its_number_its_digits_or_one_of_its_shipments(shop, order):
    a, b = order.lines
    first = shipping.ship_lines(shop.staff, order.id, {a.id: 1})
    for code in (order.number, order.number.lower(), str(order.id), f"{order.id:06d}", first.number,
                 first.number.replace("SH-", "sh")):
        parcel = packing.open_parcel(code)
        assert (parcel.order_id, parcel.number) == (order.id, order.number)
        assert [(l.sku, l.barcode, l.expected, l.scanned) for l in parcel.lines] == [("A", EAN_A, 1, 0), ("B", UPC_B, 3, 0)]


def test_a_line_with_nothing_left_to_pack_is_not_on_the_parcel(shop, order):
    a, b = order.lines
    shipping.ship_lines(shop.staff, order.id, {a.id: 2})
    assert [l.sku for l in packing.open_parcel(order.number).lines] == ["B"]


@pytest.mark.parametrize("code", ["SO-999999", "SH-000404", "999999", "SO-", "SO-12x", "SO-" + "9" * 30,
                                  "SO-3000000000", "SH-9999999999"])
def test_a_number_that_names_no_order_is_refused(shop, order, code):
    with pytest.raises(NotFound, match="No order or shipment has the number"):
        packing.open_parcel(code)


@pytest.mark.parametrize("code", [EAN_A, "a"])
def test_an_item_scanned_before_its_order_is_refused_as_an_item(shop, order, code):
    with pytest.raises(InvalidInput, match=f"{code} is an item \\(A\\), not an order: scan the order first"):
        packing.open_parcel(code)


def _held(shop):
    return shop.web_order(("A", 1), ("MYSTERY", 1))


def _awaiting_stock(shop):
    shop.product("SCARCE")
    return shop.web_order(("SCARCE", 2))


def _all_packed(shop):
    order = shop.web_order(("A", 1))
    shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    return order


def _void(shop):
    order = shop.web_order(("A", 1))
    orders.void_order(shop.admin, order.id, "customer cancelled")
    return order


@pytest.mark.parametrize(("make", "message"), [
    (lambda shop: shop.draft(("A", 1)), "is draft: only a finalized order ships"),
    (_void, "is void: only a finalized order ships"),
    (_held, "is on hold"),
    (lambda shop: shop.web_order(("A", 1), payment=PaymentStatus.PENDING), "is awaiting payment and cannot ship yet"),
    (_awaiting_stock, "has no allocated units to pack: it is waiting for stock"),
    (_all_packed, "has nothing left to pack: every unit is in a shipment"),
])
def test_an_order_that_cannot_ship_is_refused_as_it_is_scanned(shop, order, make, message):
    other = make(shop)
    with pytest.raises(InvalidState, match=message):
        packing.open_parcel(other.number)


# ---------------------------------------------------------------- scanning items

def test_items_are_counted_by_barcode_or_sku_in_any_case(shop, order):
    a, b = order.lines
    parcel = packing.open_parcel(order.number)
    parcel, line = packing.scan_item(parcel, Scan(EAN_A))
    assert (line.line_id, line.scanned) == (a.id, 1)
    parcel, line = packing.scan_item(parcel, Scan("b"))
    parcel, line = packing.scan_item(parcel, packing.read_scan("2*" + UPC_B))
    assert (line.line_id, line.scanned) == (b.id, 3)
    assert parcel.scanned() == {a.id: 1, b.id: 3} and parcel.scanned_units == 4 and not parcel.complete
    parcel, _ = packing.scan_item(parcel, Scan("A"))
    assert parcel.complete and parcel.scanned_units == parcel.expected_units == 5


def test_a_scan_is_refused_for_a_wrong_item_an_unknown_code_or_one_unit_too_many(shop, order):
    parcel = _scan_all(packing.open_parcel(order.number), "A", "A")
    with pytest.raises(InvalidInput, match=f"Wrong item: C \\(Product C\\) is not on {order.number}"):
        packing.scan_item(parcel, Scan("C"))
    with pytest.raises(InvalidInput, match="Unknown code 5012345678900: no product has this barcode or SKU"):
        packing.scan_item(parcel, Scan("5012345678900"))
    with pytest.raises(InvalidInput, match=f"Too many A: all 2 of {order.number} are scanned already"):
        packing.scan_item(parcel, Scan(EAN_A))
    with pytest.raises(InvalidInput, match="Too many B: 4 scanned, only 3 of 3 left to pack"):
        packing.scan_item(parcel, Scan("B", 4))
    assert parcel.scanned() == {order.lines[0].id: 2, order.lines[1].id: 0}  # each refusal left it as it was


def test_a_product_on_two_lines_fills_the_first_then_the_next(shop, order):
    twice = shop.web_order(("A", 1), ("B", 1), ("A", 2))
    first, _, second = twice.lines
    parcel, line = packing.scan_item(packing.open_parcel(twice.number), Scan("A", 2))
    assert parcel.scanned() == {first.id: 1, twice.lines[1].id: 0, second.id: 1} and line.line_id == first.id
    with pytest.raises(InvalidInput, match="Too many A: 2 scanned, only 1 of 3 left to pack"):
        packing.scan_item(parcel, Scan("A", 2))


# ---------------------------------------------------------------- the station's figures, checked again

def test_the_figures_a_station_sends_back_are_checked_against_the_order(shop, order):
    a, b = order.lines
    parcel = _scan_all(packing.open_parcel(order.number), "A")
    again = packing.parcel_as_shown(order.id, parcel.shown(), parcel.scanned())
    assert again == parcel

    for scanned, message in (({a.id: 3, b.id: 0}, "scanned count of A is out of bounds"),
                             ({a.id: -1, b.id: 0}, "out of bounds"), ({a.id: 1}, "not those of"),
                             ({a.id: 1, b.id: 0, b.id + 1: 0}, "not those of"), ({a.id: True, b.id: 0}, "out of bounds")):
        with pytest.raises(InvalidInput, match=message):
            packing.parcel_as_shown(order.id, parcel.shown(), scanned)
    with pytest.raises(InvalidState, match=f"{order.number} was changed meanwhile: scan it again"):
        packing.parcel_as_shown(order.id, {a.id: 1, b.id: 3}, {a.id: 0, b.id: 0})


def test_a_station_showing_an_order_another_packer_packed_meanwhile_is_told_to_scan_it_again(shop, order):
    a, b = order.lines
    mine = _scan_all(packing.open_parcel(order.number), "A")
    theirs = _scan_all(packing.open_parcel(order.number), "B", "B")
    packing.pack_parcel(shop.staff, order.id, theirs.shown(), theirs.scanned())

    with pytest.raises(InvalidState, match=f"{order.number} was packed meanwhile: scan it again"):
        packing.parcel_as_shown(order.id, mine.shown(), mine.scanned())
    shop.refused(InvalidState, packing.pack_parcel, shop.manager, order.id, mine.shown(), mine.scanned(),
                 match="was packed meanwhile")
    assert [l.expected for l in packing.open_parcel(order.number).lines] == [2, 1]


# ---------------------------------------------------------------- packing the parcel

def test_a_fully_scanned_parcel_is_packed_through_ship_lines(shop, order):
    a, b = order.lines
    parcel = _scan_all(packing.open_parcel(order.number), "A", EAN_A, "3*B")
    shipment = packing.pack_parcel(shop.staff, order.id, parcel.shown(), parcel.scanned())

    lines = db.session.query(ShipmentLine.order_line_id, ShipmentLine.quantity).filter_by(shipment_id=shipment.id)
    assert sorted(lines) == [(a.id, 2), (b.id, 3)]
    assert shop.stock("A") == (8, 0) and shop.stock("B") == (7, 0)
    assert [l.shipped for l in shop.order_row(order.id).lines] == [2, 3]
    assert "shipment_created" in shop.event_kinds(order.id)
    assert check_invariants() == []


def test_a_partial_parcel_packs_what_was_scanned_and_leaves_the_rest_to_pack(shop, order):
    a, b = order.lines
    parcel = _scan_all(packing.open_parcel(order.number), "B")
    packing.pack_parcel(shop.staff, order.id, parcel.shown(), parcel.scanned())
    assert [l.shipped for l in shop.order_row(order.id).lines] == [0, 1]
    assert [(l.sku, l.expected) for l in packing.open_parcel(order.number).lines] == [("A", 2), ("B", 2)]


def test_closing_a_parcel_with_nothing_scanned_is_refused_and_changes_nothing(shop, order):
    parcel = packing.open_parcel(order.number)
    shop.refused(InvalidInput, packing.pack_parcel, shop.staff, order.id, parcel.shown(), parcel.scanned(),
                 match="Nothing is scanned yet")


def test_a_parcel_of_an_order_put_on_hold_meanwhile_is_refused(shop, order):
    parcel = _scan_all(packing.open_parcel(order.number), "A")
    orders.record_channel_cancellation(None, order.id, "The buyer cancelled on the channel")
    shop.refused(InvalidState, packing.pack_parcel, shop.staff, order.id, parcel.shown(), parcel.scanned(),
                 match="is on hold")


def test_ship_lines_still_refuses_more_than_is_allocated(shop, order):
    """The station's checks come first; ship_lines' own stay the last word."""
    a, b = order.lines
    shop.refused(QuantityTooLarge, shipping.ship_lines, shop.staff, order.id, {a.id: 3})
