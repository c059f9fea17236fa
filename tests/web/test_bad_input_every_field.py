"""Every field of every form the screens render gets an over-long value and a NUL byte: each is refused with
a 4xx and changes no row, on SQLite and (with OMS_TEST_DATABASE_URL) on PostgreSQL.

The forms are found by rendering the screens and reading their HTML, so a field added to a template is
tested without a line here; the table below only says what a valid post of each form looks like (the
control: the same post without the bad value goes through), and every POST rule of the URL map must be
either a form found on a screen or named below with the reason it has no field to test.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from oms_web.domain import invoicing, purchasing, returns, shipping, transfers
from oms_web.extensions import db
from oms_web.models import ChannelKind, SalesChannel

from ..helpers import purchasing as buy
from ..helpers.drop_ship import drop_shipped, link_path, supplier_location
from ..helpers.locations import MAIN, add_location, shipped_transfer
from .conftest import every_row, use_both_backends

web_app = use_both_backends()

TOO_LONG = 5_000  # longer than any column, note or setting the forms keep
NUL = "ab\x00cd"

# What a valid post of each form carries where the screen leaves a field empty (by endpoint).
VALID = {
    "orders.new": {"customer_name": "Ada Lovelace", "customer_email": "ada.new@example.com", "customer_phone": "+44 20",
                   "ship_line1": "12 St James's Sq", "ship_city": "London", "ship_postal_code": "SW1Y 4JH",
                   "ship_country": "GB", "sku": "A", "quantity": "1"},
    "orders.void": {"reason": "customer asked"},
    "orders.add_note": {"note": "called the customer"},
    "orders.edit_lines": {"new_sku": "A", "new_qty": "1"},
    "orders.ship": {"carrier": "UPS", "service_level": "Ground", "tracking_number": "1Z999"},
    "orders.move_allocation": {"units": "1"},  # the one C of `movable`, from Main to East (which has one free)
    "orders.shipment_shipped": {"carrier": "UPS", "tracking_number": "1Z999"},
    "orders.refund": {"amount": "1.00"},
    "catalog.receive": {"quantity": "5", "note": "PO 1"},
    "catalog.adjust": {"counted": "20", "note": "stocktake"},
    "catalog.new": {"sku": "NEW-1", "name": "New product", "price": "12.50"},
    "users.index": {"email": "new@example.com", "name": "New", "password": "long enough password"},
    "channels.index": {"name": "Second store", "secret": "s3cret"},
    "channels.sku_map": {"channel_sku": "THEIRS-2", "product_sku": "A"},
    "carriers.account": {"api_key": "EZTK_new_key", "base_url": "https://api.easypost.com/v2"},
    "carriers.presets": {"name": "Small box", "length_mm": "200", "width_mm": "150", "height_mm": "100",
                         "tare_grams": "80"},
    "documents.bulk": {"scope": "filter"},  # the bulk bar's prints: every order the board's filter finds
    "pack.scan": {"code": "CANCEL"},
    "returns.open": {"quantity": "1"},
    "returns.exchange": {"sku": "A", "quantity": "1"},
    "handover.scan": {"code": "1ZSCREENS0001"},  # the packed parcel of `screens`, scanned onto the truck list  # the empty station's one field: putting nothing aside goes through
    "locations.index": {"name": "North"},
    "transfers.new": {"sku-0": "A", "quantity-0": "1"},
    "purchasing.add_supplier": {"name": "New supplier", "lead_time_days": "3"},
    "purchasing.set_supplier_product": {"sku": "A", "unit_cost": "1.25"},
    "purchasing.add_line": {"sku": "A", "quantity": "2"},
    # The supplier's page: the parcel's carrier and tracking number (each line's own are left empty).
    "supplier_portal.confirm": {"carrier": "DHL", "tracking_number": "JD0001"},
    "auth.change_password": {"current_password": "correct horse battery", "new_password": "a new long password",
                             "confirm_password": "a new long password"},
}
# POST rules whose forms have no field a person fills in (a button, or the board's order checkboxes), or
# that are not browser forms at all. Their ids in hidden fields are tested where a form carries them.
NO_FIELD_TO_TEST = {
    "orders.finalize", "orders.allocate", "orders.paid", "orders.release", "orders.shipment_delivered", "orders.shipment_cancelled",
    "board.bulk_allocate", "board.bulk_shipping_action", "channels.new_key", "channels.sync_now", "auth.logout",
    "channels.confirmations_uploaded", "channels.confirmations_retry", "jobs.retry",
    "returns.authorize", "returns.close", "returns.reopen",
}
# Issue 14: the transfer's ship and cancel buttons, and a channel's "Ships from" checkboxes.
NO_FIELD_TO_TEST |= {"transfers.ship", "transfers.cancel", "channels.ships_from"}
NOT_BROWSER_FORMS = {"api.create_order", "webhooks.shopify", "webhooks.woocommerce", "carriers.easypost_webhook"}  # JSON, with their own tests
# "Get rates" posts the ship form's own fields (hx-include) to another URL, shown only when a channel buys
# its labels: its bad input is tests/test_carriers.py's.
NO_FIELD_TO_TEST |= {"orders.rates"}
# The board's "Labels (ZPL)" is shown only when the carrier account buys ZPL; it posts the board's
# selection like the other prints (its ids are tested with them): tests/test_carriers.py.
NO_FIELD_TO_TEST |= {"documents.bulk_zpl"}
# A PO's state buttons, removing a product from a supplier, and the overview's "Reorder low stock".
NO_FIELD_TO_TEST |= {"purchasing.send", "purchasing.cancel", "purchasing.close", "purchasing.remove_supplier_product",
                     "purchasing.reorder"}
# The supplier CSV upload's one field is a file; its bad rows are tests/web/test_drop_ship.py's.
NO_FIELD_TO_TEST |= {"supplier_portal.upload"}
SIGNED_OUT_FORMS = {"auth.login"}  # its bad input is the sign-in tests'
# The report upload's control needs a file; its kind is checked before the file is read.
NO_CONTROL = {"channels.report"}
# The hand-over's control needs ticked parcels (checkboxes, which this test leaves alone): tests/web/test_handover.py.
NO_CONTROL |= {"handover.hand_over"}
# Receiving's fields are named by PO line ("units_<line id>"), and all empty receive nothing:
# tests/web/test_purchasing_screens.py posts a receipt.
NO_CONTROL |= {"purchasing.receive"}
# Not given an over-long value: a password (never stored, only its hash: the request size limit bounds
# it, not a column), and a search box inside a form, which the form's post ignores (its GET is tested).
def length_checked(name: str, kind: str) -> bool:
    return "password" not in name and kind != "search"


@dataclass
class Form:
    endpoint: str
    path: str
    htmx: bool
    fields: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (kind, value shown)
    has_file: bool = False


class _Forms(HTMLParser):
    """The POST forms of a page: where each posts, and each field's kind and the value the page shows."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path, self.forms, self.current, self.select, self.textarea = page_path, [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            target = a.get("hx-post") or (a.get("action") or self.page_path if (a.get("method") or "").lower() == "post"
                                          else None)
            self.current = Form("", target, "hx-post" in a) if target else None
            if self.current:
                self.forms.append(self.current)
        if self.current is None or "form" in a:  # a field of another form (the board's filters) is not this one's
            return
        name = a.get("name")
        if tag == "input" and name and name != "csrf_token":
            kind = (a.get("type") or "text").lower()
            if a.get("inputmode") in ("decimal", "numeric"):
                kind = "number"  # a number in a text box (a price): refused for not being one
            if kind == "file":
                self.current.has_file = True
            elif kind not in ("checkbox", "submit", "button"):
                self.current.fields.setdefault(name, (kind, a.get("value") or ""))
        elif tag == "select" and name:
            self.select = name
            self.current.fields.setdefault(name, ("select", ""))
        elif tag == "option" and self.select:
            kind, value = self.current.fields[self.select]
            if not value or "selected" in a:
                self.current.fields[self.select] = (kind, a.get("value", ""))
        elif tag == "textarea" and name:
            self.textarea = name
            self.current.fields.setdefault(name, ("textarea", ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


@pytest.fixture
def screens(shop):
    """Data that makes every form appear: a draft, a finalized order with units to ship and a packed
    shipment, a held order, a product, users, and an API, a Shopify and an Amazon channel (with a SKU map)."""
    shop.product("A", in_hand=20)
    order = shop.web_order(("A", 3))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS",
                                   tracking_number="1ZSCREENS0001")
    draft = shop.draft(("A", 1))
    invoiced = shop.web_order(("A", 2))  # shipped and invoiced: its page has the refund form
    invoicing.issue_invoice(shop.staff, invoiced.id, shipping.ship_lines(shop.staff, invoiced.id,
                                                                         {invoiced.lines[0].id: 2}).id)
    shopify = shop.channel("Shopify", ChannelKind.SHOPIFY)
    amazon = shop.channel("Amazon", ChannelKind.AMAZON)
    amazon_row = db.session.get(SalesChannel, amazon.id)
    amazon_row.settings = {"sku_map": {"AMZ-A": "A"}, "base_url": "http://127.0.0.1:9/"}
    db.session.commit()
    product_id = shop.product_row("A").id
    # A second warehouse: the top bar's "Working at", and an order split across both (Ship from, Move).
    from ..helpers.sites import receive_at

    east = add_location(shop, "East")
    receive_at(shop, shop.product("B").id, 2, east)
    split = shop.web_order(("A", 1), ("B", 1))  # A from Main, B from East
    # The Move form is met first on an order of its own (C at Main; East has one C free to move it to).
    movable_product = shop.product("C", in_hand=1)
    movable = shop.web_order(("C", 1))
    receive_at(shop, movable_product.id, 1, east)
    # Returns: a requested one (its reject form) before an authorized one (receive, exchange), both of a
    # shipped unit of their own order, so the order page's "Open a return" keeps units to return.
    returned = shop.web_order(("A", 2))
    shipping.ship_lines(shop.staff, returned.id, {returned.lines[0].id: 2})
    requested = returns.open_return(shop.staff, returned.id, [returns.ReturnRequest(returned.lines[0].id, 1, "damaged")])
    authorized = returns.open_return(shop.staff, returned.id, [returns.ReturnRequest(returned.lines[0].id, 1, "other")])
    returns.authorize_return(shop.staff, authorized.id)
    created = transfers.create_transfer(shop.manager, MAIN, east, [("A", 2)])
    sent = shipped_transfer(shop, MAIN, east, ("A", 2))
    transfer_pages = ["/locations", f"/locations/{east}", "/transfers", "/transfers/new", f"/transfers/{created.id}",
                      f"/transfers/{sent.id}"]
    supplier = buy.supplier()
    draft_po = purchasing.create_purchase_order(shop.manager, supplier.id)
    purchasing.add_line(shop.manager, draft_po.id, "A", 3, 100)
    sent_po = buy.sent_po(shop.manager, supplier, ("A", 2, 100))
    maker = supplier_location()
    drop_shipped(shop, "BENCH", maker)
    with_supplier = shop.web_order(("BENCH", 2))
    # The draft first: a form met twice is tried on its first page, and only the draft can still be voided.
    return [f"/orders/{draft.id}", f"/orders/{movable.id}", f"/orders/{order.id}", f"/orders/{split.id}",
            f"/orders/{invoiced.id}", "/orders", "/orders/new", "/products", "/products/new",
            f"/products/{product_id}", f"/products/{product_id}/edit", "/users", "/channels", f"/channels/{shop.web.id}",
            f"/channels/{shopify.id}",
            f"/channels/{amazon.id}", "/account/password", "/overview", "/pack", "/handover",
            "/handover/carrier?carrier=UPS", "/carriers", f"/returns/{requested.id}", f"/returns/{authorized.id}",
            *transfer_pages, "/suppliers", f"/suppliers/{supplier.id}", "/purchase-orders",
            f"/purchase-orders/{draft_po.id}", f"/purchase-orders/{sent_po.id}",
            link_path(with_supplier.id, maker.id)], shipment


def _forms(web_app, client, pages: list[str]) -> list[Form]:
    """The distinct forms of the pages: one of each endpoint and set of fields (a row's form once)."""
    adapter = web_app.url_map.bind("localhost")
    found: dict[tuple, Form] = {}
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        parser = _Forms(page)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            form.path = urlsplit(html.unescape(form.path)).path
            form.endpoint = adapter.match(form.path, method="POST")[0]
            found.setdefault((form.endpoint, tuple(sorted(form.fields))), form)
    return list(found.values())


def _post(client, form: Form, data: dict, token: str):
    if form.htmx:
        return client.htmx_post(form.path, data, token=token)
    return client.post_form(form.path, data, token=token)


def _valid(form: Form) -> dict:
    data = {name: value for name, (_, value) in form.fields.items()}
    data.update({k: v for k, v in VALID.get(form.endpoint, {}).items() if k in form.fields})
    return data


def test_every_form_field_refuses_an_over_long_value_and_a_nul(web_app, shop, sign_in, screens):
    pages, _ = screens
    admin = sign_in(shop.admin)
    token = admin.csrf_token()
    forms = _forms(web_app, admin, pages)
    post_rules = {rule.endpoint for rule in web_app.url_map.iter_rules() if "POST" in rule.methods}
    with_fields = {form.endpoint for form in forms if form.fields}
    assert post_rules - with_fields - NO_FIELD_TO_TEST - NOT_BROWSER_FORMS - SIGNED_OUT_FORMS == set(), \
        "a POST rule whose form was found on no screen: render it in `screens` or say why it has no field"
    assert with_fields & NO_FIELD_TO_TEST == set(), "a form named as fieldless has fields now: test them"

    failures = []
    tried = 0
    for form in sorted(forms, key=lambda f: f.endpoint):
        for name, (kind, _) in sorted(form.fields.items()):
            bad_values = [("NUL", NUL)]
            if length_checked(name, kind):
                bad_values.append(("over-long", ("9" if kind in ("number", "hidden") else "x") * TOO_LONG))
            for what, value in bad_values:
                tried += 1
                before = every_row()
                response = _post(admin, form, {**_valid(form), name: value}, token)
                body = html.unescape(response.get_data(as_text=True))
                where = f"{what} {name!r} ({kind}) posted to {form.path} ({form.endpoint})"
                if not 400 <= response.status_code < 500:
                    failures.append(f"{where}: {response.status_code}")
                elif what == "NUL" and (response.status_code != 400 or f"“{name}” holds a NUL character" not in body):
                    failures.append(f"{where}: {response.status_code} without the NUL message")
                elif what == "over-long" and kind not in ("number", "hidden", "select", "radio") \
                        and not any(words in body for words in ("at most", "up to", "under")):
                    failures.append(f"{where}: refused, but not for its length: {body[:200]!r}")
                if every_row() != before:
                    failures.append(f"{where}: changed a row")
    assert tried > 60, f"only {tried} bad posts: the screens lost their forms"
    assert failures == [], "\n".join(failures)

    # The control: each form's valid post goes through, so the refusals above were for the bad value alone.
    for form in sorted(forms, key=lambda f: f.endpoint):
        if not form.fields or form.endpoint in NO_CONTROL or form.endpoint == "auth.change_password":
            continue
        response = _post(admin, form, _valid(form), token)
        assert response.status_code < 400, (form.endpoint, form.path, _valid(form),
                                            html.unescape(response.get_data(as_text=True))[:600])
