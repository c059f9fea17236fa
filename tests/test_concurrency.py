"""Stock safety under real concurrency: separate OS processes hitting one database at the same moment.

The children are spawned (not forked) processes (tests/helpers/processes.py). Each makes its own app with
`create_app` on the test database's URL and runs every job in its own app context; a barrier releases all
of a round's jobs at once. A child catches each exception itself and reports it back as text: a refusal (DomainError) is
counted, anything else ("database is locked", a deadlock, a serialization failure, a guarded stock
update that lost a race) fails the test. The pool of children lives for the module: spawning a process
and importing the app in it costs a couple of seconds of CPU, and the machine may have only two cores.
"""
from __future__ import annotations

import random
import time
import traceback
from collections import Counter

import pytest
import sqlalchemy as sa

from oms_web.database import write_transaction
from oms_web.domain import customers, inventory, invoicing, orders, shipping
from oms_web.domain.errors import DomainError, DuplicateChannelOrder
from oms_web.domain.invariants import check_invariants
from oms_web.domain.orders import CustomerDetails, LineChange, LineRequest, NewOrder
from oms_web.extensions import db
from oms_web.models import (Counter as CounterRow, Customer, Invoice, Order, OrderEvent, OrderLine, OrderStatus, Product,
                            StockMove)

from .helpers.processes import (Outcome, actors, attempt, errors_of, lines_of, read, spawned_children, total_of,
                                user_ids)
from .stock_checks import idle_stock_beside_backorders

POOL_SIZE = 10


# ---------------------------------------------------------------- the children's side (helpers.processes runs them)

def _product_ids() -> dict[str, int]:
    return dict(read(sa.select(Product.sku, Product.id)))


def _new_order(channel_id: int, lines: list[tuple[str, int]], channel_order_id: str | None = None) -> NewOrder:
    return NewOrder(channel_id=channel_id, channel_order_id=channel_order_id,
                    customer=CustomerDetails(name="Ada Lovelace", email="ada@example.com"),
                    lines=[LineRequest(sku, quantity) for sku, quantity in lines])


def _finalize_drafts(outcome: Outcome, ids: dict[str, int], order_ids: list[int]) -> None:
    who = actors(ids)
    for order_id in order_ids:
        attempt(outcome, "finalize", orders.finalize_order, who.staff, order_id)


def _tangle(outcome: Outcome, ids: dict[str, int], seed: int, rounds: int, skus: list[str],
            shared_order_ids: list[int], manual_id: int, web_id: int) -> None:
    """Orders on the same products, their lines in this child's order of `skus`, changed every way at once."""
    rng = random.Random(seed)
    who = actors(ids)
    product_ids = _product_ids()
    mine: list[int] = []
    for round_number in range(rounds):
        draft = attempt(outcome, "create draft", orders.create_order, who.staff,
                         _new_order(manual_id, [(sku, rng.randint(1, 3)) for sku in skus]))
        if isinstance(draft, Order):
            mine.append(draft.id)
            attempt(outcome, "finalize", orders.finalize_order, who.staff, draft.id)
        web = attempt(outcome, "create channel order", orders.create_order, None,
                       _new_order(web_id, [(sku, rng.randint(1, 2)) for sku in skus],
                                  channel_order_id=f"T{seed}-{round_number}"))
        if isinstance(web, Order):
            mine.append(web.id)
        pool = shared_order_ids + mine

        # An edit naming the lines in this child's SKU order: each line raised or cut by one.
        order_id = rng.choice(pool)
        by_sku = {line.sku: line for line in lines_of(order_id)}
        changes = [LineChange(quantity=by_sku[sku].ordered + 1 if rng.random() < 0.5
                              else max(by_sku[sku].shipped, by_sku[sku].ordered - 1), line_id=by_sku[sku].id)
                   for sku in skus if sku in by_sku]
        if changes:
            attempt(outcome, "edit", orders.edit_order, who.staff, order_id, changes)

        order_id = rng.choice(pool)
        ready = {line.id: rng.randint(1, line.allocated - line.shipped)
                 for line in lines_of(order_id) if line.allocated > line.shipped}
        if ready:
            attempt(outcome, "ship", shipping.ship_lines, who.staff, order_id, ready)

        if round_number % 2:
            attempt(outcome, "void", orders.void_order, who.admin, rng.choice(pool), "customer cancelled")
        attempt(outcome, "receive", inventory.receive_stock, who.manager, product_ids[rng.choice(skus)],
                 rng.randint(1, 3))
        attempt(outcome, "allocate", orders.allocate_now, who.staff, rng.choice(pool))


