"""Channel orders in: created Finalized and allocated, or recognised as a repeat of one received before.

Also the small translations every channel needs on the way: money strings to integer cents (with
Decimal, never float) and the channel's address to the order's ship-to keys.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..domain import money
from ..domain import orders as order_services
from ..domain.orders import LineRequest, NewOrder
from ..extensions import db
from ..models import Order, OrderStatus, PaymentStatus, SalesChannel
from .arrivals import arrivals

IMPORTED, DUPLICATE, HELD, REFUSED = "imported", "duplicate", "held", "refused"
# Orders created per write transaction when many arrive at once (a report file, a sync page):
# large enough that the commit costs little per order, small enough that a writer never waits long.
CHUNK_ORDERS = 1000
SHIP_TO_KEYS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


# ---------------------------------------------------------------- money

_NOT_MONEY = re.compile(r"[^0-9.,\-]")


class MoneyError(ValueError):
    pass


def decimal_amount(value: Any) -> Decimal | None:
    """A money string as the channel wrote it ("12.50", "$1,234.50", "AU $3,000.00", "1.234,50",
    "(3.00)") as a Decimal; None for an empty value. Raises MoneyError for anything else."""
    if value is None:
        return None
    if type(value) is not str:
        if isinstance(value, (bool, float)):
            raise MoneyError(f"{value!r} is not a money string")  # a float has already lost the cents
        if isinstance(value, (int, Decimal)):
            return Decimal(value)
    text = str(value).strip()
    if not text:
        return None
    negative = text.startswith("(") and text.endswith(")")
    text = _NOT_MONEY.sub("", text)
    if text.startswith("-"):
        negative, text = True, text[1:]
    if not text or "-" in text:
        raise MoneyError(f"{value!r} is not an amount of money")
    if "," in text and "." in text:
        # Whichever comes last separates the cents; the other groups thousands.
        thousands = "," if text.rfind(".") > text.rfind(",") else "."
        text = text.replace(thousands, "")
        text = text.replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", ".") if text.count(",") == 1 and len(tail) in (1, 2) else text.replace(",", "")
    if text.count(".") > 1:
        raise MoneyError(f"{value!r} is not an amount of money")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not an amount of money") from None
    return -amount if negative else amount


def cents(value: Any, *, default: int | None = 0) -> int | None:
    """Money to integer cents, rounded half up: cents("12.50") == 1250, cents("$1,234.5") == 123450.

    An empty value gives `default`. Raises MoneyError for text that is not an amount.
    """
    amount = decimal_amount(value)
    if amount is None:
        return default
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def charged_line(*, sku: str, quantity: int, line_total: Any, charged_for: int | None = None, discount: Any = None,
                 tax: Any = None, name: str | None = None, channel_line_id: str | None = None) -> LineRequest:
    """A line of `quantity` units whose channel states its money for `charged_for` units (default: the
    same): the price of them all (`line_total`, price × quantity), their discount and their tax, as
    money strings. Discounts written negative ("-5.00", as Amazon's reports do) count as discounts.

    The unit price and its rounding are money.unit_of_total's. For fewer units than were charged (a
    partly shipped order) discount and tax are their share.
    """
    charged_for = charged_for or quantity
    total = cents(line_total, default=None)
    discount_cents = abs(cents(discount) or 0)
    tax_cents = None if tax is None or (isinstance(tax, str) and not tax.strip()) else abs(cents(tax) or 0)
    unit = None
    if total is not None and charged_for > 0:
        unit, rounding = money.unit_of_total(abs(total), charged_for)
        discount_cents += rounding
    if charged_for != quantity:
        discount_cents = money.share(discount_cents, quantity, charged_for)
        tax_cents = None if tax_cents is None else money.share(tax_cents, quantity, charged_for)
    return LineRequest(sku=sku, quantity=quantity, unit_price_cents=unit, name=name, channel_line_id=channel_line_id,
                       discount_cents=discount_cents, tax_cents=tax_cents)


# ISO 4217 codes in use, by the decimals of their minor unit. Amounts are kept in cents, so a currency
# with three decimals (the Kuwaiti dinar) cannot be held to its smallest unit: known, and refused as such.
_CURRENCIES_BY_PLACES = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD "
       "CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
       "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA "
       "MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR "
       "RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD "
       "TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
CURRENCY_PLACES = {code: places for places, codes in _CURRENCIES_BY_PLACES.items() for code in codes.split()}


def currency_places(code: str) -> int:
    """The decimals of a currency's minor unit (USD 2, JPY 0). Raises MoneyError for a code that is not
    ISO 4217 ("EURO", "€€€") or one whose minor unit is finer than the cent we keep."""
    places = CURRENCY_PLACES.get(code)
    if places is None:
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code")
    if places > 2:
        raise MoneyError(f"{code} has {places} decimals; amounts are kept to two")
    return places


# ---------------------------------------------------------------- addresses

_COUNTRIES = {
    "united states": "US", "united states of america": "US", "usa": "US", "united kingdom": "GB",
    "great britain": "GB", "uk": "GB", "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "australia": "AU", "canada": "CA", "germany": "DE", "deutschland": "DE", "france": "FR", "italy": "IT",
    "italia": "IT", "spain": "ES", "españa": "ES", "ireland": "IE", "netherlands": "NL", "austria": "AT",
    "belgium": "BE", "switzerland": "CH", "poland": "PL", "sweden": "SE", "new zealand": "NZ", "japan": "JP",
    "mexico": "MX",
}


def country_code(value: Any) -> str | None:
    """A two-letter country code from a code or a country's English name; anything else as written."""
    text = clean(value)
    if text is None:
        return None
    if len(text) == 2 and text.isalpha():
        return text.upper()
    return _COUNTRIES.get(text.lower(), text)


