"""Amazon (Selling Partner API): pull the seller's orders, confirm shipments, write the upload file.

Channel settings (SalesChannel.settings):
  base_url        the SP-API endpoint of the region, e.g. https://sellingpartnerapi-eu.amazon.com
  token_url       the Login with Amazon token endpoint, default https://api.amazon.com/auth/o2/token
  marketplace_id  e.g. A1F83G8C2ARO7P (UK); getOrders and confirmShipment need it
  credentials     {client_id, client_secret, refresh_token} of the LWA app the seller authorised
  sync_cursor     LastUpdateDate of the newest order seen by the last successful sync (ISO 8601);
                  the next sync asks for LastUpdatedAfter this (30 days back on the first run)
  sku_map         the seller's SKUs mapped to ours (used by the order services)
  confirm_by      how shipments are confirmed: "api" (confirmShipment, the default) or "file" (the
                  seller uploads `confirmation_upload_file` on Seller Central; the sync sends nothing)

Three parts, kept apart so that a new version of the Orders API (2026-01-01, camelCase, paginated by
`paginationToken`) needs a new `OrdersApi` and nothing else:
  transport  `amazon_transport`: LWA token refresh and throttling (transport.Transport)
  wire       `OrdersApiV0`: the v0 paths, parameters and response shapes → `AmazonOrder` / `AmazonItem`
  mapping    `new_order`: an AmazonOrder and its items → NewOrder, or Skip (FBA, cancelled, shipped)
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import requests

from ..domain import events
from ..domain.orders import CustomerDetails, NewOrder
from ..models import ChannelKind, Order, PaymentStatus, SalesChannel, ShipmentConfirmation
from ..tables import write_table
from .addresses import clean, ship_to
from .amounts import cents, charged_line, currency_code, decimal_amount
from .importing import Skip
from .times import parse_ship_by, parse_time
from .transport import ChannelError, Transport, require_credentials, token_from

DEFAULT_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
FIRST_SYNC_LOOKBACK = timedelta(days=30)
PAGE_SIZE = 100  # MaxResultsPerPage, at most 100

# Statuses of orders the seller still has to ship. Pending (and PendingAvailability, a pre-order)
# are not paid yet: imported, but held under Awaiting payment until a later sync sees them paid.
UNPAID = {"Pending", "PendingAvailability"}
TO_SHIP = {"Unshipped", "PartiallyShipped"}
CANCELED = {"Canceled", "Cancelled"}

# Amazon's carrier codes for the carriers a shop names most; any other goes as "Other" + carrierName.
CARRIER_CODES = {"ups": "UPS", "usps": "USPS", "fedex": "FedEx", "dhl": "DHL", "royal mail": "Royal Mail",
                 "parcelforce": "Parcelforce", "dpd": "DPD", "hermes": "Hermes", "evri": "Evri", "gls": "GLS",
                 "yodel": "Yodel", "canada post": "Canada Post", "australia post": "Australia Post",
                 "deutsche post": "Deutsche Post", "amazon shipping": "Amazon Shipping", "ontrac": "OnTrac"}


CONFIRM_BY_API = "api"
CONFIRM_BY_FILE = "file"
CONFIRM_METHODS = {CONFIRM_BY_API: "API: each sync sends them", CONFIRM_BY_FILE: "Upload file: you upload it on Seller Central"}


def confirms_by_file(channel: SalesChannel) -> bool:
    return channel.kind is ChannelKind.AMAZON and (channel.settings or {}).get("confirm_by") == CONFIRM_BY_FILE


# ---------------------------------------------------------------- what an order is, whatever the API version

@dataclass
class AmazonItem:
    order_item_id: str
    sku: str
    title: str | None
    quantity_ordered: int
    quantity_shipped: int
    item_price: str | None  # price × quantity, as Amazon's money string
    shipping_price: str | None
    currency: str | None
    # The rest of the item's money (money strings, for all its units): Amazon's total adds the taxes
    # and takes off the discounts.
    item_tax: str | None = None
    shipping_tax: str | None = None
    promotion_discount: str | None = None
    shipping_discount: str | None = None


@dataclass
class AmazonOrder:
    order_id: str
    status: str
    fulfillment_channel: str
    purchase_date: str | None
    last_update_date: str | None
    currency: str | None
    service_level: str | None
    buyer_name: str | None
    buyer_email: str | None
    address: dict[str, Any] | None
    items: list[AmazonItem] = field(default_factory=list)
    total: str | None = None  # OrderTotal's Amount
    latest_ship_date: Any = None  # LatestShipDate as sent: the order's ship-by (read by new_order)


# ---------------------------------------------------------------- transport

# The Orders API's documented rates (requests per second), by operation as transport.operation_of names
# it: a throttled call waits for its bucket to refill one request. Amazon may state others per seller in
# x-amzn-RateLimit-Limit, which the transport then uses instead.
DOCUMENTED_RATES = {"/orders/v0/orders": 0.0167, "/orders/v0/orders/{id}/orderItems": 0.5,
                    "/orders/v0/orders/{id}/shipmentConfirmation": 2.0}


def amazon_transport(channel: SalesChannel, **options: Any) -> Transport:
    """A Transport for the channel's SP-API endpoint, its calls signed by an LWA access token."""
    settings = channel.settings or {}
    credentials = require_credentials(settings, ("client_id", "client_secret", "refresh_token"), channel.name)
    token_url = settings.get("token_url") or DEFAULT_TOKEN_URL

    def fetch_token(session: requests.Session) -> tuple[str, int]:
        response = session.post(token_url, timeout=30, data={
            "grant_type": "refresh_token", "refresh_token": credentials["refresh_token"],
            "client_id": credentials["client_id"], "client_secret": credentials["client_secret"]})
        return token_from(response, "Login with Amazon")

    return Transport(settings.get("base_url") or "", fetch_token,
                     lambda token: {"x-amz-access-token": token, "accept": "application/json"},
                     rates=DOCUMENTED_RATES, **options)


