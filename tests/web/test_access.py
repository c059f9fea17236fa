"""Who may open what: every rule of the URL map (pages and fragments) against an explicit table.

A rule added to the app without a row here fails the test, and so does a view without an @allow marker.
"""
from __future__ import annotations

import pytest
from flask import url_for

from oms_web import create_app
from oms_web.domain import handover, invoicing, refunds, returns, shipping, transfers
from oms_web.extensions import db
from oms_web.models import Job, Role
from oms_web.web import PUBLIC

from ..conftest import test_config as config_for_tests
from ..helpers import purchasing as buy
from ..helpers.locations import MAIN, add_location
from .conftest import state

STAFF, MANAGER, ADMIN = Role.STAFF, Role.MANAGER, Role.ADMIN

# The least role each endpoint admits (every role above it too). PUBLIC: signed out as well.
ACCESS = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": STAFF,
    "auth.change_password": STAFF,
    "board.home": STAFF,
    "board.index": STAFF,
    "board.counts": STAFF,
    "board.bulk_allocate": STAFF,
    "board.bulk_shipping_action": STAFF,
    "board.job_status": STAFF,
    "board.job_pdf": STAFF,
    "orders.detail": STAFF,
    "orders.finalize": STAFF,
    "orders.allocate": STAFF,
    "orders.paid": STAFF,
    "orders.release": STAFF,
    "orders.void": ADMIN,
    "orders.add_note": STAFF,
    "orders.edit_lines": STAFF,
    "orders.ship": STAFF,
    "orders.rates": STAFF,
    "orders.shipment_shipped": STAFF,
    "orders.shipment_cancelled": STAFF,
    "orders.shipment_delivered": STAFF,
    "orders.invoice": STAFF,
    "orders.refund": MANAGER,
    "orders.move_allocation": STAFF,
    "work_site.choose": STAFF,
    "orders.new": STAFF,
    "orders.new_line": STAFF,
    "orders.customer_lookup": STAFF,
    "catalog.index": STAFF,
    "catalog.lookup": STAFF,
    "catalog.ledger": STAFF,
    "catalog.receive": MANAGER,
    "catalog.adjust": MANAGER,
    "catalog.new": MANAGER,
    "catalog.edit": MANAGER,
    "documents.label": STAFF,
    "documents.label_zpl": STAFF,
    "documents.bulk_zpl": STAFF,
    "documents.packing_slip": STAFF,
    "documents.invoice": STAFF,
    "documents.credit_note": STAFF,
    "documents.bulk": STAFF,
    "documents.job_status": STAFF,
    "documents.job_pdf": STAFF,
    "pack.index": STAFF,
    "pack.scan": STAFF,
    "handover.index": STAFF,
    "handover.carrier": STAFF,
    "handover.scan": STAFF,
    "handover.hand_over": STAFF,
    "handover.manifest": STAFF,
    "handover.manifest_document": STAFF,
    "documents.shipments_pdf": STAFF,
    "channels.index": ADMIN,
    "channels.detail": ADMIN,
    "channels.new_key": ADMIN,
    "channels.sku_map": ADMIN,
    "channels.shipping_defaults": ADMIN,
    "channels.sync_now": ADMIN,
    "channels.report": ADMIN,
    "channels.report_job": ADMIN,
    "channels.confirmation_file": ADMIN,
    "channels.confirmations_uploaded": ADMIN,
    "channels.confirmations_retry": ADMIN,
    "api.create_order": PUBLIC,  # a channel's API key, not a session, says who may post
    "api.openapi": PUBLIC,
    "carriers.index": ADMIN,
    "carriers.account": ADMIN,
    "carriers.presets": ADMIN,
    "carriers.channel_rule": ADMIN,
    "carriers.easypost_webhook": PUBLIC,  # EasyPost's HMAC signature over the body says who may post
    "webhooks.shopify": PUBLIC,  # the HMAC signature over the body says who may post
    "webhooks.woocommerce": PUBLIC,
    "ops.healthz": PUBLIC,  # the load balancer's checks
    "ops.readyz": PUBLIC,
    "ops.metrics_page": PUBLIC,  # this machine's scraper; from elsewhere an admin only (test_operations.py)
    "overview.index": MANAGER,
    "users.index": ADMIN,
    "users.update": ADMIN,
    "jobs.index": ADMIN,
    "jobs.retry": ADMIN,
    "returns.index": STAFF,
    "returns.find": STAFF,
    "returns.detail": STAFF,
    "returns.slip": STAFF,
    "returns.open": STAFF,
    "returns.authorize": STAFF,
    "returns.reject": STAFF,
    "returns.receive": STAFF,
    "returns.close": STAFF,
    "returns.reopen": ADMIN,  # nobody else reopens a closed return
    "returns.exchange": STAFF,
    # Issue 14: locations (admin), transfers (managers create, ship, cancel; staff see and receive).
    "locations.index": ADMIN,
    "locations.edit": ADMIN,
    "channels.ships_from": ADMIN,
    "transfers.index": STAFF,
    "transfers.new": MANAGER,
    "transfers.available": MANAGER,
    "transfers.detail": STAFF,
    "transfers.ship": MANAGER,
    "transfers.receive": STAFF,
    "transfers.cancel": MANAGER,
    # Suppliers: admins manage them, managers may look. Purchase orders: managers, staff see and receive.
    "purchasing.supplier_list": MANAGER,
    "purchasing.supplier": MANAGER,
    "purchasing.add_supplier": ADMIN,
    "purchasing.edit_supplier": ADMIN,
    "purchasing.set_supplier_product": ADMIN,
    "purchasing.remove_supplier_product": ADMIN,
    "purchasing.orders": STAFF,
    "purchasing.detail": STAFF,
    "purchasing.document": STAFF,
    "purchasing.create_po": MANAGER,
    "purchasing.edit_po": MANAGER,
    "purchasing.add_line": MANAGER,
    "purchasing.change_line": MANAGER,
    "purchasing.send": MANAGER,
    "purchasing.cancel": MANAGER,
    "purchasing.close": MANAGER,
    "purchasing.receive": STAFF,
    "purchasing.reorder": MANAGER,
    "supplier_portal.confirm": PUBLIC,  # the signed link says who may post (domain.drop_ship.read_link)
    "supplier_portal.index": STAFF,
    "supplier_portal.upload": STAFF,
}

