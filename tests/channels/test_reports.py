"""Report files in: Amazon's All Orders and Unshipped flat files and eBay's Seller Hub CSV, written here
from the headers CHANNELS.md documents, with the quirks real files have (columns added, dropped and
reordered, Latin-1, money strings, eBay's blank first line, summary rows and trailing note).
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from oms_web.channels import reports
from oms_web.domain import batch_intake, locking, orders
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import ChannelKind, ChannelSync, Customer, Order, PaymentStatus, SalesChannel, Segment
from tests.helpers.amazon_reports import ALL_ORDERS, UNSHIPPED, all_orders_row, channel, tsv
from tests.helpers.channel_orders import orders_of


def test_an_all_orders_report_is_read_by_header_name_whatever_columns_it_adds_drops_or_reorders(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=10)
    headers = list(reversed([h for h in ALL_ORDERS if h not in ("merchant-order-id", "item-tax")])) + ["is-business-order"]
    rows = [
        all_orders_row("026-0000001-0000001", "A", "2", "25.00", **{"is-business-order": "false"}),
        all_orders_row("026-0000001-0000001", "B", "3", "10.00", **{"shipping-price": "4.99"}),  # same order, 2nd item
        all_orders_row("026-0000002-0000002", "A", "1", "9.99", **{"fulfillment-channel": "Amazon"}),  # FBA
        all_orders_row("026-0000003-0000003", "A", "1", "9.99", **{"order-status": "Pending", "item-status": "Unshipped"}),
        all_orders_row("026-0000004-0000004", "A", "1", "9.99", **{"order-status": "Shipped", "item-status": "Shipped"}),
        all_orders_row("026-0000005-0000005", "A", "1", "9.99", **{"order-status": "Cancelled", "item-status": "Cancelled"}),
    ]

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, tsv(headers, rows).encode())

    assert (run.status, run.source, run.imported, run.skipped, run.duplicates, run.held) == (
        "ok", "amazon-all-orders", 2, 3, 0, 0)
    assert run.errors == []
    orders = orders_of(amazon)
    assert sorted(orders) == ["026-0000001-0000001", "026-0000003-0000003"]
    two_items = orders["026-0000001-0000001"]
    # 10.00 for 3: 3.34 each less 0.02, so that the line costs what Amazon charged to the cent.
    assert [(l.sku, l.ordered, l.allocated, l.unit_price_cents, l.discount_cents) for l in two_items.lines] == [
        ("A", 2, 2, 1250, 0), ("B", 3, 3, 334, 2)]
    assert two_items.subtotal_cents - two_items.discount_cents == 2500 + 1000
    assert two_items.shipping_cents == 499 and two_items.currency == "GBP"
    assert two_items.ship_to["postal_code"] == "LS1 4DY" and two_items.ship_to["country"] == "GB"
    assert orders["026-0000003-0000003"].segment is Segment.AWAITING_PAYMENT
    assert shop.stock("A") == (10, 3) and shop.stock("B") == (10, 3)
    assert check_invariants() == []


def test_a_latin1_unshipped_report_keeps_names_addresses_and_item_ids(shop):
    amazon = channel("Amazon DE", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    rows = [{"order-id": "303-1234567-7654321", "order-item-id": "54321098765432", "purchase-date": "2026-11-02T08:00:00+00:00",
             "payments-date": "2026-11-02T08:05:00+00:00", "buyer-email": "xyz@marketplace.amazon.de",
             "buyer-name": "Jürgen Müller", "sku": "A", "product-name": "Größe M Tasse", "quantity-purchased": "3",
             "quantity-to-ship": "2", "currency": "EUR", "item-price": "29,97", "ship-service-level": "Standard",
             "recipient-name": "Jürgen Müller", "ship-address-1": "Königstraße 5", "ship-address-2": "",
             "ship-address-3": "Hinterhaus", "ship-city": "Düsseldorf", "ship-state": "NRW",
             "ship-postal-code": "40212", "ship-country": "DE", "ship-phone-number": "+49 211 000000"},
            {"order-id": "303-1234567-0000002", "order-item-id": "54321098765433", "payments-date": "",
             "buyer-name": "Zoë", "sku": "A", "quantity-purchased": "1", "quantity-to-ship": "1", "currency": "EUR",
             "item-price": "9.99", "recipient-name": "Zoë", "ship-city": "Köln", "ship-country": "DE"}]
    data = tsv(UNSHIPPED, rows).encode("latin-1")

    run = reports.import_file(amazon, reports.AMAZON_UNSHIPPED, data)

    assert (run.status, run.imported) == ("ok", 2)
    orders = orders_of(amazon)
    order = orders["303-1234567-7654321"]
    assert order.customer_name == "Jürgen Müller"
    assert order.ship_to == {"name": "Jürgen Müller", "line1": "Königstraße 5", "line2": "Hinterhaus",
                             "city": "Düsseldorf", "region": "NRW", "postal_code": "40212", "country": "DE",
                             "phone": "+49 211 000000"}
    (line,) = order.lines
    # 3 bought for 29,97 (a decimal comma): 9.99 each; 2 still to ship.
    assert (line.ordered, line.unit_price_cents, line.channel_line_id, line.name) == (2, 999, "54321098765432", "Größe M Tasse")
    assert orders["303-1234567-0000002"].payment_status is PaymentStatus.PENDING  # no payments-date yet
    assert check_invariants() == []


EBAY_CSV = '''
"Sales Record Number","Order Number","Buyer Username","Buyer Name","Buyer Email","Ship To Name","Ship To Phone","Ship To Address 1","Ship To Address 2","Ship To City","Ship To State","Ship To Zip","Ship To Country","Item Number","Item Title","Custom Label","Quantity","Sold For","Postage And Handling","Total Price","Sale Date","Paid On Date","Tracking Number","Transaction ID"
"1001","12-11111-11111","ann_b","Ann Buyer","ann@example.com","Ann Buyer","0412 000 000","1 George St","Unit 4, Level 2","Sydney","NSW","2000","Australia","","","","3","","AU $12.00","AU $3,012.00","Nov-01-26","Nov-01-26","",""
"1001","12-11111-11111","","","","","","","","","","","","110000000001","Big thing, boxed","A","1","AU $3,000.00","","","","","","2000000001"
"1001","12-11111-11111","","","","","","","","","","","","110000000002","Small thing","B","2","AU $0.00","","","","","","2000000002"
"1002","12-22222-22222","bo","Bo Smith","bo@example.com","Bo Smith","","9 High St","","Boston","MA","02110","United States","110000000003","Mug ""Classic""","B","1","$1,234.50","$5.00","$1,239.50","Nov-02-26","","","2000000003"
"1003","12-33333-33333","cy","Cy","cy@example.com","Cy","","1 Rd","","Austin","TX","73301","United States","110000000004","Lamp","A","1","$20.00","$0.00","$20.00","Nov-02-26","Nov-02-26","9400111","2000000004"
"1004","12-44444-44444","di","Di","di@example.com","Di","","2 Rd","","Austin","TX","73301","United States","110000000005","Odd","A","two","$20.00","$0.00","$20.00","Nov-02-26","Nov-02-26","","2000000005"

