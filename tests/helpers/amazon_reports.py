"""Amazon's All Orders report as the tests write it (tab-separated), and a channel row made plainly."""
from __future__ import annotations

from oms_web.extensions import db
from oms_web.models import ChannelKind, SalesChannel


ALL_ORDERS = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
              "fulfillment-channel", "sales-channel", "ship-service-level", "product-name", "sku", "asin",
              "item-status", "quantity", "currency", "item-price", "item-tax", "shipping-price", "shipping-tax",
              "item-promotion-discount", "ship-city", "ship-state", "ship-postal-code", "ship-country"]
# The Unshipped orders report's header.
UNSHIPPED = ["order-id", "order-item-id", "purchase-date", "payments-date", "buyer-email", "buyer-name", "sku",
             "product-name", "quantity-purchased", "quantity-to-ship", "currency", "item-price", "ship-service-level",
             "recipient-name", "ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state",
             "ship-postal-code", "ship-country", "ship-phone-number"]


def tsv(headers: list[str], rows: list[dict[str, str]]) -> str:
    return "\n".join(["\t".join(headers)] + ["\t".join(row.get(h, "") for h in headers) for row in rows]) + "\n"


def all_orders_row(order_id: str, sku: str, quantity: str, price: str, **extra: str) -> dict[str, str]:
    return {"amazon-order-id": order_id, "merchant-order-id": "", "purchase-date": "2026-11-01T09:00:00+00:00",
            "last-updated-date": "2026-11-01T10:00:00+00:00", "order-status": "Unshipped",
            "fulfillment-channel": "Merchant", "sales-channel": "Amazon.co.uk", "ship-service-level": "Standard",
            "product-name": f"Thing {sku}", "sku": sku, "asin": "B000000001", "item-status": "Unshipped",
            "quantity": quantity, "currency": "GBP", "item-price": price, "item-tax": "0.00", "shipping-price": "",
            "shipping-tax": "", "item-promotion-discount": "", "ship-city": "LEEDS", "ship-state": "",
            "ship-postal-code": "LS1 4DY", "ship-country": "GB", **extra}


def channel(name: str, kind: ChannelKind) -> SalesChannel:
    made = SalesChannel(name=name, kind=kind, settings={})
    db.session.add(made)
    db.session.commit()
    return made
