"""Refunds from the web stores: Shopify's refunds/create and the refunds of WooCommerce's order.updated,
each recorded once with its credit note; signatures, wrong JSON types and refusals write nothing."""
from __future__ import annotations

import copy
import json

import pytest
import sqlalchemy as sa

from oms_web.channels.manage import create_channel
from oms_web.domain import invoicing, refunds, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, CreditNote, Order, Refund
from tests.helpers.webstore import SHOPIFY, WOO, sign

REFUND = {"id": 5001, "order_id": SHOPIFY["id"], "created_at": "2026-11-25T10:00:00Z", "note": "arrived broken",
          "restock": True,
          "refund_line_items": [{"id": 61, "line_item_id": SHOPIFY["line_items"][0]["id"], "quantity": 1,
                                 "restock_type": "return", "location_id": 1, "subtotal": "12.50", "total_tax": "0.00"}],
          "transactions": [{"id": 71, "kind": "refund", "amount": "12.50", "status": "success", "gateway": "shopify"}]}


@pytest.fixture
def hooks(app, shop):
    shop.product("MUG", in_hand=10, price_cents=1250)
    shopify = create_channel("Shopify", ChannelKind.SHOPIFY, "shopify-secret").channel
    woo = create_channel("Woo", ChannelKind.WOOCOMMERCE, "woo-secret").channel
    client = app.test_client()

    def to_shopify(body: dict, topic: str = "refunds/create", secret: str = "shopify-secret"):
        raw = json.dumps(body).encode()
        return client.post(f"/webhooks/shopify/{shopify.id}", data=raw, content_type="application/json",
                           headers={"X-Shopify-Hmac-Sha256": sign(secret, raw), "X-Shopify-Topic": topic})

    def to_woo(body: dict, topic: str = "order.updated"):
        raw = json.dumps(body).encode()
        return client.post(f"/webhooks/woocommerce/{woo.id}", data=raw, content_type="application/json",
                           headers={"X-WC-Webhook-Signature": sign("woo-secret", raw), "X-WC-Webhook-Topic": topic})

    hooks = type("Hooks", (), {})()
    hooks.shop, hooks.client, hooks.to_shopify, hooks.to_woo = shop, client, to_shopify, to_woo
    return hooks


def _shipped_and_invoiced(shop, order_id: int) -> None:
    db.session.rollback()  # the delivery committed in a session of its own
    order = shop.order_row(order_id)
    shipment = shipping.ship_lines(shop.staff, order.id, {line.id: line.allocated for line in order.lines})
    invoicing.issue_invoice(shop.staff, order.id, shipment.id)


def _order_from(hooks, body: dict, via: str) -> int:
    response = hooks.to_shopify(body, "orders/create") if via == "shopify" else hooks.to_woo(body, "order.created")
    assert response.status_code == 200, response.get_json()
    order_id = response.get_json()["order_id"]
    _shipped_and_invoiced(hooks.shop, order_id)
    return order_id


def _refunds() -> list[Refund]:
    db.session.rollback()
    return db.session.scalars(sa.select(Refund).order_by(Refund.id)).all()


def _written() -> tuple[int, int]:
    db.session.rollback()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Refund)),
            db.session.scalar(sa.select(sa.func.count()).select_from(CreditNote)))


def test_a_shopify_refund_delivered_twice_is_recorded_once_with_one_credit_note(hooks):
    order_id = _order_from(hooks, SHOPIFY, "shopify")
    first = hooks.to_shopify(REFUND)
    again = hooks.to_shopify(REFUND)
    assert first.status_code == 200 and first.get_json()["result"] == "recorded"
    assert again.status_code == 200 and again.get_json() == {"result": "duplicate",
                                                            "refund_id": first.get_json()["refund_id"]}
    (refund,) = _refunds()
    assert (refund.order_id, refund.amount_cents, refund.channel_reference, refund.note) == (
        order_id, 1250, "5001", "arrived broken")
    assert [(l.quantity, l.total_cents) for l in refund.credit_note.lines] == [(1, -1250)]
    assert check_invariants() == []


def test_the_units_a_shopify_refund_restocks_go_to_the_returns_hook(hooks, monkeypatch):
    _order_from(hooks, SHOPIFY, "shopify")
    handed: list = []
    monkeypatch.setattr(refunds, "restock_from_channel", lambda refund, units: handed.append(units))
    assert hooks.to_shopify(REFUND).status_code == 200
    (refund,) = _refunds()
    assert handed == [{refund.credit_note.lines[0].order_line_id: 1}]