def _ship_orders_one_unit_at_a_time(outcome: Outcome, ids: dict[str, int], web_id: int, sku: str,
                                    order_count: int, shipments_per_order: int) -> None:
    """Make orders of `shipments_per_order` units and ship each unit on its own; report (order, shipment) ids.

    Preparation, not the race under test: one transaction (the services nest in it) is several times faster.
    """
    who = actors(ids)
    with write_transaction():
        for number in range(order_count):
            order = orders.create_order(None, _new_order(web_id, [(sku, shipments_per_order)],
                                                         channel_order_id=f"I-{sku}-{number}"))
            (line,) = order.lines
            for _ in range(shipments_per_order):
                outcome.values.append((order.id, shipping.ship_lines(who.staff, order.id, {line.id: 1}).id))


class Abandoned(Exception):
    """Raised on purpose inside a write transaction, to roll it back after it took an invoice number."""


def _invoice_shipments(outcome: Outcome, ids: dict[str, int], pairs: list[tuple[int, int]]) -> None:
    """Invoice each shipment; before every fifth, a transaction that takes a number and then rolls back."""
    who = actors(ids)
    for position, (order_id, shipment_id) in enumerate(pairs):
        if position % 5 == 1:
            kind = (position // 5) % 3
            try:
                with write_transaction():
                    if kind == 0:
                        invoicing.next_invoice_number()
                    else:  # the whole issue, inside a larger action that then fails
                        invoicing.issue_invoice(who.staff, order_id, shipment_id if kind == 1 else None)
                    raise Abandoned()
            except Abandoned:
                outcome.done["abandoned"] += 1
            except DomainError as refusal:
                outcome.refusals[type(refusal).__name__] += 1
            except Exception:
                outcome.errors.append(f"abandoned invoice: {traceback.format_exc()}")
        invoice = attempt(outcome, "invoice", invoicing.issue_invoice, who.staff, order_id, shipment_id)
        if isinstance(invoice, Invoice):
            outcome.values.append(invoice.number)


def _import_channel_order(outcome: Outcome, new: NewOrder) -> None:
    try:
        order = orders.create_order(None, new)
    except DuplicateChannelOrder as duplicate:
        outcome.values.append(("duplicate", duplicate.order_id, new.channel_order_id))
    except Exception:
        outcome.errors.append(traceback.format_exc())
    else:
        outcome.values.append(("created", order.id, new.channel_order_id))


def _import_channel_orders_in_a_batch(outcome: Outcome, batch: list[NewOrder]) -> None:
    """A report file or a marketplace page: many channel orders through create_orders at once."""
    try:
        created = orders.create_orders(None, batch)
    except Exception:
        outcome.errors.append(traceback.format_exc())
        return
    for new, result in zip(batch, created):
        if result.error is not None:
            outcome.errors.append(f"{new.channel_order_id}: refused: {result.error}")
        else:
            outcome.values.append(("duplicate" if result.duplicate else "created", result.order_id,
                                   new.channel_order_id))


def _finalize_or_void(outcome: Outcome, ids: dict[str, int], order_ids: list[int], seed: int) -> None:
    rng = random.Random(seed)
    who = actors(ids)
    for order_id in order_ids:
        if rng.random() < 0.25:
            attempt(outcome, "void", orders.void_order, who.admin, order_id, "customer cancelled")
        else:
            attempt(outcome, "finalize", orders.finalize_order, who.staff, order_id)


def _cut_or_void_finalized(outcome: Outcome, ids: dict[str, int], order_ids: list[int], seed: int) -> None:
    """Free committed units while receipts and finalizations run: void orders, or cut a line by one."""
    rng = random.Random(seed)
    who = actors(ids)
    for order_id in order_ids:
        lines = lines_of(order_id)
        if rng.random() < 0.5 or not lines:
            attempt(outcome, "void", orders.void_order, who.admin, order_id, "customer cancelled")
        else:
            line = rng.choice(lines)
            attempt(outcome, "edit", orders.edit_order, who.staff, order_id,
                     [LineChange(quantity=max(line.shipped, line.ordered - 1), line_id=line.id)])


def _receive_in_small_lots(outcome: Outcome, ids: dict[str, int], skus: list[str], lots: int, seed: int) -> None:
    rng = random.Random(seed)
    who = actors(ids)
    product_ids = _product_ids()
    for _ in range(lots):
        sku, quantity = rng.choice(skus), rng.randint(1, 3)
        if attempt(outcome, "receive", inventory.receive_stock, who.manager, product_ids[sku], quantity) is not None:
            outcome.values.append(("receive", sku, quantity))


def _count_upwards(outcome: Outcome, ids: dict[str, int], skus: list[str], counts: int, seed: int) -> None:
    """A stocktake finding a few more units than the (possibly stale) figure read a moment ago."""
    rng = random.Random(seed)
    who = actors(ids)
    for _ in range(counts):
        sku = rng.choice(skus)
        ((product_id, in_hand),) = read(sa.select(Product.id, Product.stock_in_hand).where(Product.sku == sku))
        delta = attempt(outcome, "adjust", inventory.adjust_stock, who.manager, product_id,
                         in_hand + rng.randint(1, 2), "stocktake")
        if isinstance(delta, int):
            outcome.values.append(("adjust", sku, delta))


def _count_below_committed(outcome: Outcome, ids: dict[str, int], skus: list[str], counts: int, seed: int) -> None:
    """A stocktake finding fewer units than are committed: the newest allocations give theirs back."""
    rng = random.Random(seed)
    who = actors(ids)
    for _ in range(counts):
        sku = rng.choice(skus)
        # A count below committed needs units committed: wait (a while at most) for the allocating processes,
        # so that the counts race them rather than run before they start.
        deadline = time.monotonic() + 5
        while True:
            ((product_id, committed),) = read(sa.select(Product.id, Product.stock_committed).where(Product.sku == sku))
            if committed or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        delta = attempt(outcome, "count down", inventory.adjust_stock, who.manager, product_id,
                         max(committed - rng.randint(1, 3), 0), "stocktake: shelf short")
        if isinstance(delta, int):
            outcome.values.append(("adjust", sku, delta))


def _take_channel_orders(outcome: Outcome, web_id: int, skus: list[str], count: int, seed: int) -> None:
    rng = random.Random(seed)
    for number in range(count):
        attempt(outcome, "channel order", orders.create_order, None, _new_order(
            web_id, rng.sample([(sku, rng.randint(1, 3)) for sku in skus], len(skus)), f"R{seed}-{number}"))


# ---------------------------------------------------------------- the test's side

@pytest.fixture(scope="module")
def children():
    with spawned_children(POOL_SIZE) as pool:
        yield pool


@pytest.fixture
def url(app) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


def _open_allocations(product_id: int) -> tuple[int, int, int]:
    """(ordered, allocated, allocated - shipped) over the product's lines on finalized orders."""
    row = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(OrderLine.ordered), 0),
                  sa.func.coalesce(sa.func.sum(OrderLine.allocated), 0),
                  sa.func.coalesce(sa.func.sum(OrderLine.allocated - OrderLine.shipped), 0))
        .join(Order).where(OrderLine.product_id == product_id, Order.status == OrderStatus.FINALIZED)).one()
    return int(row[0]), int(row[1]), int(row[2])


