"""eBay (Sell Fulfillment API): pull the seller's orders, send shipping fulfillments.

Channel settings (SalesChannel.settings):
  base_url     the API host, https://api.ebay.com (https://api.sandbox.ebay.com to try things out)
  token_url    the OAuth token endpoint, default {base_url}/identity/v1/oauth2/token
  scope        the OAuth scope asked for, default https://api.ebay.com/oauth/api_scope/sell.fulfillment
  credentials  {client_id, client_secret, refresh_token} of the app the seller authorised
  sync_cursor  lastModifiedDate of the newest order seen by the last successful sync (ISO 8601);
               the next sync filters lastmodifieddate:[cursor..] (30 days back on the first run)
  sku_map      the seller's SKUs mapped to ours (used by the order services)

As for Amazon, the wire format (`read_order`) is apart from the mapping (`new_order`) and the
transport (transport.Transport: token refresh, 429 back-off).
"""
from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from ..domain.orders import CustomerDetails, NewOrder
from ..models import Order, OrderLine, PaymentStatus, SalesChannel, ShipmentConfirmation
from .addresses import clean, ship_to
from .amounts import cents, charged_line, currency_code
from .importing import Skip
from .times import parse_ship_by, parse_time
from .transport import ChannelError, Transport, require_credentials, token_from

TOKEN_PATH = "/identity/v1/oauth2/token"
ORDERS_PATH = "/sell/fulfillment/v1/order"
DEFAULT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
FIRST_SYNC_LOOKBACK = timedelta(days=30)
PAGE_SIZE = 200  # limit, at most 200

PAID = {"PAID", "PARTIALLY_REFUNDED"}
UNPAID = {"PENDING"}
# eBay's carrier codes for the carriers a shop names most; others are sent as written, spaces removed. ⚠
CARRIER_CODES = {"usps": "USPS", "ups": "UPS", "fedex": "FEDEX", "dhl": "DHL", "royal mail": "ROYAL_MAIL",
                 "parcelforce": "PARCELFORCE", "hermes": "HERMES", "evri": "EVRI", "dpd": "DPD",
                 "australia post": "AUSTRALIA_POST", "canada post": "CANADA_POST", "deutsche post": "DEUTSCHE_POST"}


# ---------------------------------------------------------------- transport

def ebay_transport(channel: SalesChannel, **options: Any) -> Transport:
    """A Transport for the channel's eBay host, its calls carrying an OAuth user access token."""
    settings = channel.settings or {}
    credentials = require_credentials(settings, ("client_id", "client_secret", "refresh_token"), channel.name)
    base_url = (settings.get("base_url") or "").rstrip("/")
    token_url = settings.get("token_url") or (base_url + TOKEN_PATH)
    basic = base64.b64encode(f"{credentials['client_id']}:{credentials['client_secret']}".encode()).decode("ascii")

    def fetch_token(session: requests.Session) -> tuple[str, int]:
        response = session.post(token_url, timeout=30, headers={"Authorization": f"Basic {basic}"}, data={
            "grant_type": "refresh_token", "refresh_token": credentials["refresh_token"],
            "scope": settings.get("scope") or DEFAULT_SCOPE})
        return token_from(response, "eBay")

    return Transport(base_url, fetch_token,
                     lambda token: {"Authorization": f"Bearer {token}", "Accept": "application/json"}, **options)


def orders_query(modified_after: str, *, limit: int = PAGE_SIZE, offset: int = 0) -> str:
    """getOrders' query string: the filter's brackets percent-encoded, as eBay asks."""
    filter_value = quote(f"lastmodifieddate:[{modified_after}..]", safe=":.,")
    return f"filter={filter_value}&limit={limit}&offset={offset}"


# ---------------------------------------------------------------- the client

