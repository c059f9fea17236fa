"""The mixed load of bench/cluster_load.py (Locust, headless), through HAProxy, all at once:

- API clients POST web-store orders as fast as they are answered; one post in ten repeats an order
  already accepted (it must answer 200 with the same order). A post that fails (a node killed under
  it: 502/503, a dropped connection) is sent again, the same order id, until it is answered.
- Webhook deliveries: Shopify orders/create, signed, retried the same way.
- Staff sessions: sign in, the board, an order's page, ship it (packed, then handed over), its label
  (PDF), and now and then a print batch of 45 packing slips (a job for the workers), like people do.

What each client was told is written, per Locust process, to $OMS_LOAD_RESULTS/<pid>.json when the run
ends: bench/cluster_load.py checks it against the database (every accepted order exactly once).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, constant, events, task

CONFIG = json.loads(Path(os.environ["OMS_LOAD_CONFIG"]).read_text())
RESULTS_DIR = Path(os.environ["OMS_LOAD_RESULTS"])
MAX_TRIES = 20  # a post is sent again this often before the client gives up on it (reported)
REPEAT_SHARE = 0.1

_numbers = itertools.count(1)
_accepted: list[dict] = []  # {"kind", "id", "order", "status", "t", "tries"}
_api_accepted: list[tuple[str, int]] = []
_troubles = {"given_up": 0, "retried": 0, "repeat_mismatch": 0, "refused": 0, "staff_conflicts": 0,
             "staff_retries": 0, "jobs_started": 0}
_shipped: list[int] = []
_jobs: list[int] = []


@events.test_stop.add_listener
def _write_results(**_kwargs) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{os.getpid()}.json").write_text(json.dumps(
        {"accepted": _accepted, "troubles": _troubles, "jobs": _jobs}))


def _order_body(order_id: str) -> bytes:
    customer = random.randrange(5_000)
    return json.dumps({
        "order_id": order_id,
        "customer": {"name": f"Customer {customer}", "email": f"customer{customer}@example.com"},
        "ship_to": {"name": f"Customer {customer}", "line1": "1 Main St", "city": "Denver", "region": "CO",
                    "postal_code": "80202", "country": "US"},
        "lines": [{"sku": sku, "quantity": random.randint(1, 3), "unit_price": "24.50"}
                  for sku in random.sample(CONFIG["skus"], random.randint(1, 3))],
        "shipping": "5.95"}).encode()


def _deliver(user, kind: str, path: str, body: bytes, headers: dict, name: str, channel_order_id: str,
             expect_order: int | None = None) -> None:
    """POST until answered; a failure is retried with the same body (so the same channel order id)."""
    for tries in range(1, MAX_TRIES + 1):
        with user.client.post(path, data=body, headers=headers, name=name, catch_response=True) as response:
            status = response.status_code
            if status in (200, 201):
                order = (response.json() or {}).get("id" if kind == "api" else "order_id")
                response.success()
                if expect_order is not None and order != expect_order:
                    _troubles["repeat_mismatch"] += 1
                _accepted.append({"kind": kind, "id": channel_order_id, "order": order, "status": status,
                                  "t": time.time(), "tries": tries})
                if tries > 1:
                    _troubles["retried"] += 1
                if kind == "api" and status == 201:
                    _api_accepted.append((channel_order_id, order))
                return
            if status and status < 500 and status != 429:
                response.failure(f"refused {status}: {response.text[:200]}")
                _troubles["refused"] += 1
                return
            response.failure(f"{status or 'no answer'} (sent again)")
        gevent.sleep(min(2.0, 0.1 * tries))
    _troubles["given_up"] += 1


class ApiClient(FastHttpUser):
    """A web store's order client: as fast as it is answered."""

    weight = 20
    wait_time = constant(0)
    connection_timeout = 10
    network_timeout = 30

    @task
    def post_order(self) -> None:
        headers = {"Authorization": f"Bearer {CONFIG['api_key']}", "Content-Type": "application/json"}
        if _api_accepted and random.random() < REPEAT_SHARE:
            channel_order_id, order = random.choice(_api_accepted)
            _deliver(self, "api", "/api/v1/orders", _order_body(channel_order_id), headers,
                     "API POST /api/v1/orders (repeat)", channel_order_id, expect_order=order)
            return
        channel_order_id = f"L{os.getpid()}-{next(_numbers)}"
        _deliver(self, "api", "/api/v1/orders", _order_body(channel_order_id), headers, "API POST /api/v1/orders",
                 channel_order_id)


class WebhookClient(FastHttpUser):
    """Shopify delivering orders/create, a few a second."""

    fixed_count = 2
    wait_time = between(0.1, 0.3)

    @task
    def deliver(self) -> None:
        number = next(_numbers)
        shopify_id = os.getpid() * 10_000_000 + number
        sku = random.choice(CONFIG["skus"])
        payload = {"id": shopify_id, "name": f"#S{shopify_id}", "email": "jon@example.com", "currency": "USD",
                   "financial_status": "paid", "created_at": "2026-11-20T10:00:00-05:00", "cancelled_at": None,
                   "line_items": [{"id": number, "sku": sku, "title": sku, "quantity": 1, "price": "12.50"}],
                   "shipping_address": {"name": "Jon Snow", "address1": "1 Wall St", "city": "Denver", "zip": "80202",
                                        "province": "CO", "country_code": "US"},
                   "shipping_lines": [{"price": "5.00"}],
                   "customer": {"id": 1, "email": "jon@example.com", "first_name": "Jon", "last_name": "Snow"}}
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(CONFIG["shopify_secret"].encode(), body, hashlib.sha256).digest()).decode()
        _deliver(self, "shopify", f"/webhooks/shopify/{CONFIG['shopify_channel']}", body,
                 {"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": signature,
                  "X-Shopify-Topic": "orders/create"}, "Webhook POST /webhooks/shopify", str(shopify_id))


