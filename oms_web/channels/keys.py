"""API keys and channel secrets.

An API key is shown once, when it is made, and stored only as its SHA-256 (a leaked database does
not leak working keys). Webhook secrets must be kept as they are, to check signatures; screens show
every secret masked.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from flask import current_app

KEY_PREFIX = "oms_"
# How long a worker process trusts a key it has checked. A store sends every order with its key, and
# the look-up cost the order API a fifth of its time; a key replaced, or its channel switched off,
# stops working at once in the process that made the change and within this many seconds in the others.
KNOWN_KEY_SECONDS = 5.0


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def channel_of_key(key: str, look_up: Callable[[str], int | None]) -> int | None:
    """The channel id of an API key: `look_up(digest)` asks the database, unless this process checked
    the key less than KNOWN_KEY_SECONDS ago. Only keys that worked are remembered."""
    digest = key_digest(key)
    known: dict[str, tuple[int, float]] = current_app.extensions.setdefault("oms_known_keys", {})
    now = time.monotonic()
    remembered = known.get(digest)
    if remembered is not None and remembered[1] > now:
        return remembered[0]
    channel_id = look_up(digest)
    if channel_id is None:
        known.pop(digest, None)
    else:
        if len(known) > 1000:
            known.clear()
        known[digest] = (channel_id, now + KNOWN_KEY_SECONDS)
    return channel_id


def forget_known_keys() -> None:
    """After a key or a channel changed: this process checks every key again."""
    current_app.extensions.pop("oms_known_keys", None)


def masked(secret: str | None) -> str:
    if not secret:
        return "not set"
    if secret.startswith("sha256:"):
        return "•••••••• (hashed; shown once when made)"
    return "••••••••" + secret[-4:] if len(secret) > 8 else "••••••••"


def signature_valid(secret: str | None, raw_body: bytes, signature: str | None) -> bool:
    """Base64 HMAC-SHA256 of the raw body, compared in constant time (Shopify and WooCommerce).

    Compared as bytes: compare_digest refuses a str with characters beyond ASCII (TypeError), and a
    header is whatever the sender put there."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))
