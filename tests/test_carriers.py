"""Labels bought from EasyPost (a fake on loopback with its documented shapes), tracking webhooks closing
the order, customer emails through a local SMTP sink, and the Carriers screen."""
from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from oms_web import tasks
from oms_web.carriers.easypost import signature
from oms_web.documents.render import labels_pdf
from oms_web.domain import bulk_shipping, labels, shipping
from oms_web.domain.errors import CarrierFailed, InvalidInput
from oms_web.extensions import db
from oms_web.models import (CarrierAccount, CustomerEmail, Job, LabelPurchase, OrderStatus, Segment,
                            Shipment, ShipmentStatus)
from tests.helpers.easypost_fake import API_KEY, FakeEasyPost
from tests.helpers.mail_sink import smtp_sink
from tests.helpers.signing_in import page_token, signed_in

SECRET = "whsec-test-secret"


@pytest.fixture
def fake():
    server = FakeEasyPost()
    yield server
    server.close()


@pytest.fixture
def carrier(app, shop, fake):
    """An EasyPost account on the fake; the web store channel buys the cheapest rate and emails."""
    db.session.add(CarrierAccount(service="easypost", api_key=API_KEY, webhook_secret=SECRET, base_url=fake.url,
                                  label_format="PDF"))
    shop.web.rate_rule = "cheapest"
    shop.web.ship_email = shop.web.delivered_email = True
    db.session.commit()
    app.config["OMS_CARRIER_TIMEOUT_SECONDS"] = 2
    return fake


def _order(shop, units: int = 2):
    product = shop.product("MUG", in_hand=10)
    product.weight_grams, product.length_mm, product.width_mm, product.height_mm = 350, 120, 100, 100
    db.session.commit()
    return shop.web_order(("MUG", units))


def _lines(order):
    return {line.id: line.to_ship for line in order.lines}


def test_packing_buys_the_cheapest_label_and_prints_the_carriers_own_page(shop, carrier):
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order))
    purchase = db.session.scalar(sa.select(LabelPurchase))
    assert (shipment.carrier, shipment.service_level) == ("USPS", "Ground")  # 5.20, the cheapest
    assert shipment.tracking_number == purchase.tracking_code and purchase.status == "recorded"
    assert purchase.rate_cents == 520 and purchase.tracker_id.startswith("trk_")
    sent = next(b for m, p, b in carrier.requests if p == "/v2/shipments")["shipment"]
    assert sent["parcel"]["weight"] == pytest.approx(24.7, abs=0.1)  # 700 g in ounces
    assert sent["to_address"]["zip"] == "SW1Y 4JH" and sent["options"] == {"label_format": "PDF"}
    assert ("POST", f"/v2/shipments/{purchase.remote_id}/buy", {"rate": {"id": purchase.rate_id}}) in carrier.requests
    import io

    from pypdf import PdfReader
    pages = PdfReader(io.BytesIO(labels_pdf([db.session.get(Shipment, shipment.id)]))).pages
    assert len(pages) == 1 and (pages[0].mediabox.width, pages[0].mediabox.height) == (288, 432)
    assert not pages[0].extract_text()  # the carrier's own (blank, in the fake) page, not ours
    assert "label_bought" in {e.kind for e in _fresh(shop, order.id).events}


def test_a_carrier_refusal_is_a_clear_message_and_changes_nothing(shop, carrier):
    order = _order(shop)
    carrier.fail_next.extend([(200, "")] * 0)
    carrier.bad_addresses.add("12 St James's Sq")
    error = shop.refused(CarrierFailed, labels.pack, shop.staff, order.id, _lines(order))
    assert "Address not found" in error.message
    carrier.bad_addresses.clear()
    # the address passes; the purchase itself is refused
    real_route = carrier._route

    def refuse_buy(method, parts, body):
        if parts[-1:] == ["buy"]:
            return 422, {"error": {"code": "SHIPMENT.POSTAGE.FAILURE", "message": "Insufficient funds", "errors": []}}
        return real_route(method, parts, body)

    carrier._route = refuse_buy
    error = shop.refused(CarrierFailed, labels.pack, shop.staff, order.id, _lines(order))
    assert "Insufficient funds" in error.message
    assert db.session.scalar(sa.select(LabelPurchase.status)) == "failed"


