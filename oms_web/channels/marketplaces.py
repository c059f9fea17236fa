"""What a sync needs of each marketplace, by channel kind: its client, its order mapping, its cursor."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..models import ChannelKind, SalesChannel
from . import amazon, ebay


@dataclass(frozen=True)
class Marketplace:
    client: Callable[..., Any]  # (channel, **transport options) -> a client with orders_pages, confirm_shipment
    new_order: Callable[[SalesChannel, Any], Any]  # -> NewOrder | Skip
    updated_at: Callable[[Any], str | None]  # the order's last-modified timestamp, as the channel wrote it
    first_cursor: Callable[[], str]


MARKETPLACES = {
    ChannelKind.AMAZON: Marketplace(amazon.AmazonClient, amazon.new_order, lambda o: o.last_update_date,
                                    amazon.first_cursor),
    ChannelKind.EBAY: Marketplace(ebay.EbayClient, ebay.new_order, lambda o: o.get("lastModifiedDate"),
                                  ebay.first_cursor),
}
