"""EasyPost's REST API (v2), the shop's multi-carrier label service: addresses (verified), shipments with
their rates, buying a rate's label, refunds, trackers, and its webhooks' events.

The shapes are EasyPost's documented objects: a request body wraps its object ({"shipment": {...}}), the
key is the Basic auth user name, sizes are inches and weights ounces, money is a decimal string, an
error is {"error": {"code", "message", "errors": [...]}}. A webhook's event is {"object": "Event",
"description": "tracker.updated", "result": <Tracker>}, signed in X-Hmac-Signature as
"hmac-sha256-hex=" + the HMAC-SHA256 of the raw body under the webhook secret (NFKD-normalised).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from . import BoughtLabel, CarrierError, CarrierUnavailable, Quote, Rate, RateLimiter, TrackerUpdate

NAME = "easypost"
DEFAULT_BASE_URL = "https://api.easypost.com/v2"
SIGNATURE_HEADER = "X-Hmac-Signature"
SIGNATURE_PREFIX = "hmac-sha256-hex="
# The most a label file may weigh: a 4x6 PDF or ZPL is some kilobytes.
MAX_LABEL_BYTES = 2 * 1024 * 1024
# EasyPost's tracker statuses, in the order a parcel goes through them (docs: Tracker object).
TRACKER_STATUSES = ("unknown", "pre_transit", "in_transit", "out_for_delivery", "delivered",
                    "available_for_pickup", "return_to_sender", "failure", "cancelled", "error")

GRAMS_PER_OUNCE = Decimal("28.349523125")
MM_PER_INCH = Decimal("25.4")

_local = threading.local()


def _session() -> requests.Session:
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def signature(secret: str, body: bytes) -> str:
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return SIGNATURE_PREFIX + hmac.new(key, body, hashlib.sha256).hexdigest()


def signature_ok(secret: str | None, body: bytes, header: str | None) -> bool:
    if not secret or not header or len(header) > 200:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().lower().encode())


def to_easypost_address(address: dict[str, Any]) -> dict[str, Any]:
    """Our address block (name, line1, line2, city, region, postal_code, country) in EasyPost's words."""
    return {"name": address.get("name"), "company": address.get("company"), "street1": address.get("line1"),
            "street2": address.get("line2"), "city": address.get("city"), "state": address.get("region"),
            "zip": address.get("postal_code"), "country": address.get("country"), "phone": address.get("phone"),
            "email": address.get("email")}


def to_easypost_parcel(parcel: dict[str, Any]) -> dict[str, Any]:
    """Our parcel (millimetres, grams) in inches and ounces, one decimal as EasyPost takes them."""
    def inches(mm: int) -> float:
        return float((Decimal(mm) / MM_PER_INCH).quantize(Decimal("0.1")))
    ounces = max(Decimal("0.1"), (Decimal(parcel["weight_grams"]) / GRAMS_PER_OUNCE).quantize(Decimal("0.1")))
    shaped = {"weight": float(ounces)}
    if parcel.get("length_mm") and parcel.get("width_mm") and parcel.get("height_mm"):
        shaped.update(length=inches(parcel["length_mm"]), width=inches(parcel["width_mm"]),
                      height=inches(parcel["height_mm"]))
    return shaped


def _cents(amount: Any) -> int:
    try:
        return int((Decimal(str(amount)) * 100).to_integral_value())
    except (InvalidOperation, ValueError, TypeError):
        raise CarrierError(f"EasyPost sent a rate that is not an amount: {str(amount)[:40]!r}") from None


def _text(value: Any, limit: int) -> str:
    return str(value or "")[:limit]


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def rate_of(row: dict[str, Any]) -> Rate:
    days = row.get("delivery_days") if row.get("delivery_days") is not None else row.get("est_delivery_days")
    return Rate(id=_text(row.get("id"), 80), carrier=_text(row.get("carrier"), 60),
                service=_text(row.get("service"), 60), cents=_cents(row.get("rate")),
                currency=_text(row.get("currency") or "USD", 3).upper(),
                delivery_days=days if isinstance(days, int) and not isinstance(days, bool) else None)


def tracker_update(tracker: dict[str, Any], event_id: str | None = None) -> TrackerUpdate:
    """The tracker's status and its latest detail's message and time."""
    details = [d for d in tracker.get("tracking_details") or [] if isinstance(d, dict)]
    latest = details[-1] if details else {}
    status = tracker.get("status") if tracker.get("status") in TRACKER_STATUSES else "unknown"
    return TrackerUpdate(tracker_id=_text(tracker.get("id"), 80), tracking_code=_text(tracker.get("tracking_code"), 80),
                         status=status, message=_text(latest.get("message") or tracker.get("status_detail"), 300),
                         at=_time(latest.get("datetime")) or _time(tracker.get("updated_at")),
                         public_url=_text(tracker.get("public_url"), 500) or None, event_id=event_id)


