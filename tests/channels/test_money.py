"""Totals to the cent: for every channel, the channel's total == the order's total == the sum of its
invoices (a partial invoice for a first shipment, then one for the rest), and the invoices' tax adds
up to the order's. Payloads are shaped as CHANNELS.md and the channels' documentation describe them."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa

from oms_web.channels import reports
from oms_web.channels.manage import create_channel
from oms_web.channels.sync import sync_channel
from oms_web.domain import invoicing, shipping
from oms_web.domain.invariants import check_invariants
from oms_web.extensions import db
from oms_web.models import ChannelKind, Order, SalesChannel

from .fakes import amazon_order, ebay_order
from tests.helpers.webstore import sign


def cents(text: str) -> int:
    return int(Decimal(text) * 100)


def the_order(channel_id: int, channel_order_id: str) -> Order:
    db.session.rollback()  # committed by a request or a sync in a session of its own
    return db.session.scalars(sa.select(Order).where(Order.channel_id == channel_id,
                                                     Order.channel_order_id == channel_order_id)
                              .execution_options(populate_existing=True)).one()


def invoice_in_parts(shop, order_id: int) -> list:
    """Ship one unit of the first line and invoice that shipment; ship the rest and invoice it."""
    order = shop.order_row(order_id)
    first_line = order.lines[0]
    assert first_line.allocated >= 2, "the first line needs 2 units or more to be invoiced in parts"
    first = shipping.ship_lines(shop.staff, order_id, {first_line.id: 1})
    invoicing.issue_invoice(shop.staff, order_id, first.id)
    order = shop.order_row(order_id)
    shipping.ship_lines(shop.staff, order_id, {l.id: l.allocated - l.shipped for l in order.lines
                                               if l.allocated > l.shipped})
    invoicing.issue_invoice(shop.staff, order_id)
    return shop.order_row(order_id).invoices


def assert_to_the_cent(shop, order: Order, channel_total: str) -> None:
    assert order.total_cents == cents(channel_total)
    assert not order.hold_reason and all(line.allocated == line.ordered for line in order.lines)
    invoices = invoice_in_parts(shop, order.id)
    assert len(invoices) == 2 and invoices[0].shipment_id is not None
    assert invoices[0].shipping_cents == order.shipping_cents and invoices[1].shipping_cents == 0
    assert sum(i.total_cents for i in invoices) == order.total_cents
    assert sum(i.tax_cents for i in invoices) == order.tax_cents
    assert sum(i.discount_cents for i in invoices) == order.discount_cents
    for invoice in invoices:
        assert invoice.subtotal_cents == sum(l.line_total_cents for l in invoice.lines)
        assert invoice.discount_cents == sum(l.discount_cents for l in invoice.lines)
    assert check_invariants() == []


def products(shop, *skus: str) -> None:
    for sku in skus:
        shop.product(sku, in_hand=20, price_cents=100, tax_rate_bp=2000)  # the catalogue's figures must not count


# ---------------------------------------------------------------- Shopify

def shopify_post(app, channel: SalesChannel, body: dict):
    raw = json.dumps(body).encode()
    return app.test_client().post(f"/webhooks/shopify/{channel.id}", data=raw, content_type="application/json",
                                  headers={"X-Shopify-Hmac-Sha256": sign("shopify-secret", raw),
                                           "X-Shopify-Topic": "orders/create"})


def shopify_order(order_id: int, *, taxes_included: bool, line_items: list, shipping_lines: list,
                  total_tax: str, total_discounts: str, subtotal_price: str, total_price: str) -> dict:
    return {
        "id": order_id, "name": f"#{order_id % 10000}", "order_number": order_id % 10000,
        "created_at": "2026-11-20T10:15:00+01:00", "email": "lena@example.de", "currency": "EUR",
        "financial_status": "paid", "cancelled_at": None, "taxes_included": taxes_included,
        "total_line_items_price": f"{sum(Decimal(i['price']) * i['quantity'] for i in line_items):.2f}",
        "subtotal_price": subtotal_price, "total_discounts": total_discounts, "total_tax": total_tax,
        "total_price": total_price,
        "discount_codes": [{"code": "WINTER10", "amount": total_discounts, "type": "percentage"}],
        "line_items": line_items, "shipping_lines": shipping_lines,
        "shipping_address": {"name": "Lena Vogel", "address1": "Torstraße 12", "address2": None, "city": "Berlin",
                             "province": None, "zip": "10119", "country_code": "DE", "phone": None},
        "customer": {"id": 7001, "email": "lena@example.de", "first_name": "Lena", "last_name": "Vogel"},
    }


def shopify_line(line_id: int, sku: str, quantity: int, price: str, discount: str, tax: str, rate: str) -> dict:
    return {"id": line_id, "variant_id": line_id + 1, "product_id": line_id + 2, "sku": sku, "title": f"Lamp {sku}",
            "quantity": quantity, "price": price, "total_discount": "0.00",
            "discount_allocations": [{"amount": discount, "discount_application_index": 0}],
            "tax_lines": [{"title": "MwSt", "rate": float(rate), "price": tax}]}


def test_a_shopify_order_with_a_code_shipping_and_tax_included_totals_as_shopify_does(app, shop):
    """The issue's order: 557.00 of goods, 10% off (55.70, spread over the lines by Shopify), 5.90
    shipping, German VAT included in the prices: Shopify totals it at 507.20."""
    products(shop, "LAMP-OAK", "LAMP-ASH")
    channel = create_channel("Shopify DE", ChannelKind.SHOPIFY, "shopify-secret").channel
    body = shopify_order(
        5550001001, taxes_included=True,
        line_items=[shopify_line(11, "LAMP-OAK", 2, "199.00", "39.80", "57.19", "0.19"),
                    shopify_line(12, "LAMP-ASH", 1, "159.00", "15.90", "22.85", "0.19")],
        shipping_lines=[{"id": 21, "title": "DHL Paket", "code": "DHL", "price": "5.90", "discounted_price": "5.90",
                         "discount_allocations": [], "tax_lines": [{"title": "MwSt", "rate": 0.19, "price": "0.94"}]}],
        total_tax="80.98", total_discounts="55.70", subtotal_price="501.30", total_price="507.20")

    response = shopify_post(app, channel, body)

    assert response.status_code in (200, 201), response.get_data(as_text=True)
    order = the_order(channel.id, "5550001001")
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents) == (55700, 5570, 590, 8098)
    assert order.tax_included and order.shipping_tax_cents == 94
    assert [(l.sku, l.discount_cents, l.tax_cents) for l in order.lines] == [("LAMP-OAK", 3980, 5719),
                                                                            ("LAMP-ASH", 1590, 2285)]
    assert_to_the_cent(shop, order, body["total_price"])


def test_a_shopify_order_with_tax_on_top_and_a_shipping_discount_totals_as_shopify_does(app, shop):
    products(shop, "LAMP-OAK", "LAMP-ASH")
    channel = create_channel("Shopify US", ChannelKind.SHOPIFY, "shopify-secret").channel
    body = shopify_order(
        5550001002, taxes_included=False,
        line_items=[shopify_line(31, "LAMP-OAK", 3, "19.99", "6.00", "4.79", "0.08875"),
                    shopify_line(32, "LAMP-ASH", 1, "12.50", "0.00", "1.11", "0.08875")],
        shipping_lines=[{"id": 41, "title": "Standard", "code": "STD", "price": "9.99", "discounted_price": "4.99",
                         "discount_allocations": [{"amount": "5.00", "discount_application_index": 1}],
                         "tax_lines": [{"title": "NY State Tax", "rate": 0.08875, "price": "0.44"}]}],
        total_tax="6.34", total_discounts="11.00", subtotal_price="66.47", total_price="77.80")

    assert shopify_post(app, channel, body).status_code in (200, 201)

    order = the_order(channel.id, "5550001002")
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents) == (7247, 600, 499, 634)
    assert not order.tax_included
    assert_to_the_cent(shop, order, body["total_price"])


# ---------------------------------------------------------------- WooCommerce

def test_a_woocommerce_order_with_a_coupon_and_taxes_totals_as_woocommerce_does(app, shop):
    products(shop, "TEA-GREEN", "TEA-BLACK", "TEA-MINT")
    channel = create_channel("Woo", ChannelKind.WOOCOMMERCE, "woo-secret").channel
    body = {
        "id": 4321, "number": "4321", "status": "processing", "currency": "GBP", "prices_include_tax": False,
        "date_created_gmt": "2026-11-20T09:00:00", "discount_total": "5.30", "discount_tax": "1.06",
        "shipping_total": "3.95", "shipping_tax": "0.79", "cart_tax": "9.53", "total_tax": "10.32",
        "total": "61.94", "customer_note": "",
        "billing": {"first_name": "Tom", "last_name": "Baker", "company": "", "address_1": "5 Mill Lane",
                    "address_2": "", "city": "York", "state": "", "postcode": "YO1 7HH", "country": "GB",
                    "email": "tom@example.co.uk", "phone": "01904 000000"},
        "shipping": {"first_name": "Tom", "last_name": "Baker", "company": "", "address_1": "5 Mill Lane",
                     "address_2": "", "city": "York", "state": "", "postcode": "YO1 7HH", "country": "GB"},
        # A 10% coupon, on lines priced net of tax: 29.97 → 26.97, 13.00 → 11.70, 10.00 → 9.00 (3 units:
        # 3.34 each, and 0.02 of rounding off with the coupon).
        "line_items": [
            {"id": 101, "name": "Green tea", "product_id": 501, "variation_id": 0, "quantity": 3, "sku": "TEA-GREEN",
             "subtotal": "29.97", "subtotal_tax": "5.99", "total": "26.97", "total_tax": "5.39",
             "taxes": [{"id": 1, "total": "5.39", "subtotal": "5.99"}], "price": 8.99},
            {"id": 102, "name": "Black tea", "product_id": 502, "variation_id": 0, "quantity": 2, "sku": "TEA-BLACK",
             "subtotal": "13.00", "subtotal_tax": "2.60", "total": "11.70", "total_tax": "2.34",
             "taxes": [{"id": 1, "total": "2.34", "subtotal": "2.60"}], "price": 5.85},
            {"id": 103, "name": "Mint tea", "product_id": 503, "variation_id": 0, "quantity": 3, "sku": "TEA-MINT",
             "subtotal": "10.00", "subtotal_tax": "2.00", "total": "9.00", "total_tax": "1.80",
             "taxes": [{"id": 1, "total": "1.80", "subtotal": "2.00"}], "price": 3}],
        "shipping_lines": [{"id": 201, "method_title": "Royal Mail", "total": "3.95", "total_tax": "0.79"}],
        "coupon_lines": [{"id": 301, "code": "tea10", "discount": "5.30", "discount_tax": "1.06"}],
    }  # total: 26.97 + 11.70 + 9.00 after the coupon, 3.95 shipping, 10.32 tax
    raw = json.dumps(body).encode()

    response = app.test_client().post(f"/webhooks/woocommerce/{channel.id}", data=raw, content_type="application/json",
                                      headers={"X-WC-Webhook-Signature": sign("woo-secret", raw),
                                               "X-WC-Webhook-Topic": "order.created"})

    assert response.status_code in (200, 201), response.get_data(as_text=True)
    order = the_order(channel.id, "4321")
    assert (order.subtotal_cents, order.discount_cents, order.shipping_cents, order.tax_cents) == (5299, 532, 395, 1032)
    assert_to_the_cent(shop, order, body["total"])


# ---------------------------------------------------------------- Amazon, by the API and by report

def test_an_amazon_order_pulled_by_the_api_totals_as_amazon_does(shop, amazon, amazon_fake):
    products(shop, "KETTLE", "FILTER")
    raw = amazon_order("205-1111111-2222222", items=[("KETTLE", 2, "49.98"), ("FILTER", 3, "19.99")], shipping="4.99")
    kettle, filters = raw["_items"]
    kettle.update(ItemTax={"CurrencyCode": "GBP", "Amount": "3.60"},
                  PromotionDiscount={"CurrencyCode": "GBP", "Amount": "5.00"},
                  ShippingTax={"CurrencyCode": "GBP", "Amount": "0.40"},
                  ShippingDiscount={"CurrencyCode": "GBP", "Amount": "1.50"})
    filters.update(ItemTax={"CurrencyCode": "GBP", "Amount": "1.32"})
    raw["OrderTotal"]["Amount"] = "73.78"  # 49.98 + 19.99 + 4.99 − 5.00 − 1.50 = 68.46, + 3.60 + 1.32 + 0.40 tax
    amazon_fake.add(raw)

    run = sync_channel(amazon.id, sleep=lambda s: None)

    assert (run.status, run.imported) == ("ok", 1), run.errors
    order = the_order(amazon.id, "205-1111111-2222222")
    # FILTER: 19.99 for 3 is 6.67 each less a cent of rounding.
    assert [(l.sku, l.unit_price_cents, l.discount_cents, l.tax_cents) for l in order.lines] == [
        ("KETTLE", 2499, 500, 360), ("FILTER", 667, 2, 132)]
    assert (order.shipping_cents, order.shipping_tax_cents) == (349, 40)
    assert_to_the_cent(shop, order, raw["OrderTotal"]["Amount"])


def all_orders_tsv(rows: list[dict[str, str]]) -> bytes:
    headers = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
               "fulfillment-channel", "sales-channel", "ship-service-level", "product-name", "sku", "asin",
               "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
               "item-promotion-discount", "ship-promotion-discount", "ship-city", "ship-state", "ship-postal-code",
               "ship-country"]
    return ("\n".join(["\t".join(headers)] + ["\t".join(row.get(h, "") for h in headers) for row in rows])
            + "\n").encode()


def test_an_amazon_all_orders_report_totals_as_amazon_does(shop):
    products(shop, "KETTLE", "FILTER")
    amazon = SalesChannel(name="Amazon US", kind=ChannelKind.AMAZON, settings={})
    db.session.add(amazon)
    db.session.commit()
    common = {"amazon-order-id": "111-2223334-5556667", "purchase-date": "2026-11-20T09:00:00+00:00",
              "last-updated-date": "2026-11-20T10:00:00+00:00", "order-status": "Unshipped",
              "fulfillment-channel": "Merchant", "sales-channel": "Amazon.com", "ship-service-level": "Standard",
              "item-status": "Unshipped", "currency": "USD", "ship-city": "SEATTLE", "ship-state": "WA",
              "ship-postal-code": "98109", "ship-country": "US"}
    rows = [
        {**common, "sku": "KETTLE", "product-name": "Kettle", "quantity": "2", "item-price": "59.98",
         "item-tax": "5.40", "shipping-price": "7.99", "shipping-tax": "0.72", "item-promotion-discount": "-6.00",
         "ship-promotion-discount": "-2.00"},
        {**common, "sku": "FILTER", "product-name": "Filter", "quantity": "3", "item-price": "10.00",
         "item-tax": "0.90", "shipping-price": "0.00", "shipping-tax": "0.00", "item-promotion-discount": "",
         "ship-promotion-discount": ""},
    ]
    amazon_total = "76.99"  # 59.98 + 10.00 + 7.99 − 6.00 − 2.00 + 5.40 + 0.90 + 0.72

    run = reports.import_file(amazon, reports.AMAZON_ALL_ORDERS, all_orders_tsv(rows))

    assert (run.status, run.imported) == ("ok", 1), run.errors
    order = the_order(amazon.id, "111-2223334-5556667")
    assert (order.discount_cents, order.shipping_cents, order.tax_cents) == (602, 599, 702)
    assert_to_the_cent(shop, order, amazon_total)


# ---------------------------------------------------------------- eBay

def test_an_ebay_order_with_a_discount_delivery_and_tax_totals_as_ebay_does(shop, ebay, ebay_fake):
    products(shop, "BOOT-42", "LACES")
    raw = ebay_order("12-34567-89012", items=[("BOOT-42", 2, "179.98"), ("LACES", 3, "10.00")], delivery="12.00")
    raw["pricingSummary"].update({"priceDiscount": {"value": "-18.00", "currency": "USD"},
                                  "deliveryDiscount": {"value": "-4.00", "currency": "USD"},
                                  "tax": {"value": "15.12", "currency": "USD"},
                                  "total": {"value": "195.10", "currency": "USD"}})
    ebay_fake.add(raw)  # 189.98 − 18.00 + 8.00 + 15.12 = 195.10

    run = sync_channel(ebay.id, sleep=lambda s: None)

    assert (run.status, run.imported) == ("ok", 1), run.errors
    order = the_order(ebay.id, "12-34567-89012")
    assert (order.discount_cents, order.shipping_cents, order.tax_cents) == (1802, 800, 1512)
    assert_to_the_cent(shop, order, raw["pricingSummary"]["total"]["value"])


# ---------------------------------------------------------------- our own JSON API

def test_a_json_api_order_with_discounts_shipping_and_tax_totals_as_sent(app, shop):
    products(shop, "MUG", "SPOON")
    created = create_channel("Store API", ChannelKind.API)
    body = {"order_id": "W-2001", "currency": "EUR", "shipping": "4.50", "shipping_tax": "0.90", "discount": "2.00",
            "customer": {"name": "Zoe Martin", "email": "zoe@example.com"},
            "lines": [{"sku": "MUG", "quantity": 3, "unit_price": "9.99", "discount": "1.50", "tax": "5.69"},
                      {"sku": "SPOON", "quantity": 2, "unit_price": "2.50", "tax": "1.00"}]}

    response = app.test_client().post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                                      headers={"Authorization": f"Bearer {created.api_key}"})

    assert response.status_code == 201, response.get_data(as_text=True)
    # 29.97 + 5.00 − 1.50 − 2.00 + 4.50 + 5.69 + 1.00 + 0.90
    assert response.get_json()["total"] == "43.56"
    order = the_order(created.channel.id, "W-2001")
    assert_to_the_cent(shop, order, "43.56")


# ---------------------------------------------------------------- bad money: a clear 4xx, nothing written

def orders_written() -> int:
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Order))


@pytest.mark.parametrize("change, field", [
    ({"discount": "-1.00"}, "discount"),
    ({"discount": "50.00"}, "discount"),  # more than the lines cost
    ({"tax": True}, "tax"),
    ({"shipping_tax": "abc"}, "shipping_tax"),
    ({"prices_include_tax": "yes"}, "prices_include_tax"),
    ({"lines": [{"sku": "MUG", "quantity": 1, "unit_price": "9.99", "discount": "10.00"}]}, "discount"),
    ({"lines": [{"sku": "MUG", "quantity": 1, "unit_price": "9.99", "tax": {"amount": "1.00"}}]}, "lines[0].tax"),
])
def test_bad_money_in_a_json_api_order_is_refused_with_422_and_nothing_written(app, shop, change, field):
    products(shop, "MUG")
    created = create_channel("Store API", ChannelKind.API)
    body = {"order_id": "W-BAD", "customer": {"name": "Zoe Martin"},
            "lines": [{"sku": "MUG", "quantity": 2, "unit_price": "9.99"}], **change}

    response = app.test_client().post("/api/v1/orders", data=json.dumps(body), content_type="application/json",
                                      headers={"Authorization": f"Bearer {created.api_key}"})

    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.get_data(as_text=True)
    assert orders_written() == 0


@pytest.mark.parametrize("line_change", [{"discount_allocations": "10%"}, {"tax_lines": [{"price": "lots"}]},
                                         {"discount_allocations": [{"amount": "-3.00"}]}])
def test_bad_money_in_a_shopify_order_is_refused_with_422_and_nothing_written(app, shop, line_change):
    products(shop, "LAMP-OAK")
    channel = create_channel("Shopify DE", ChannelKind.SHOPIFY, "shopify-secret").channel
    body = shopify_order(5550001003, taxes_included=False,
                         line_items=[{**shopify_line(11, "LAMP-OAK", 2, "199.00", "0.00", "0.00", "0.19"), **line_change}],
                         shipping_lines=[], total_tax="0.00", total_discounts="0.00", subtotal_price="398.00",
                         total_price="398.00")

    response = shopify_post(app, channel, body)

    assert response.status_code == 422, response.get_data(as_text=True)
    assert orders_written() == 0


def test_a_channel_total_that_ours_does_not_reach_is_said_on_the_timeline(app, shop):
    """A charge we do not carry (here a Shopify tip) leaves the totals apart: the order says so."""
    products(shop, "LAMP-OAK")
    channel = create_channel("Shopify US", ChannelKind.SHOPIFY, "shopify-secret").channel
    body = shopify_order(5550001004, taxes_included=False,
                         line_items=[shopify_line(51, "LAMP-OAK", 2, "19.99", "0.00", "3.20", "0.08")],
                         shipping_lines=[], total_tax="3.20", total_discounts="0.00", subtotal_price="39.98",
                         total_price="48.18")
    body["total_tip_received"] = "5.00"

    assert shopify_post(app, channel, body).status_code in (200, 201)

    order = the_order(channel.id, "5550001004")
    assert order.total_cents == 4318
    differs = [e for e in order.events if e.kind == "total_differs"]
    assert [e.message for e in differs] == [
        "Shopify US totals this order at EUR 48.18; its lines, discounts, shipping and tax come to EUR 43.18 here"]
    assert not [e for e in the_order(channel.id, "5550001004").events if e.kind == "held"]


def test_a_channel_total_that_ours_matches_adds_nothing_to_the_timeline(shop, ebay, ebay_fake):
    products(shop, "BOOT-42")
    ebay_fake.add(ebay_order("12-34567-89013", items=[("BOOT-42", 2, "179.98")], delivery="12.00"))

    assert sync_channel(ebay.id, sleep=lambda s: None).imported == 1

    order = the_order(ebay.id, "12-34567-89013")
    assert order.total_cents == 19198 and "total_differs" not in [e.kind for e in order.events]
