"""Failed sign-in throttling, per account and per client address.

Counts live in Redis when OMS_REDIS_URL is set, so every worker process shares them; otherwise in
this process's memory (one-process sites and tests).
"""
from __future__ import annotations

import threading
import time

from flask import current_app

WINDOW_SECONDS = 15 * 60
LIMITS = {"account": 5, "address": 20}


class MemoryCounter:
    def __init__(self) -> None:
        self._hits: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def count(self, key: str) -> int:
        with self._lock:
            now = time.monotonic()
            hits = [t for t in self._hits.get(key, []) if now - t < WINDOW_SECONDS]
            self._hits[key] = hits
            return len(hits)

    def add(self, key: str) -> None:
        with self._lock:
            self._hits.setdefault(key, []).append(time.monotonic())

    def clear(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url)

    def count(self, key: str) -> int:
        return int(self._redis.get(key) or 0)

    def add(self, key: str) -> None:
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS, nx=True)
        pipe.execute()

    def clear(self, key: str) -> None:
        self._redis.delete(key)


def _counter() -> MemoryCounter | RedisCounter:
    ext = current_app.extensions
    if "oms_throttle" not in ext:
        url = current_app.config.get("OMS_REDIS_URL")
        ext["oms_throttle"] = RedisCounter(url) if url else MemoryCounter()
    return ext["oms_throttle"]


def _keys(email: str, address: str) -> dict[str, str]:
    return {"account": f"oms:signin:account:{email.lower()}", "address": f"oms:signin:address:{address}"}


def blocked(email: str, address: str) -> bool:
    counter = _counter()
    return any(counter.count(key) >= LIMITS[kind] for kind, key in _keys(email, address).items())


def failed(email: str, address: str) -> None:
    counter = _counter()
    for key in _keys(email, address).values():
        counter.add(key)


def succeeded(email: str) -> None:
    _counter().clear(_keys(email, "")["account"])