def test_a_purchase_whose_answer_is_lost_is_found_again_and_recorded_once(shop, carrier):
    order = _order(shop)
    carrier.lose_next_buy = True  # bought at the service; the answer never comes (timeout)
    shipment = labels.pack(shop.staff, order.id, _lines(order))
    assert shipment.tracking_number and db.session.scalar(sa.select(sa.func.count()).select_from(Shipment)) == 1
    assert sum(1 for m, p, _ in carrier.requests if p.endswith("/buy")) == 1


def test_reconcile_records_a_label_bought_before_a_crash_and_fails_one_never_bought(shop, carrier):
    order = _order(shop)
    svc = labels.label_service()
    quoted, rate = labels.quote(order.id, _lines(order))
    purchase_id = labels._intend(shop.staff, order.id, "easypost", quoted.remote_id, rate, _lines(order),
                                 {"weight_grams": 700})
    svc.buy(quoted.remote_id, rate)  # ... and the process died before recording it
    other = _order_two(shop)
    quoted2, rate2 = labels.quote(other.id, _lines(other))
    labels._intend(shop.staff, other.id, "easypost", quoted2.remote_id, rate2, _lines(other), {"weight_grams": 700})
    later = db.session.scalar(sa.select(LabelPurchase.updated_at).where(LabelPurchase.id == purchase_id)) \
        + labels.UNANSWERED * 2
    db.session.rollback()
    counts = labels.reconcile(now=later)
    assert counts["recorded"] == 1 and counts["failed"] == 1
    assert _fresh(shop, order.id).segment is Segment.PACKED
    assert labels.reconcile(now=later)["recorded"] == 0  # nothing twice


def _order_two(shop):
    return shop.web_order(("MUG", 1))


def test_cancelling_a_packed_parcel_requests_its_labels_refund(shop, carrier):
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order))
    labels.cancel(shop.staff, shipment.id)
    purchase = db.session.scalar(sa.select(LabelPurchase))
    db.session.refresh(purchase)
    assert purchase.refund_status == "submitted"
    assert carrier.shipments[purchase.remote_id]["refund_status"] == "submitted"
    assert "label_refund" in {e.kind for e in _fresh(shop, order.id).events}


def test_a_manual_channel_keeps_its_own_label_and_asks_no_service(shop, carrier):
    shop.web.rate_rule = "manual"
    db.session.commit()
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order), carrier="Royal Mail", tracking_number="RM1")
    assert shipment.carrier == "Royal Mail" and carrier.requests == []


# ---------------------------------------------------------------- tracking webhooks

def _fresh(shop, order_id):
    db.session.rollback()
    return shop.order_row(order_id)


def _status(shipment_id):
    db.session.rollback()
    return db.session.get(Shipment, shipment_id).status


def _post(client, body, headers):
    return client.post("/webhooks/easypost", data=body, headers=headers)


def _packed(shop, carrier):
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order))
    return order, shipment


def test_a_delivered_webhook_fulfils_the_order_without_a_click(app, shop, carrier):
    order, shipment = _packed(shop, carrier)
    client = app.test_client()
    body, headers = carrier.event(shipment.tracking_number, "in_transit", SECRET, "Arrived at facility")
    assert _post(client, body, headers).json["result"] == "applied"
    assert _status(shipment.id) is ShipmentStatus.IN_TRANSIT
    body, headers = carrier.event(shipment.tracking_number, "delivered", SECRET, "Delivered, front door")
    assert _post(client, body, headers).json["result"] == "applied"
    assert _post(client, body, headers).json["result"] == "unchanged"  # the same event again
    stale_order, _ = carrier.event(shipment.tracking_number, "in_transit", SECRET, "late scan")
    assert _post(client, stale_order, {"X-Hmac-Signature": signature(SECRET, stale_order)}).json["result"] == "unchanged"
    order = _fresh(shop, order.id)
    assert order.status is OrderStatus.FULFILLED and order.segment is Segment.FULFILLED
    assert _status(shipment.id) is ShipmentStatus.DELIVERED