# ---------------------------------------------------------------- the v0 wire format

class OrdersApiV0:
    """`GET /orders/v0/orders`, `.../{orderId}/orderItems` and `.../shipmentConfirmation`."""

    orders_path = "/orders/v0/orders"

    def orders_params(self, marketplace_id: str, updated_after: str, next_token: str | None) -> dict[str, Any]:
        if next_token:  # a NextToken carries the original query; Amazon wants it with the marketplace only
            return {"MarketplaceIds": marketplace_id, "NextToken": next_token}
        return {"MarketplaceIds": marketplace_id, "LastUpdatedAfter": updated_after, "MaxResultsPerPage": PAGE_SIZE}

    def read_orders(self, body: dict[str, Any]) -> tuple[list[AmazonOrder], str | None]:
        payload = _payload(body, "getOrders")
        try:
            orders = [self.read_order(raw) for raw in payload.get("Orders") or []]
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ChannelError(f"Amazon getOrders sent an order that cannot be read ({error!r})") from None
        return orders, payload.get("NextToken") or None

    def read_order(self, raw: dict[str, Any]) -> AmazonOrder:
        total = raw.get("OrderTotal") or {}
        buyer = raw.get("BuyerInfo") or {}
        address = raw.get("ShippingAddress") or {}
        return AmazonOrder(
            order_id=str(raw["AmazonOrderId"]), status=str(raw.get("OrderStatus") or ""),
            fulfillment_channel=str(raw.get("FulfillmentChannel") or "MFN"),
            purchase_date=raw.get("PurchaseDate"), last_update_date=raw.get("LastUpdateDate"),
            currency=total.get("CurrencyCode"), total=total.get("Amount"), service_level=raw.get("ShipServiceLevel"),
            latest_ship_date=raw.get("LatestShipDate"),
            buyer_name=buyer.get("BuyerName"), buyer_email=buyer.get("BuyerEmail"),
            address=ship_to(name=address.get("Name"), line1=address.get("AddressLine1"),
                            line2=address.get("AddressLine2"), line3=address.get("AddressLine3"),
                            city=address.get("City"), region=address.get("StateOrRegion"),
                            postal_code=address.get("PostalCode"), country=address.get("CountryCode"),
                            phone=address.get("Phone")) if address else None)

    def items_path(self, order_id: str) -> str:
        return f"{self.orders_path}/{order_id}/orderItems"

    def items_params(self, next_token: str | None) -> dict[str, Any]:
        return {"NextToken": next_token} if next_token else {}

    def read_items(self, body: dict[str, Any]) -> tuple[list[AmazonItem], str | None]:
        payload = _payload(body, "getOrderItems")
        try:
            return self._items(payload), payload.get("NextToken") or None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ChannelError(f"Amazon getOrderItems sent an item that cannot be read ({error!r})") from None

    def _items(self, payload: dict[str, Any]) -> list[AmazonItem]:
        items = []
        for raw in payload.get("OrderItems") or []:
            price = raw.get("ItemPrice") or {}
            shipping = raw.get("ShippingPrice") or {}

            def amount(key: str, less: str | None = None) -> str | None:
                """The item's money field (less its counterpart, e.g. ItemTax less PromotionDiscountTax)."""
                value = (raw.get(key) or {}).get("Amount")
                taken = (raw.get(less) or {}).get("Amount") if less else None
                if value is None or taken is None:
                    return value
                return str(decimal_amount(value) - decimal_amount(taken))

            items.append(AmazonItem(
                order_item_id=str(raw.get("OrderItemId") or ""), sku=str(raw.get("SellerSKU") or "").strip(),
                title=raw.get("Title"), quantity_ordered=int(raw.get("QuantityOrdered") or 0),
                quantity_shipped=int(raw.get("QuantityShipped") or 0), item_price=price.get("Amount"),
                shipping_price=shipping.get("Amount"), currency=price.get("CurrencyCode"),
                item_tax=amount("ItemTax", "PromotionDiscountTax"),
                shipping_tax=amount("ShippingTax", "ShippingDiscountTax"),
                promotion_discount=amount("PromotionDiscount"), shipping_discount=amount("ShippingDiscount")))
        return items

    def confirmation_path(self, order_id: str) -> str:
        return f"{self.orders_path}/{order_id}/shipmentConfirmation"