def test_eight_processes_finalizing_200_drafts_never_oversell_ten_units(shop, url, children):
    shop.product("P", in_hand=10)
    rng = random.Random(1)
    with write_transaction():  # the drafts are set up in one go: creating them is not what is under test
        drafts = [shop.draft(("P", rng.randint(1, 3))).id for _ in range(200)]
    ordered_total = db.session.scalar(sa.select(sa.func.sum(OrderLine.ordered)))

    outcomes = children.run(url, [(_finalize_drafts, (user_ids(shop), drafts[i::8])) for i in range(8)])

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "finalize") == 200 and not any(outcome.refusals for outcome in outcomes)
    product = shop.product_row("P")
    assert (product.stock_in_hand, product.stock_committed) == (10, 10)
    ordered, allocated, open_units = _open_allocations(product.id)
    assert (allocated, open_units) == (10, 10)
    assert ordered - allocated == ordered_total - 10  # every other unit is backordered
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)
                             .where(Order.status == OrderStatus.FINALIZED)) == 200
    assert check_invariants() == []


def test_orders_taking_the_same_products_in_opposite_line_order_never_deadlock(shop, url, children):
    for sku in ("A", "B", "C"):
        shop.product(sku, in_hand=12)
    with write_transaction():
        shared = [shop.web_order(*[(sku, 1) for sku in (("A", "B", "C") if i % 2 else ("C", "B", "A"))]).id
                  for i in range(8)]
    jobs = [(_tangle, (user_ids(shop), i, 4, ["A", "B", "C"] if i % 2 else ["C", "B", "A"], shared,
                       shop.manual.id, shop.web.id)) for i in range(8)]

    outcomes = children.run(url, jobs)

    assert errors_of(outcomes) == []
    for action in ("finalize", "create channel order", "edit", "ship", "void", "receive"):
        assert total_of(outcomes, action) > 0, f"no {action} went through: the test proves less than it says"
    assert check_invariants() == []
    assert idle_stock_beside_backorders() == []


