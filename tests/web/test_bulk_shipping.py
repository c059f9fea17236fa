"""Bulk shipping from the board, through the routes: the ticked rows or all orders matching the filter,
each order done or refused with its reason, bad input refused with a message and nothing changed."""
from __future__ import annotations

import html

import io
import re

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import Job, PaymentStatus, Segment, Shipment, ShipmentStatus
from oms_web.tasks import run_job

from .conftest import use_both_backends

# The bulk actions move stock and take posted filters: their refusals are tried on PostgreSQL too.
web_app = use_both_backends()


@pytest.fixture
def ready(shop):
    shop.product("TENT", in_hand=20)
    return [shop.web_order(("TENT", 1)) for _ in range(3)]


def ids(orders) -> list[str]:
    return [str(o.id) for o in orders]


def test_create_shipments_packs_the_ticked_orders_and_lists_the_refused_with_their_reason(shop, as_staff, ready):
    unpaid = shop.web_order(("TENT", 1), payment=PaymentStatus.PENDING)
    response = as_staff.htmx_post("/orders/bulk/shipping/create", {"order_ids": ids(ready) + [str(unpaid.id), "999999"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#flash"
    assert "orders-changed" in response.headers["HX-Trigger"]
    assert "3 order(s) packed. 2 refused" in body
    assert f"{unpaid.number}</a>: {unpaid.number} is awaiting payment and cannot ship yet" in body
    assert "SO-999999</a>: There is no order SO-999999" in body
    assert {shop.order_row(o.id).segment for o in ready} == {Segment.PACKED}
    assert shop.order_row(unpaid.id).shipments == []
    pdf_url = re.search(r'href="(/orders/print/shipments\.pdf\?ids=[0-9%C,]+)"', body).group(1)
    pdf = as_staff.get(pdf_url.replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 6  # a label and a slip per parcel
    assert check_invariants() == []


def test_all_orders_matching_the_filter_are_found_again_on_the_server(shop, as_staff, ready):
    waiting = shop.web_order(("MUG", 1))  # an unknown SKU: held, in Needs attention, not in the filter
    response = as_staff.htmx_post("/orders/bulk/shipping/create", {
        "scope": "filter", "match_segment": "ready_to_ship", "order_ids": [str(ready[0].id)]})
    assert response.status_code == 200 and "3 order(s) packed." in response.get_data(as_text=True)
    assert {shop.order_row(o.id).segment for o in ready} == {Segment.PACKED}
    assert shop.order_row(waiting.id).shipments == []
    nothing = as_staff.htmx_post("/orders/bulk/shipping/create", {"scope": "filter", "match_segment": "ready_to_ship"})
    assert nothing.status_code == 422 and "No order matches this filter now" in nothing.get_data(as_text=True)


def test_hand_over_and_deliver_from_the_board_take_the_orders_to_fulfilled(shop, as_staff, ready):
    as_staff.htmx_post("/orders/bulk/shipping/create", {"order_ids": ids(ready)})
    refused = as_staff.htmx_post("/orders/bulk/shipping/hand_over", {"order_ids": ids(ready)}).get_data(as_text=True)
    assert "No order handed to the carrier. 3 refused" in refused and "Enter the carrier of SH-" in refused
    db.session.execute(sa.update(Shipment).values(carrier="UPS"))  # as the channel's default carrier will give
    db.session.commit()
    assert "3 order(s) handed to the carrier." in as_staff.htmx_post(
        "/orders/bulk/shipping/hand_over", {"order_ids": ids(ready)}).get_data(as_text=True)
    assert "3 order(s) delivered." in as_staff.htmx_post(
        "/orders/bulk/shipping/deliver", {"order_ids": ids(ready)}).get_data(as_text=True)
    assert {shop.order_row(o.id).segment for o in ready} == {Segment.FULFILLED}
    assert "shipment_delivered" in shop.event_kinds(ready[0].id)


def test_without_htmx_the_result_is_a_message_on_the_board(as_staff, ready):
    response = as_staff.post_form("/orders/bulk/shipping/create", {"order_ids": ids(ready)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/orders")
    assert "3 order(s) packed." in as_staff.get("/orders").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    ({}, "Select at least one order first."),
    ({"order_ids": ["x", "²", "-1", "1e3", "99999999999999999999999"]}, "Select at least one order first."),
    ({"scope": "filter", "match_from": "0001-01-01"}, "The From date must be a day from 1900-01-01"),
    # A filter the board could not have sent is refused, never read as no filter (every order):
    ({"scope": "filter", "match_channel": "9" * 40}, "The filter's channel is not a channel of the board"),
    ({"scope": "filter", "match_channel": "web"}, "The filter's channel is not a channel of the board"),
    ({"scope": "filter", "match_segment": "ready-to-ship"}, "The filter's segment is not one the board offers"),
    ({"scope": "filter", "match_due": "yesterday"}, "The filter's due is not one the board offers"),
    ({"scope": "filter", "match_q": "x" * 101}, "The search is too long: at most 100 characters"),
    ({"scope": "filter", "match_to": "31/01/2026"}, "The To date must be a day written like 2026-01-31"),
])
def test_bad_selections_are_refused_and_change_nothing(shop, as_staff, ready, data, message):
    before = shop.snapshot()
    response = as_staff.htmx_post("/orders/bulk/shipping/create", data)
    assert response.status_code == 422 and message in html.unescape(response.get_data(as_text=True))
    assert shop.snapshot() == before


def test_more_orders_than_a_bulk_action_takes_are_refused_whole(shop, as_staff, ready, monkeypatch):
    monkeypatch.setattr("oms_web.board.selection.MAX_ORDERS", 2)
    monkeypatch.setattr("oms_web.domain.bulk_shipping.MAX_ORDERS", 2)
    before = shop.snapshot()
    ticked = as_staff.htmx_post("/orders/bulk/shipping/create", {"order_ids": ids(ready)})
    assert ticked.status_code == 422 and "a bulk action takes at most 2" in ticked.get_data(as_text=True)
    matching = as_staff.htmx_post("/orders/bulk/shipping/create", {"scope": "filter", "match_segment": "ready_to_ship"})
    assert matching.status_code == 422 and "More than 2 orders match this filter" in matching.get_data(as_text=True)
    printing = as_staff.post_form("/orders/print/labels-and-slips", {"scope": "filter"})
    assert printing.status_code == 422
    assert shop.snapshot() == before


def test_an_unknown_action_is_not_found_and_a_post_without_its_token_is_refused(shop, as_staff, ready):
    before = shop.snapshot()
    assert as_staff.htmx_post("/orders/bulk/shipping/ship_everything", {"order_ids": ids(ready)}).status_code == 404
    no_token = as_staff.htmx_post("/orders/bulk/shipping/create", {"order_ids": ids(ready)}, token=None)
    assert no_token.status_code == 400 and "expired" in no_token.get_data(as_text=True)
    forged = as_staff.htmx_post("/orders/bulk/shipping/create", {"order_ids": ids(ready)}, token="forged")
    assert forged.status_code == 400
    assert shop.snapshot() == before


def test_signed_out_the_bulk_actions_send_to_sign_in_and_change_nothing(shop, web_app, ready):
    before = shop.snapshot()
    response = web_app.test_client().post("/orders/bulk/shipping/create", data={"order_ids": ids(ready)})
    assert response.status_code in (302, 400)  # to sign-in (or refused for its missing token): never done
    assert shop.snapshot() == before


def test_a_large_batch_runs_as_a_job_with_progress_then_its_result_and_pdf(shop, as_staff, ready, monkeypatch):
    monkeypatch.setattr("oms_web.board.jobs.INLINE_ORDERS", 2)
    started = as_staff.htmx_post("/orders/bulk/shipping/create", {"order_ids": ids(ready)})
    body = started.get_data(as_text=True)
    assert started.status_code == 200 and "Create shipments</b> for 3 order(s)" in body and "Waiting for a worker" in body
    job_url = re.search(r'hx-get="(/orders/bulk/jobs/\d+)"', body).group(1)
    job_id = int(job_url.rsplit("/", 1)[1])
    assert shop.order_row(ready[0].id).shipments == []  # the request packed nothing itself

    run_job(job_id)  # what a worker does

    done = as_staff.htmx_get(job_url).get_data(as_text=True)
    assert "3 done" in done and "Open labels &amp; packing slips (PDF)" in done and "hx-get" not in done
    pdf = as_staff.get(job_url + ".pdf")
    assert pdf.status_code == 200 and len(PdfReader(io.BytesIO(pdf.data)).pages) == 6
    assert {s.status for o in ready for s in shop.order_row(o.id).shipments} == {ShipmentStatus.PACKED}
    assert as_staff.get("/orders/bulk/jobs/999999").status_code == 404
    # Run again (a repeated delivery after a crash): nothing is done twice.
    job = db.session.get(Job, job_id)
    job.status = "queued"
    db.session.commit()
    run_job(job_id)
    assert all(len(shop.order_row(o.id).shipments) == 1 for o in ready)
    assert check_invariants() == []


def test_the_board_offers_every_bulk_action_with_what_it_will_do(as_staff, ready):
    body = as_staff.get("/orders").get_data(as_text=True)
    for label in ("Create shipments", "Mark handed to carrier", "Mark delivered", "Labels &amp; slips", "Wave pick list"):
        assert f">{label}</button>" in body
    assert 'hx-confirm="Create shipments: pack each selected order' in body
    assert 'data-rows="order"' in body and "data-search" in body  # the keyboard's hooks stay
