"""Transfers between own locations: shipped all at once out of the source's available units (in transit,
available nowhere), received in parts at the destination, never twice, filling the backorders that may
use the destination. On SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from oms_web.domain import locations, transfers
from oms_web.domain.errors import InvalidInput, InvalidState, NotAllowed, QuantityTooLarge
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, LocationKind, StockMove, TransferLine, TransferState

from .helpers.locations import MAIN, add_location, counts, every_row, receive_at, shipped_transfer, transfer_row


def _refused(error, action, *args, match=None, **kwargs):
    before = every_row()
    with pytest.raises(error, match=match) as raised:
        action(*args, **kwargs)
    assert every_row() == before, "a refused action changed a row"
    assert check_invariants() == []
    return raised.value


def test_shipping_takes_every_line_out_of_the_source_and_the_units_are_available_nowhere_in_transit(shop):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=4)
    east = add_location(shop, "East")
    made = transfers.create_transfer(shop.manager, MAIN, east, [("A", 6), ("B", 4)], note="restock East")
    assert made.number == f"TR-{made.id:06d}" and made.state is TransferState.CREATED
    assert counts(shop, "A", MAIN) == (10, 0), "creating a transfer moves nothing"

    shipped = transfers.ship_transfer(shop.manager, made.id)

    assert shipped.state is TransferState.SHIPPED and shipped.shipped_by_id == shop.manager.id
    assert counts(shop, "A", MAIN) == (4, 0) and counts(shop, "A", east) == (0, 0)
    assert shop.stock("A") == (4, 0) and shop.stock("B") == (0, 0), "in transit counts nowhere"
    assert transfers.in_transit([shop.product_row("A").id]) == {shop.product_row("A").id: 6}
    out = [(m.reason, m.in_hand_delta, m.location_id, m.transfer_id) for m in shop.ledger("A")][-1]
    assert out == ("transfer_out", -6, MAIN, made.id)
    assert check_invariants() == []


def test_transferring_more_than_is_available_is_refused_and_allocated_units_never_leave(shop):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=2)
    east = add_location(shop, "East")
    shop.web_order(("A", 4))  # 4 of the 10 are committed at Main: 6 available
    error = _refused(QuantityTooLarge, transfers.create_transfer, shop.manager, MAIN, east, [("A", 7), ("B", 3)],
                     match="more than is available")
    assert "A: asked for 7, only 6 possible" in error.message and "B: asked for 3, only 2 possible" in error.message

    made = transfers.create_transfer(shop.manager, MAIN, east, [("A", 6), ("B", 2)])
    shop.web_order(("A", 1))  # one more committed before the transfer ships: only 5 available now
    _refused(QuantityTooLarge, transfers.ship_transfer, shop.manager, made.id, match="A: asked for 6, only 5 possible")
    assert transfer_row(made.id).state is TransferState.CREATED
    assert counts(shop, "B", MAIN) == (2, 0), "all or nothing: the line that could go stayed too"


def test_a_transfer_goes_between_two_active_own_locations(shop):
    shop.product("A", in_hand=5)
    east = add_location(shop, "East")
    dropper = locations.create_location(shop.admin, LocationKind.DROP_SHIP, locations.LocationDetails(
        name="Supplier X", supplier_id=_supplier()))
    _refused(InvalidInput, transfers.create_transfer, shop.manager, MAIN, MAIN, [("A", 1)], match="another location")
    _refused(InvalidInput, transfers.create_transfer, shop.manager, MAIN, dropper.id, [("A", 1)], match="drop-ship")
    _refused(InvalidInput, transfers.create_transfer, shop.manager, MAIN, east, [("NOPE", 1)], match="No product")
    _refused(InvalidInput, transfers.create_transfer, shop.manager, MAIN, east, [("A", 0)], match="between 1")
    _refused(InvalidInput, transfers.create_transfer, shop.manager, MAIN, east, [], match="at least one")
    _refused(NotAllowed, transfers.create_transfer, shop.staff, MAIN, east, [("A", 1)])


def test_units_are_received_in_parts_and_the_transfer_is_received_once_all_arrived(shop):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=3)
    east = add_location(shop, "East")
    made = shipped_transfer(shop, MAIN, east, ("A", 5), ("B", 3))
    line_a, line_b = transfer_row(made.id).lines

    transfers.receive_transfer(shop.staff, made.id, {line_a.id: 2})
    assert transfer_row(made.id).state is TransferState.PARTIALLY_RECEIVED
    assert counts(shop, "A", east) == (2, 0) and shop.stock("A") == (7, 0)

    transfers.receive_transfer(shop.staff, made.id, {line_a.id: 3, line_b.id: 1})
    assert transfer_row(made.id).state is TransferState.PARTIALLY_RECEIVED
    done = transfers.receive_everything(shop.staff, made.id)
    assert done.state is TransferState.RECEIVED and done.received_by_id == shop.staff.id
    assert counts(shop, "A", east) == (5, 0) and counts(shop, "B", east) == (3, 0)
    assert shop.stock("A") == (10, 0) and shop.stock("B") == (3, 0)
    ins = db.session.scalars(sa.select(StockMove.in_hand_delta).where(
        StockMove.transfer_id == made.id, StockMove.reason == "transfer_in").order_by(StockMove.id)).all()
    assert ins == [2, 3, 1, 2]
    assert check_invariants() == []


def test_nothing_is_received_twice_nor_more_than_was_sent(shop):
    shop.product("A", in_hand=5)
    east = add_location(shop, "East")
    made = shipped_transfer(shop, MAIN, east, ("A", 4))
    (line,) = transfer_row(made.id).lines
    _refused(InvalidInput, transfers.receive_transfer, shop.staff, made.id, {line.id: 5},
             match="Receiving more than was sent: 5 unit.s. of A given, 4 still to come")
    transfers.receive_transfer(shop.staff, made.id, {line.id: 3})
    _refused(InvalidInput, transfers.receive_transfer, shop.staff, made.id, {line.id: 2}, match="1 still to come")
    transfers.receive_transfer(shop.staff, made.id, {line.id: 1})
    _refused(InvalidState, transfers.receive_transfer, shop.staff, made.id, {line.id: 1}, match="nothing to receive")
    _refused(InvalidState, transfers.receive_everything, shop.staff, made.id)
    assert counts(shop, "A", east) == (4, 0)


def test_a_transfer_not_yet_shipped_is_received_nowhere_and_can_be_cancelled_once(shop):
    shop.product("A", in_hand=5)
    east = add_location(shop, "East")
    made = transfers.create_transfer(shop.manager, MAIN, east, [("A", 2)])
    (line,) = transfer_row(made.id).lines
    _refused(InvalidState, transfers.receive_transfer, shop.staff, made.id, {line.id: 1}, match="nothing to receive")
    _refused(NotAllowed, transfers.cancel_transfer, shop.staff, made.id)
    cancelled = transfers.cancel_transfer(shop.manager, made.id)
    assert cancelled.state is TransferState.CANCELLED and cancelled.cancelled_by_id == shop.manager.id
    _refused(InvalidState, transfers.ship_transfer, shop.manager, made.id, match="only a created transfer ships")
    _refused(InvalidState, transfers.cancel_transfer, shop.manager, made.id)
    shipped = shipped_transfer(shop, MAIN, east, ("A", 1))
    _refused(InvalidState, transfers.cancel_transfer, shop.manager, shipped.id, match="not yet shipped")


def test_a_receipt_fills_backorders_at_the_destination_only_for_channels_allowed_there(shop):
    shop.product("A")
    east = add_location(shop, "East")
    quarantine = add_location(shop, "Quarantine", LocationKind.QUARANTINE)
    receive_at(shop, "A", 6, quarantine)  # ours, never sold from: nothing is filled by it
    west_only = shop.channel("Amazon West", ChannelKind.API)
    locations.set_channel_locations(shop.admin, west_only.id, [MAIN])
    from oms_web.domain import orders
    from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder

    oldest = orders.create_order(None, NewOrder(channel_id=west_only.id, channel_order_id="AW-1",
                                                customer=CustomerDetails(name="Ada", email="ada@example.com"),
                                                lines=[LineRequest("A", 2)]))
    newer = shop.web_order(("A", 3))  # the web store may use every location
    assert shop.line(oldest.id, "A").allocated == 0 and shop.line(newer.id, "A").allocated == 0

    made = shipped_transfer(shop, quarantine, east, ("A", 6))
    transfers.receive_everything(shop.staff, made.id)

    assert shop.line(oldest.id, "A").allocated == 0, "the channel may not use East: its line still waits"
    assert shop.line(newer.id, "A").allocated == 3
    assert counts(shop, "A", east) == (6, 3) and counts(shop, "A", quarantine) == (0, 0)
    assert check_invariants() == []


def test_the_transfer_invariant_sees_a_line_that_disagrees_with_its_ledger_rows(shop):
    shop.product("A", in_hand=5)
    east = add_location(shop, "East")
    made = shipped_transfer(shop, MAIN, east, ("A", 4))
    assert check_invariants() == []
    db.session.execute(sa.update(TransferLine).where(TransferLine.transfer_id == made.id).values(received=1))
    found = [v.rule for v in check_invariants()]
    assert "transfer = its ledger rows" in found
    db.session.rollback()


def _supplier() -> int:
    from oms_web.models import Supplier

    supplier = Supplier(name="Supplier X")
    db.session.add(supplier)
    db.session.commit()
    return supplier.id


# --- Locations -----------------------------------------------------------------------------------------

def test_a_location_holding_anything_cannot_be_deactivated_and_says_what_it_holds(shop):
    shop.product("A")
    east = add_location(shop, "East")
    details = locations.LocationDetails(name="East", priority=50, active=False)
    receive_at(shop, "A", 3, east)
    _refused(InvalidInput, locations.update_location, shop.admin, east, details,
             match="East still holds 3 unit.s. in hand")
    made = shipped_transfer(shop, east, MAIN, ("A", 3))
    _refused(InvalidInput, locations.update_location, shop.admin, east, details, match="1 open transfer")
    transfers.receive_everything(shop.staff, made.id)
    assert locations.update_location(shop.admin, east, details).active is False
    _refused(InvalidInput, locations.update_location, shop.admin, MAIN,
             locations.LocationDetails(name="Main warehouse", active=False), match="last active warehouse")


def test_a_location_a_purchase_order_still_delivers_to_cannot_be_deactivated_and_the_refusal_names_the_pos(shop):
    from oms_web.domain import purchasing

    from .helpers import purchasing as buy

    shop.product("A")
    east = add_location(shop, "East")
    details = locations.LocationDetails(name="East", priority=50, active=False)
    acme = buy.supplier()
    draft = purchasing.create_purchase_order(shop.manager, acme.id, east)
    sent = buy.sent_po(shop.manager, acme, ("A", 4, 100), location_id=east)
    part = buy.sent_po(shop.manager, acme, ("A", 4, 100), location_id=east)
    purchasing.receive_purchase_order(shop.staff, part.id, {part.lines[0].id: 1})
    made = shipped_transfer(shop, east, MAIN, ("A", 1))  # the received unit goes back out, so that East
    transfers.receive_everything(shop.staff, made.id)  # holds nothing but what its POs will bring
    _refused(InvalidInput, locations.update_location, shop.admin, east, details,
             match=f"Purchase orders {draft.number} .draft., {sent.number} .sent., {part.number} .partially received. "
                   "are still to deliver to East")
    purchasing.cancel_purchase_order(shop.manager, draft.id)
    purchasing.close_purchase_order(shop.manager, part.id)
    _refused(InvalidInput, locations.update_location, shop.admin, east, details,
             match=f"Purchase order {sent.number} .sent. is still to deliver to East")
    purchasing.cancel_purchase_order(shop.manager, sent.id)
    assert locations.update_location(shop.admin, east, details).active is False
    assert check_invariants() == []


def test_a_location_is_checked_field_by_field_and_a_drop_ship_one_names_its_supplier(shop):
    _refused(InvalidInput, locations.create_location, shop.admin, LocationKind.DROP_SHIP,
             locations.LocationDetails(name="Dropper"), match="supplier")
    _refused(InvalidInput, locations.create_location, shop.admin, "moon", locations.LocationDetails(name="X"),
             match="kind")
    _refused(InvalidInput, locations.create_location, shop.admin, LocationKind.WAREHOUSE,
             locations.LocationDetails(name="main WAREHOUSE"), match="exists already")
    _refused(InvalidInput, locations.create_location, shop.admin, LocationKind.WAREHOUSE,
             locations.LocationDetails(name="X", priority=1001), match="priority")
    _refused(InvalidInput, locations.create_location, shop.admin, LocationKind.WAREHOUSE,
             locations.LocationDetails(name="X", line1="1 Road"), match="city")
    _refused(NotAllowed, locations.create_location, shop.manager, LocationKind.WAREHOUSE,
             locations.LocationDetails(name="X"))
    made = locations.create_location(shop.admin, LocationKind.DROP_SHIP,
                                     locations.LocationDetails(name="Dropper", supplier_id=_supplier(), country="de"))
    assert made.kind is LocationKind.DROP_SHIP and made.country == "DE" and made.supplier_id is not None


def test_a_channel_is_limited_to_active_warehouses_and_none_ticked_means_all(shop):
    from oms_web.domain import stock

    east = add_location(shop, "East", priority=200)
    quarantine = add_location(shop, "Quarantine", LocationKind.QUARANTINE)
    _refused(InvalidInput, locations.set_channel_locations, shop.admin, shop.web.id, [quarantine], match="warehouse")
    _refused(NotAllowed, locations.set_channel_locations, shop.manager, shop.web.id, [east])
    locations.set_channel_locations(shop.admin, shop.web.id, [east])
    assert stock.sites_for(shop.web.id) == [east]
    locations.set_channel_locations(shop.admin, shop.web.id, [])
    assert stock.sites_for(shop.web.id) == [east, MAIN]