@pytest.mark.parametrize("how", ["missing", "wrong", "other secret", "stale", "future"])
def test_a_webhook_with_a_bad_missing_or_stale_signature_is_refused_and_writes_nothing(app, shop, carrier, how):
    order, shipment = _packed(shop, carrier)
    created = {"stale": "2020-01-01T00:00:00Z", "future": "2099-01-01T00:00:00Z"}.get(how)
    body, headers = carrier.event(shipment.tracking_number, "delivered", SECRET, created_at=created)
    if how == "missing":
        headers.pop("X-Hmac-Signature")
    elif how == "wrong":
        headers["X-Hmac-Signature"] = "hmac-sha256-hex=" + "0" * 64
    elif how == "other secret":
        headers["X-Hmac-Signature"] = signature("not-the-secret", body)
    before = shop.snapshot()
    assert _post(app.test_client(), body, headers).status_code == 401
    assert shop.snapshot() == before


def test_a_carrier_exception_puts_the_order_under_needs_attention_with_its_message(app, shop, carrier):
    order, shipment = _packed(shop, carrier)
    client = app.test_client()
    _post(client, *carrier.event(shipment.tracking_number, "in_transit", SECRET))
    _post(client, *carrier.event(shipment.tracking_number, "failure", SECRET, "Address undeliverable"))
    order = _fresh(shop, order.id)
    assert order.segment is Segment.NEEDS_ATTENTION and "Address undeliverable" in order.hold_reason
    assert _status(shipment.id) is ShipmentStatus.EXCEPTION
    _post(client, *carrier.event(shipment.tracking_number, "delivered", SECRET, "Delivered after all"))
    assert _fresh(shop, order.id).status is OrderStatus.FULFILLED


def test_polling_moves_parcels_where_webhooks_cannot_reach(shop, carrier):
    order, shipment = _packed(shop, carrier)
    carrier.set_tracker(shipment.tracking_number, "out_for_delivery", "On the van")
    from oms_web.domain import tracking
    assert tracking.poll_trackers() == 1
    assert _status(shipment.id) is ShipmentStatus.OUT_FOR_DELIVERY


# ---------------------------------------------------------------- customer emails

@pytest.fixture
def sink(app):
    with smtp_sink() as kept:
        app.config.update(OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=kept.port)
        yield kept


def _run_email_jobs():
    db.session.rollback()
    for job_id in db.session.scalars(sa.select(Job.id).where(Job.kind == "customer_email", Job.status == "queued")).all():
        db.session.rollback()
        try:
            tasks.run_job(job_id)
        except tasks._RetryLater:  # the queue would run it again after its back-off
            pass
    db.session.rollback()


def test_the_customer_gets_a_shipping_email_with_tracking_and_a_delivered_email(app, shop, carrier, sink):
    order, shipment = _packed(shop, carrier)
    client = app.test_client()
    _post(client, *carrier.event(shipment.tracking_number, "in_transit", SECRET))
    _post(client, *carrier.event(shipment.tracking_number, "delivered", SECRET))
    _run_email_jobs()
    assert [m["Subject"] for m in sink.messages] == [f"Your order {order.number} is on its way",
                                                     f"Your order {order.number} has been delivered"]
    first = sink.messages[0]
    assert first["To"] == "ada@example.com"
    text = first.get_payload()[0].get_payload(decode=True).decode()
    assert shipment.tracking_number in text and "https://track.easypost.com/" in text
    assert {"email_sent"} <= {e.kind for e in _fresh(shop, order.id).events}