def clean(value: Any, limit: int = 200) -> str | None:
    text = "" if value is None else str(value).strip()
    return text[:limit] or None


def ship_to(*, name: Any = None, line1: Any = None, line2: Any = None, line3: Any = None, city: Any = None,
            region: Any = None, postal_code: Any = None, country: Any = None, phone: Any = None,
            company: Any = None) -> dict[str, Any] | None:
    """The order's ship-to dict (name, line1, line2, city, region, postal_code, country [, phone]) from
    a channel's address parts; a third address line and a company name are folded into line2 and the
    name. None when the channel gave no address at all (Amazon hides it until an order is paid)."""
    extra = ", ".join(part for part in (clean(line2), clean(line3)) if part) or None
    person = clean(name)
    if clean(company) and clean(company) != person:
        person = f"{person}, {clean(company)}" if person else clean(company)
    address = {"name": person, "line1": clean(line1), "line2": extra, "city": clean(city, 100),
               "region": clean(region, 100), "postal_code": clean(postal_code, 20), "country": country_code(country)}
    if not any(address.values()):
        return None
    if clean(phone):
        address["phone"] = clean(phone, 40)
    return address


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp ("2026-01-02T10:00:00Z") as the naive UTC datetime the database holds;
    None when absent or unreadable."""
    text = clean(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        # 9999-12-31T23:00:00-05:00 is a valid timestamp that overflows on its way to UTC
        return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    except (ValueError, OverflowError):
        return None


# ---------------------------------------------------------------- orders in

@dataclass(frozen=True)
class Skip:
    """A channel order deliberately not imported: shipped by the marketplace, cancelled, already shipped."""

    channel_order_id: str
    reason: str
    canceled: bool = False


@dataclass(frozen=True)
class Outcome:
    channel_order_id: str
    order_id: int | None
    outcome: str  # imported | held | duplicate | refused
    error: str | None = None
    paid_now: bool = False  # a repeat that brought the payment of an order awaiting it


@dataclass
class Tally:
    """What a run brought in, in the words of a ChannelSync row."""

    imported: int = 0
    duplicates: int = 0
    held: int = 0
    skipped: int = 0
    updated: int = 0  # changes to orders imported before (paid, repriced, cancelled)
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        self.updated += outcome.paid_now
        if outcome.outcome == IMPORTED:
            self.imported += 1
        elif outcome.outcome == HELD:
            self.held += 1
        elif outcome.outcome == DUPLICATE:
            self.duplicates += 1
        else:
            self.error(f"{outcome.channel_order_id}: {outcome.error}")

    def changed(self, message: str) -> None:
        """An order imported before was changed (held as cancelled on the channel): counted, and said
        with the run's messages, where a person reads it."""
        self.updated += 1
        self.error(message)

    def error(self, message: str, limit: int = 200) -> None:
        if len(self.errors) < limit:
            self.errors.append(message[:500])
        elif len(self.errors) == limit:
            self.errors.append("… and more errors not listed")