_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_ORDER_LINK = re.compile(r'href="/orders/(\d+)"')
_SHIP_INPUT = re.compile(r'<input[^>]*name="ship-(\d+)"[^>]*>')
_MAX = re.compile(r'max="(\d+)"')
_LABEL = re.compile(r'/orders/\d+/shipments/(\d+)/label\.pdf')


class Staff(FastHttpUser):
    """A person at the warehouse: the board, an order, ship it, its label; a print batch now and then.
    A conflict (someone else shipped that order a moment before) or a failed request is tried again
    with another order: what a person does."""

    fixed_count = 4
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.orders: list[int] = []
        self.board_ids: list[int] = []
        self.token = ""
        self._sign_in()

    def _sign_in(self) -> None:
        for _ in range(MAX_TRIES):
            page = self.client.get("/login", name="staff: sign-in page")
            found = re.search(r'name="csrf_token" value="([^"]+)"', page.text or "")
            if found:
                signed = self.client.post("/login", data={"email": CONFIG["staff_email"], "password": CONFIG["staff_password"],
                                                          "csrf_token": found.group(1)},
                                          name="staff: sign in", allow_redirects=False)
                if signed.status_code == 302:
                    return
            _troubles["staff_retries"] += 1
            gevent.sleep(1)

    def _page(self, path: str, name: str) -> str | None:
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code}")
                _troubles["staff_retries"] += 1
                return None
            text = response.text or ""
            token = _TOKEN.search(text)
            self.token = token.group(1) if token else self.token
            return text

    @task(4)
    def board(self) -> None:
        html = self._page("/orders", "staff: board")
        if html:
            self.orders = [int(i) for i in _ORDER_LINK.findall(html)][:50]
            self.board_ids = list(self.orders)

    @task(3)
    def ship_an_order(self) -> None:
        if not self.orders:
            return self.board()
        order_id = self.orders.pop(random.randrange(len(self.orders)))
        html = self._page(f"/orders/{order_id}", "staff: order page")
        if not html:
            return
        quantities = {}
        for tag in _SHIP_INPUT.finditer(html):
            most = _MAX.search(tag.group(0))
            if most and int(most.group(1)) > 0:
                quantities[f"ship-{tag.group(1)}"] = most.group(1)
        if not quantities:
            return
        with self.client.post(f"/orders/{order_id}/ship", name="staff: ship (pack)", allow_redirects=False,
                              data={**quantities, "carrier": "UPS", "service_level": "Ground",
                                    "tracking_number": f"1Z{order_id:010d}", "csrf_token": self.token},
                              catch_response=True) as response:
            if response.status_code == 422:  # shipped by someone else a moment before: another order
                response.success()
                _troubles["staff_conflicts"] += 1
                return
            if response.status_code != 302:
                response.failure(f"{response.status_code}")
                _troubles["staff_retries"] += 1
                return
        html = self._page(f"/orders/{order_id}", "staff: order page")
        labels = _LABEL.findall(html or "")
        if not labels:
            return
        shipment = labels[-1]
        with self.client.post(f"/orders/{order_id}/shipments/{shipment}/shipped", name="staff: hand over",
                              data={"carrier": "UPS", "tracking_number": f"1Z{order_id:010d}", "csrf_token": self.token},
                              allow_redirects=False, catch_response=True) as response:
            if response.status_code not in (302, 422):
                response.failure(f"{response.status_code}")
                _troubles["staff_retries"] += 1
            else:
                response.success()
        with self.client.get(f"/orders/{order_id}/shipments/{shipment}/label.pdf", name="staff: print label (PDF)",
                             catch_response=True) as response:
            if response.status_code == 200 and (response.content or b"")[:4] == b"%PDF":
                response.success()
                _shipped.append(order_id)
            else:
                response.failure(f"{response.status_code}")

    @task(1)
    def print_batch(self) -> None:
        """Packing slips for 45 orders, those shipped here first (a slip is of a shipment): over 40, a job."""
        shipped = random.sample(_shipped, min(len(_shipped), 45))
        ids = shipped + [i for i in self.board_ids if i not in shipped][:45 - len(shipped)]
        if not shipped or len(ids) < 41 or random.random() > 0.3:
            return
        with self.client.post("/orders/print/packing-slips", name="staff: print batch (queues a job)",
                              data=urlencode({"order_ids": ids, "csrf_token": self.token}, doseq=True),
                              headers={"Content-Type": "application/x-www-form-urlencoded"},
                              catch_response=True) as response:
            found = re.search(r"/print-jobs/(\d+)", response.text or "")
            if response.status_code == 200 and found:
                response.success()
                _troubles["jobs_started"] += 1
                _jobs.append(int(found.group(1)))
            else:
                response.failure(f"{response.status_code}")