def test_a_failing_mail_server_is_retried_and_shown_on_the_timeline(app, shop, carrier):
    app.config.update(OMS_SMTP_HOST="127.0.0.1", OMS_SMTP_PORT=1)  # nobody listens
    order, shipment = _packed(shop, carrier)
    shipping.mark_shipped(shop.staff, shipment.id)
    _run_email_jobs()
    email = db.session.scalar(sa.select(CustomerEmail))
    assert email.status == "pending" and email.attempts == 1
    assert "email_failed" in {e.kind for e in _fresh(shop, order.id).events}


def test_a_channel_with_emails_off_sends_none(shop, carrier):
    shop.web.ship_email = False
    db.session.commit()
    order, shipment = _packed(shop, carrier)
    shipping.mark_shipped(shop.staff, shipment.id)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CustomerEmail)) == 0


# ---------------------------------------------------------------- bulk and the screen

def test_bulk_create_shipments_buys_every_label_in_parallel(shop, carrier):
    product = shop.product("MUG", in_hand=50)
    product.weight_grams = 300
    db.session.commit()
    orders = [shop.web_order(("MUG", 1)) for _ in range(6)]
    result = bulk_shipping.create_shipments(shop.staff, [o.id for o in orders])
    assert len(result.done) == 6 and not result.refused
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelPurchase)
                             .where(LabelPurchase.status == "recorded")) == 6


def test_the_carriers_screen_is_for_admins_and_shows_keys_masked(app, shop, carrier):
    staff = signed_in(app, shop.staff)
    assert staff.get("/carriers").status_code == 403
    admin = signed_in(app, shop.admin)
    page = admin.get("/carriers").get_data(as_text=True)
    assert API_KEY not in page and SECRET not in page and "••••" in page
    token = page_token(admin, "/carriers")
    bad = admin.post("/carriers/account", data={"csrf_token": token, "base_url": "ftp://x", "label_format": "PDF"})
    assert bad.status_code == 422 and "https://" in bad.get_data(as_text=True)
    bad = admin.post(f"/carriers/channels/{shop.web.id}", data={"csrf_token": token, "rate_rule": "cheapest_within",
                                                               "rate_days": "99"})
    assert bad.status_code == 422
    ok = admin.post(f"/carriers/channels/{shop.web.id}", data={"csrf_token": token, "rate_rule": "cheapest_within",
                                                              "rate_days": "2", "ship_email": "1"})
    assert ok.status_code == 200
    db.session.rollback()
    db.session.refresh(shop.web)
    assert (shop.web.rate_rule, shop.web.rate_days) == ("cheapest_within", 2)
    preset = admin.post("/carriers/presets", data={"csrf_token": token, "name": "Small box", "length_mm": "200",
                                                   "width_mm": "150", "height_mm": "100", "tare_grams": "90"})
    assert preset.status_code == 200 and "Small box" in preset.get_data(as_text=True)


def test_the_order_page_ships_through_the_label_service_and_shows_the_label(app, shop, carrier):
    order = _order(shop)
    client = signed_in(app, shop.staff)
    token = page_token(client, f"/orders/{order.id}")
    line = order.lines[0]
    page = client.post(f"/orders/{order.id}/ship", data={"csrf_token": token, f"ship-{line.id}": "2"},
                       follow_redirects=True)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Label bought: USPS Ground" in text
    carrier.fail_next.append((503, "down"))  # the next order's first call: the service is down
    other = shop.web_order(("MUG", 1))
    before = shop.snapshot()
    refused = client.post(f"/orders/{other.id}/ship", data={"csrf_token": token, f"ship-{other.lines[0].id}": "1"})
    assert refused.status_code in (409, 422, 502, 503) and "EasyPost" in refused.get_data(as_text=True)
    assert shop.snapshot() == before