def test_invoice_numbers_stay_gapless_while_eight_processes_invoice_and_roll_back(shop, url, children):
    skus = [f"S{i}" for i in range(8)]
    order_counts = [13, 13, 13, 13, 12, 12, 12, 12]  # 100 orders of 4 units: 400 shipments
    for sku, count in zip(skus, order_counts):
        shop.product(sku, in_hand=4 * count)
    prepared = children.run(url, [(_ship_orders_one_unit_at_a_time, (user_ids(shop), shop.web.id, sku, count, 4))
                                  for sku, count in zip(skus, order_counts)])
    assert errors_of(prepared) == []
    pairs = sorted((pair for outcome in prepared for pair in outcome.values), key=lambda pair: pair[1])
    assert len(pairs) == 400
    # An order's four shipments have neighbouring ids, so four processes invoice each order at once.
    outcomes = children.run(url, [(_invoice_shipments, (user_ids(shop), pairs[i::8])) for i in range(8)])

    assert errors_of(outcomes) == []
    assert [outcome.done["invoice"] for outcome in outcomes] == [50] * 8
    # Ten abandoned transactions per child; "invoice the rest" is refused when another took the rest first.
    refused = sum(sum(outcome.refusals.values()) for outcome in outcomes)
    assert total_of(outcomes, "abandoned") + refused == 80 and total_of(outcomes, "abandoned") >= 50
    issued = sorted(number for outcome in outcomes for number in outcome.values)
    assert issued == list(range(1, 401))
    assert db.session.scalars(sa.select(Invoice.number).order_by(Invoice.id)).all() == list(range(1, 401))
    assert db.session.scalar(sa.select(CounterRow.value).where(CounterRow.name == "invoice_number")) == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine)
                             .where(OrderLine.invoiced != OrderLine.shipped)) == 0
    assert check_invariants() == []


SAME_CHANNEL_ORDER = pytest.mark.parametrize(
    "lines", [[("D1", 2), ("D2", 1)], [("UNKNOWN-SKU", 1)]],
    ids=["known SKUs: the product locks queue them", "unknown SKU: only the unique key decides"])


@SAME_CHANNEL_ORDER
def test_the_same_channel_order_imported_by_ten_processes_at_once_becomes_one_order(shop, url, children, lines):
    shop.product("D1", in_hand=5)
    shop.product("D2", in_hand=5)
    new = _new_order(shop.web.id, lines, channel_order_id="AMZ-113-0000001")

    outcomes = children.run(url, [(_import_channel_order, (new,)) for _ in range(10)])

    assert errors_of(outcomes) == []
    results = Counter(kind for outcome in outcomes for kind, _, _ in outcome.values)
    assert results == {"created": 1, "duplicate": 9}
    order_ids = {order_id for outcome in outcomes for _, order_id, _ in outcome.values}
    (order_id,) = db.session.scalars(sa.select(Order.id).where(Order.channel_order_id == "AMZ-113-0000001")).all()
    assert order_ids == {order_id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    expected = {sku: quantity for sku, quantity in lines if sku.startswith("D")}
    for sku in ("D1", "D2"):
        assert shop.stock(sku) == (5, expected.get(sku, 0))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)
                             .where(StockMove.reason == "allocate")) == len(expected)
    assert check_invariants() == []