@pytest.mark.parametrize("secret", ["wrong-secret", None])
def test_a_shopify_refund_without_the_right_signature_is_refused_with_no_write(hooks, secret):
    _order_from(hooks, SHOPIFY, "shopify")
    if secret is None:
        raw = json.dumps(REFUND).encode()
        response = hooks.client.post(
            f"/webhooks/shopify/{db.session.scalar(sa.select(Order.channel_id))}", data=raw,
            content_type="application/json", headers={"X-Shopify-Topic": "refunds/create"})
    else:
        response = hooks.to_shopify(REFUND, secret=secret)
    assert response.status_code == 401
    assert _written() == (0, 0)


@pytest.mark.parametrize("change, field", [
    (lambda b: b.update(id="5001"), "id"),  # an id is a JSON integer
    (lambda b: b.update(order_id=None), "order_id"),
    (lambda b: b.update(note={"text": "x"}), "note"),
    (lambda b: b.update(transactions={"amount": "1"}), "transactions"),
    (lambda b: b["transactions"][0].update(amount=["12.50"]), "transactions[0].amount"),
    (lambda b: b["transactions"][0].update(amount="12.505"), "transactions[0].amount"),
    (lambda b: b["refund_line_items"][0].update(quantity="1"), "refund_line_items[0].quantity"),
    (lambda b: b["refund_line_items"][0].update(line_item_id=True), "refund_line_items[0].line_item_id"),
    (lambda b: b.update(refund_line_items=[7]), "refund_line_items[0]"),
])
def test_a_shopify_refund_of_the_wrong_json_types_is_refused_naming_the_field(hooks, change, field):
    _order_from(hooks, SHOPIFY, "shopify")
    body = copy.deepcopy(REFUND)
    change(body)
    response = hooks.to_shopify(body)
    assert response.status_code == 422, response.get_json()
    assert field in [p["field"] for p in response.get_json()["problems"]]
    assert _written() == (0, 0)


def test_a_shopify_refund_beyond_what_was_invoiced_is_refused_and_records_nothing(hooks, caplog):
    _order_from(hooks, SHOPIFY, "shopify")
    body = copy.deepcopy(REFUND)
    body["transactions"][0]["amount"] = "500.00"
    response = hooks.to_shopify(body)
    assert response.status_code == 422
    assert "more than was invoiced" in response.get_json()["problems"][0]["message"]
    assert "refund 5001" in caplog.text and "not recorded" in caplog.text
    assert _written() == (0, 0)


def test_a_shopify_refund_of_an_order_not_received_here_is_answered_and_ignored(hooks):
    response = hooks.to_shopify(REFUND)
    assert response.status_code == 200 and response.get_json()["result"] == "ignored"
    assert _written() == (0, 0)


def test_a_shopify_refund_of_an_order_not_yet_invoiced_is_refused(hooks):
    assert hooks.to_shopify(SHOPIFY, "orders/create").status_code == 200
    response = hooks.to_shopify(REFUND)
    assert response.status_code == 422 and "no invoice" in response.get_json()["problems"][0]["message"]
    assert _written() == (0, 0)


def test_woocommerce_refunds_in_an_order_update_are_recorded_once_each(hooks):
    order_id = _order_from(hooks, WOO, "woo")
    update = {**WOO, "status": "completed", "refunds": [{"id": 901, "reason": "late", "total": "-5.00"}]}
    first = hooks.to_woo(update)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["refunds"][0]["result"] == "recorded"
    update["refunds"].append({"id": 902, "reason": "", "total": "-1.25"})
    again = hooks.to_woo(update)
    assert [r["result"] for r in again.get_json()["refunds"]] == ["duplicate", "recorded"]
    assert [(r.order_id, r.channel_reference, r.amount_cents) for r in _refunds()] == [
        (order_id, "901", 500), (order_id, "902", 125)]
    assert check_invariants() == []


@pytest.mark.parametrize("refund, field", [
    ({"id": 901, "total": -5}, None),  # a number is an amount too: taken
    ({"id": 901, "total": "abc"}, "refunds[0].total"),
    ({"id": 901, "total": {"v": 1}}, "refunds[0].total"),
    ({"id": [901], "total": "-5.00"}, "refunds[0].id"),
    ({"id": 901, "total": "-5.00", "reason": 5}, "refunds[0].reason"),
])
def test_woocommerce_refunds_of_the_wrong_types_are_refused(hooks, refund, field):
    _order_from(hooks, WOO, "woo")
    response = hooks.to_woo({**WOO, "status": "completed", "refunds": [refund]})
    if field is None:
        assert response.status_code == 200 and _written() == (1, 1)
        return
    assert response.status_code == 422, response.get_json()
    assert field in [p["field"] for p in response.get_json()["problems"]]
    assert _written() == (0, 0)
