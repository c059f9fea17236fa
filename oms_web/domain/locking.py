"""Row locks for the services, always taken in one order so that two actions never deadlock.

The order is: sales channels by id (a batch of channel orders), then products by id, then orders by
id, then a location's row (one being deactivated, or a purchase order's destination, share-locked while
it is checked), then other documents (returns, transfers, a supplier then its purchase orders), then the
counters (invoice number, segment counts). Every lock statement of the services is here.
Every action that changes a line of product P holds P's lock, so once a service holds the product
locks, the numbers of every line of those products (including which ones are backordered) stay put,
and it can work out which other orders it will touch before it locks any order.

On SQLite the write transaction already holds the database's single write lock (BEGIN IMMEDIATE) and
FOR UPDATE renders as nothing; the same code runs on both.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..database import RetryTransaction
from ..extensions import db
from ..models import (LineAllocation, Location, Order, OrderLine, OrderStatus, Product, PurchaseOrder, PurchaseOrderLine,
                      Return, ReturnLine, Role, SalesChannel, Supplier, Transfer, TransferLine, User)
from .errors import NotFound


def lock_every_product() -> None:
    """Every product's row, in id order: a location being deactivated may receive nothing meanwhile."""
    db.session.execute(sa.select(Product.id).order_by(Product.id).with_for_update(key_share=True))


def lock_products(product_ids: Iterable[int]) -> dict[int, Product]:
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Product).where(Product.id.in_(ids)).order_by(Product.id)
        .with_for_update(key_share=True).execution_options(populate_existing=True)
    ).all()
    return {p.id: p for p in rows}


# The batch path's lock statements (create_orders), built once and run on the session's connection:
# building a statement costs SQLAlchemy more than running it costs SQLite (measured in bench/run.py).
_channels, _products = SalesChannel.__table__, Product.__table__
_LOCK_CHANNELS = (sa.select(_channels.c.id).where(_channels.c.id.in_(sa.bindparam("ids", expanding=True)))
                  .order_by(_channels.c.id).with_for_update(key_share=True))
_LOCKED_PRODUCT_ROWS = (
    sa.select(_products.c.id, _products.c.sku, _products.c.name, _products.c.price_cents, _products.c.tax_rate_bp,
              (_products.c.stock_in_hand - _products.c.stock_committed).label("available"),
              _products.c.drop_ship_location_id)
    .order_by(_products.c.id).with_for_update(key_share=True))
_LOCK_PRODUCT_ROWS_BY_SKU = _LOCKED_PRODUCT_ROWS.where(_products.c.sku.in_(sa.bindparam("skus", expanding=True)))
_LOCK_PRODUCT_ROWS_BY_ID = _LOCKED_PRODUCT_ROWS.where(_products.c.id.in_(sa.bindparam("ids", expanding=True)))
_PRODUCT_IDS_BY_SKU = sa.select(_products.c.id).where(_products.c.sku.in_(sa.bindparam("skus", expanding=True)))
LOCK_AT_ONCE = 10_000  # SKUs or ids in one statement (SQLite takes at most 32,766 parameters)


def lock_channels(channel_ids: Iterable[int]) -> None:
    """Lock sales channels in id order: two batches into one channel run one after the other."""
    ids = sorted(set(channel_ids))
    if ids:
        db.session.connection().execute(_LOCK_CHANNELS, {"ids": ids})


def lock_product_rows(skus: Iterable[str]) -> dict[int, sa.Row]:
    """Lock the products with these SKUs in id order, as rows (id, sku, name, price_cents, tax_rate_bp,
    available, drop_ship_location_id), not ORM objects: a batch of orders reads no more. Any number of SKUs: past LOCK_AT_ONCE
    the ids are read first, then the rows locked chunk by chunk, still in id order."""
    ours = sorted(set(skus))
    connection = db.session.connection()
    if len(ours) <= LOCK_AT_ONCE:
        return {row.id: row for row in connection.execute(_LOCK_PRODUCT_ROWS_BY_SKU, {"skus": ours})}
    ids = sorted(product_id for start in range(0, len(ours), LOCK_AT_ONCE) for product_id in connection.execute(
        _PRODUCT_IDS_BY_SKU, {"skus": ours[start:start + LOCK_AT_ONCE]}).scalars())
    return {row.id: row for start in range(0, len(ids), LOCK_AT_ONCE)
            for row in connection.execute(_LOCK_PRODUCT_ROWS_BY_ID, {"ids": ids[start:start + LOCK_AT_ONCE]})}


