"""Test helper: a fake EasyPost on loopback that answers with EasyPost's documented objects.

POST /v2/addresses (verify), POST /v2/shipments (rates), GET /v2/shipments/:id, POST .../buy,
POST .../refund, GET /v2/trackers/:id, and the label files under /files/. Basic auth with the key; an
error is {"error": {"code", "message", "errors"}}. `delay` makes every API call take that long;
`calls_per_second` answers 429 beyond EasyPost's rate limit; `fail_next` / `lose_next_buy` script
failures. `event()` builds a signed tracker webhook as EasyPost sends it.
"""
from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from oms_web.carriers.easypost import signature

API_KEY = "EZTK_test_key"


def _pdf_label() -> bytes:
    """A one-page 4x6 in PDF label, as a carrier returns one."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=288, height=432)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF_LABEL = _pdf_label()
ZPL_LABEL = b"^XA^FO50,50^ADN,36,20^FDFAKE LABEL^FS^XZ"

RATES = [("USPS", "Priority", "7.58", 2), ("USPS", "Ground", "5.20", 5), ("UPS", "NextDayAir", "31.10", 1),
         ("FedEx", "FEDEX_GROUND", "9.95", 4)]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeEasyPost:
    def __init__(self, delay: float = 0.0, calls_per_second: float | None = None):
        self.delay = delay
        self.calls_per_second = calls_per_second
        self.shipments: dict[str, dict[str, Any]] = {}
        self.trackers: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.fail_next: deque[tuple[int, str]] = deque()  # (HTTP status, message) for the next calls
        self.lose_next_buy = False  # buy, then never answer (the client times out)
        self.bad_addresses: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.throttled = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake._handle(self, "GET")

            def do_POST(self):
                fake._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v2"

    @property
    def files(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/files"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------ objects

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):08x}"

    def _shipment(self, body: dict[str, Any]) -> dict[str, Any]:
        shipment_id = self._id("shp")
        rates = [{"id": self._id("rate"), "object": "Rate", "carrier": c, "service": s, "rate": r, "currency": "USD",
                  "delivery_days": d, "est_delivery_days": d, "shipment_id": shipment_id} for c, s, r, d in RATES]
        shipment = {"id": shipment_id, "object": "Shipment", "mode": "test", "reference": body.get("reference"),
                    "to_address": body.get("to_address"), "from_address": body.get("from_address"),
                    "parcel": {"object": "Parcel", **(body.get("parcel") or {})}, "options": body.get("options") or {},
                    "rates": rates, "messages": [], "selected_rate": None, "postage_label": None,
                    "tracking_code": None, "tracker": None, "refund_status": None, "created_at": _now()}
        self.shipments[shipment_id] = shipment
        return shipment

    def _buy(self, shipment: dict[str, Any], rate_id: str) -> tuple[int, dict[str, Any]]:
        if shipment["postage_label"]:
            return 422, {"error": {"code": "SHIPMENT.POSTAGE.EXISTS", "message": "Shipment already has postage.", "errors": []}}
        rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
        if rate is None:
            return 422, {"error": {"code": "SHIPMENT.RATE.INVALID", "message": "Rate not found.", "errors": []}}
        code = f"9400{next(self._ids):018d}"
        tracker = {"id": self._id("trk"), "object": "Tracker", "tracking_code": code, "status": "pre_transit",
                   "carrier": rate["carrier"], "tracking_details": [], "public_url": f"https://track.easypost.com/{code}",
                   "updated_at": _now()}
        self.trackers[tracker["id"]] = tracker
        zpl = (shipment["options"].get("label_format") or "").upper() == "ZPL"
        name = f"{shipment['id']}.{'zpl' if zpl else 'pdf'}"
        shipment.update(selected_rate=rate, tracking_code=code, tracker=tracker, postage_label={
            "object": "PostageLabel", "label_file_type": "application/zpl" if zpl else "application/pdf",
            "label_url": f"{self.files}/{name}", "label_pdf_url": None if zpl else f"{self.files}/{name}",
            "label_zpl_url": f"{self.files}/{name}" if zpl else None})
        return 200, shipment

    def set_tracker(self, tracking_code: str, status: str, message: str = "", when: str | None = None) -> dict[str, Any]:
        tracker = next(t for t in self.trackers.values() if t["tracking_code"] == tracking_code)
        tracker["status"] = status
        tracker["tracking_details"].append({"object": "TrackingDetail", "message": message or status.replace("_", " "),
                                            "status": status, "datetime": when or _now()})
        tracker["updated_at"] = when or _now()
        return tracker

    def event(self, tracking_code: str, status: str, secret: str, message: str = "", when: str | None = None,
              created_at: str | None = None) -> tuple[bytes, dict[str, str]]:
        """A tracker.updated webhook body and its headers, signed as EasyPost signs it."""
        tracker = self.set_tracker(tracking_code, status, message, when)
        body = json.dumps({"object": "Event", "id": self._id("evt"), "description": "tracker.updated",
                           "mode": "test", "created_at": created_at or _now(), "result": tracker,
                           "previous_attributes": {}}).encode()
        return body, {"X-Hmac-Signature": signature(secret, body), "Content-Type": "application/json"}

    # ------------------------------------------------------------ HTTP

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        path = handler.path.split("?")[0]
        if path.startswith("/files/"):
            self._send(handler, 200, ZPL_LABEL if path.endswith(".zpl") else PDF_LABEL, "application/octet-stream")
            return
        auth = handler.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
        if auth != expected:
            self._json(handler, 401, {"error": {"code": "APIKEY.INACTIVE", "message": "API key is invalid.", "errors": []}})
            return
        with self._lock:
            now = time.monotonic()
            if self.calls_per_second:
                while self._window and self._window[0] < now - 1:
                    self._window.popleft()
                if len(self._window) >= self.calls_per_second:
                    self.throttled += 1
                    throttled = True
                else:
                    self._window.append(now)
                    throttled = False
            else:
                throttled = False
            failure = self.fail_next.popleft() if self.fail_next else None
        if self.delay:
            time.sleep(self.delay)
        if throttled:
            self._json(handler, 429, {"error": {"code": "RATE_LIMITED", "message": "Too many requests", "errors": []}})
            return
        body = json.loads(raw) if raw else {}
        self.requests.append((method, path, body))
        if failure:
            self._json(handler, failure[0], {"error": {"code": "FAKE", "message": failure[1], "errors": []}})
            return
        parts = path.strip("/").split("/")[1:]
        with self._lock:
            status, answer = self._route(method, parts, body)
        if status == -1:  # the purchase happened, the answer is lost
            time.sleep(30)
            return
        self._json(handler, status, answer)

    def _route(self, method: str, parts: list[str], body: dict[str, Any]) -> tuple[int, Any]:
        if method == "POST" and parts == ["addresses"]:
            address = body.get("address") or {}
            ok = address.get("street1") not in self.bad_addresses and bool(address.get("zip"))
            errors = [] if ok else [{"code": "E.ADDRESS.NOT_FOUND", "field": "address", "message": "Address not found"}]
            return 200, {"id": self._id("adr"), "object": "Address", **address,
                         "verifications": {"delivery": {"success": ok, "errors": errors, "details": {}}}}
        if method == "POST" and parts == ["shipments"]:
            return 200, self._shipment(body.get("shipment") or {})
        if parts and parts[0] == "shipments" and len(parts) >= 2:
            shipment = self.shipments.get(parts[1])
            if shipment is None:
                return 404, {"error": {"code": "NOT_FOUND", "message": "The requested resource could not be found.", "errors": []}}
            if method == "GET" and len(parts) == 2:
                return 200, shipment
            if method == "POST" and parts[2:] == ["buy"]:
                status, answer = self._buy(shipment, ((body.get("rate") or {}).get("id")))
                if status == 200 and self.lose_next_buy:
                    self.lose_next_buy = False
                    return -1, None
                return status, answer
            if method == "POST" and parts[2:] == ["refund"]:
                shipment["refund_status"] = "submitted"
                return 200, shipment
        if method == "GET" and parts[:1] == ["trackers"] and len(parts) == 2 and parts[1] in self.trackers:
            return 200, self.trackers[parts[1]]
        return 404, {"error": {"code": "NOT_FOUND", "message": "The requested resource could not be found.", "errors": []}}

    def _json(self, handler: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
        self._send(handler, status, json.dumps(answer).encode(), "application/json")

    def _send(self, handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass
