"""Marketplace syncs against our fake Amazon and eBay: what is imported, paging, throttling, tokens,
overlapping runs, the cursor, and shipment confirmations with their retries.

Every test runs on SQLite and on PostgreSQL (the `shop` fixture); after each one that writes, the
SPEC's invariants must hold.
"""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from oms_web.channels import reports
from oms_web.channels import sync as sync_module
from oms_web.channels.confirmations import send_due_confirmations
from oms_web.channels.sync import SyncAlreadyRunning, sync_channel
from oms_web.domain import shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import (OrderStatus, PaymentStatus, SalesChannel, Segment,
                            ShipmentConfirmation, utcnow)

from tests.helpers.channel_orders import orders_of, sync

from .fakes import amazon_order, ebay_order


def cursor_of(channel: SalesChannel) -> str | None:
    db.session.rollback()
    return db.session.get(SalesChannel, channel.id).settings.get("sync_cursor")


# ------------------------------------------------------------------------------------------ Amazon

def test_an_amazon_sync_imports_the_sellers_own_orders_and_skips_those_amazon_ships(shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    shop.product("B", in_hand=10)
    amazon_fake.add(
        amazon_order("202-0000001-0000001", items=[("A", 2, "25.00"), ("B", 1, "9.99")], shipping="3.99"),
        amazon_order("202-0000002-0000002", channel="AFN", items=[("A", 5, "50.00")]),
        amazon_order("202-0000003-0000003", status="Canceled", items=[("A", 1, "10.00")]),
        amazon_order("202-0000004-0000004", status="Shipped", items=[("A", 1, "10.00")]))

    run = sync(amazon)

    assert (run.status, run.imported, run.skipped, run.duplicates, run.held) == ("ok", 1, 3, 0, 0)
    assert run.errors == []
    orders = orders_of(amazon)
    assert list(orders) == ["202-0000001-0000001"]
    order = orders["202-0000001-0000001"]
    assert order.status is OrderStatus.FINALIZED and order.segment is Segment.READY_TO_SHIP
    assert [(l.sku, l.ordered, l.allocated, l.unit_price_cents) for l in order.lines] == [
        ("A", 2, 2, 1250), ("B", 1, 1, 999)]
    assert order.shipping_cents == 399 and order.currency == "GBP"
    assert order.ship_to == {"name": "Jane Buyer", "line1": "1 Station Road", "line2": "Flat 2", "city": "Leeds",
                             "region": "West Yorkshire", "postal_code": "LS1 4DY", "country": "GB",
                             "phone": "+44 113 496 0000"}
    assert order.lines[0].channel_line_id == "000000100"
    assert shop.stock("A") == (10, 2)
    # Only the seller's own order had its items fetched.
    assert [c[1] for c in amazon_fake.api_calls("/orderItems")] == ["/orders/v0/orders/202-0000001-0000001/orderItems"]
    assert check_invariants() == []


def test_a_pending_amazon_order_waits_for_payment_then_is_marked_paid_with_its_address(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0000010-0000010", status="Pending", items=[("A", 1, "10.00")]))

    first = sync(amazon)

    order = orders_of(amazon)["202-0000010-0000010"]
    assert first.imported == 1
    assert order.payment_status is PaymentStatus.PENDING and order.segment is Segment.AWAITING_PAYMENT
    assert order.ship_to is None  # Amazon shows no address before payment

    amazon_fake.add(amazon_order("202-0000010-0000010", status="Unshipped", updated="2026-11-01T12:00:00Z",
                                 items=[("A", 1, "10.00")]))
    second = sync(amazon)

    orders = orders_of(amazon)
    assert len(orders) == 1 and second.duplicates == 1 and second.imported == 0 and second.updated == 1
    order = orders["202-0000010-0000010"]
    assert order.payment_status is PaymentStatus.PAID and order.segment is Segment.READY_TO_SHIP
    assert order.ship_to["city"] == "Leeds"
    assert shop.stock("A") == (5, 1)
    assert "paid" in shop.event_kinds(order.id)
    assert check_invariants() == []


def test_an_order_cancelled_on_amazon_after_import_is_left_as_it_is_and_reported(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0000015-0000015", items=[("A", 2, "20.00")]))
    sync(amazon)
    amazon_fake.add(amazon_order("202-0000015-0000015", status="Canceled", updated="2026-11-01T12:00:00Z",
                                 items=[("A", 2, "20.00")]))

    run = sync(amazon)

    order = orders_of(amazon)["202-0000015-0000015"]
    assert run.status == "ok" and run.skipped == 1 and run.updated == 1
    assert run.errors == [f"202-0000015-0000015: Cancelled on Amazon UK after it was imported as {order.number}; "
                          f"void it here unless it has shipped"]
    assert order.status is OrderStatus.FINALIZED and shop.stock("A") == (5, 2)
    assert shop.event_kinds(order.id).count("channel_cancelled") == 1  # the order's page warns not to ship it
    assert check_invariants() == []


def test_an_unknown_amazon_sku_holds_the_order_under_needs_attention(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0000020-0000020", items=[("A", 1, "10.00"), ("NO-SUCH-SKU", 1, "4.00")]))

    run = sync(amazon)

    order = orders_of(amazon)["202-0000020-0000020"]
    assert (run.imported, run.held) == (0, 1)
    assert order.segment is Segment.NEEDS_ATTENTION and "NO-SUCH-SKU" in order.hold_reason
    assert [(l.sku, l.product_id is None, l.allocated) for l in order.lines] == [("A", False, 0), ("NO-SUCH-SKU", True, 0)]
    assert shop.stock("A") == (5, 0)
    assert check_invariants() == []


def test_amazon_orders_and_their_items_are_pulled_across_every_page(shop, amazon, amazon_fake):
    shop.product("A", in_hand=100)
    shop.product("B", in_hand=100)
    amazon_fake.page_size = 2
    amazon_fake.items_page_size = 1
    amazon_fake.add(*[amazon_order(f"202-00000{n:02d}-0000000", updated=f"2026-11-0{n}T10:00:00Z",
                                   items=[("A", 1, "10.00"), ("B", 2, "30.00"), ("A", 1, "11.00")])
                      for n in range(1, 6)])
    seen = []

    run = sync_channel(amazon.id, sleep=lambda s: None, progress=lambda done, total: seen.append((done, total)))

    orders = orders_of(amazon)
    assert run.imported == 5 and len(orders) == 5
    assert all(len(order.lines) == 3 for order in orders.values())
    assert [c[2].get("NextToken") for c in amazon_fake.api_calls("/orders/v0/orders") if "/orderItems" not in c[1]] == [
        None, ["2|2026-10-01T00:00:00Z"], ["4|2026-10-01T00:00:00Z"]]
    assert seen == [(2, None), (4, None), (5, None)]
    assert shop.stock("A") == (100, 10) and shop.stock("B") == (100, 10)
    assert check_invariants() == []


def test_a_throttled_amazon_get_orders_waits_a_minute_for_its_bucket_to_refill(shop, amazon, amazon_fake):
    """getOrders refills one request a minute: retrying sooner, however often, is throttled again."""
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0000032-0000032"))
    amazon_fake.throttle_next = 1
    amazon_fake.retry_after = None  # Amazon sends no Retry-After
    pauses: list[float] = []

    run = sync(amazon, pauses)

    assert run.status == "ok" and run.imported == 1
    assert len(pauses) == 1 and 59 <= pauses[0] <= 120


def test_a_throttled_amazon_call_is_retried_after_the_pause_amazon_asks_for(shop, amazon, amazon_fake):
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0000030-0000030"))
    amazon_fake.throttle_next = 2
    amazon_fake.retry_after = "3"
    pauses: list[float] = []

    run = sync(amazon, pauses)

    assert run.status == "ok" and run.imported == 1
    assert len(pauses) == 2 and all(3 <= pause <= 60 for pause in pauses)
    assert check_invariants() == []


def test_amazon_throttling_that_never_ends_fails_the_run_after_bounded_retries(shop, amazon, amazon_fake):
    amazon_fake.add(amazon_order("202-0000031-0000031"))
    amazon_fake.throttle_next = 1_000
    amazon_fake.retry_after = None
    pauses: list[float] = []

    run = sync(amazon, pauses)

    assert run.status == "failed" and "429" in run.errors[0]
    assert len(pauses) == 5
    assert pauses == sorted(pauses) or max(pauses) <= 60  # growing, jittered, capped
    assert cursor_of(amazon) == "2026-10-01T00:00:00Z"
    assert orders_of(amazon) == {}
    assert check_invariants() == []


def test_an_expired_amazon_token_is_refreshed_and_the_call_repeated(shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    amazon_fake.token_life_calls = 2
    amazon_fake.page_size = 1
    amazon_fake.add(*[amazon_order(f"202-000004{n}-0000040", updated=f"2026-11-0{n}T10:00:00Z") for n in range(1, 4)])

    run = sync(amazon)

    assert run.status == "ok" and run.imported == 3
    # 6 calls (3 pages, 3 item lists) on tokens good for 2 each: the client refreshed as they expired.
    assert len(amazon_fake.token_requests) == 3
    assert all(request == {"grant_type": "refresh_token", "refresh_token": "Atzr|refresh-token",
                           "client_id": "amzn1.application-oa2-client.test", "client_secret": "amazon-secret"}
               for request in amazon_fake.token_requests)
    assert check_invariants() == []


def test_wrong_amazon_credentials_fail_the_run_with_amazons_words(shop, amazon, amazon_fake):
    channel = db.session.get(SalesChannel, amazon.id)
    channel.settings = {**channel.settings, "credentials": {**channel.settings["credentials"], "client_secret": "wrong"}}
    db.session.commit()

    run = sync(amazon)

    assert run.status == "failed"
    assert "invalid_client" in run.errors[0]
    assert cursor_of(amazon) == "2026-10-01T00:00:00Z"
    assert check_invariants() == []


def test_two_overlapping_syncs_import_each_order_once_and_commit_its_stock_once(app, shop, amazon, amazon_fake):
    shop.product("A", in_hand=50)
    amazon_fake.page_size = 2
    amazon_fake.delay_s = 0.1  # every call takes a while, so the runs overlap
    amazon_fake.add(*[amazon_order(f"202-00005{n:02d}-0000050", updated=f"2026-11-01T10:{n:02d}:00Z",
                                   items=[("A", 2, "20.00")]) for n in range(8)])
    outcomes: list[str] = []
    start = threading.Barrier(2)
    channel_id = amazon.id  # read here: the fixture's object belongs to this thread's session

    def run_one() -> None:
        with app.app_context():
            try:
                start.wait()
                outcomes.append(sync_channel(channel_id, sleep=lambda s: None).status)
            except SyncAlreadyRunning:
                outcomes.append("already running")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sorted(outcomes) == ["already running", "ok"]
    orders = orders_of(amazon)
    assert len(orders) == 8
    assert shop.stock("A") == (50, 16)
    allocations = [m for m in shop.ledger("A") if m.reason == "allocate"]
    assert len(allocations) == 8 and sum(m.committed_delta for m in allocations) == 16
    assert check_invariants() == []


def test_a_sync_is_refused_while_another_run_holds_the_channel_and_runs_once_the_hold_lapses(shop, amazon, amazon_fake):
    amazon_fake.add(amazon_order("202-0000060-0000060"))
    shop.product("A", in_hand=1)
    channel = db.session.get(SalesChannel, amazon.id)
    channel.sync_locked_until = utcnow() + timedelta(minutes=5)
    db.session.commit()

    with pytest.raises(SyncAlreadyRunning, match="already being synced"):
        sync_channel(amazon.id, sleep=lambda s: None)
    assert orders_of(amazon) == {}

    channel = db.session.get(SalesChannel, amazon.id)
    channel.sync_locked_until = utcnow() - timedelta(seconds=1)  # a crashed run's hold has lapsed
    db.session.commit()
    run = sync(amazon)

    assert run.status == "ok" and run.imported == 1
    assert db.session.get(SalesChannel, amazon.id).sync_locked_until is None  # let go at the end
    assert check_invariants() == []


def test_a_long_sync_renews_its_hold_on_the_channel_and_lets_go_at_the_end(shop, amazon, amazon_fake, monkeypatch):
    shop.product("A", in_hand=5)
    monkeypatch.setattr(sync_module, "LOCK_FOR", timedelta(seconds=2))
    amazon_fake.page_size = 1
    amazon_fake.delay_s = 0.6  # a page and its items take longer than half the hold
    amazon_fake.add(*[amazon_order(f"202-000009{n}-0000090", updated=f"2026-11-0{n}T10:00:00Z") for n in range(1, 4)])
    renewed = []
    keep = sync_module._keep_channel

    def watched(channel_id, hold):
        kept = keep(channel_id, hold)
        renewed.append(kept > hold)
        return kept

    monkeypatch.setattr(sync_module, "_keep_channel", watched)

    run = sync(amazon)

    assert run.status == "ok" and run.imported == 3
    assert any(renewed)
    assert db.session.get(SalesChannel, amazon.id).sync_locked_until is None
    assert check_invariants() == []


def test_the_cursor_advances_only_after_a_whole_pull_succeeds(shop, amazon, amazon_fake):
    shop.product("A", in_hand=10)
    amazon_fake.page_size = 1
    amazon_fake.add(amazon_order("202-0000071-0000071", updated="2026-11-02T10:00:00Z"),
                    amazon_order("202-0000072-0000072", updated="2026-11-03T10:00:00Z"))
    amazon_fake.fail_next = 10  # the second page keeps failing: more than the client retries
    amazon_fake.failure = 500
    amazon_fake.fail_paths = ("/orders/v0/orders/202-0000072",)

    failed = sync(amazon)

    assert failed.status == "failed" and failed.cursor_after is None
    assert cursor_of(amazon) == "2026-10-01T00:00:00Z"
    assert list(orders_of(amazon)) == ["202-0000071-0000071"]  # what came in before the failure stays

    amazon_fake.fail_next = 0
    good = sync(amazon)

    assert good.status == "ok" and (good.imported, good.duplicates) == (1, 1)
    assert good.cursor_before == "2026-10-01T00:00:00Z" and good.cursor_after == "2026-11-03T10:00:00Z"
    assert cursor_of(amazon) == "2026-11-03T10:00:00Z"

    amazon_fake.calls.clear()
    quiet = sync(amazon)
    assert quiet.imported == 0 and cursor_of(amazon) == "2026-11-03T10:00:00Z"
    assert amazon_fake.api_calls("/orders/v0/orders")[0][2]["LastUpdatedAfter"] == ["2026-11-03T10:00:00Z"]
    assert check_invariants() == []


def _shipped_amazon_order(shop, amazon, amazon_fake) -> int:
    shop.product("A", in_hand=5)
    amazon_fake.add(amazon_order("202-0000080-0000080", items=[("A", 2, "20.00")]))
    sync(amazon)
    order = orders_of(amazon)["202-0000080-0000080"]
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 2})
    shipping.mark_shipped(shop.staff, shipment.id, "Royal Mail", "RM123456789GB")
    return shipment.id


def test_a_failing_amazon_confirmation_is_retried_later_and_then_marked_sent(shop, amazon, amazon_fake):
    shipment_id = _shipped_amazon_order(shop, amazon, amazon_fake)
    amazon_fake.fail_next = 100
    amazon_fake.fail_paths = ("/shipmentConfirmation",)

    run = sync(amazon)

    confirmation = db.session.scalar(sa.select(ShipmentConfirmation).where(ShipmentConfirmation.shipment_id == shipment_id))
    assert run.status == "ok" and any("will retry" in error for error in run.errors)
    assert (confirmation.status, confirmation.attempts) == ("pending", 1)
    assert "503" in confirmation.last_error
    assert confirmation.next_attempt_at > utcnow()
    assert amazon_fake.confirmations == []

    amazon_fake.fail_next = 0
    db.session.rollback()
    assert send_due_confirmations(amazon.id, sleep=lambda s: None).sent == 0  # not due yet

    later = send_due_confirmations(amazon.id, now=utcnow() + timedelta(minutes=2), sleep=lambda s: None)

    db.session.rollback()
    confirmation = db.session.get(ShipmentConfirmation, confirmation.id)
    assert later.sent == 1
    assert (confirmation.status, confirmation.attempts, confirmation.last_error) == ("sent", 2, None)
    assert confirmation.sent_at is not None
    ((order_id, body),) = amazon_fake.confirmations
    assert order_id == "202-0000080-0000080"
    assert body["marketplaceId"] == "A1F83G8C2ARO7P"
    detail = body["packageDetail"]
    assert (detail["carrierCode"], detail["trackingNumber"], detail["packageReferenceId"]) == (
        "Royal Mail", "RM123456789GB", str(shipment_id))
    assert detail["orderItems"] == [{"orderItemId": "000008000", "quantity": 2}]
    assert detail["shipDate"].endswith("Z")
    assert check_invariants() == []


def test_an_amazon_confirmation_refused_for_good_is_marked_failed_for_a_person(shop, amazon, amazon_fake):
    shipment_id = _shipped_amazon_order(shop, amazon, amazon_fake)
    amazon_fake.confirmation_status = 400

    sync(amazon)

    confirmation = db.session.scalar(sa.select(ShipmentConfirmation).where(ShipmentConfirmation.shipment_id == shipment_id))
    assert (confirmation.status, confirmation.attempts) == ("failed", 1)
    assert "not in a shippable state" in confirmation.last_error
    assert check_invariants() == []


# ------------------------------------------------------------------------------------------ eBay

def test_an_ebay_sync_pages_by_offset_and_maps_payment_cancellation_and_address(shop, ebay, ebay_fake):
    shop.product("A", in_hand=20)
    shop.product("B", in_hand=20)
    ebay_fake.page_size = 2
    ebay_fake.add(
        ebay_order("11-00001-00001", items=[("A", 3, "30.00")], modified="2026-11-01T10:00:00.000Z"),
        ebay_order("11-00002-00002", payment="PENDING", items=[("B", 1, "7.25")], modified="2026-11-02T10:00:00.000Z"),
        ebay_order("11-00003-00003", cancel="CANCELED", modified="2026-11-03T10:00:00.000Z"),
        ebay_order("11-00004-00004", fulfillment="FULFILLED", modified="2026-11-04T10:00:00.000Z"),
        ebay_order("11-00005-00005", items=[("A", 1, "10.00"), ("B", 2, "15.00")], modified="2026-11-05T10:00:00.000Z"))

    run = sync(ebay)

    assert (run.status, run.imported, run.skipped) == ("ok", 3, 2)
    assert run.cursor_after == "2026-11-05T10:00:00.000Z" and cursor_of(ebay) == "2026-11-05T10:00:00.000Z"
    # The filter went out with its brackets percent-encoded; the second and third pages by `next`.
    first_query = ebay_fake.raw_queries[0]
    assert "filter=lastmodifieddate:%5B2026-10-01T00:00:00.000Z..%5D" in first_query and "limit=200" in first_query
    assert [call[2].get("offset") for call in ebay_fake.api_calls("/sell/fulfillment/v1/order")] == [["0"], ["2"], ["4"]]
    orders = orders_of(ebay)
    paid, pending, two_lines = orders["11-00001-00001"], orders["11-00002-00002"], orders["11-00005-00005"]
    assert [(l.sku, l.ordered, l.unit_price_cents, l.channel_line_id) for l in paid.lines] == [("A", 3, 1000, "00001000")]
    assert paid.shipping_cents == 350 and paid.currency == "USD" and paid.payment_status is PaymentStatus.PAID
    assert paid.ship_to == {"name": "Sam Seller-Buyer", "line1": "350 Market St", "line2": "Suite 5",
                            "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US",
                            "phone": "+1 415 555 0100"}
    assert pending.segment is Segment.AWAITING_PAYMENT
    assert [(l.sku, l.unit_price_cents) for l in two_lines.lines] == [("A", 1000), ("B", 750)]
    assert shop.stock("A") == (20, 4) and shop.stock("B") == (20, 3)
    assert check_invariants() == []


def test_a_throttled_ebay_page_is_fetched_again_after_a_pause_and_nothing_is_doubled(shop, ebay, ebay_fake):
    shop.product("A", in_hand=5)
    ebay_fake.page_size = 1
    ebay_fake.add(ebay_order("11-00020-00020", modified="2026-11-01T10:00:00.000Z"),
                  ebay_order("11-00021-00021", modified="2026-11-02T10:00:00.000Z"))
    ebay_fake.throttle_next = 2
    ebay_fake.retry_after = "2"
    pauses: list[float] = []

    run = sync(ebay, pauses)

    assert run.status == "ok" and run.imported == 2 and len(pauses) == 2 and all(2 <= p <= 60 for p in pauses)
    assert sorted(orders_of(ebay)) == ["11-00020-00020", "11-00021-00021"] and shop.stock("A") == (5, 2)
    assert check_invariants() == []


def test_an_expired_ebay_token_is_refreshed_with_basic_auth_and_the_refresh_token(shop, ebay, ebay_fake):
    shop.product("A", in_hand=5)
    ebay_fake.token_life_calls = 1
    ebay_fake.page_size = 1
    ebay_fake.add(ebay_order("11-00010-00010", modified="2026-11-01T10:00:00.000Z"),
                  ebay_order("11-00011-00011", modified="2026-11-02T10:00:00.000Z"))

    run = sync(ebay)

    assert run.status == "ok" and run.imported == 2
    assert len(ebay_fake.token_requests) == 2
    request = ebay_fake.token_requests[0]
    assert request["authorization"].startswith("Basic ") and request["grant_type"] == "refresh_token"
    assert request["refresh_token"] == "v^1.1#i^1#refresh"
    assert request["scope"] == "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
    assert check_invariants() == []


SELLER_HUB_CSV = """"Order Number","Buyer Name","Ship To Name","Ship To Address 1","Ship To City","Ship To Zip","Ship To Country","Item Number","Item Title","Custom Label","Quantity","Sold For","Paid On Date","Tracking Number","Transaction ID"
"12-11111-11111","Ann","Ann","1 George St","Sydney","2000","Australia","110000000000","Big thing","A","1","$10.00","Nov-01-26","","2000000001"
"12-11111-11111","Ann","Ann","1 George St","Sydney","2000","Australia","999999999999","Small thing","B","2","$5.00","Nov-01-26","","2000000002"
"12-22222-22222","Bo","Bo","9 High St","Boston","02110","United States","110000000000","Big thing","A","1","$10.00","Nov-01-26","","2000000003"
"""


def test_an_order_from_the_seller_hub_csv_is_confirmed_with_the_line_item_ids_ebay_gives_its_lines(
        shop, ebay, ebay_fake):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    reports.import_file(ebay, reports.EBAY_ORDERS, SELLER_HUB_CSV.encode())
    # eBay's copy: line 0 has the CSV's item number; line 1 another item number but the same SKU as ours.
    ebay_fake.add(ebay_order("12-11111-11111", items=[("A", 1, "10.00"), ("B", 2, "10.00")]))
    order = orders_of(ebay)["12-11111-11111"]
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: line.ordered for line in order.lines})
    shipping.mark_shipped(shop.staff, shipment.id, "USPS", "9400100000000000000001")

    run = sync(ebay)

    db.session.rollback()
    assert run.status == "ok"
    ((order_id, body),) = ebay_fake.fulfillments
    assert order_id == "12-11111-11111"
    assert body["lineItems"] == [{"lineItemId": "11111000", "quantity": 1}, {"lineItemId": "11111001", "quantity": 2}]
    assert check_invariants() == []


def test_a_csv_order_that_ebay_does_not_know_is_not_confirmed_and_says_so(shop, ebay, ebay_fake):
    shop.product("A", in_hand=5)
    shop.product("B", in_hand=5)
    reports.import_file(ebay, reports.EBAY_ORDERS, SELLER_HUB_CSV.encode())
    order = orders_of(ebay)["12-22222-22222"]
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    shipping.mark_shipped(shop.staff, shipment.id, "USPS", "9400100000000000000002")

    run = sync(ebay)

    db.session.rollback()
    confirmation = db.session.scalar(sa.select(ShipmentConfirmation).where(ShipmentConfirmation.shipment_id == shipment.id))
    assert ebay_fake.fulfillments == []
    assert confirmation.status == "failed" and "eBay does not know order 12-22222-22222" in confirmation.last_error
    assert any("12-22222-22222" in error for error in run.errors)


def test_an_ebay_shipment_is_confirmed_as_a_shipping_fulfillment_whose_id_is_kept(shop, ebay, ebay_fake):
    shop.product("A", in_hand=5)
    ebay_fake.add(ebay_order("11-00020-00020", items=[("A", 2, "20.00")]))
    sync(ebay)
    order = orders_of(ebay)["11-00020-00020"]
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    shipping.mark_shipped(shop.staff, shipment.id, "USPS", "9400100000000000000000")
    ebay_fake.fail_next = 1
    ebay_fake.failure = 502
    ebay_fake.fail_paths = ("/shipping_fulfillment",)

    run = sync(ebay)  # the 502 is retried within the call

    db.session.rollback()
    confirmation = db.session.scalar(sa.select(ShipmentConfirmation).where(ShipmentConfirmation.shipment_id == shipment.id))
    assert run.status == "ok"
    assert (confirmation.status, confirmation.remote_id) == ("sent", "FUL0001")
    ((order_id, body),) = ebay_fake.fulfillments
    assert order_id == "11-00020-00020"
    assert body["lineItems"] == [{"lineItemId": "00020000", "quantity": 1}]
    assert (body["shippingCarrierCode"], body["trackingNumber"]) == ("USPS", "9400100000000000000000")
    assert body["shippedDate"].endswith("Z") and len(body["shippedDate"]) == 24
    assert check_invariants() == []


def _in_currency(order: dict, code: str) -> dict:
    """The order with every amount in `code`, as a marketplace would send it."""
    def recode(value):
        if isinstance(value, dict):
            return {k: (code if k in ("CurrencyCode", "currency") else recode(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [recode(v) for v in value]
        return value
    return recode(order)


@pytest.mark.parametrize("code", ["EURO", "US Dollars", "KWD"])
def test_a_pulled_order_in_no_iso_currency_stops_the_pull_and_is_never_cut_to_three_letters(
        shop, amazon, amazon_fake, ebay, ebay_fake, code):
    """Cut to three letters, "EURO" was imported as EUR and "US Dollars" as "US ". Like any order that
    cannot be read, it stops the run before the cursor passes it: pulled again once the channel mends it."""
    shop.product("A", in_hand=10)
    amazon_fake.add(_in_currency(amazon_order("202-0000081-0000081"), code))
    ebay_fake.add(_in_currency(ebay_order("11-00081-00081"), code))
    before = shop.snapshot()

    for channel, cursor in ((amazon, "2026-10-01T00:00:00Z"), (ebay, "2026-10-01T00:00:00.000Z")):
        run = sync(channel)

        assert run.status == "failed" and run.imported == 0 and run.cursor_after is None
        assert code.upper()[:10] in run.errors[0] and cursor_of(channel) == cursor
        assert orders_of(channel) == {}
    assert shop.snapshot() == before