class Imported(NamedTuple):
    order_id: int
    outcome: str  # imported | held | duplicate
    order: dict[str, Any]  # the order's row as committed: id, channel_order_id, status, segment, hold_reason,
    #                        total_cents, currency
    paid_now: bool = False  # a repeat that brought the payment of an order awaiting it


def import_order(channel_id: int, new_order: NewOrder) -> Imported:
    """One channel order in (actor: the channel, no user), from a request of the order API or a
    webhook: written with the orders other requests of this process bring in at the same moment (see
    arrivals). The outcome is "imported", "held" (an unknown SKU: Needs attention) or "duplicate" (the
    order received before).

    A repeat that says paid, of an order still awaiting payment here, marks it paid (record_channel_payment,
    once however many such repeats arrive together) and answers with the order as it is now.
    Raises the DomainError of create_orders for an order it refuses (no lines, bad quantity, ...).
    """
    new_order = _for_channel(channel_id, new_order)
    created = arrivals().create(new_order)
    if created.error is not None:
        raise created.error
    assert created.order_id is not None and created.headline is not None
    outcome = DUPLICATE if created.duplicate else HELD if created.held else IMPORTED
    if created.duplicate and new_order.payment_status is PaymentStatus.PAID \
            and _settle_payments([new_order], [created]):
        return Imported(created.order_id, outcome, _headline(created.order_id), paid_now=True)
    return Imported(created.order_id, outcome, created.headline)


def _headline(order_id: int) -> dict[str, Any]:
    headline = dict(db.session.execute(order_services.ORDER_HEADLINE, {"ids": [order_id]}).mappings().one())
    db.session.rollback()  # end the read
    return headline


def import_orders(channel: SalesChannel, new_orders: Sequence[NewOrder], *,
                  progress: Callable[[int], None] | None = None) -> list[Outcome]:
    """Many channel orders in, CHUNK_ORDERS per write transaction; a refused order refuses alone.

    A repeat that the channel now reports paid, of an order still awaiting payment here, is marked paid
    (with the ship-to address the channel withholds until then). `progress(n)` is told of each chunk.
    """
    outcomes: list[Outcome] = []
    for start in range(0, len(new_orders), CHUNK_ORDERS):
        chunk = [_for_channel(channel.id, new) for new in new_orders[start:start + CHUNK_ORDERS]]
        created = order_services.create_orders(None, chunk)
        outcomes.extend(_outcome(new, result) for new, result in zip(chunk, created))
        paid = set(_settle_payments(chunk, created))
        outcomes[-len(chunk):] = [replace(o, paid_now=o.order_id in paid) if o.order_id in paid else o
                                  for o in outcomes[-len(chunk):]]
        if progress:
            progress(len(chunk))
    return outcomes


def _for_channel(channel_id: int, new_order: NewOrder) -> NewOrder:
    return new_order if new_order.channel_id == channel_id else replace(new_order, channel_id=channel_id)


