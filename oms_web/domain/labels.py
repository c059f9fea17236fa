"""Buying a parcel's label from the shop's label service: the one seam between packing (the order page,
bulk Create shipments, the pack station) and the carrier.

`pack` packs a shipment the way the channel's rate rule says: "manual" (or no carrier account) is
today's shipping.ship_lines with our own label; otherwise the service is asked for rates, one is chosen
(the rule's, or the one staff picked), bought, and the shipment is packed with its carrier, service,
tracking number and label in one transaction.

Never half-applied across the network: no database transaction is open during a call; the purchase is
written (status "buying") before the service is asked to buy, so a purchase whose answer was lost (a
timeout, a crash) is found again by `reconcile` (it asks the service) and recorded, or refunded when the
order can no longer ship it. A refusal by the service, or no answer, raises CarrierFailed and changes
nothing of the order. Cancelling a packed shipment requests its label's refund (`cancel`).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from .. import carriers
from ..carriers import BoughtLabel, CarrierError, CarrierUnavailable, LabelService, Rate, manual
from ..database import service
from ..extensions import db
from ..models import CarrierAccount, Job, LabelPurchase, Location, Order, Role, Shipment, User, utcnow
from . import events, parcels, rate_rules, shipping
from .errors import CarrierFailed, DomainError, InvalidInput, InvalidState, NotFound
from .locking import lock_order
from .money import amount_text as format_money
from .order_rules import require_role

log = logging.getLogger(__name__)

# The service's object ids (shp_…, rate_…): anything else posted as one is refused before it reaches a URL.
REMOTE_ID = re.compile(r"[A-Za-z0-9_]{1,80}")
# A purchase still "buying" after this long lost its answer (a crash): reconcile asks the service.
UNANSWERED = timedelta(minutes=2)


def active_account() -> CarrierAccount | None:
    return db.session.scalar(sa.select(CarrierAccount).where(CarrierAccount.active).order_by(CarrierAccount.id).limit(1))


def buys_zpl() -> bool:
    """Whether the shop's labels come as ZPL (for a 4x6 thermal printer)."""
    account = active_account()
    return account is not None and account.label_format == "ZPL"


def label_service(account: CarrierAccount | None = None) -> LabelService | None:
    account = account or active_account()
    return carriers.service_for(account, current_app.config) if account is not None else None


def buys_labels(order: Order, account: CarrierAccount | None) -> bool:
    return not manual.applies(order.channel.rate_rule, account)


# ---------------------------------------------------------------- packing with a bought label

def quote(order_id: int, quantities: Mapping[int, int], *, preset_id: int | None = None,
          location_id: int | None = None) -> tuple[carriers.Quote, Rate]:
    """Ask the service for the rates of the parcel these units make (no charge): the quote and the rate
    the channel's rule picks. Raises what ship_lines would (checked first) and CarrierFailed."""
    order, wanted, parcel, svc, _, location_id = _prepare(order_id, quantities, preset_id, location_id=location_id)
    quoted = _ask_rates(svc, order, parcel, location_id)
    return quoted, rate_rules.choose(quoted.rates, order.channel)


def _prepare(order_id: int, quantities: Mapping[int, int], preset_id: int | None, weighed_grams: int | None = None,
             location_id: int | None = None):
    wanted = shipping.units_asked(quantities)
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    location_id = shipping.check_shippable(order, wanted, location_id)
    account = active_account()
    if account is None:
        raise InvalidState("No carrier account is set up: an admin adds one on the Carriers screen")
    parcel = parcels.parcel_for(order, wanted, preset_id, weighed_grams)
    return order, wanted, parcel, label_service(account), account, location_id


def _ask_rates(svc: LabelService, order: Order, parcel: dict[str, Any], location_id: int | None = None) -> carriers.Quote:
    to_address = {**(order.ship_to or {}), "email": order.email}
    location = db.session.get(Location, location_id) if location_id else None
    from_address = (location.ship_from() if location else None) or current_app.config["OMS_SHIP_FROM"]
    label_format = active_account().label_format
    number = order.number
    db.session.rollback()  # no transaction stays open while the service is asked
    try:
        if hasattr(svc, "verify_address"):
            svc.verify_address(to_address)
        return svc.create_shipment(to_address, from_address, parcel, reference=number, label_format=label_format)
    except CarrierError as error:
        raise CarrierFailed(error.message, field=error.field or "carrier") from None