def test_staff_get_the_rates_and_pick_another_than_the_rules(app, shop, carrier):
    order = _order(shop)
    client = signed_in(app, shop.staff)
    token = page_token(client, f"/orders/{order.id}")
    line = order.lines[0]
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Get rates" in page and "Buy label and pack" in page
    rates = client.post(f"/orders/{order.id}/rates", data={"csrf_token": token, f"ship-{line.id}": "2"},
                        headers={"HX-Request": "true", "X-CSRFToken": token})
    text = rates.get_data(as_text=True)
    assert rates.status_code == 200 and "UPS NextDayAir" in text
    quote_id = text.split('name="quote_id" value="')[1].split('"')[0]
    ups = next(r for r in carrier.shipments[quote_id]["rates"] if r["carrier"] == "UPS")
    assert f'value="{ups["id"]}" checked' not in text  # the rule ticks the cheapest, not UPS
    client.post(f"/orders/{order.id}/ship", data={"csrf_token": token, f"ship-{line.id}": "2", "quote_id": quote_id,
                                                  "rate_id": ups["id"]})
    shipment = _fresh(shop, order.id).shipments[0]
    assert (shipment.carrier, shipment.service_level) == ("UPS", "NextDayAir")
    # A rate of another quote, or a quote already used, is refused and changes nothing.
    other = shop.web_order(("MUG", 1))
    before = shop.snapshot()
    refused = client.post(f"/orders/{other.id}/ship", data={"csrf_token": token, f"ship-{other.lines[0].id}": "1",
                                                            "quote_id": quote_id, "rate_id": ups["id"]},
                          headers={"HX-Request": "true", "X-CSRFToken": token})
    assert refused.status_code == 422 and "get the rates again" in refused.get_data(as_text=True)
    assert shop.snapshot() == before


@pytest.mark.parametrize("rule, days, carrier_name, service, expected", [
    ("cheapest", None, None, None, ("USPS", "Ground")),
    ("cheapest_within", 2, None, None, ("USPS", "Priority")),
    ("cheapest_within", 1, None, None, ("UPS", "NextDayAir")),
    ("fixed", None, "FedEx", "FEDEX_GROUND", ("FedEx", "FEDEX_GROUND")),
])
def test_the_channels_rate_rule_picks_the_label(shop, carrier, rule, days, carrier_name, service, expected):
    shop.web.rate_rule, shop.web.rate_days = rule, days
    shop.web.default_carrier, shop.web.default_service = carrier_name, service
    db.session.commit()
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order))
    assert (shipment.carrier, shipment.service_level) == expected


def test_a_fixed_rule_no_carrier_offers_is_refused_before_anything_is_bought(shop, carrier):
    shop.web.rate_rule, shop.web.default_carrier = "fixed", "DHL"
    db.session.commit()
    order = _order(shop)
    shop.refused(InvalidInput, labels.pack, shop.staff, order.id, _lines(order), match="DHL")
    assert not any(p.endswith("/buy") for _, p, _ in carrier.requests)


def test_a_zpl_account_stores_the_zpl_label_for_the_thermal_printer(app, shop, carrier):
    db.session.execute(sa.update(CarrierAccount).values(label_format="ZPL"))
    db.session.commit()
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order))
    client = signed_in(app, shop.staff)
    zpl = client.get(f"/orders/{order.id}/shipments/{shipment.id}/label.zpl")
    assert zpl.status_code == 200 and zpl.data.startswith(b"^XA")
    assert client.get(f"/orders/{order.id}/shipments/{shipment.id}/label.pdf").status_code == 200  # ours, as PDF


def test_bulk_labels_and_slips_print_the_carriers_label_pages(shop, carrier):
    import io

    from pypdf import PdfReader

    from oms_web.documents.render import build_labels_and_slips
    product = shop.product("MUG", in_hand=50)
    product.weight_grams = 300
    db.session.commit()
    orders = [shop.web_order(("MUG", 1)) for _ in range(3)]
    result = bulk_shipping.create_shipments(shop.staff, [o.id for o in orders])
    printed = build_labels_and_slips([o.id for o in orders], result.shipment_ids)
    pages = PdfReader(io.BytesIO(printed.pdf)).pages
    assert len(pages) == 6  # label, slip, label, slip...
    assert [(p.mediabox.width, p.mediabox.height) for p in pages[::2]] == [(288, 432)] * 3