def lock_orders(order_ids: Iterable[int]) -> dict[int, Order]:
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(Order).where(Order.id.in_(ids)).order_by(Order.id)
        .with_for_update(key_share=True, of=Order).execution_options(populate_existing=True)
    ).unique().all()
    return {o.id: o for o in rows}


def backordered_lines(product_id: int, *, exclude_order_id: int | None = None) -> sa.Select:
    """Lines of open, finalized, not-held orders still short of stock: oldest finalized first."""
    query = (
        sa.select(OrderLine).join(Order)
        .where(OrderLine.product_id == product_id, OrderLine.waits_for_stock())
        .order_by(Order.finalized_at, Order.id, OrderLine.id)
    )
    if exclude_order_id is not None:
        query = query.where(Order.id != exclude_order_id)
    return query


def allocations_newest_first(product_id: int, location_id: int) -> sa.Select:
    """(line, its allocation at the location) of finalized orders holding committed units of the product
    there: newest finalized first, the reverse of the order backorders are filled in, so a count that
    comes up short takes from the orders that would have been served last."""
    return (
        sa.select(OrderLine, LineAllocation).join(Order, Order.id == OrderLine.order_id)
        .join(LineAllocation, LineAllocation.order_line_id == OrderLine.id)
        .where(OrderLine.product_id == product_id, LineAllocation.location_id == location_id,
               LineAllocation.allocated > LineAllocation.shipped, Order.status == OrderStatus.FINALIZED)
        .order_by(Order.finalized_at.desc(), Order.id.desc(), OrderLine.id.desc())
    )


def _orders_to_fill(freed: Mapping[int, Mapping[int, int]], exclude_order_id: int | None) -> set[int]:
    """The orders whose backorders `freed` more units of each product (per location) would fill: the same
    walk as stock.fill_backorders, on the locked products' numbers, so exactly the orders it will touch."""
    from . import stock  # stock builds on this module's queries

    return {line.order_id for product_id, extra in freed.items()
            for line, _ in stock.backorder_plan(product_id, extra, exclude_order_id)}


def lock_product(product_id: int) -> Product:
    product = lock_products([product_id]).get(product_id)
    if product is None:
        raise NotFound(f"Product {product_id} does not exist")
    return product


def lock_backorders_for(product: Product, incoming: int, location_id: int) -> dict[int, Order]:
    """Receiving or adjusting a locked product at a location: lock the orders its `incoming` units would fill."""
    return lock_orders(_orders_to_fill({product.id: {location_id: max(incoming, 0)}}, None))


def lock_orders_to_fill(incoming: Mapping[int, Mapping[int, int]]) -> dict[int, Order]:
    """Units arriving of several locked products (product -> location -> units, e.g. a transfer's receipt):
    lock, in one id order, every order they would fill."""
    return lock_orders(_orders_to_fill(incoming, None))


def lock_orders_losing_units(product: Product, counted: int, location_id: int) -> dict[int, Order]:
    """A count of a locked product at a location below what is committed there: lock the orders whose
    allocations it takes (newest first). Under the product lock no line of the product changes, so the
    orders found stay right."""
    from . import stock

    _, committed = stock.counts_at(product.id, location_id)
    return lock_orders({line.order_id for line, _ in stock.allocations_to_take(product.id, committed - counted,
                                                                                location_id)})


