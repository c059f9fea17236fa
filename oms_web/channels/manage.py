"""Creating and configuring sales channels, shared by the admin screens and the CLI."""
from __future__ import annotations

import secrets as random
from dataclasses import dataclass

import sqlalchemy as sa

from ..database import write_transaction
from ..domain.errors import InvalidInput, NotFound
from ..extensions import db
from ..models import ChannelKind, Product, SalesChannel
from .keys import forget_known_keys, key_digest, new_api_key

WEBHOOK_KINDS = (ChannelKind.SHOPIFY, ChannelKind.WOOCOMMERCE)
MARKETPLACES = (ChannelKind.AMAZON, ChannelKind.EBAY)
# The credentials a marketplace channel needs, kept in settings["credentials"] and shown masked.
CREDENTIALS = {ChannelKind.AMAZON: ("client_id", "client_secret", "refresh_token"),
               ChannelKind.EBAY: ("client_id", "client_secret", "refresh_token")}
PLAIN_SETTINGS = {ChannelKind.AMAZON: ("base_url", "token_url", "marketplace_id"),
                  ChannelKind.EBAY: ("base_url", "token_url", "scope")}


@dataclass
class CreatedChannel:
    channel: SalesChannel
    api_key: str | None  # shown once: only its digest is stored
    secret: str | None


def inbound_path(channel: SalesChannel) -> str | None:
    if channel.kind is ChannelKind.API:
        return "/api/v1/orders"
    if channel.kind in WEBHOOK_KINDS:
        return f"/webhooks/{channel.kind.value}/{channel.id}"
    return None


def create_channel(name: str, kind: ChannelKind, secret: str | None = None) -> CreatedChannel:
    """A new channel; an API channel gets a new key, a webhook channel the given secret (or a new one)."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput("Give the channel a name of up to 80 characters", field="name")
    with write_transaction():
        if db.session.scalar(sa.select(SalesChannel.id).where(SalesChannel.name == name)):
            raise InvalidInput(f"A channel named {name} exists already", field="name")
        api_key = new_api_key() if kind is ChannelKind.API else None
        if kind in WEBHOOK_KINDS:
            secret = (secret or "").strip() or random.token_urlsafe(32)
        channel = SalesChannel(name=name, kind=kind, settings={},
                               secret=key_digest(api_key) if api_key else (secret or None))
        db.session.add(channel)
        db.session.flush()
        channel_id = channel.id
    return CreatedChannel(db.session.get(SalesChannel, channel_id), api_key, secret if kind in WEBHOOK_KINDS else None)


def new_key(channel_id: int) -> str:
    """Replace an API channel's key; the old one stops working at once here, and within
    keys.KNOWN_KEY_SECONDS in the other worker processes. Returns the new key (shown once)."""
    key = new_api_key()
    with write_transaction():
        channel = _channel(channel_id)
        if channel.kind is not ChannelKind.API:
            raise InvalidInput("Only an API channel has a key")
        channel.secret = key_digest(key)
    forget_known_keys()
    return key


def update_channel(channel_id: int, *, active: bool, secret: str | None, settings: dict[str, str],
                   credentials: dict[str, str], confirm_by: str | None = None) -> None:
    """Change a channel's settings; an empty credential or secret field keeps the stored one.
    `confirm_by` (Amazon only): how its shipments are confirmed, amazon.CONFIRM_BY_API or CONFIRM_BY_FILE.
    """
    from .amazon import CONFIRM_METHODS

    if confirm_by is not None and confirm_by not in CONFIRM_METHODS:
        raise InvalidInput("Choose how shipments are confirmed: by API or by upload file", field="confirm_by")
    with write_transaction():
        channel = _channel(channel_id)
        if confirm_by is not None and channel.kind is not ChannelKind.AMAZON:
            raise InvalidInput("Only an Amazon channel confirms by upload file", field="confirm_by")
        channel.active = active
        if secret and channel.kind in WEBHOOK_KINDS:
            channel.secret = secret.strip()
        merged = dict(channel.settings or {})
        for key in PLAIN_SETTINGS.get(channel.kind, ()):
            if key in settings:
                merged[key] = settings[key].strip() or None
        stored = dict(merged.get("credentials") or {})
        for key in CREDENTIALS.get(channel.kind, ()):
            if credentials.get(key, "").strip():
                stored[key] = credentials[key].strip()
        if stored:
            merged["credentials"] = stored
        if confirm_by is not None:
            merged["confirm_by"] = confirm_by
        channel.settings = merged
    forget_known_keys()


def set_sku_mapping(channel_id: int, channel_sku: str, product_sku: str | None) -> None:
    """Map the channel's SKU to one of our products (None removes the mapping; an empty SKU is refused,
    never taken for a removal)."""
    channel_sku = (channel_sku or "").strip()
    if not channel_sku:
        raise InvalidInput("Enter the channel's SKU", field="channel_sku")
    if product_sku is not None and not product_sku.strip():
        raise InvalidInput("Enter the SKU of our product it is", field="product_sku")
    with write_transaction():
        channel = _channel(channel_id)
        mapping = dict((channel.settings or {}).get("sku_map") or {})
        if product_sku:
            product_sku = product_sku.strip().upper()
            if not db.session.scalar(sa.select(Product.id).where(Product.sku == product_sku)):
                raise InvalidInput(f"No product has the SKU {product_sku}", field="product_sku")
            mapping[channel_sku] = product_sku
        else:
            mapping.pop(channel_sku, None)
        channel.settings = {**(channel.settings or {}), "sku_map": mapping}


def _channel(channel_id: int) -> SalesChannel:
    channel = db.session.get(SalesChannel, channel_id)
    if channel is None:
        raise NotFound("That channel does not exist")
    return channel