"4 record(s) downloaded,from Nov-01-26 to Nov-03-26"
"Seller ID : our_shop"
'''


def test_an_ebay_seller_hub_csv_with_its_quirks_imports_each_order_once(shop):
    ebay = channel("eBay AU", ChannelKind.EBAY)
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)

    run = reports.import_file(ebay, reports.EBAY_ORDERS, EBAY_CSV.encode("utf-8"))

    assert (run.status, run.source, run.imported, run.skipped) == ("ok", "ebay-orders", 2, 1)
    (error,) = run.errors
    assert error.startswith("line 8: order 12-44444-44444:") and "'two'" in error
    orders = orders_of(ebay)
    assert sorted(orders) == ["12-11111-11111", "12-22222-22222"]
    multi = orders["12-11111-11111"]
    assert [(l.sku, l.ordered, l.unit_price_cents, l.channel_line_id) for l in multi.lines] == [
        ("A", 1, 300000, "csv:110000000001:2000000001"), ("B", 2, 0, "csv:110000000002:2000000002")]
    assert multi.currency == "AUD" and multi.shipping_cents == 1200
    assert multi.ship_to == {"name": "Ann Buyer", "line1": "1 George St", "line2": "Unit 4, Level 2", "city": "Sydney",
                             "region": "NSW", "postal_code": "2000", "country": "AU", "phone": "0412 000 000"}
    unpaid = orders["12-22222-22222"]
    assert [(l.name, l.unit_price_cents) for l in unpaid.lines] == [('Mug "Classic"', 123450)]
    assert unpaid.currency == "USD" and unpaid.shipping_cents == 500 and unpaid.ship_to["country"] == "US"
    assert unpaid.payment_status is PaymentStatus.PENDING
    assert shop.stock("A") == (5, 1) and shop.stock("B") == (5, 3)
    assert check_invariants() == []


def test_a_report_imported_twice_is_one_set_of_orders_and_one_allocation(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    data = tsv(ALL_ORDERS, [all_orders_row(f"026-000000{n}-0000000", "A", "2", "20.00") for n in range(1, 4)]).encode()

    first = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data)
    again = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data)

    assert (first.imported, first.duplicates) == (3, 0)
    assert (again.imported, again.duplicates) == (0, 3)
    assert len(orders_of(amazon)) == 3
    assert shop.stock("A") == (10, 6)
    assert check_invariants() == []


def test_two_imports_of_one_file_at_the_same_moment_yield_each_order_once(app, shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    channel_id = amazon.id
    shop.product("A", in_hand=1000)
    data = tsv(ALL_ORDERS, [all_orders_row(f"026-{n:07d}-0000000", "A", "1", "5.00") for n in range(1, 1501)]).encode()
    runs: list[tuple[int, int]] = []
    start = threading.Barrier(2)

    def import_once() -> None:
        with app.app_context():
            try:
                start.wait()
                run = reports.import_file(db.session.get(SalesChannel, channel_id), reports.AMAZON_ALL_ORDERS, data)
                runs.append((run.imported, run.duplicates))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=import_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert len(runs) == 2
    assert sum(imported for imported, _ in runs) == 1500 and sum(dup for _, dup in runs) == 1500
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order).where(Order.channel_id == channel_id)) == 1500
    # 1000 units for 1500 orders of one: the first 1000 in the file's order are allocated, the rest wait.
    assert shop.stock("A") == (1000, 1000)
    assert check_invariants() == []


def test_a_batch_allocates_in_the_files_order_and_backorders_what_stock_cannot_cover(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=3)
    data = tsv(ALL_ORDERS, [all_orders_row("026-0000001-0000000", "A", "2", "20.00"),
                            all_orders_row("026-0000002-0000000", "A", "2", "20.00"),
                            all_orders_row("026-0000003-0000000", "A", "1", "10.00")]).encode()

    reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data)

    orders = orders_of(amazon)
    assert [(o.lines[0].allocated, o.segment) for o in orders.values()] == [
        (2, Segment.READY_TO_SHIP), (1, Segment.AWAITING_STOCK), (0, Segment.AWAITING_STOCK)]
    moves = [(m.committed_delta, m.order_id, m.reason) for m in shop.ledger("A") if m.reason == "allocate"]
    first, second, _ = orders.values()
    assert moves == [(2, first.id, "allocate"), (1, second.id, "allocate")]
    assert [e.kind for e in shop.events(second.id)] == ["created", "allocated"]
    assert shop.events(second.id)[1].message == "Allocated 1 unit(s); 1 backordered"
    assert check_invariants() == []


def test_preview_counts_orders_unknown_skus_repeats_and_bad_rows_and_writes_nothing(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    reports.import_file(amazon, reports.AMAZON_ALL_ORDERS,
                        tsv(ALL_ORDERS, [all_orders_row("026-0000001-0000000", "A", "1", "10.00")]).encode())
    data = tsv(ALL_ORDERS, [
        all_orders_row("026-0000001-0000000", "A", "1", "10.00"),  # imported before
        all_orders_row("026-0000002-0000000", "A", "2", "£20.00"),
        all_orders_row("026-0000002-0000000", "MYSTERY", "1", "1.00"),
        all_orders_row("026-0000003-0000000", "A", "-1", "1.00"),  # a bad quantity: the order is left out
        all_orders_row("026-0000004-0000000", "A", "1", "1.00", **{"fulfillment-channel": "Amazon"}),
    ]).encode()
    before = shop.snapshot()
    runs_before = db.session.scalar(sa.select(sa.func.count()).select_from(ChannelSync))

    preview = reports.preview(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS, data)

    assert shop.snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChannelSync)) == runs_before
    assert [(o.channel_order_id, o.status, o.lines, o.units, o.total_cents) for o in preview.orders] == [
        ("026-0000001-0000000", "duplicate", 1, 1, 1000), ("026-0000002-0000000", "held", 2, 3, 2100)]
    assert preview.lines == 3 and preview.new_orders == 1 and preview.held_orders == 1
    assert preview.unknown_skus == ["MYSTERY"]
    assert preview.duplicates == ["026-0000001-0000000"]
    assert [skip.channel_order_id for skip in preview.skipped] == ["026-0000004-0000000"]
    assert [str(error) for error in preview.errors] == [
        "line 5: order 026-0000003-0000000: quantity '-1' is not a whole number; the order is left out"]
    assert check_invariants() == []


def test_a_file_without_the_order_id_column_is_refused_as_a_whole(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    data = tsv([h for h in ALL_ORDERS if h != "amazon-order-id"],
               [all_orders_row("026-0000001-0000000", "A", "1", "10.00")]).encode()

    shop.refused(reports.ReportError, reports.preview, amazon, reports.AMAZON_ALL_ORDERS, data, match="amazon-order-id")
    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data)

    assert run.status == "failed" and run.imported == 0 and "amazon-order-id" in run.errors[0]
    assert orders_of(amazon) == {}
    assert check_invariants() == []


def _new(channel_id: int, order_id: str, quantity: int) -> NewOrder:
    return NewOrder(channel_id=channel_id, channel_order_id=order_id, lines=[LineRequest("A", quantity)],
                    customer=CustomerDetails(name="Kim", email="kim@example.com"))


def test_a_batch_refuses_a_bad_order_alone_and_recognises_repeats_within_itself(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)

    results = orders.create_orders(None, [_new(amazon.id, "X1", 2), _new(amazon.id, "X2", 0),
                                          _new(amazon.id, "X1", 2), _new(amazon.id, "X3", 1)])

    first, bad, repeat, last = results
    assert first.order_id and not first.duplicate
    assert bad.order_id is None and "at least 1" in bad.error.message
    assert repeat.duplicate and repeat.order_id == first.order_id
    assert last.order_id and not last.duplicate
    assert sorted(orders_of(amazon)) == ["X1", "X3"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1  # one email, one customer
    assert shop.stock("A") == (10, 3)
    assert check_invariants() == []


def test_a_batch_naming_more_products_than_one_statement_locks_still_finds_and_allocates_them_all(shop, monkeypatch):
    monkeypatch.setattr(locking, "LOCK_AT_ONCE", 2)  # SKUs and ids locked two at a time
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    for sku in "EDCBA":  # ids in the reverse order of the SKUs
        shop.product(sku, in_hand=2)
    batch = [NewOrder(channel_id=amazon.id, channel_order_id=f"X{i}", lines=[LineRequest(sku, 1), LineRequest("A", 1)],
                      customer=CustomerDetails(name="Kim", email="kim@example.com")) for i, sku in enumerate("ABCDE")]

    results = orders.create_orders(None, batch)

    assert all(r.order_id and not r.error for r in results)
    assert [shop.stock(sku) for sku in "ABCDE"] == [(2, 2), (2, 1), (2, 1), (2, 1), (2, 1)]
    assert [o.segment for o in orders_of(amazon).values()] == [Segment.READY_TO_SHIP] + [Segment.AWAITING_STOCK] * 4
    assert check_invariants() == []


def test_a_batch_that_collides_with_an_order_made_meanwhile_is_redone_one_order_at_a_time(shop, monkeypatch):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    real = batch_intake._batch_customer
    collided = []

    def with_a_rival(new, known, made):
        if not collided:  # another request creates X2 after the batch looked for repeats
            collided.append("rival")  # (create_order comes through here too, as a batch of one)
            collided[0] = orders.create_order(None, _new(amazon.id, "X2", 4)).id
        return real(new, known, made)

    monkeypatch.setattr(batch_intake, "_batch_customer", with_a_rival)
    results = orders.create_orders(None, [_new(amazon.id, "X1", 2), _new(amazon.id, "X2", 3)])

    # The rival ran inside the batch's own savepoint here, so it was undone with the bulk attempt; the
    # redo then made both orders one at a time (a rival in another transaction would make X2 a repeat).
    assert collided and [(r.duplicate, r.error) for r in results] == [(False, None), (False, None)]
    made = orders_of(amazon)
    assert sorted(made) == ["X1", "X2"] and made["X2"].lines[0].ordered == 3
    assert shop.stock("A") == (10, 5)
    assert check_invariants() == []


def test_an_all_orders_report_imports_each_orders_unshipped_items_and_never_its_shipped_ones(shop):
    """order-status only summarises an order: what to import is decided row by row from item-status."""
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=10)
    shop.product("C", in_hand=10)
    rows = [
        # Shipped says the order, but its seller-fulfilled item still waits: it is ours to ship.
        all_orders_row("026-0000001-0000001", "A", "1", "10.00", **{"order-status": "Shipped"}),
        # Partly shipped: B went out already, C did not, and the cancelled A never will.
        all_orders_row("026-0000002-0000002", "B", "2", "20.00",
                       **{"order-status": "PartiallyShipped", "item-status": "Shipped"}),
        all_orders_row("026-0000002-0000002", "C", "3", "30.00",
                       **{"order-status": "PartiallyShipped", "item-status": "Unshipped"}),
        all_orders_row("026-0000002-0000002", "A", "1", "10.00",
                       **{"order-status": "PartiallyShipped", "item-status": "Cancelled"}),
        # Every item shipped: nothing to import.
        all_orders_row("026-0000003-0000003", "A", "1", "10.00",
                       **{"order-status": "Shipped", "item-status": "Shipped - Delivered to Buyer"}),
    ]

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, tsv(ALL_ORDERS, rows).encode())

    assert (run.status, run.imported, run.skipped, run.errors) == ("ok", 2, 1, [])
    orders = orders_of(amazon)
    assert sorted(orders) == ["026-0000001-0000001", "026-0000002-0000002"]
    assert [(l.sku, l.ordered) for l in orders["026-0000001-0000001"].lines] == [("A", 1)]
    assert [(l.sku, l.ordered, l.unit_price_cents) for l in orders["026-0000002-0000002"].lines] == [("C", 3, 1000)]
    assert shop.stock("A") == (10, 1) and shop.stock("B") == (10, 0) and shop.stock("C") == (10, 3)
    preview = reports.preview(amazon, reports.AMAZON_ALL_ORDERS, tsv(ALL_ORDERS, rows).encode())
    assert [(s.channel_order_id, s.reason) for s in preview.skipped] == [("026-0000003-0000003", "shipped already")]
    assert check_invariants() == []


# A Seller Hub file whose first column is the order number, so its unquoted closing lines land in the
# order number's column.
EBAY_ORDER_FIRST_CSV = '''
Order Number,Sales Record Number,Buyer Name,Ship To Name,Ship To City,Ship To Country,Item Number,Item Title,Custom Label,Quantity,Sold For,Postage And Handling,Total Price,Sale Date,Paid On Date,Tracking Number,Transaction ID
12-55555-55555,1005,Ann,Ann,Sydney,Australia,110000000011,Thing,A,1,AU $5.00,AU $1.00,AU $6.00,Nov-01-26,Nov-01-26,,2000000011
12-66666-66666,1006,Bo,Bo,Perth,Australia,110000000012,Thing,A,2,AU $5.00,AU $1.00,AU $11.00,Nov-01-26,Nov-01-26,,2000000012
12-77777-77777,1007,Cy,Cy,Perth,Australia,110000000013,Thing,A,1,AU $5.00,AU $1.00,AU $6.00,Nov-01-26,Nov-01-26,9400111,2000000013