@SAME_CHANNEL_ORDER
def test_the_same_channel_order_in_single_imports_and_report_batches_at_once_becomes_one_order(
        shop, url, children, lines):
    shop.product("D1", in_hand=5)
    shop.product("D2", in_hand=20)
    repeated = _new_order(shop.web.id, lines, channel_order_id="AMZ-113-0000001")
    jobs = []
    for i in range(10):
        if i % 2:  # a batch: the repeated order between two of its own
            batch = [_new_order(shop.web.id, [("D2", 1)], channel_order_id=f"AMZ-{i}-A"), repeated,
                     _new_order(shop.web.id, [("D2", 1)], channel_order_id=f"AMZ-{i}-B")]
            jobs.append((_import_channel_orders_in_a_batch, (batch,)))
        else:
            jobs.append((_import_channel_order, (repeated,)))

    outcomes = children.run(url, jobs)

    assert errors_of(outcomes) == []
    of_repeated = [(kind, order_id) for outcome in outcomes for kind, order_id, channel_order_id in outcome.values
                   if channel_order_id == "AMZ-113-0000001"]
    assert Counter(kind for kind, _ in of_repeated) == {"created": 1, "duplicate": 9}
    (order_id,) = db.session.scalars(sa.select(Order.id).where(Order.channel_order_id == "AMZ-113-0000001")).all()
    assert {order_id for _, order_id in of_repeated} == {order_id}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 11  # and two of each batch's own
    expected = {sku: quantity for sku, quantity in lines if sku.startswith("D")}
    assert shop.stock("D1") == (5, expected.get("D1", 0))
    assert shop.stock("D2") == (20, 10 + expected.get("D2", 0))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StockMove)
                             .where(StockMove.reason == "allocate")) == 10 + len(expected)
    assert check_invariants() == []


def test_receipts_racing_finalize_and_void_fill_every_backorder(shop, url, children):
    skus = ["P", "Q"]
    for sku in skus:
        shop.product(sku)
    rng = random.Random(5)
    with write_transaction():
        drafts = [shop.draft(*rng.sample([("P", rng.randint(1, 3)), ("Q", rng.randint(1, 3))], 2)).id
                  for _ in range(40)]
        backordered = [shop.web_order(("P", rng.randint(1, 3)), ("Q", rng.randint(1, 3))).id for _ in range(12)]
    ids = user_ids(shop)

    outcomes = children.run(url, [
        (_finalize_or_void, (ids, drafts[0::3], 1)),
        (_finalize_or_void, (ids, drafts[1::3], 2)),
        (_finalize_or_void, (ids, drafts[2::3], 3)),
        (_cut_or_void_finalized, (ids, backordered[0::2] + drafts[0::4], 4)),
        (_cut_or_void_finalized, (ids, backordered[1::2] + drafts[1::4], 5)),
        (_receive_in_small_lots, (ids, skus, 25, 6)),
        (_receive_in_small_lots, (ids, skus, 25, 7)),
        (_count_upwards, (ids, skus, 10, 8)),
    ])

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "receive") == 50 and total_of(outcomes, "finalize") > 0 and total_of(outcomes, "void") > 0
    for sku in skus:
        moved = sum(value[2] for outcome in outcomes for value in outcome.values if value[1] == sku)
        assert shop.stock(sku)[0] == moved
    assert check_invariants() == []
    assert idle_stock_beside_backorders() == []
    filled = db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent)
                               .where(OrderEvent.message.like("%from freed or received stock")))
    assert filled > 0, "no backorder was filled by a receipt: the race did not happen"