ROLES = [STAFF, MANAGER, ADMIN]
_url_map_app = create_app(config_for_tests("sqlite://"))
RULES = sorted((rule.endpoint, method, rule.rule)
               for rule in _url_map_app.url_map.iter_rules()
               for method in rule.methods - {"HEAD", "OPTIONS"})


def _may(role: Role | None, required: Role | str) -> bool:
    if required == PUBLIC:
        return True
    return role is not None and role.rank >= required.rank


def _send(client, method: str, url: str, *, htmx: bool):
    if method == "GET":
        return client.htmx_get(url) if htmx else client.get(url)
    return client.htmx_post(url) if htmx else client.post_form(url)


@pytest.fixture
def url_values(shop) -> dict:
    """An existing id for every URL variable: an order with a packed and invoiced shipment (and a refund), its product,
    a user, a finished print job, the web store channel."""
    product = shop.product("A", in_hand=10)
    order = shop.web_order(("A", 3))
    shipment = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1})
    invoice = invoicing.issue_invoice(shop.staff, order.id, shipment.id)
    refund = refunds.issue_refund(shop.manager, order.id, refunds.RefundRequest(amount_cents=100))
    handed = shipping.ship_lines(shop.staff, order.id, {order.lines[0].id: 1}, carrier="UPS")
    manifest = handover.hand_over(shop.staff, "UPS", [handed.id]).manifest
    job = Job(kind="print", params={"document": "labels", "order_ids": [order.id]}, user_id=shop.admin.id,
              status="done", done=1, total=1, attempts=1, result=b"%PDF-1.4 test")
    db.session.add(job)
    db.session.commit()
    opened = returns.open_return(shop.staff, order.id, [returns.ReturnRequest(order.lines[0].id, 1, "damaged")])
    east = add_location(shop, "East")
    transfer = transfers.create_transfer(shop.manager, MAIN, east, [("A", 1)])
    supplier = buy.supplier()
    buy.sells(supplier, product, 100)
    purchase_order = buy.sent_po(shop.manager, supplier, ("A", 5, 100))
    return {"return_id": opened.id, "location_id": east, "transfer_id": transfer.id,
            "supplier_id": supplier.id, "purchase_order_id": purchase_order.id, "line_id": purchase_order.lines[0].id,
            "order_id": order.id, "shipment_id": shipment.id, "product_id": product.id, "invoice_id": invoice.id,
            "job_id": job.id, "kind": "labels", "action": "create", "user_id": shop.staff.id, "channel_id": shop.web.id,
            "filename": "app.css", "manifest_id": manifest.id,
            "credit_note_id": refund.credit_note.id, "token": "not-a-signed-link"}