def lock_order(order_id: int, *, more_products: Iterable[int] = (), frees_stock: bool = False) -> Order:
    """Lock an order for a change: its products (and `more_products`), then the order itself.

    With `frees_stock`, the action may release the order's committed units (void, a quantity cut):
    the orders whose backorders those units would fill are locked with it, in id order.
    Raises NotFound, or RetryTransaction if the order gained a product between the read and the lock.
    """
    product_ids = set(more_products) | set(db.session.scalars(
        sa.select(OrderLine.product_id).where(OrderLine.order_id == order_id, OrderLine.product_id.is_not(None))))
    products = lock_products(product_ids)
    order_ids = {order_id}
    if frees_stock:
        freed: dict[int, dict[int, int]] = {}
        for product_id, location_id, units in db.session.execute(
                sa.select(OrderLine.product_id, LineAllocation.location_id,
                          LineAllocation.allocated - LineAllocation.shipped)
                .join(LineAllocation, LineAllocation.order_line_id == OrderLine.id)
                .where(OrderLine.order_id == order_id, OrderLine.product_id.is_not(None))):
            at = freed.setdefault(product_id, {})
            at[location_id] = at.get(location_id, 0) + units
        order_ids |= _orders_to_fill(freed, order_id)
    orders = lock_orders(order_ids)
    order = orders.get(order_id)
    if order is None:
        raise NotFound(f"Order {order_id} does not exist")
    lines = db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id)
                               .execution_options(populate_existing=True)).all()
    if any(line.product_id is not None and line.product_id not in products for line in lines):
        raise RetryTransaction()
    set_committed_value(order, "lines", list(lines))
    return order


def lock_user(user_id: int) -> User | None:
    """A user about to change (role, access, password), read again under its lock."""
    return db.session.scalar(sa.select(User).where(User.id == user_id).with_for_update()
                             .execution_options(populate_existing=True))


def lock_admins() -> list[int]:
    """The ids of every admin who may sign in, locked in id order (users are apart from the stock's
    lock order: no action locks both)."""
    return list(db.session.scalars(sa.select(User.id).where(User.role == Role.ADMIN, User.active)
                                   .order_by(User.id).with_for_update()))


# ---------------------------------------------------------------- returns (issue 15)

def lock_return(return_id: int) -> Return:
    """A return about to change, read again under its lock, with its lines (returns come after orders)."""
    found = db.session.scalar(sa.select(Return).where(Return.id == return_id).with_for_update()
                              .execution_options(populate_existing=True))
    if found is None:
        raise NotFound(f"Return {return_id} does not exist")
    lines = db.session.scalars(sa.select(ReturnLine).where(ReturnLine.return_id == return_id).order_by(ReturnLine.id)
                               .execution_options(populate_existing=True)).all()
    set_committed_value(found, "lines", list(lines))
    return found


def lock_for_return(return_id: int, restock: Mapping[int, int] | None = None,
                    location_id: int | None = None) -> Return:
    """Lock for a change to a return that moves stock or an order's lines: the products of its lines,
    then its order with (restocking `restock` units per product at `location_id`, the default location
    unless given) the orders whose backorders those units fill, in id order, then the return itself.
    Its order's lines are read again under the lock."""
    from . import stock

    order_id = db.session.scalar(sa.select(Return.order_id).where(Return.id == return_id))
    if order_id is None:
        raise NotFound(f"Return {return_id} does not exist")
    products = lock_products(db.session.scalars(
        sa.select(OrderLine.product_id).join(ReturnLine, ReturnLine.order_line_id == OrderLine.id)
        .where(ReturnLine.return_id == return_id, OrderLine.product_id.is_not(None))))
    site = location_id or stock.default_location_id() if restock else None
    lock_orders({order_id} | _orders_to_fill({product_id: {site: units} for product_id, units in (restock or {}).items()
                                              if product_id in products}, None))
    db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id)
                       .execution_options(populate_existing=True)).all()
    return lock_return(return_id)