3 record(s) downloaded, from Nov-01-26 to Nov-03-26
Seller ID : our_shop
'''


def test_the_ebay_files_closing_lines_are_neither_orders_nor_skipped_orders(shop):
    ebay = channel("eBay AU", ChannelKind.EBAY)
    shop.product("A", in_hand=5)

    preview = reports.preview(ebay, reports.EBAY_ORDERS, EBAY_ORDER_FIRST_CSV.encode())
    run = reports.import_file(ebay, reports.EBAY_ORDERS, EBAY_ORDER_FIRST_CSV.encode())

    assert [s.channel_order_id for s in preview.skipped] == ["12-77777-77777"]  # shipped: it has tracking
    assert preview.errors == [] and len(preview.orders) == 2
    assert (run.imported, run.skipped, run.errors) == (2, 1, [])
    assert sorted(orders_of(ebay)) == ["12-55555-55555", "12-66666-66666"]
    assert check_invariants() == []


def test_an_excel_unicode_text_report_in_utf16_is_read_like_any_other(shop):
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    data = tsv(ALL_ORDERS, [all_orders_row("026-0000001-0000001", "A", "2", "25.00", **{"ship-city": "Zürich"})])

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data.encode("utf-16"))  # with its byte order mark

    assert (run.status, run.imported) == ("ok", 1)
    assert orders_of(amazon)["026-0000001-0000001"].ship_to["city"] == "Zürich"


def test_a_pending_order_without_prices_takes_the_catalogues_then_the_channels_once_a_report_has_them(shop):
    from oms_web.domain import invoicing, shipping
    from oms_web.domain.orders import mark_paid
    from oms_web.models import OrderEvent

    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10, price_cents=1500)
    shop.product("B", in_hand=10, price_cents=800)
    pending = {"order-status": "Pending", "item-price": ""}  # Amazon gives no price until the order is paid
    first = tsv(ALL_ORDERS, [all_orders_row("026-0000001-0000001", "A", "2", "", **pending),
                             all_orders_row("026-0000001-0000001", "B", "1", "", **pending),
                             all_orders_row("026-0000002-0000002", "A", "1", "", **pending)])
    reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, first.encode())
    found = orders_of(amazon)
    order = found["026-0000001-0000001"]
    assert [(l.sku, l.unit_price_cents) for l in order.lines] == [("A", 1500), ("B", 800)]
    assert order.payment_status is PaymentStatus.PENDING and order.subtotal_cents == 3800
    # The second order is shipped and invoiced at the catalogue price: its invoice's figures are final.
    other = found["026-0000002-0000002"]
    mark_paid(shop.staff, other.id)
    shipment = shipping.ship_lines(shop.staff, other.id, {other.lines[0].id: 1})
    invoicing.issue_invoice(shop.staff, other.id, shipment.id)

    paid = tsv(ALL_ORDERS, [all_orders_row("026-0000001-0000001", "A", "2", "25.00"),
                            all_orders_row("026-0000001-0000001", "B", "1", "7.99"),
                            all_orders_row("026-0000002-0000002", "A", "1", "9.99")])
    preview = reports.preview(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS, paid.encode())
    assert preview.new_orders == 0 and preview.to_import
    assert [(u.channel_order_id, u.change) for u in preview.updates] == [
        ("026-0000001-0000001", "paid: clear to ship"),
        ("026-0000001-0000001", "takes the channel's price of A (12.50 GBP a unit), B (7.99 GBP a unit)")]
    run = reports.import_file(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS, paid.encode())

    assert (run.imported, run.duplicates, run.updated) == (0, 2, 2)  # as the preview said: paid, repriced
    after = orders_of(amazon)
    order = after["026-0000001-0000001"]
    assert [(l.sku, l.unit_price_cents) for l in order.lines] == [("A", 1250), ("B", 799)]
    assert order.payment_status is PaymentStatus.PAID and order.subtotal_cents == 3299
    assert order.total_cents == order.subtotal_cents + order.tax_cents + order.shipping_cents
    assert [l.unit_price_cents for l in after["026-0000002-0000002"].lines] == [1500]  # invoiced: left alone
    (event,) = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id,
                                                              OrderEvent.kind == "repriced")).all()
    assert event.data["lines"] == [{"sku": "A", "from_cents": 1500, "to_cents": 1250},
                                   {"sku": "B", "from_cents": 800, "to_cents": 799}]
    again = reports.import_file(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS, paid.encode())
    assert again.updated == 0  # nothing left to change
    assert check_invariants() == []


def test_report_cells_longer_than_their_columns_are_cut_to_them_on_postgresql_too(shop):
    """PostgreSQL refuses a value over its column where SQLite keeps it: every text a report brings is
    cut to its column before it reaches the database (names, addresses, service level). Not the
    currency: cut, "EURO…" would pass for EUR (test_a_currency_that_is_no_iso_code_leaves_its_order_out)."""
    amazon = channel("Amazon DE", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    long = "ü" * 100_000  # under csv's field limit, far over every column
    row = {"order-id": "303-0000001-0000001", "order-item-id": "5", "buyer-name": long, "sku": "A",
           "product-name": long, "quantity-purchased": "1", "quantity-to-ship": "1", "currency": "eur",
           "item-price": "9.99", "ship-service-level": long, "recipient-name": long, "ship-address-1": long,
           "ship-city": long, "ship-state": long, "ship-postal-code": long, "ship-country": long,
           "ship-phone-number": long, "purchase-date": long, "payments-date": long}

    run = reports.import_file(amazon, reports.AMAZON_UNSHIPPED, tsv(UNSHIPPED, [row]).encode())

    assert (run.status, run.imported, run.errors) == ("ok", 1, [])
    order = orders_of(amazon)["303-0000001-0000001"]
    assert len(order.customer_name) == 200 and len(order.lines[0].name) == 200 and order.currency == "EUR"
    assert check_invariants() == []


def test_a_price_or_shipping_charge_beyond_any_order_refuses_its_order_alone(shop):
    """Such an amount overflowed the price column (a 500 on both databases, the whole file lost)."""
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    data = tsv(ALL_ORDERS, [all_orders_row("026-0000001-0000001", "A", "1", "99999999999.99"),
                            all_orders_row("026-0000002-0000002", "A", "1", "9.99",
                                           **{"shipping-price": "99999999999999999999.00"}),
                            all_orders_row("026-0000003-0000003", "A", "1", "9.99")])

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data.encode())

    assert (run.status, run.imported) == ("ok", 1)
    assert [error.split(":")[0] for error in run.errors] == ["026-0000001-0000001", "026-0000002-0000002"]
    assert "at most" in run.errors[0] and "at most" in run.errors[1]
    assert sorted(orders_of(amazon)) == ["026-0000003-0000003"] and shop.stock("A") == (10, 1)
    assert check_invariants() == []


def test_a_currency_that_is_no_iso_code_leaves_its_order_out_with_a_row_error(shop):
    """The currency is checked against ISO 4217, never cut to three letters: "EURO" was imported as EUR,
    "US dollars" as "US " (no currency at all), and KWD, whose fils are finer than the cents we keep."""
    amazon = channel("Amazon DE", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    data = tsv(ALL_ORDERS, [all_orders_row("028-0000001-0000001", "A", "1", "9.99", currency="EURO"),
                            all_orders_row("028-0000002-0000002", "A", "1", "9.99", currency="US dollars"),
                            all_orders_row("028-0000003-0000003", "A", "1", "9.99", currency="KWD"),
                            all_orders_row("028-0000004-0000004", "A", "1", "9.99", currency="eur"),
                            all_orders_row("028-0000005-0000005", "A", "1", "9.99", currency="")])
    before = shop.snapshot()

    preview = reports.preview(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS, data.encode())

    assert shop.snapshot() == before
    assert [str(error) for error in preview.errors] == [
        "line 2: order 028-0000001-0000001: 'EURO' is not an ISO 4217 currency code; the order is left out",
        "line 3: order 028-0000002-0000002: 'US DOLLARS' is not an ISO 4217 currency code; the order is left out",
        "line 4: order 028-0000003-0000003: KWD has 3 decimals; amounts are kept to two; the order is left out"]
    assert [(order.channel_order_id, order.currency) for order in preview.orders] == [
        ("028-0000004-0000004", "EUR"), ("028-0000005-0000005", "USD")]

    run = reports.import_file(db.session.get(SalesChannel, amazon.id), reports.AMAZON_ALL_ORDERS, data.encode())

    assert (run.status, run.imported) == ("ok", 2) and len(run.errors) == 3
    assert {key: order.currency for key, order in orders_of(amazon).items()} == {
        "028-0000004-0000004": "EUR", "028-0000005-0000005": "USD"}
    unshipped = tsv(UNSHIPPED, [{"order-id": "303-0000009-0000009", "order-item-id": "1", "sku": "A",
                                 "quantity-purchased": "1", "currency": "EURO", "item-price": "9.99"}])
    run = reports.import_file(db.session.get(SalesChannel, amazon.id), reports.AMAZON_UNSHIPPED, unshipped.encode())
    assert run.imported == 0 and run.errors == [
        "line 2: order 303-0000009-0000009: 'EURO' is not an ISO 4217 currency code; the order is left out"]
    assert check_invariants() == []


def test_a_report_quantity_is_held_to_the_order_lines_one_limit(shop):
    """A report's largest quantity is the order services' (MAX_LINE_QUANTITY), in their words: a file
    cannot have a limit of its own that the order page and the API do not share."""
    amazon = channel("Amazon UK", ChannelKind.AMAZON)
    shop.product("A", in_hand=10)
    data = tsv(ALL_ORDERS, [all_orders_row("029-0000001-0000001", "A", str(orders.MAX_LINE_QUANTITY + 1), "9.99"),
                            all_orders_row("029-0000002-0000002", "A", "9" * 5_000, "9.99"),
                            all_orders_row("029-0000003-0000003", "A", "2", "9.99")])

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, data.encode())

    assert (run.status, run.imported) == ("ok", 1)
    assert run.errors == [
        f"line 2: order 029-0000001-0000001: quantity {orders.MAX_LINE_QUANTITY + 1}: "
        f"Quantity is too large: at most {orders.MAX_LINE_QUANTITY:,}; the order is left out",
        f"line 3: order 029-0000002-0000002: quantity {'9' * 20}…: "
        f"Quantity is too large: at most {orders.MAX_LINE_QUANTITY:,}; the order is left out"]
    assert list(orders_of(amazon)) == ["029-0000003-0000003"] and shop.stock("A") == (10, 2)