def _order_for_a_new_email(outcome: Outcome, ids: dict[str, int], channel_id: int, manual_id: int, sku: str,
                           email: str, how: str) -> None:
    """One order whose new customer brings `email`: from a channel (one order, or a batch of two), or
    keyed in by staff, who are asked when the email turns out to be on file."""
    details = CustomerDetails(name=f"Shopper {sku}", email=email)
    if how == "batch":
        _import_channel_orders_in_a_batch(outcome, [
            NewOrder(channel_id=channel_id, channel_order_id=f"{sku}-{n}", customer=details,
                     lines=[LineRequest(sku, 1)]) for n in (1, 2)])
    elif how == "single":
        _import_channel_order(outcome, NewOrder(channel_id=channel_id, channel_order_id=sku, customer=details,
                                                lines=[LineRequest(sku, 1)]))
    else:
        new = NewOrder(channel_id=manual_id, customer=details, lines=[LineRequest(sku, 1)],
                       if_email_on_file=customers.IfEmailOnFile.ASK)
        if isinstance(attempt(outcome, "manual order", orders.create_order, actors(ids).staff, new), Order):
            outcome.values.append(("created", None, sku))


def test_orders_arriving_at_once_with_one_new_email_make_one_customer(shop, url, children):
    hows = ["single", "single", "single", "batch", "batch", "manual", "manual", "single"]
    skus = [f"E{i}" for i in range(len(hows))]
    for sku in skus:  # a product each: nothing but the customer's email makes the orders meet
        shop.product(sku, in_hand=5)
    spellings = ["new.shopper@example.com", " New.Shopper@Example.com", "NEW.SHOPPER@EXAMPLE.COM "]

    outcomes = children.run(url, [(_order_for_a_new_email, (user_ids(shop), shop.web.id, shop.manual.id, sku,
                                                            spellings[i % 3], how))
                                  for i, (sku, how) in enumerate(zip(skus, hows))])

    assert errors_of(outcomes) == []
    refusals = sum((outcome.refusals for outcome in outcomes), Counter())
    assert set(refusals) <= {"EmailOnFile"}, refusals  # staff are shown the match instead
    made = db.session.scalars(sa.select(Customer).where(Customer.email == "new.shopper@example.com")).all()
    assert len(made) == 1, "two orders at once made two customers of one email"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Customer)) == 1
    orders_made = db.session.scalars(sa.select(Order)).all()
    assert len(orders_made) == 4 + 2 * 2 + (2 - refusals["EmailOnFile"])
    assert {order.customer_id for order in orders_made} == {made[0].id}
    assert check_invariants() == []


def test_counts_below_committed_racing_allocations_and_receipts_keep_every_invariant(shop, url, children):
    skus = ["P", "Q"]
    for sku in skus:
        shop.product(sku, in_hand=30)
    rng = random.Random(9)
    with write_transaction():
        drafts = [shop.draft(*rng.sample([("P", rng.randint(1, 3)), ("Q", rng.randint(1, 3))], 2)).id
                  for _ in range(30)]
    ids = user_ids(shop)

    outcomes = children.run(url, [
        (_finalize_drafts, (ids, drafts[0::2])),
        (_finalize_drafts, (ids, drafts[1::2])),
        (_take_channel_orders, (shop.web.id, skus, 12, 1)),
        (_take_channel_orders, (shop.web.id, skus, 12, 2)),
        (_count_below_committed, (ids, skus, 12, 3)),
        (_count_below_committed, (ids, skus, 12, 4)),
        (_receive_in_small_lots, (ids, skus, 15, 5)),
    ])

    assert errors_of(outcomes) == []
    assert total_of(outcomes, "count down") > 0 and total_of(outcomes, "finalize") > 0
    for sku in skus:
        moved = 30 + sum(value[2] for outcome in outcomes for value in outcome.values if value[1] == sku)
        assert shop.stock(sku)[0] == moved
    assert check_invariants() == []
    assert idle_stock_beside_backorders() == []
    taken = db.session.scalar(sa.select(sa.func.count()).select_from(OrderEvent).where(OrderEvent.kind == "stock_count"))
    assert taken > 0, "no count took units from an order: the race did not happen"