def lock_for_channel_restock(order_id: int, restock: Mapping[int, int]) -> dict[int, Order]:
    """A channel's refund that puts `restock` units of an order's lines (order line id -> units) back in
    stock at the default location (refunds.record_channel_refund, issue 15): the order's products, then
    the order with the orders whose backorders those units would fill, in id order. Its lines are read
    again under the lock."""
    from . import stock

    # Every product of the order (as lock_order takes them, which the refund then calls), not only those restocked.
    product_of = dict(db.session.execute(
        sa.select(OrderLine.id, OrderLine.product_id).where(OrderLine.order_id == order_id,
                                                            OrderLine.product_id.is_not(None))).all())
    products = lock_products(set(product_of.values()))
    site = stock.default_location_id()
    incoming: dict[int, dict[int, int]] = {}
    for line_id, units in restock.items():
        if product_of.get(line_id) in products and units > 0:
            at = incoming.setdefault(product_of[line_id], {site: 0})
            at[site] += units
    locked = lock_orders({order_id} | _orders_to_fill(incoming, None))
    db.session.scalars(sa.select(OrderLine).where(OrderLine.order_id == order_id)
                       .execution_options(populate_existing=True)).all()
    return locked

# --- Other documents: after products and orders, before the counters ----------------------------------

def lock_transfer(transfer_id: int) -> Transfer | None:
    """A transfer about to move (ship, receive, cancel), read again under its lock: its products' locks
    (and the orders a receipt fills) come first."""
    transfer = db.session.scalar(sa.select(Transfer).where(Transfer.id == transfer_id).with_for_update()
                                 .execution_options(populate_existing=True))
    if transfer is not None:
        lines = db.session.scalars(sa.select(TransferLine).where(TransferLine.transfer_id == transfer_id)
                                   .order_by(TransferLine.id).execution_options(populate_existing=True)).all()
        set_committed_value(transfer, "lines", list(lines))
    return transfer


def lock_location(location_id: int) -> Location | None:
    """A location about to change (its settings, its active flag), read again under its lock."""
    return db.session.scalar(sa.select(Location).where(Location.id == location_id).with_for_update()
                             .execution_options(populate_existing=True))


def lock_destination(location_id: int) -> Location | None:
    """A location a purchase order is about to deliver to, share-locked and read again: a deactivation
    (which holds the row for update) is waited for and then seen, or waits for the PO and then finds it."""
    return db.session.scalar(sa.select(Location).where(Location.id == location_id).with_for_update(read=True)
                             .execution_options(populate_existing=True))


# --- Purchasing (issue 14): suppliers and purchase orders come after products and orders ------------------

def lock_backorders_for_units(freed: Mapping[int, Mapping[int, int]]) -> dict[int, Order]:
    """Receiving several locked products at once (a purchase order's lines): lock, in one id order, the
    orders that `freed` more units of each product (per location) will fill."""
    return lock_orders(_orders_to_fill(freed, None))


def lock_supplier(supplier_id: int) -> Supplier | None:
    """A supplier, locked: the drop-ship path makes at most one PO per supplier and day under it."""
    return db.session.scalar(sa.select(Supplier).where(Supplier.id == supplier_id).with_for_update()
                             .execution_options(populate_existing=True))


def lock_purchase_order_row(purchase_order_id: int) -> None:
    """A purchase order's row alone, locked (lines added to it without reading the others)."""
    db.session.execute(sa.select(PurchaseOrder.id).where(PurchaseOrder.id == purchase_order_id)
                       .with_for_update(of=PurchaseOrder))


def lock_purchase_order(purchase_order_id: int) -> PurchaseOrder:
    """A purchase order and its lines read again under its lock (after any product and order locks), so that
    its state and open quantities are checked as they are now: two receipts never receive the same units."""
    purchase_order = db.session.scalar(
        sa.select(PurchaseOrder).where(PurchaseOrder.id == purchase_order_id).with_for_update(of=PurchaseOrder)
        .execution_options(populate_existing=True))
    if purchase_order is None:
        raise NotFound(f"Purchase order {purchase_order_id} does not exist")
    lines = db.session.scalars(sa.select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == purchase_order_id)
                               .order_by(PurchaseOrderLine.id).execution_options(populate_existing=True)).all()
    set_committed_value(purchase_order, "lines", list(lines))
    return purchase_order