def test_the_scheduler_queues_one_carrier_sync_a_slot_which_polls_and_reconciles(shop, carrier):
    order, shipment = _packed(shop, carrier)
    carrier.set_tracker(shipment.tracking_number, "delivered", "Left with a neighbour")
    first, again = labels.queue_carrier_sync(), labels.queue_carrier_sync()
    assert first.id == again.id and first.kind == "carrier_sync"  # every worker's scheduler adds it once
    db.session.rollback()
    tasks.run_job(first.id)
    assert _fresh(shop, order.id).status is OrderStatus.FULFILLED


def test_no_carrier_account_means_no_sync_and_todays_own_label(shop, fake):
    assert labels.queue_carrier_sync() is None
    order = _order(shop)
    shipment = labels.pack(shop.staff, order.id, _lines(order), carrier="UPS")
    assert shipment.carrier == "UPS" and fake.requests == []


def test_a_webhook_for_a_tracker_we_do_not_know_or_another_event_changes_nothing(app, shop, carrier):
    order, shipment = _packed(shop, carrier)
    client = app.test_client()
    body = json.dumps({"object": "Event", "id": "evt_1", "description": "batch.updated", "created_at":
                       time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "result": {"object": "Batch"}}).encode()
    before = shop.snapshot()
    assert _post(client, body, {"X-Hmac-Signature": signature(SECRET, body)}).json["result"] == "ignored"
    body = json.dumps({"object": "Event", "id": "evt_2", "description": "tracker.updated", "created_at":
                       time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "result": {"object": "Tracker", "id": "trk_unknown", "tracking_code": "NOPE",
                                  "status": "delivered", "tracking_details": []}}).encode()
    assert _post(client, body, {"X-Hmac-Signature": signature(SECRET, body)}).json["result"] == "unchanged"
    bad = b'{"object": "Event", "description": 5, "created_at": "' + time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()).encode() + b'"}'
    assert _post(client, bad, {"X-Hmac-Signature": signature(SECRET, bad)}).status_code == 400
    assert shop.snapshot() == before


def test_bulk_create_shipments_from_the_board_buys_labels_on_the_task_queue(app, shop, carrier):
    product = shop.product("MUG", in_hand=50)
    product.weight_grams = 300
    db.session.commit()
    orders = [shop.web_order(("MUG", 1)) for _ in range(2)]
    client = signed_in(app, shop.staff)
    token = page_token(client, "/orders")
    started = client.post("/orders/bulk/shipping/create", data={"order_ids": [str(o.id) for o in orders]},
                          headers={"HX-Request": "true", "X-CSRFToken": token})
    assert started.status_code == 200 and "Waiting for a worker" in started.get_data(as_text=True)
    assert carrier.requests == []  # the request itself asked the carrier nothing
    db.session.rollback()
    job = db.session.scalar(sa.select(Job).where(Job.kind == "bulk_shipping"))
    tasks.run_job(job.id)  # what a worker does
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LabelPurchase)
                             .where(LabelPurchase.status == "recorded")) == 2


@pytest.mark.parametrize("quote_id, rate_id", [("../addresses", "rate_1"), ("shp_1", "rate 1"), ("shp_1", "x" * 81),
                                               ("shp_\x00", "rate_1")])
def test_a_forged_quote_or_rate_is_refused_before_the_carrier_is_asked(shop, carrier, quote_id, rate_id):
    order = _order(shop)
    shop.refused(InvalidInput, labels.pack, shop.staff, order.id, _lines(order), quote_id=quote_id, rate_id=rate_id)
    assert carrier.requests == []