def _payload(body: Any, operation: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ChannelError(f"Amazon {operation} answered with something that is not an object")
    if body.get("errors") and not body.get("payload"):
        first = body["errors"][0] if isinstance(body["errors"], list) and body["errors"] else {}
        raise ChannelError(f"Amazon {operation}: {first.get('code', '')} {first.get('message', '')}".strip())
    payload = body.get("payload")
    if not isinstance(payload, dict):
        raise ChannelError(f"Amazon {operation} answered without a payload")
    return payload


# ---------------------------------------------------------------- the client

class AmazonClient:
    """The calls an OMS makes: orders changed since a cursor (with their items), and shipment confirmations."""

    def __init__(self, channel: SalesChannel, *, api: OrdersApiV0 | None = None, **transport_options: Any):
        settings = channel.settings or {}
        self.marketplace_id = settings.get("marketplace_id") or ""
        if not self.marketplace_id:
            raise ChannelError(f"{channel.name} has no marketplace id: set it on the channel's page")
        self.transport = amazon_transport(channel, **transport_options)
        self.api = api or OrdersApiV0()

    def orders_pages(self, updated_after: str) -> Iterator[list[AmazonOrder]]:
        """Each page of orders updated after the cursor; the items are fetched for the seller's own (MFN)."""
        next_token = None
        while True:
            body = self.transport.request_json("GET", self.api.orders_path, params=self.api.orders_params(
                self.marketplace_id, updated_after, next_token))
            orders, next_token = self.api.read_orders(body)
            for order in orders:
                if order.fulfillment_channel == "MFN" and order.status in UNPAID | TO_SHIP:  # ours to ship
                    order.items = self.order_items(order.order_id)
            yield orders
            if not next_token:
                return

    def order_items(self, order_id: str) -> list[AmazonItem]:
        items: list[AmazonItem] = []
        next_token = None
        while True:
            body = self.transport.request_json("GET", self.api.items_path(order_id),
                                               params=self.api.items_params(next_token))
            page, next_token = self.api.read_items(body)
            items.extend(page)
            if not next_token:
                return items

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> str | None:
        """confirmShipment; Amazon answers 204 with nothing to keep, so there is no remote id.

        A line imported from the All Orders report has no order item id: Amazon's items of the order
        (getOrderItems) are fetched first and matched to our lines.
        """
        order = confirmation.shipment.order
        unknown = any(not line.order_line.channel_line_id for line in confirmation.shipment.lines)
        item_ids = self.order_item_ids(order) if unknown else {}
        self.transport.request("POST", self.api.confirmation_path(order.channel_order_id),
                               json=confirmation_body(confirmation, self.marketplace_id, item_ids))
        return None

    def order_item_ids(self, order: Order) -> dict[int, str]:
        """Amazon's OrderItemId for each of the order's lines that has none (by our line id), if found.

        Lines are matched in their order to the items not already some line's: by SellerSKU (or the SKU
        it is mapped to), and among items of the same SKU the one of the same quantity first, else the
        first. All of the order's lines are matched, not only the shipment's, so that every shipment of
        the order matches the same way.
        """
        sku_map: dict[str, str] = (order.channel.settings or {}).get("sku_map") or {}
        known = {line.channel_line_id for line in order.lines if line.channel_line_id}
        free = [item for item in self.order_items(order.channel_order_id)
                if item.order_item_id and item.order_item_id not in known]
        found: dict[int, str] = {}
        for line in sorted(order.lines, key=lambda l: l.id):
            if line.channel_line_id:
                continue
            same_sku = [item for item in free if line.sku in (item.sku, sku_map.get(item.sku))]
            match = next((item for item in same_sku if item.quantity_ordered == line.ordered), None) \
                or next(iter(same_sku), None)
            if match is not None:
                free.remove(match)
                found[line.id] = match.order_item_id
        return found


def confirmation_body(confirmation: ShipmentConfirmation, marketplace_id: str,
                      item_ids: dict[int, str] | None = None) -> dict[str, Any]:
    """The confirmShipment body; `item_ids` gives Amazon's order item ids of lines that came without one."""
    shipment = confirmation.shipment
    items = []
    for line in shipment.lines:
        order_item_id = line.order_line.channel_line_id or (item_ids or {}).get(line.order_line.id)
        if not order_item_id:
            raise ChannelError(f"{line.order_line.sku} on {shipment.number} matches no item of Amazon's order "
                               f"{shipment.order.channel_order_id}: confirm it on Seller Central or with the "
                               f"upload file", status=400)
        items.append({"orderItemId": order_item_id, "quantity": line.quantity})
    code, name = carrier_code(shipment.carrier)
    detail: dict[str, Any] = {
        "packageReferenceId": str(shipment.id), "carrierCode": code, "trackingNumber": shipment.tracking_number,
        "shipDate": iso_utc(shipment.shipped_at), "orderItems": items}
    if code == "Other":
        detail["carrierName"] = name
    if shipment.service_level:
        detail["shippingMethod"] = shipment.service_level
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def carrier_code(carrier: str | None) -> tuple[str, str]:
    """(carrierCode, carrier name) for Amazon: a known code, or "Other" with the carrier's own name."""
    name = (carrier or "").strip()
    return CARRIER_CODES.get(name.lower(), "Other"), name


def iso_utc(moment: datetime | None) -> str:
    moment = moment or datetime.now(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0).isoformat() + "Z"


# ---------------------------------------------------------------- mapping

def new_order(channel: SalesChannel, order: AmazonOrder) -> NewOrder | Skip:
    """The order to import, or why not: Amazon ships AFN orders itself; a cancelled or an already
    shipped order is not ours to ship. Pending orders are imported awaiting payment.

    Raises ValueError for an order that cannot be read (a LatestShipDate that is no date)."""
    if order.fulfillment_channel != "MFN":
        return Skip(order.order_id, "fulfilled by Amazon (AFN)")
    if order.status in CANCELED:
        return Skip(order.order_id, "cancelled on Amazon", canceled=True)
    if order.status not in UNPAID | TO_SHIP:
        return Skip(order.order_id, f"{order.status} on Amazon: nothing left to ship")
    lines = []
    shipping = shipping_tax = 0
    currency = order.currency
    for item in order.items:
        # A partly shipped order was partly shipped without us: only what is left is ours to ship.
        left = item.quantity_ordered - item.quantity_shipped
        if left <= 0:
            continue
        lines.append(charged_line(sku=item.sku, quantity=left, line_total=item.item_price,
                                  charged_for=item.quantity_ordered, discount=item.promotion_discount,
                                  tax=item.item_tax, name=clean(item.title), channel_line_id=item.order_item_id))
        shipping += (cents(item.shipping_price) or 0) - abs(cents(item.shipping_discount) or 0)
        shipping_tax += cents(item.shipping_tax) or 0
        currency = currency or item.currency
    if not lines:
        return Skip(order.order_id, "no items left to ship")
    ship_by = parse_ship_by(order.latest_ship_date, f"Order {order.order_id}: LatestShipDate")
    name = clean(order.buyer_name) or (order.address or {}).get("name") or "Amazon customer"
    return NewOrder(
        channel_id=channel.id, channel_order_id=order.order_id, lines=lines,
        customer=CustomerDetails(name=name, email=clean(order.buyer_email, 254),
                                 phone=(order.address or {}).get("phone"), ship_to=order.address),
        payment_status=PaymentStatus.PENDING if order.status in UNPAID else PaymentStatus.PAID,
        currency=currency_code(currency), shipping_cents=max(shipping, 0), shipping_tax_cents=max(shipping_tax, 0),
        service_level=clean(order.service_level, 40), placed_at=parse_time(order.purchase_date), ship_by=ship_by,
        # Amazon's total is the whole order's: comparable only while none of it has shipped without us.
        channel_total_cents=cents(order.total, default=None)
        if not any(item.quantity_shipped for item in order.items) else None)


def first_cursor(now: datetime | None = None) -> str:
    moment = (now or datetime.now(timezone.utc).replace(tzinfo=None)) - FIRST_SYNC_LOOKBACK
    return moment.replace(microsecond=0).isoformat() + "Z"


# ---------------------------------------------------------------- the upload file

UPLOAD_COLUMNS = ("order-id", "order-item-id", "quantity", "ship-date", "carrier-code", "carrier-name",
                  "tracking-number", "ship-method")


def confirmation_upload_file(confirmations: Iterable[ShipmentConfirmation]) -> str:
    """The shipping confirmation file (POST_FLAT_FILE_FULFILLMENT_DATA), tab-separated, one row per
    shipped line, for sellers who confirm by upload on Seller Central instead of the API.

    A shipment whose lines have no order-item-id (an order from the All Orders report) is one row with
    the item and quantity left blank, which Amazon reads as the whole order: only a shipment of the
    whole order may be written so (see not_for_upload_file).
    """
    rows: list[tuple[Any, ...]] = [UPLOAD_COLUMNS]
    for confirmation in confirmations:
        shipment = confirmation.shipment
        code, name = carrier_code(shipment.carrier)
        ship_date = (shipment.shipped_at or datetime.now(timezone.utc).replace(tzinfo=None)).date().isoformat()
        known = all(line.order_line.channel_line_id for line in shipment.lines)
        items = [(line.order_line.channel_line_id, line.quantity) for line in shipment.lines] if known else [("", "")]
        for item_id, quantity in items:
            rows.append((shipment.order.channel_order_id, item_id, quantity, ship_date, code,
                         name if code == "Other" else "", shipment.tracking_number, shipment.service_level))
    return write_table(rows, delimiter="\t")


def not_for_upload_file(confirmation: ShipmentConfirmation) -> str | None:
    """Why the shipment cannot be confirmed in an upload file, or None when it can. Without Amazon's
    order-item-ids a file row can only confirm the whole order, so a shipment of part of such an order
    has to be confirmed on Seller Central by hand."""
    shipment = confirmation.shipment
    if all(line.order_line.channel_line_id for line in shipment.lines):
        return None
    shipped = {line.order_line_id: line.quantity for line in shipment.lines}
    whole = all(shipped.get(line.id, 0) == line.ordered for line in shipment.order.lines if line.ordered)
    # An edited order's lines are no longer what Amazon sold: "the whole order" would confirm more.
    edited = any(event.kind == events.EDITED for event in shipment.order.events)
    if whole and not edited:
        return None
    return (f"Not in the file: it ships {'an edited order' if whole else 'part of an order'} whose Amazon item "
            "ids are unknown (imported from the All Orders report), and a file row without them confirms the "
            "whole order as Amazon sold it. Confirm it on Seller Central by hand, then mark it confirmed here.")