def pack(actor: User, order_id: int, quantities: Mapping[int, int], *, carrier: str | None = None,
         service_level: str | None = None, tracking_number: str | None = None, rate_id: str | None = None,
         quote_id: str | None = None, preset_id: int | None = None, weighed_grams: int | None = None,
         location_id: int | None = None) -> Shipment:
    """Pack the units as the channel's rate rule says: our own label (manual), or a label bought at the
    rule's rate (or at `rate_id` of the quote `quote_id` that staff picked). Not a transaction of its own:
    it calls the service between transactions.

    Raises what ship_lines raises (before any purchase), InvalidInput for a rate that is not one of the
    quote's, CarrierFailed when the service refuses or does not answer (nothing changed)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    account = active_account()
    if not rate_id and not buys_labels(order, account):
        return shipping.ship_lines(actor, order_id, quantities, carrier=carrier, service_level=service_level,
                                   tracking_number=tracking_number, location_id=location_id)
    if rate_id is not None and not REMOTE_ID.fullmatch(rate_id) or quote_id is not None and not REMOTE_ID.fullmatch(quote_id):
        raise InvalidInput("That is not one of the carrier's rates: get the rates again", field="rate_id")
    order, wanted, parcel, svc, account, location_id = _prepare(order_id, quantities, preset_id, weighed_grams,
                                                                location_id)
    channel = order.channel
    if rate_id:
        if not quote_id:
            raise InvalidInput("Get the rates again and pick one", field="rate_id")
        db.session.rollback()
        try:
            quoted, bought = svc.retrieve_shipment(quote_id)
        except CarrierError as error:
            raise CarrierFailed(error.message, field="rate_id") from None
        if bought is not None:
            raise InvalidInput("Those rates were used for a label already: get the rates again", field="rate_id")
        rate = next((r for r in quoted.rates if r.id == rate_id), None)
        if rate is None:
            raise InvalidInput("That rate is not one of this parcel's rates: get the rates again", field="rate_id")
    else:
        quoted = _ask_rates(svc, order, parcel, location_id)
        rate = rate_rules.choose(quoted.rates, channel)
    # Where the parcel ships from rides with the purchase (its parcel record), for record_label.
    purchase_id = _intend(actor, order_id, account.service, quoted.remote_id, rate, wanted,
                          {**parcel, "location_id": location_id})
    return _buy_and_record(actor, svc, purchase_id, quoted.remote_id, rate)


def _buy_and_record(actor: User | None, svc: LabelService, purchase_id: int, remote_id: str, rate: Rate) -> Shipment:
    try:
        bought = svc.buy(remote_id, rate)
    except CarrierUnavailable as error:
        # The purchase may have gone through: ask once more; what stays unknown the reconcile finds.
        try:
            _quoted, bought = svc.retrieve_shipment(remote_id)
        except CarrierError:
            raise CarrierFailed(f"{error.message}. Whether the label was bought is checked again in a "
                                "minute; nothing was packed", field="carrier") from None
        if bought is None:
            _settle(purchase_id, "failed", error=error.message)
            raise CarrierFailed(error.message, field="carrier") from None
    except CarrierError as error:
        _settle(purchase_id, "failed", error=error.message)
        raise CarrierFailed(error.message, field="carrier") from None
    return record_or_refund(actor, svc, purchase_id, bought)


def record_or_refund(actor: User | None, svc: LabelService, purchase_id: int, bought: BoughtLabel) -> Shipment:
    """Pack the purchase's units with the bought label; should the order no longer be able to ship them
    (changed meanwhile), the label is refunded and the refusal raised."""
    try:
        return record_label(actor, purchase_id, bought)
    except DomainError as refusal:
        try:
            refund_status = svc.refund(bought.remote_id)
        except CarrierError:
            refund_status = "pending"
        _settle(purchase_id, "refunded", error=refusal.message, refund_status=refund_status)
        raise


@service
def _intend(actor: User | None, order_id: int, service_name: str, remote_id: str, rate: Rate,
            wanted: Mapping[int, int], parcel: dict[str, Any]) -> int:
    existing = db.session.scalar(sa.select(LabelPurchase).where(LabelPurchase.remote_id == remote_id))
    if existing is not None:
        raise InvalidInput("Those rates were used for a label already: get the rates again", field="rate_id")
    purchase = LabelPurchase(order_id=order_id, service=service_name, remote_id=remote_id, rate_id=rate.id,
                             carrier=rate.carrier, carrier_service=rate.service, rate_cents=rate.cents,
                             currency=rate.currency, delivery_days=rate.delivery_days,
                             quantities={str(k): v for k, v in wanted.items()}, parcel=parcel,
                             status="buying", created_by_id=actor.id if actor else None)
    db.session.add(purchase)
    db.session.flush()
    return purchase.id


@service
def _settle(purchase_id: int, status: str, *, error: str | None = None, refund_status: str | None = None) -> None:
    purchase = db.session.get(LabelPurchase, purchase_id)
    purchase.status = status
    if error:
        purchase.error = error[:500]
    if refund_status:
        purchase.refund_status = refund_status[:20]


@service
def record_label(actor: User | None, purchase_id: int, bought: BoughtLabel) -> Shipment:
    """Pack the purchase's units into a shipment carrying the bought label (once: a purchase recorded
    before returns its shipment). Raises what ship_lines raises."""
    purchase = db.session.get(LabelPurchase, purchase_id)
    if purchase is None:
        raise NotFound("There is no such label purchase")
    lock_order(purchase.order_id)
    db.session.refresh(purchase)
    if purchase.status == "recorded":
        return db.session.get(Shipment, purchase.shipment_id)
    if purchase.status != "buying":
        raise InvalidState(f"The label purchase is {purchase.status}")
    rate = bought.rate if bought.rate.carrier else Rate(purchase.rate_id, purchase.carrier, purchase.carrier_service,
                                                        purchase.rate_cents, purchase.currency, purchase.delivery_days)
    shipment = shipping.ship_lines(actor, purchase.order_id, {int(k): v for k, v in purchase.quantities.items()},
                                   carrier=rate.carrier, service_level=rate.service, tracking_number=bought.tracking_code,
                                   location_id=(purchase.parcel or {}).get("location_id"))
    purchase.shipment_id = shipment.id
    purchase.status = "recorded"
    purchase.tracking_code, purchase.tracker_id, purchase.tracking_url = (bought.tracking_code, bought.tracker_id,
                                                                         bought.tracking_url)
    purchase.label_format, purchase.label = bought.label_format, bought.label
    purchase.rate_cents, purchase.currency = rate.cents, rate.currency
    events.label_bought(shipment, actor, rate.carrier, rate.service, format_money(rate.cents, rate.currency),
                        bought.tracking_code)
    return shipment


# ---------------------------------------------------------------- cancelling: the label's refund

def cancel(actor: User, shipment_id: int) -> Shipment:
    """shipping.cancel_shipment, then the refund of its bought label requested at the service (a failed
    request is asked again by the carrier sync). Raises what cancel_shipment raises."""
    shipping.cancel_shipment(actor, shipment_id)
    purchase = db.session.scalar(sa.select(LabelPurchase).where(LabelPurchase.shipment_id == shipment_id))
    if purchase is not None and purchase.refund_status is None:
        _request_refund(actor, purchase.id)
    return db.session.get(Shipment, shipment_id)


def _request_refund(actor: User | None, purchase_id: int) -> None:
    purchase = db.session.get(LabelPurchase, purchase_id)
    svc, remote_id = label_service(), purchase.remote_id
    db.session.rollback()
    try:
        status = svc.refund(remote_id) if svc else "pending"
    except CarrierError as error:
        log.warning("refund of %s not requested yet: %s", remote_id, error.message)
        status = "pending"
    _note_refund(actor, purchase_id, status)


@service
def _note_refund(actor: User | None, purchase_id: int, status: str) -> None:
    purchase = db.session.get(LabelPurchase, purchase_id)
    first = purchase.refund_status is None
    purchase.refund_status = status[:20]
    if purchase.shipment_id and (first or status != "pending"):
        shipment = db.session.get(Shipment, purchase.shipment_id)
        words = "requested" if status != "pending" else "to be requested (the service did not answer)"
        events.label_refund(shipment, actor, purchase.carrier, format_money(purchase.rate_cents, purchase.currency),
                            words)


# ---------------------------------------------------------------- the carrier sync (scheduled)

def reconcile(now=None) -> dict[str, int]:
    """Purchases whose answer was lost: the service is asked; a bought label is recorded (or refunded
    when the order cannot ship it any more), an unbought one marked failed. Refunds not yet requested
    are requested. Returns counts."""
    now = now or utcnow()
    counts = {"recorded": 0, "refunded": 0, "failed": 0, "refunds": 0}
    svc = label_service()
    if svc is None:
        return counts
    lost = db.session.execute(sa.select(LabelPurchase.id, LabelPurchase.remote_id, LabelPurchase.created_by_id)
                              .where(LabelPurchase.status == "buying", LabelPurchase.updated_at < now - UNANSWERED)
                              .order_by(LabelPurchase.id)).all()
    pending_refunds = db.session.scalars(sa.select(LabelPurchase.id).where(LabelPurchase.refund_status == "pending")).all()
    db.session.rollback()
    for purchase_id, remote_id, user_id in lost:
        try:
            _quoted, bought = svc.retrieve_shipment(remote_id)
        except CarrierError:
            continue
        if bought is None:
            _settle(purchase_id, "failed", error="The service has no label for it")
            counts["failed"] += 1
            continue
        try:
            record_or_refund(db.session.get(User, user_id) if user_id else None, svc, purchase_id, bought)
            counts["recorded"] += 1
        except DomainError:
            counts["refunded"] += 1
    for purchase_id in pending_refunds:
        purchase = db.session.get(LabelPurchase, purchase_id)
        remote_id = purchase.remote_id
        db.session.rollback()
        try:
            status = svc.refund(remote_id)
        except CarrierError:
            continue
        _note_refund(None, purchase_id, status)
        counts["refunds"] += 1
    return counts


def queue_carrier_sync(now=None) -> Job | None:
    """Each 15 minutes (the scheduler's minute), when a carrier account is active: one carrier sync."""
    from ..tasks import enqueue

    now = now or utcnow()
    if active_account() is None:
        db.session.rollback()
        return None
    db.session.rollback()
    slot = int(now.timestamp() // 900)
    return enqueue("carrier_sync", {}, key=f"carrier_sync:{slot}")


def carrier_sync(job: Job, progress) -> Any:
    """The queue's job: reconcile purchases, then poll the trackers of parcels with the carrier (for shops
    the webhooks cannot reach)."""
    from ..tasks import Outcome
    from . import tracking

    reconcile()
    tracking.poll_trackers()
    return Outcome()


# ---------------------------------------------------------------- bulk: many labels in parallel

def pack_allocated(actor: User, order_id: int, location_id: int | None = None) -> Shipment:
    """Every allocated, unpacked unit of the order (at the location, when given), packed through `pack`
    (its channel's rule)."""
    from .bulk_shipping import units_to_pack

    order = db.session.get(Order, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    quantities, location_id = units_to_pack(order, location_id)
    return pack(actor, order_id, quantities, location_id=location_id)


def pack_many(actor: User, order_ids: list[int], progress=None,
              location_id: int | None = None) -> dict[int, tuple[int | None, str | None]]:
    """Pack each order (pack_allocated) with up to OMS_CARRIER_CONCURRENCY of them asking the service at
    once, within its rate limit: order id -> (shipment id, None) or (None, why refused)."""
    app = current_app._get_current_object()
    actor_id = actor.id if actor else None
    db.session.rollback()

    def one(order_id: int) -> tuple[int, tuple[int | None, str | None]]:
        with app.app_context():
            try:
                user = db.session.get(User, actor_id) if actor_id else None
                return order_id, (pack_allocated(user, order_id, location_id).id, None)
            except DomainError as refusal:
                return order_id, (None, refusal.message)
            finally:
                db.session.remove()

    results: dict[int, tuple[int | None, str | None]] = {}
    workers = max(1, int(app.config.get("OMS_CARRIER_CONCURRENCY", 16)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="labels") as pool:
        for done, (order_id, outcome) in enumerate(pool.map(one, order_ids), start=1):
            results[order_id] = outcome
            if progress:
                progress(done, len(order_ids))
    return results


# ---------------------------------------------------------------- the admin's account

@service
def set_account(actor: User, *, api_key: str | None, webhook_secret: str | None, base_url: str,
                label_format: str, active: bool) -> CarrierAccount:
    """Set the shop's EasyPost account. A key or secret left empty keeps the one stored.
    Raises NotAllowed unless an admin, InvalidInput for a bad value."""
    require_role(actor, Role.ADMIN, "change the carrier account")
    if label_format not in ("PDF", "ZPL"):
        raise InvalidInput("The label format is PDF or ZPL", field="label_format")
    base_url = (base_url or "").strip()
    if not base_url.startswith(("https://", "http://127.0.0.1", "http://localhost")) or len(base_url) > 200 \
            or any(c.isspace() for c in base_url):
        raise InvalidInput("The API address must be an https:// address of at most 200 characters", field="base_url")
    account = db.session.scalar(sa.select(CarrierAccount).where(CarrierAccount.service == "easypost"))
    for value, field, what in ((api_key, "api_key", "The API key"), (webhook_secret, "webhook_secret", "The webhook secret")):
        if value is not None and (len(value) > 200 or any(c.isspace() or ord(c) < 32 for c in value)):
            raise InvalidInput(f"{what} has at most 200 characters and no spaces", field=field)
    if account is None:
        if not api_key:
            raise InvalidInput("Enter the API key", field="api_key")
        account = CarrierAccount(service="easypost", api_key=api_key)
        db.session.add(account)
    elif api_key:
        account.api_key = api_key
    if webhook_secret:
        account.webhook_secret = webhook_secret
    account.base_url, account.label_format, account.active = base_url, label_format, bool(active)
    return account