def test_a_products_size_is_set_on_its_form_within_bounds(app, shop):
    product = shop.product("BOX-1")
    client = signed_in(app, shop.manager)
    token = page_token(client, f"/products/{product.id}/edit")
    form = {"csrf_token": token, "name": "Box one", "price": "10.00", "weight_grams": "500", "length_mm": "300",
            "width_mm": "200", "height_mm": "100", "active": "y"}
    assert client.post(f"/products/{product.id}/edit", data=form).status_code == 302
    db.session.rollback()
    saved = shop.product_row("BOX-1")
    assert (saved.length_mm, saved.width_mm, saved.height_mm) == (300, 200, 100)
    before = shop.snapshot()
    refused = client.post(f"/products/{product.id}/edit", data={**form, "height_mm": "99999"})
    assert refused.status_code == 422 and "height" in refused.get_data(as_text=True).lower()
    db.session.rollback()
    assert shop.snapshot() == before and shop.product_row("BOX-1").height_mm == 100


@pytest.mark.parametrize("units, status, message", [
    ("x", 422, "whole number"), ("99", 422, "Only allocated units can ship"), ("0", 422, "Choose at least one unit"),
    ("1\x00", 400, "NUL")])  # a NUL byte is refused by the app before any view
def test_get_rates_refuses_bad_quantities_and_asks_the_carrier_nothing(app, shop, carrier, units, status, message):
    order = _order(shop)
    client = signed_in(app, shop.staff)
    token = page_token(client, f"/orders/{order.id}")
    before = shop.snapshot()
    response = client.post(f"/orders/{order.id}/rates", data={"csrf_token": token, f"ship-{order.lines[0].id}": units},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == status and message.lower() in response.get_data(as_text=True).lower()
    assert carrier.requests == [] and shop.snapshot() == before


def test_the_board_prints_the_selected_orders_zpl_labels_in_one_file(app, shop, carrier):
    db.session.execute(sa.update(CarrierAccount).values(label_format="ZPL"))
    db.session.commit()
    product = shop.product("MUG", in_hand=50)
    product.weight_grams = 300
    db.session.commit()
    orders = [shop.web_order(("MUG", 1)) for _ in range(2)]
    bulk_shipping.create_shipments(shop.staff, [o.id for o in orders])
    client = signed_in(app, shop.staff)
    assert "Labels (ZPL)" in client.get("/orders").get_data(as_text=True)
    token = page_token(client, "/orders")
    printed = client.post("/orders/print/labels.zpl", data={"csrf_token": token, "order_ids": [str(o.id) for o in orders]})
    assert printed.status_code == 200 and printed.data.count(b"^XA") == 2
    unpacked = shop.web_order(("MUG", 1))
    nothing = client.post("/orders/print/labels.zpl", data={"csrf_token": token, "order_ids": [str(unpacked.id)]})
    assert nothing.status_code == 422


def test_without_htmx_get_rates_shows_the_order_page_with_the_rates_in_its_ship_form(app, shop, carrier):
    order = _order(shop)
    client = signed_in(app, shop.staff)
    token = page_token(client, f"/orders/{order.id}")
    page = client.post(f"/orders/{order.id}/rates", data={"csrf_token": token, f"ship-{order.lines[0].id}": "1"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Shipments" in text  # the whole page
    assert "UPS NextDayAir" in text and 'name="quote_id"' in text


def test_a_label_bought_for_units_packed_meanwhile_is_refunded_and_the_refusal_said(app, shop, carrier):
    from oms_web.domain.errors import QuantityTooLarge
    from oms_web.models import Order

    order = _order(shop)
    staff_id = shop.staff.id
    real_buy = carrier._buy

    def someone_packs_first(shipment, rate_id):
        with app.app_context():  # another packer, a moment before the label is recorded
            other = db.session.get(Order, order.id)
            shipping.ship_lines(db.session.get(type(shop.staff), staff_id), order.id,
                                {line.id: line.to_ship for line in other.lines})
            db.session.remove()
        return real_buy(shipment, rate_id)

    carrier._buy = someone_packs_first
    with pytest.raises(QuantityTooLarge, match="Only allocated units can ship"):
        labels.pack(shop.staff, order.id, _lines(order))
    db.session.rollback()
    purchase = db.session.scalar(sa.select(LabelPurchase))
    assert (purchase.status, purchase.refund_status) == ("refunded", "submitted")
    assert len(_fresh(shop, order.id).shipments) == 1  # only the other packer's


def test_a_parcel_weighs_its_contents_and_its_box_and_takes_the_boxs_size(shop):
    from oms_web.domain import parcels
    from oms_web.models import PackagePreset

    order = _order(shop, units=3)
    box = PackagePreset(name="Medium", length_mm=300, width_mm=200, height_mm=150, tare_grams=120)
    db.session.add(box)
    db.session.commit()
    own = parcels.parcel_for(order, _lines(order))
    assert own == {"weight_grams": 1050, "length_mm": 120, "width_mm": 100, "height_mm": 300, "preset": None}
    boxed = parcels.parcel_for(order, _lines(order), box.id)
    assert boxed == {"weight_grams": 1170, "length_mm": 300, "width_mm": 200, "height_mm": 150, "preset": "Medium"}
    with pytest.raises(InvalidInput):
        parcels.parcel_for(order, _lines(order), 999_999)


def test_easypost_shapes_signature_and_events():
    from oms_web.carriers import easypost

    assert easypost.to_easypost_parcel({"weight_grams": 1000, "length_mm": 254, "width_mm": 127, "height_mm": 50}) \
        == {"weight": 35.3, "length": 10.0, "width": 5.0, "height": 2.0}
    assert easypost.to_easypost_address({"line1": "1 Main St", "region": "IL", "postal_code": "62701"})["zip"] == "62701"
    body = b'{"object": "Event"}'
    good = easypost.signature("sécret", body)
    assert good.startswith("hmac-sha256-hex=") and easypost.signature_ok("sécret", body, good)
    assert not easypost.signature_ok("sécret", body + b" ", good) and not easypost.signature_ok(None, body, good)
    assert easypost.signature_ok("sécret", body, good.upper().replace("HMAC-SHA256-HEX=", "hmac-sha256-hex="))
    event = json.dumps({"object": "Event", "id": "evt_1", "description": "tracker.updated", "result": {
        "object": "Tracker", "id": "trk_1", "tracking_code": "9400", "status": "out_for_delivery",
        "tracking_details": [{"message": "Out for delivery", "status": "out_for_delivery",
                              "datetime": "2026-11-30T08:00:00Z"}]}}).encode()
    update = easypost.parse_event(event)
    assert (update.tracker_id, update.status, update.message, update.at.hour) == ("trk_1", "out_for_delivery",
                                                                                  "Out for delivery", 8)
    weird = json.loads(event)
    weird["result"]["status"] = "teleported"
    assert easypost.parse_event(json.dumps(weird).encode()).status == "unknown"  # not a documented status


@pytest.mark.parametrize("weighed", [0, -5, 70_001, True, "12"])
def test_a_weighed_weight_out_of_bounds_is_refused_before_the_carrier_is_asked(shop, carrier, weighed):
    order = _order(shop)
    shop.refused(InvalidInput, labels.pack, shop.staff, order.id, _lines(order), weighed_grams=weighed)
    assert carrier.requests == []


@pytest.mark.parametrize("field, value", [("preset_id", "abc"), ("preset_id", "999999"), ("weight_grams", "heavy"),
                                          ("weight_grams", "70001")])
def test_the_pack_station_refuses_a_bad_box_or_weight_and_keeps_the_parcel(app, shop, carrier, field, value):
    order = _order(shop, units=1)
    client = signed_in(app, shop.staff)
    token = page_token(client, "/pack")
    line = order.lines[0]
    before = shop.snapshot()
    response = client.post("/pack/scan", data={"csrf_token": token, "code": "MUG", "order_id": str(order.id),
                                               f"shown-{line.id}": "1", f"scanned-{line.id}": "0", field: value},
                           headers={"HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 422 and 'name="order_id"' in response.get_data(as_text=True)
    assert carrier.requests == [] and shop.snapshot() == before