def test_every_rule_of_the_app_is_in_the_access_table():
    endpoints = {rule.endpoint for rule in _url_map_app.url_map.iter_rules()}
    assert endpoints - ACCESS.keys() == set(), "routes missing from the access table: say who may open them"
    assert ACCESS.keys() - endpoints == set(), "the access table names routes the app no longer has"


def test_every_view_carries_the_allow_marker_of_the_table():
    for endpoint, view in _url_map_app.view_functions.items():
        if endpoint == "static":
            continue
        assert hasattr(view, "oms_role"), f"{endpoint} has no @allow marker"
        assert view.oms_role == ACCESS[endpoint], f"{endpoint} admits {view.oms_role}, the table says {ACCESS[endpoint]}"


def test_a_view_without_a_marker_is_refused_even_to_an_admin(web_app, shop, sign_in):
    web_app.add_url_rule("/unmarked", "unmarked", lambda: "secret")
    admin = sign_in(shop.admin)
    response = admin.get("/unmarked")
    assert response.status_code == 403
    assert "secret" not in response.get_data(as_text=True)
    assert web_app.test_client().get("/unmarked").status_code == 302


@pytest.mark.parametrize(("endpoint", "method", "rule"), RULES, ids=[f"{m} {r}" for _, m, r in RULES])
def test_route_admits_exactly_the_roles_of_the_access_table(endpoint, method, rule, web_app, shop, sign_in,
                                                            url_values):
    assert endpoint in ACCESS, f"{endpoint} is not in the access table: add it with the role it needs"
    required = ACCESS[endpoint]
    arguments = next(r for r in web_app.url_map.iter_rules(endpoint) if r.rule == rule).arguments
    with web_app.test_request_context():
        url = url_for(endpoint, **{name: url_values[name] for name in arguments})

    # Signed out: a page goes to the sign-in page; htmx is told where to go, with no form swapped in.
    before = state(shop)
    signed_out = web_app.test_client()
    page = _send(signed_out, method, url, htmx=False)
    fragment = _send(signed_out, method, url, htmx=True)
    if required == PUBLIC:
        assert page.status_code != 403 and fragment.status_code != 403
        assert "HX-Redirect" not in fragment.headers
    else:
        assert page.status_code == 302
        assert page.headers["Location"].startswith("/login")
        assert fragment.status_code == 401
        assert fragment.headers["HX-Redirect"].startswith("/login")
        assert "<form" not in fragment.get_data(as_text=True)
        assert state(shop) == before, "a signed-out request changed something"

    users = {STAFF: shop.staff, MANAGER: shop.manager, ADMIN: shop.admin}
    for role in ROLES:  # refusals first, on untouched data; then the roles that may
        if _may(role, required):
            continue
        client = sign_in(users[role])
        before = state(shop)
        for htmx in (False, True):
            response = _send(client, method, url, htmx=htmx)
            assert response.status_code == 403, f"{role.value} {'htmx ' if htmx else ''}{method} {url}"
            assert "Your role does not allow this." in response.get_data(as_text=True)
        assert state(shop) == before, f"a refused request by {role.value} changed something"

    for role in ROLES:
        if not _may(role, required):
            continue
        client = sign_in(users[role])
        response = _send(client, method, url, htmx=method == "POST")
        # A public endpoint may answer 401 of its own (an API key or a signature missing), never the login's.
        refusals = (403,) if required == PUBLIC else (401, 403)
        assert response.status_code not in refusals, f"{role.value} was refused {method} {url}"
        assert "HX-Redirect" not in response.headers
        assert not (method == "GET" and response.headers.get("Location", "").startswith("/login"))
