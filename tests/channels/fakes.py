"""Fake Amazon SP-API and eBay Sell Fulfillment servers, our own, serving the shapes of CHANNELS.md.

Each runs on 127.0.0.1 on a free port in a thread (werkzeug's make_server) and keeps what it was sent,
so a test can both steer it (pages, throttling, tokens that expire, temporary failures) and check what
the client did. `reset()` returns a fake to its first state between tests.
"""
from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

AMAZON_CREDENTIALS = {"client_id": "amzn1.application-oa2-client.test", "client_secret": "amazon-secret",
                      "refresh_token": "Atzr|refresh-token"}
EBAY_CREDENTIALS = {"client_id": "OurShop-OMS-PRD-1234", "client_secret": "PRD-ebay-secret",
                    "refresh_token": "v^1.1#i^1#refresh"}
MARKETPLACE_ID = "A1F83G8C2ARO7P"


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


class FakeServer:
    """A WSGI app served in a background thread; `url` is where it listens."""

    def __init__(self, app: Flask):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


class _Fake:
    """What both fakes share: issued tokens, throttling, temporary failures, a log of calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.tokens: dict[str, int | None] = {}  # access token -> calls it still serves (None: no limit)
        self.token_requests: list[dict[str, Any]] = []
        self.token_life_calls: int | None = None  # a new token stops working after this many calls
        self.throttle_next = 0  # answer this many of the next API calls with 429
        self.retry_after: str | None = "0"
        self.fail_next = 0  # answer this many of the next API calls with the `failure` status
        self.failure = 503
        self.fail_paths: tuple[str, ...] = ()  # only calls whose path contains one of these fail (all if empty)
        self.calls: list[tuple[str, str, dict[str, list[str]]]] = []
        self.raw_queries: list[str] = []
        self.delay_s = 0.0

    def issue_token(self) -> str:
        with self.lock:
            token = f"token-{len(self.token_requests)}-{time.monotonic_ns()}"
            self.tokens[token] = self.token_life_calls
            return token

    def token_ok(self, token: str | None) -> bool:
        with self.lock:
            if not token or token not in self.tokens:
                return False
            left = self.tokens[token]
            if left is None:
                return True
            if left <= 0:
                return False
            self.tokens[token] = left - 1
            return True

    def interference(self):
        """A 429 or a temporary failure when the test asked for one, else None."""
        with self.lock:
            self.calls.append((request.method, request.path, parse_qs(request.query_string.decode())))
            self.raw_queries.append(request.query_string.decode())
            if self.throttle_next > 0:
                self.throttle_next -= 1
                response = jsonify({"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource."}]})
                response.status_code = 429
                if self.retry_after is not None:
                    response.headers["Retry-After"] = self.retry_after
                return response
            if self.fail_next > 0 and (not self.fail_paths or any(p in request.path for p in self.fail_paths)):
                self.fail_next -= 1
                response = jsonify({"errors": [{"code": "InternalFailure", "message": "We encountered an internal error. Please try again."}]})
                response.status_code = self.failure
                return response
        if self.delay_s:
            time.sleep(self.delay_s)
        return None

    def api_calls(self, path_part: str) -> list[tuple[str, str, dict[str, list[str]]]]:
        return [call for call in self.calls if path_part in call[1]]


# ---------------------------------------------------------------- Amazon

def amazon_order(order_id: str, *, status: str = "Unshipped", channel: str = "MFN",
                 updated: str = "2026-11-01T10:00:00Z", purchased: str = "2026-11-01T09:00:00Z",
                 items: list[tuple[str, int, str]] = (("A", 1, "10.00"),), address: bool | None = None,
                 buyer: str = "Jane Buyer", email: str | None = None, shipping: str = "0.00") -> dict[str, Any]:
    """An order as getOrders returns it, plus `_items` (its getOrderItems), which the fake serves apart.
    `items`: (SellerSKU, QuantityOrdered, ItemPrice amount = price × quantity)."""
    total = sum(float(amount) for _, _, amount in items)
    order: dict[str, Any] = {
        "AmazonOrderId": order_id, "PurchaseDate": purchased, "LastUpdateDate": updated, "OrderStatus": status,
        "FulfillmentChannel": channel, "OrderTotal": {"CurrencyCode": "GBP", "Amount": f"{total:.2f}"},
        "ShipServiceLevel": "Std UK Dom_1", "IsPrime": False,
        "BuyerInfo": {"BuyerEmail": email or f"{order_id.replace('-', '')}@marketplace.amazon.co.uk", "BuyerName": buyer},
        "_items": [{"OrderItemId": f"{order_id[-7:]}{n:02d}", "SellerSKU": sku, "ASIN": f"B0{n:08d}", "Title": f"Thing {sku}",
                    "QuantityOrdered": quantity, "QuantityShipped": 0,
                    "ItemPrice": {"CurrencyCode": "GBP", "Amount": amount},
                    "ItemTax": {"CurrencyCode": "GBP", "Amount": "0.00"},
                    "ShippingPrice": {"CurrencyCode": "GBP", "Amount": shipping if n == 0 else "0.00"},
                    "PromotionDiscount": {"CurrencyCode": "GBP", "Amount": "0.00"}}
                   for n, (sku, quantity, amount) in enumerate(items)],
    }
    if address if address is not None else status != "Pending":  # Amazon shows it once the order is paid
        order["ShippingAddress"] = {"Name": buyer, "AddressLine1": "1 Station Road", "AddressLine2": "Flat 2",
                                    "City": "Leeds", "StateOrRegion": "West Yorkshire", "PostalCode": "LS1 4DY",
                                    "CountryCode": "GB", "Phone": "+44 113 496 0000"}
    return order


class FakeAmazon(_Fake):
    def reset(self) -> None:
        super().reset()
        self.orders: list[dict[str, Any]] = []
        self.page_size = 100
        self.items_page_size = 100
        self.confirmations: list[tuple[str, dict[str, Any]]] = []
        self.confirmation_status = 204

    def add(self, *orders: dict[str, Any]) -> None:
        with self.lock:
            for order in orders:
                self.orders = [o for o in self.orders if o["AmazonOrderId"] != order["AmazonOrderId"]] + [order]

    def app(self) -> Flask:
        app = Flask("fake-amazon")

        def denied():
            return jsonify({"errors": [{"code": "Unauthorized", "message": "Access to requested resource is denied.",
                                        "details": "The access token you provided has expired."}]}), 403

        @app.post("/auth/o2/token")
        def token():
            form = request.form.to_dict()
            self.token_requests.append(form)
            expected = {"grant_type": "refresh_token", **AMAZON_CREDENTIALS}
            if form != expected:
                return jsonify({"error": "invalid_client", "error_description": "Client authentication failed"}), 401
            return jsonify({"access_token": self.issue_token(), "token_type": "bearer", "expires_in": 3600,
                            "refresh_token": AMAZON_CREDENTIALS["refresh_token"]})

        @app.get("/orders/v0/orders")
        def get_orders():
            trouble = self.interference()
            if trouble is not None:
                return trouble
            if not self.token_ok(request.headers.get("x-amz-access-token")):
                return denied()
            if request.args.get("MarketplaceIds") != MARKETPLACE_ID:
                return jsonify({"errors": [{"code": "InvalidInput", "message": "MarketplaceIds is required"}]}), 400
            token = request.args.get("NextToken")
            if token:
                offset_text, _, after = token.partition("|")
                offset = int(offset_text)
            else:
                after = request.args.get("LastUpdatedAfter") or ""
                if not after:
                    return jsonify({"errors": [{"code": "InvalidInput",
                                                "message": "Either CreatedAfter or LastUpdatedAfter must be given"}]}), 400
                offset = 0
            with self.lock:
                chosen = sorted((o for o in self.orders if _when(o["LastUpdateDate"]) > _when(after)),
                                key=lambda o: (o["LastUpdateDate"], o["AmazonOrderId"]))
            page = chosen[offset:offset + self.page_size]
            payload: dict[str, Any] = {"Orders": [{k: v for k, v in o.items() if k != "_items"} for o in page]}
            if offset + self.page_size < len(chosen):
                payload["NextToken"] = f"{offset + self.page_size}|{after}"
            return jsonify({"payload": payload})

        @app.get("/orders/v0/orders/<order_id>/orderItems")
        def get_items(order_id: str):
            trouble = self.interference()
            if trouble is not None:
                return trouble
            if not self.token_ok(request.headers.get("x-amz-access-token")):
                return denied()
            order = next((o for o in self.orders if o["AmazonOrderId"] == order_id), None)
            if order is None:
                return jsonify({"errors": [{"code": "NotFound", "message": f"Order {order_id} not found"}]}), 404
            offset = int(request.args.get("NextToken") or 0)
            payload: dict[str, Any] = {"AmazonOrderId": order_id,
                                       "OrderItems": order["_items"][offset:offset + self.items_page_size]}
            if offset + self.items_page_size < len(order["_items"]):
                payload["NextToken"] = str(offset + self.items_page_size)
            return jsonify({"payload": payload})

        @app.post("/orders/v0/orders/<order_id>/shipmentConfirmation")
        def confirm(order_id: str):
            trouble = self.interference()
            if trouble is not None:
                return trouble
            if not self.token_ok(request.headers.get("x-amz-access-token")):
                return denied()
            body = request.get_json()
            detail = body.get("packageDetail") or {}
            if body.get("marketplaceId") != MARKETPLACE_ID or not detail.get("orderItems") or not detail.get("carrierCode"):
                return jsonify({"errors": [{"code": "InvalidInput", "message": "Invalid packageDetail"}]}), 400
            if self.confirmation_status != 204:
                return jsonify({"errors": [{"code": "InvalidInput", "message": "Order is not in a shippable state"}]}), \
                    self.confirmation_status
            self.confirmations.append((order_id, body))
            return "", 204

        return app


# ---------------------------------------------------------------- eBay

def ebay_order(order_id: str, *, payment: str = "PAID", cancel: str = "NONE_REQUESTED",
               fulfillment: str = "NOT_STARTED", modified: str = "2026-11-01T10:00:00.000Z",
               items: list[tuple[str, int, str]] = (("A", 1, "10.00"),), delivery: str = "3.50",
               name: str = "Sam Seller-Buyer") -> dict[str, Any]:
    """An order as getOrders returns it. `items`: (sku, quantity, lineItemCost value = unit × quantity)."""
    subtotal = sum(float(value) for _, _, value in items)
    return {
        "orderId": order_id, "legacyOrderId": f"1234567890-{order_id[-5:]}", "creationDate": "2026-11-01T09:00:00.000Z",
        "lastModifiedDate": modified, "orderFulfillmentStatus": fulfillment, "orderPaymentStatus": payment,
        "cancelStatus": {"cancelState": cancel, "cancelRequests": []}, "buyer": {"username": "sam_buys_things"},
        "pricingSummary": {"priceSubtotal": {"value": f"{subtotal:.2f}", "currency": "USD"},
                           "deliveryCost": {"value": delivery, "currency": "USD"},
                           "total": {"value": f"{subtotal + float(delivery):.2f}", "currency": "USD"}},
        "fulfillmentStartInstructions": [{"fulfillmentInstructionsType": "SHIP_TO", "shippingStep": {
            "shippingServiceCode": "USPSPriority",
            "shipTo": {"fullName": name, "companyName": "", "email": f"{order_id.replace('-', '')}@members.ebay.com",
                       "primaryPhone": {"phoneNumber": "+1 415 555 0100"},
                       "contactAddress": {"addressLine1": "350 Market St", "addressLine2": "Suite 5",
                                          "city": "San Francisco", "stateOrProvince": "CA", "postalCode": "94105",
                                          "countryCode": "US"}}}}],
        "lineItems": [{"lineItemId": f"{order_id[-5:]}{n:03d}", "legacyItemId": f"11{n:010d}", "sku": sku,
                       "title": f"Thing {sku}", "quantity": quantity,
                       "lineItemCost": {"value": value, "currency": "USD"},
                       "total": {"value": value, "currency": "USD"}, "lineItemFulfillmentStatus": "NOT_STARTED"}
                      for n, (sku, quantity, value) in enumerate(items)],
    }


class FakeEbay(_Fake):
    def reset(self) -> None:
        super().reset()
        self.orders: list[dict[str, Any]] = []
        self.page_size: int | None = None  # None: the client's limit
        self.fulfillments: list[tuple[str, dict[str, Any]]] = []

    def add(self, *orders: dict[str, Any]) -> None:
        with self.lock:
            for order in orders:
                self.orders = [o for o in self.orders if o["orderId"] != order["orderId"]] + [order]

    def app(self) -> Flask:
        app = Flask("fake-ebay")

        def invalid_token():
            return jsonify({"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                        "message": "Invalid access token",
                                        "longMessage": "Invalid access token. Check the value of the Authorization HTTP request header."}]}), 401

        def bearer() -> str | None:
            header = request.headers.get("Authorization") or ""
            return header[7:] if header.startswith("Bearer ") else None

        @app.post("/identity/v1/oauth2/token")
        def token():
            expected = base64.b64encode(
                f"{EBAY_CREDENTIALS['client_id']}:{EBAY_CREDENTIALS['client_secret']}".encode()).decode()
            form = request.form.to_dict()
            self.token_requests.append({**form, "authorization": request.headers.get("Authorization")})
            if request.headers.get("Authorization") != f"Basic {expected}":
                return jsonify({"error": "invalid_client", "error_description": "client authentication failed"}), 401
            if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != EBAY_CREDENTIALS["refresh_token"] \
                    or not form.get("scope"):
                return jsonify({"error": "invalid_grant", "error_description": "the provided authorization grant is invalid"}), 400
            return jsonify({"access_token": self.issue_token(), "expires_in": 7200, "token_type": "User Access Token"})

        @app.get("/sell/fulfillment/v1/order")
        def get_orders():
            trouble = self.interference()
            if trouble is not None:
                return trouble
            if not self.token_ok(bearer()):
                return invalid_token()
            if request.args.get("orderIds"):  # up to 50 orders by id, found or not: no paging
                wanted = request.args["orderIds"].split(",")[:50]
                with self.lock:
                    found = [o for o in self.orders if o["orderId"] in wanted]
                return jsonify({"href": request.url, "total": len(found), "limit": 50, "offset": 0, "orders": found})
            raw_filter = request.args.get("filter") or ""
            prefix, suffix = "lastmodifieddate:[", "..]"
            if not (raw_filter.startswith(prefix) and raw_filter.endswith(suffix)):
                return jsonify({"errors": [{"errorId": 30700, "domain": "API_FULFILLMENT", "category": "REQUEST",
                                            "message": "Invalid filter"}]}), 400
            after = _when(raw_filter[len(prefix):-len(suffix)])
            limit = min(int(request.args.get("limit") or 50), 200)
            if self.page_size:
                limit = min(limit, self.page_size)
            offset = int(request.args.get("offset") or 0)
            with self.lock:
                chosen = sorted((o for o in self.orders if _when(o["lastModifiedDate"]) >= after),
                                key=lambda o: (o["lastModifiedDate"], o["orderId"]))
            page = chosen[offset:offset + limit]
            base = f"{request.host_url.rstrip('/')}/sell/fulfillment/v1/order?filter={request.args.get('filter')}&limit={limit}"
            body: dict[str, Any] = {"href": f"{base}&offset={offset}", "total": len(chosen), "limit": limit,
                                    "offset": offset, "orders": page}
            if offset + limit < len(chosen):
                body["next"] = (f"{request.host_url.rstrip('/')}/sell/fulfillment/v1/order?filter="
                                f"lastmodifieddate:%5B{raw_filter[len(prefix):-len(suffix)]}..%5D&limit={limit}&offset={offset + limit}")
            return jsonify(body)

        @app.post("/sell/fulfillment/v1/order/<order_id>/shipping_fulfillment")
        def fulfil(order_id: str):
            trouble = self.interference()
            if trouble is not None:
                return trouble
            if not self.token_ok(bearer()):
                return invalid_token()
            body = request.get_json()
            if not body.get("lineItems") or bool(body.get("shippingCarrierCode")) != bool(body.get("trackingNumber")):
                return jsonify({"errors": [{"errorId": 32100, "message": "Invalid request"}]}), 400
            self.fulfillments.append((order_id, body))
            fulfillment_id = f"FUL{len(self.fulfillments):04d}"
            return "", 201, {"Location": f"{request.host_url.rstrip('/')}/sell/fulfillment/v1/order/{order_id}"
                                         f"/shipping_fulfillment/{fulfillment_id}"}

        return app