class EbayClient:
    def __init__(self, channel: SalesChannel, **transport_options: Any):
        self.transport = ebay_transport(channel, **transport_options)
        self.total: int | None = None

    def orders_pages(self, modified_after: str) -> Iterator[list[dict[str, Any]]]:
        """Each page of orders modified after the cursor (raw eBay order objects), following `next`."""
        link: str | None = None
        offset = 0
        while True:
            if link:
                body = self.transport.request_json("GET", link)
            else:
                body = self.transport.request_json("GET", ORDERS_PATH, params=orders_query(modified_after, offset=offset))
            if not isinstance(body, dict):
                raise ChannelError("eBay getOrders answered with something that is not an object")
            orders = body.get("orders") or []
            yield orders
            total = int(body.get("total") or 0)
            self.total = total  # for a progress bar
            offset = int(body.get("offset") or offset) + len(orders)
            link = body.get("next") or None
            if not orders or (not link and offset >= total):
                return
            if link and urlsplit(link).netloc != urlsplit(self.transport.base_url).netloc:
                link = None  # follow by offset instead: the token goes to our configured host only

    def confirm_shipment(self, confirmation: ShipmentConfirmation) -> str | None:
        """createShippingFulfillment; returns the fulfillment id that ends the Location header.

        An order imported from a Seller Hub CSV knows its lines by item number and transaction id, not
        by the API's lineItemId: the order is fetched first (getOrders by orderIds) and its lines
        matched to ours, by item number and then by SKU.
        """
        order = confirmation.shipment.order
        from_csv = [line.order_line for line in confirmation.shipment.lines
                    if (line.order_line.channel_line_id or "").startswith(CSV_LINE_PREFIX)]
        line_item_ids = self.line_item_ids(order, from_csv) if from_csv else {}
        response = self.transport.request("POST", f"{ORDERS_PATH}/{quote(order.channel_order_id, safe='-')}"
                                          f"/shipping_fulfillment",
                                          json=fulfillment_body(confirmation, line_item_ids))
        location = response.headers.get("Location") or ""
        return location.rstrip("/").rsplit("/", 1)[-1] or None

    def line_item_ids(self, order: Order, lines: list[OrderLine]) -> dict[int, str]:
        """eBay's lineItemId for each of `lines` (by our line id) that eBay's copy of the order has."""
        body = self.transport.request_json("GET", ORDERS_PATH, params={"orderIds": order.channel_order_id})
        remote = next((o for o in (body or {}).get("orders") or [] if o.get("orderId") == order.channel_order_id), None)
        if remote is None:
            raise ChannelError(f"eBay does not know order {order.channel_order_id}: mark it shipped on eBay", status=404)
        sku_map: dict[str, str] = (order.channel.settings or {}).get("sku_map", {})
        items = [item for item in remote.get("lineItems") or [] if item.get("lineItemId")]
        found: dict[int, str] = {}
        for line in lines:
            item_number = line.channel_line_id.removeprefix(CSV_LINE_PREFIX).split(":", 1)[0]
            match = next((i for i in items if item_number and str(i.get("legacyItemId") or "") == item_number), None) \
                or next((i for i in items if sku_map.get(i.get("sku"), i.get("sku")) == line.sku), None)
            if match is not None:
                items.remove(match)
                found[line.id] = str(match["lineItemId"])
        return found


CSV_LINE_PREFIX = "csv:"


def csv_line_id(item_number: str, transaction_id: str) -> str | None:
    """The channel line id of a Seller Hub CSV row: what confirm_shipment matches eBay's lines by."""
    if not item_number and not transaction_id:
        return None
    return f"{CSV_LINE_PREFIX}{item_number}:{transaction_id}"[:64]


