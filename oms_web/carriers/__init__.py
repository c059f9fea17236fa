"""The seam to label services: what every carrier module gives (rates, a bought label, a refund, tracker
updates) in the shop's own terms, and which one the shop uses.

A shop with an active carrier account (the admin's Carriers screen) buys its labels from that service
(easypost.py); a shop without one, or a channel whose rate rule is "manual", keeps today's own label and
a typed tracking number (manual.py). Another service follows by giving the same calls.

Free of request code and of the database's transactions: the domain (domain.labels) calls these between
its own transactions, never while it holds a lock.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class CarrierError(Exception):
    """The service refused (a bad address, no such rate, a label already bought): nothing was bought."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class CarrierUnavailable(CarrierError):
    """The service did not answer in time, or failed itself: whether a purchase took place is unknown
    until it is asked again (domain.labels.reconcile)."""


@dataclass(frozen=True)
class Rate:
    id: str
    carrier: str
    service: str
    cents: int
    currency: str
    delivery_days: int | None

    @property
    def name(self) -> str:
        return f"{self.carrier} {self.service}"


@dataclass(frozen=True)
class Quote:
    """A shipment created at the service (no charge yet) and its rates."""

    remote_id: str
    rates: tuple[Rate, ...]


@dataclass(frozen=True)
class BoughtLabel:
    remote_id: str
    rate: Rate
    tracking_code: str
    tracker_id: str | None
    tracking_url: str | None
    label_format: str  # PDF | ZPL | PNG
    label: bytes


@dataclass(frozen=True)
class TrackerUpdate:
    """One tracker's state as the service reports it (a webhook's event or a poll)."""

    tracker_id: str
    tracking_code: str
    status: str  # the service's documented status, e.g. in_transit, delivered, failure
    message: str
    at: datetime | None
    public_url: str | None = None
    event_id: str | None = None


class LabelService(Protocol):
    name: str

    def create_shipment(self, to_address: dict[str, Any], from_address: dict[str, Any], parcel: dict[str, Any],
                        *, reference: str, label_format: str) -> Quote: ...

    def retrieve_shipment(self, remote_id: str) -> tuple[Quote, BoughtLabel | None]: ...

    def buy(self, remote_id: str, rate: Rate) -> BoughtLabel: ...

    def refund(self, remote_id: str) -> str: ...

    def retrieve_tracker(self, tracker_id: str) -> TrackerUpdate: ...


class RateLimiter:
    """At most `per_second` calls a second from this process, shared by every thread: the service's rate
    limit is per account, and a bulk purchase runs its calls in parallel."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


@dataclass
class CarrierSettings:
    timeout: float = 10.0
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(50))


_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(key: str, per_second: float) -> RateLimiter:
    with _limiters_lock:
        return _limiters.setdefault((key, per_second), RateLimiter(per_second))


def service_for(account: Any, config: dict[str, Any]) -> LabelService:
    """The label service of a CarrierAccount row, with the app's timeout and rate limit."""
    from .easypost import EasyPost

    if account.service != "easypost":
        raise CarrierError(f"No carrier module for {account.service!r}")
    per_second = float(config.get("OMS_CARRIER_CALLS_PER_SECOND", 50))
    return EasyPost(account.api_key, account.base_url, timeout=float(config.get("OMS_CARRIER_TIMEOUT_SECONDS", 10)),
                    limiter=shared_limiter(account.base_url + account.api_key[-6:], per_second))