def parse_event(body: bytes) -> TrackerUpdate | None:
    """A webhook's tracker update; None for an event of another kind. Raises CarrierError for a body that
    is not an EasyPost event."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise CarrierError("The body is not JSON") from None
    if not isinstance(event, dict) or event.get("object") != "Event" or not isinstance(event.get("description"), str):
        raise CarrierError("The body is not an EasyPost event")
    result = event.get("result")
    if not event["description"].startswith("tracker.") or not isinstance(result, dict) or result.get("object") != "Tracker":
        return None
    if not isinstance(result.get("id"), str) or not isinstance(result.get("status"), str):
        raise CarrierError("The tracker in the event has no id or status")
    return tracker_update(result, event_id=_text(event.get("id"), 80) or None)


def event_time(body: bytes) -> datetime | None:
    try:
        event = json.loads(body)
    except ValueError:
        return None
    return _time(event.get("created_at")) if isinstance(event, dict) else None


class EasyPost:
    name = NAME

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 10.0,
                 limiter: RateLimiter | None = None):
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.limiter = limiter

    # ------------------------------------------------------------ transport

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.limiter:
            self.limiter.wait()
        try:
            response = _session().request(method, self.base_url + path, json=body, auth=(self.api_key, ""),
                                          timeout=self.timeout, headers={"Accept": "application/json"})
        except requests.Timeout:
            raise CarrierUnavailable("EasyPost did not answer in time; nothing was changed here") from None
        except requests.RequestException as error:
            raise CarrierUnavailable(f"EasyPost could not be reached ({type(error).__name__})") from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 429 or response.status_code >= 500:
            raise CarrierUnavailable(f"EasyPost is unavailable (HTTP {response.status_code}); try again shortly")
        if response.status_code >= 400:
            error = (answer or {}).get("error") if isinstance(answer, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            details = [e.get("message") for e in (error or {}).get("errors") or [] if isinstance(e, dict) and e.get("message")] \
                if isinstance(error, dict) else []
            text = "; ".join([str(message or f"HTTP {response.status_code}")] + [str(d) for d in details])
            raise CarrierError(f"EasyPost refused: {text}"[:400])
        if not isinstance(answer, dict):
            raise CarrierUnavailable("EasyPost answered with something that is not JSON")
        return answer

    def _file(self, url: str) -> bytes:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise CarrierError("EasyPost gave no label file")
        try:
            response = _session().get(url, timeout=self.timeout, stream=True)
            response.raise_for_status()
            content = response.raw.read(MAX_LABEL_BYTES + 1, decode_content=True)
        except requests.RequestException:
            raise CarrierUnavailable("The label file could not be fetched from EasyPost") from None
        if len(content) > MAX_LABEL_BYTES:
            raise CarrierError("EasyPost's label file is larger than a label can be")
        return content

    # ------------------------------------------------------------ objects

    def verify_address(self, address: dict[str, Any]) -> dict[str, Any]:
        """The address as EasyPost corrected it. Raises CarrierError with its reasons when it cannot be
        delivered to."""
        answer = self._call("POST", "/addresses", {"address": to_easypost_address(address), "verify": ["delivery"]})
        delivery = ((answer.get("verifications") or {}).get("delivery") or {})
        if not delivery.get("success"):
            reasons = [e.get("message") for e in delivery.get("errors") or [] if isinstance(e, dict)]
            raise CarrierError("The address cannot be delivered to: " + ("; ".join(filter(None, reasons)) or "unverified"),
                               field="ship_to")
        return answer

    def create_shipment(self, to_address: dict[str, Any], from_address: dict[str, Any], parcel: dict[str, Any],
                        *, reference: str, label_format: str) -> Quote:
        answer = self._call("POST", "/shipments", {"shipment": {
            "to_address": to_easypost_address(to_address), "from_address": to_easypost_address(from_address),
            "parcel": to_easypost_parcel(parcel), "reference": reference,
            "options": {"label_format": label_format}}})
        return self._quote(answer)

    def _quote(self, answer: dict[str, Any]) -> Quote:
        remote_id = answer.get("id")
        if not isinstance(remote_id, str) or not remote_id:
            raise CarrierUnavailable("EasyPost answered with no shipment id")
        rates = tuple(rate_of(r) for r in answer.get("rates") or [] if isinstance(r, dict))
        if not rates:
            messages = [m.get("message") for m in answer.get("messages") or [] if isinstance(m, dict)]
            raise CarrierError("No carrier offers a rate for this parcel" + (": " + "; ".join(filter(None, messages))
                                                                              if messages else ""))
        return Quote(remote_id=remote_id[:80], rates=rates)

    def _bought(self, answer: dict[str, Any]) -> BoughtLabel | None:
        label = answer.get("postage_label")
        if not isinstance(label, dict) or not answer.get("tracking_code"):
            return None
        selected = answer.get("selected_rate") or {}
        tracker = answer.get("tracker") if isinstance(answer.get("tracker"), dict) else {}
        zpl, pdf = label.get("label_zpl_url"), label.get("label_pdf_url")
        file_type = str(label.get("label_file_type") or "")
        if zpl and (file_type.endswith("zpl") or not pdf):
            fmt, url = "ZPL", zpl
        elif pdf or file_type == "application/pdf":
            fmt, url = "PDF", pdf or label.get("label_url")
        else:
            fmt, url = "PNG", label.get("label_url")
        return BoughtLabel(remote_id=str(answer.get("id"))[:80], rate=rate_of(selected),
                           tracking_code=_text(answer.get("tracking_code"), 80), tracker_id=_text(tracker.get("id"), 80) or None,
                           tracking_url=_text(tracker.get("public_url"), 500) or None, label_format=fmt,
                           label=self._file(url))

    def retrieve_shipment(self, remote_id: str) -> tuple[Quote, BoughtLabel | None]:
        answer = self._call("GET", f"/shipments/{remote_id}")
        return self._quote(answer), self._bought(answer)

    def buy(self, remote_id: str, rate: Rate) -> BoughtLabel:
        answer = self._call("POST", f"/shipments/{remote_id}/buy", {"rate": {"id": rate.id}})
        bought = self._bought(answer)
        if bought is None:
            raise CarrierUnavailable("EasyPost answered the purchase with no label")
        return bought

    def refund(self, remote_id: str) -> str:
        answer = self._call("POST", f"/shipments/{remote_id}/refund")
        return _text(answer.get("refund_status") or "submitted", 20)

    def retrieve_tracker(self, tracker_id: str) -> TrackerUpdate:
        return tracker_update(self._call("GET", f"/trackers/{tracker_id}"))