def fulfillment_body(confirmation: ShipmentConfirmation, line_item_ids: dict[int, str] | None = None) -> dict[str, Any]:
    """The shipping fulfillment; `line_item_ids` gives eBay's ids of lines imported from a CSV."""
    shipment = confirmation.shipment
    items = []
    for line in shipment.lines:
        order_line = line.order_line
        line_item_id = order_line.channel_line_id
        if (line_item_id or "").startswith(CSV_LINE_PREFIX):
            line_item_id = (line_item_ids or {}).get(order_line.id)
        if not line_item_id:
            raise ChannelError(f"{order_line.sku} on {shipment.number} matches no line of the eBay order: "
                               f"mark it shipped on eBay", status=400)
        items.append({"lineItemId": line_item_id, "quantity": line.quantity})
    moment = shipment.shipped_at or datetime.now(timezone.utc).replace(tzinfo=None)
    body: dict[str, Any] = {"lineItems": items,
                            "shippedDate": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"}
    if shipment.carrier and shipment.tracking_number:  # both together or neither, says eBay
        body["shippingCarrierCode"] = carrier_code(shipment.carrier)
        body["trackingNumber"] = shipment.tracking_number
    return body


def carrier_code(carrier: str) -> str:
    name = carrier.strip()
    return CARRIER_CODES.get(name.lower(), "".join(name.split()))


# ---------------------------------------------------------------- mapping

def new_order(channel: SalesChannel, raw: dict[str, Any]) -> NewOrder | Skip:
    """The order to import, or why not (cancelled, refunded, failed payment, already fulfilled).

    Its ship-by is the earliest shipByDate of the line items left to ship. Raises ValueError for an
    order that cannot be read (a shipByDate that is no date)."""
    order_id = str(raw.get("orderId") or "")
    if not order_id:
        raise ChannelError("eBay sent an order without an orderId")
    if ((raw.get("cancelStatus") or {}).get("cancelState")) == "CANCELED":
        return Skip(order_id, "cancelled on eBay", canceled=True)
    payment = raw.get("orderPaymentStatus")
    if payment not in PAID | UNPAID:
        return Skip(order_id, f"payment {payment or 'unknown'} on eBay", canceled=payment == "FULLY_REFUNDED")
    if raw.get("orderFulfillmentStatus") == "FULFILLED":
        return Skip(order_id, "already fulfilled on eBay")
    lines = []
    currency = None
    partly_fulfilled = False
    ship_by_dates = []
    for item in raw.get("lineItems") or []:
        if item.get("lineItemFulfillmentStatus") == "FULFILLED":
            partly_fulfilled = True
            continue
        instructions_of_line = item.get("lineItemFulfillmentInstructions") or {}
        if not isinstance(instructions_of_line, dict):
            raise ValueError(f"Order {order_id}: lineItemFulfillmentInstructions is not an object")
        ship_by_date = parse_ship_by(instructions_of_line.get("shipByDate"),
                                     f"Order {order_id}, line item {item.get('lineItemId')}: shipByDate")
        if ship_by_date is not None:
            ship_by_dates.append(ship_by_date)
        quantity = int(item.get("quantity") or 0)
        cost = item.get("lineItemCost") or {}
        currency = currency or cost.get("currency")
        line_item_id = str(item.get("lineItemId") or "")
        # A listing without the seller's SKU still becomes a line: held until someone maps it.
        sku = clean(item.get("sku"), 64) or f"EBAY-{item.get('legacyItemId') or line_item_id}"[:64]
        lines.append(charged_line(sku=sku, quantity=quantity, line_total=cost.get("value"), name=clean(item.get("title")),
                                  channel_line_id=line_item_id or None))
    if not lines:
        return Skip(order_id, "no items left to ship")
    pricing = raw.get("pricingSummary") or {}
    instructions = raw.get("fulfillmentStartInstructions") or [{}]
    step = (instructions[0] or {}).get("shippingStep") or {}
    to = step.get("shipTo") or {}
    contact = to.get("contactAddress") or {}
    address = ship_to(name=to.get("fullName"), company=to.get("companyName"), line1=contact.get("addressLine1"),
                      line2=contact.get("addressLine2"), city=contact.get("city"), region=contact.get("stateOrProvince"),
                      postal_code=contact.get("postalCode"), country=contact.get("countryCode") or contact.get("country"),
                      phone=(to.get("primaryPhone") or {}).get("phoneNumber"))
    name = clean(to.get("fullName")) or clean((raw.get("buyer") or {}).get("username")) or "eBay buyer"
    def amount(key: str) -> int:  # eBay writes its discounts negative
        return abs(cents((pricing.get(key) or {}).get("value")) or 0)

    return NewOrder(
        channel_id=channel.id, channel_order_id=order_id, lines=lines,
        customer=CustomerDetails(name=name, email=clean(to.get("email"), 254), ship_to=address,
                                 phone=(address or {}).get("phone")),
        payment_status=PaymentStatus.PAID if payment in PAID else PaymentStatus.PENDING,
        currency=currency_code((pricing.get("total") or {}).get("currency") or currency),
        # The order's discount and tax are spread over its lines; total = subtotal − discount + delivery + tax.
        shipping_cents=max(amount("deliveryCost") - amount("deliveryDiscount"), 0),
        # eBay's total holds the tax its pricingSummary states, and no other (tax eBay collects and remits
        # itself is not the seller's): no stated tax is no tax, never our catalogue's rate.
        discount_cents=amount("priceDiscount"), tax_cents=amount("tax"),
        # eBay's total is the whole order's: comparable only while none of it has been fulfilled.
        channel_total_cents=None if partly_fulfilled or not (pricing.get("total") or {}).get("value")
        else amount("total"),
        service_level=clean(step.get("shippingServiceCode"), 40), placed_at=parse_time(raw.get("creationDate")),
        ship_by=min(ship_by_dates, default=None))


def first_cursor(now: datetime | None = None) -> str:
    moment = (now or datetime.now(timezone.utc).replace(tzinfo=None)) - FIRST_SYNC_LOOKBACK
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
