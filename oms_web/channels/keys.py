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

KEY_PREFIX = "oms_"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_matches(key: str, stored: str | None) -> bool:
    return bool(stored) and hmac.compare_digest(key_digest(key), stored)


def masked(secret: str | None) -> str:
    if not secret:
        return "not set"
    if secret.startswith("sha256:"):
        return "•••••••• (hashed; shown once when made)"
    return "••••••••" + secret[-4:] if len(secret) > 8 else "••••••••"


def signature_valid(secret: str | None, raw_body: bytes, signature: str | None) -> bool:
    """Base64 HMAC-SHA256 of the raw body, compared in constant time (Shopify and WooCommerce)."""
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())