def _outcome(new: NewOrder, result: order_services.Created) -> Outcome:
    channel_order_id = new.channel_order_id or ""
    if result.error is not None:
        return Outcome(channel_order_id, None, REFUSED, result.error.message)
    if result.duplicate:
        return Outcome(channel_order_id, result.order_id, DUPLICATE)
    return Outcome(channel_order_id, result.order_id, HELD if result.held else IMPORTED)


def _settle_payments(chunk: Sequence[NewOrder], created: Sequence[order_services.Created]) -> list[int]:
    """Mark paid the repeats that say paid, of orders awaiting payment here. Returns the orders marked."""
    paid_now = {result.order_id: new for new, result in zip(chunk, created)
                if result.duplicate and new.payment_status is PaymentStatus.PAID}
    if not paid_now:
        return []
    # A read first: a store repeats paid orders often, and most are paid here already (no write then).
    waiting = _awaiting_payment(sorted(paid_now))
    marked = []
    for order_id in waiting:
        details = paid_now[order_id].customer
        # Checked again under the order's lock: of repeats arriving together, one marks it.
        if order_services.record_channel_payment(None, order_id, details.ship_to if details else None):
            marked.append(order_id)
    return marked


def _awaiting_payment(order_ids: list[int]) -> list[int]:
    """Those of the orders that are finalized and await payment (a read; nothing is locked)."""
    waiting = list(db.session.scalars(sa.select(Order.id).where(
        Order.id.in_(order_ids), Order.payment_status == PaymentStatus.PENDING,
        Order.status == OrderStatus.FINALIZED)))
    db.session.rollback()  # end the read before the writes
    return waiting


def existing_orders(channel_id: int, channel_order_ids: Iterable[str], *, with_lines: bool = False) -> dict[str, Order]:
    """The channel's orders already here, by channel order id (a read; nothing is locked); `with_lines`
    loads their lines too, in one query per 500 orders."""
    ids = sorted({i for i in channel_order_ids if i})
    found: dict[str, Order] = {}
    options = (selectinload(Order.lines),) if with_lines else ()
    for start in range(0, len(ids), 500):
        for order in db.session.scalars(sa.select(Order).options(*options).where(
                Order.channel_id == channel_id, Order.channel_order_id.in_(ids[start:start + 500]))):
            found[order.channel_order_id] = order
    return found


def canceled_after_import(channel: SalesChannel, skips: Iterable[Skip]) -> list[str]:
    """Messages for orders the channel cancelled after we imported them, each put on hold for a person
    (order_services.record_channel_cancellation: not voided, not shipped), once."""
    return [f"{channel_order_id}: {message}" for channel_order_id, _, message in _hold_canceled(channel, skips)]


def cancellation_delivered(channel: SalesChannel, skip: Skip) -> tuple[int, str] | None:
    """A store's delivery says an order imported here was cancelled (or refunded): as for the channels
    that are pulled (canceled_after_import). Returns (order id, message), or None when no open order
    here is that one."""
    held = _hold_canceled(channel, [skip])
    return (held[0][1], held[0][2]) if held else None


def _hold_canceled(channel: SalesChannel, skips: Iterable[Skip]) -> list[tuple[str, int, str]]:
    """(channel order id, order id, message) of each open order here that the channel has cancelled,
    each put on hold with the message as its reason."""
    canceled = {skip.channel_order_id for skip in skips if skip.canceled}
    found = [(channel_order_id, order.id, f"Cancelled on {channel.name} after it was imported as "
                                          f"{order.number}; void it here unless it has shipped")
             for channel_order_id, order in sorted(existing_orders(channel.id, canceled).items())
             if order.status in (OrderStatus.DRAFT, OrderStatus.FINALIZED)]
    db.session.rollback()  # end the read before the writes
    for _, order_id, message in found:
        order_services.record_channel_cancellation(None, order_id, message)
    return found
