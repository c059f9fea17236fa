"""Channel orders that arrive at the same moment share one write transaction (group commit).

The order API and the webhooks take one order per request. Made one by one, each order pays for a
write transaction of its own: the locks, a dozen statements, the commit, and on PostgreSQL the round
trips between them; a worker process of a busy store spends most of its time waiting on those.
Here the requests of one process that arrive while an order is being written wait for it to finish,
and the first of them in line then writes all the waiting orders in one create_orders batch: the same
checks, allocation in the order of arrival, one order per (channel, channel order id), a refused
order refused alone. Each request answers only once its order is committed.

With one request at a time (the sync worker, the tests' client) every batch is a batch of one, written
exactly as before. Leadership passes from thread to thread; no thread of our own is started.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

from flask import current_app

from ..domain import orders as order_services
from ..domain.orders import Created, NewOrder
from ..extensions import db

MOST_IN_ONE_TRANSACTION = 100
# Under load, the requests answered by one transaction send their next orders a moment later, and the
# first of those would otherwise be written alone. Right after a transaction, the next in line waits
# at most this long for as many orders as that transaction held (an idle process never waits).
GATHER_SECONDS = 0.005


@dataclass(eq=False)
class _Arrival:
    new: NewOrder
    turn: threading.Event = field(default_factory=threading.Event)  # set when written, or when it leads
    created: Created | None = None
    failure: BaseException | None = None

    @property
    def settled(self) -> bool:
        return self.created is not None or self.failure is not None


class ArrivalGroup:
    """The orders waiting to be written in one process (one per app: tests run several apps)."""

    def __init__(self, most: int = MOST_IN_ONE_TRANSACTION):
        self.most = most
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._waiting: list[_Arrival] = []
        self._leading = False
        self._last_size = 1
        self._last_written = float("-inf")
        self.batches: list[int] = []  # the size of each transaction written, the latest last (for tests)

    @property
    def in_line(self) -> int:
        """How many orders wait to be written."""
        with self._lock:
            return len(self._waiting)

    def create(self, new: NewOrder) -> Created:
        """create_orders(None, [new])[0], in a transaction shared with the orders arriving alongside,
        with the order's headline also for a repeat. Raises what create_orders raised for the
        transaction that held this order."""
        if db.session().in_transaction():  # hand back the request's connection before waiting in line
            db.session.rollback()
        arrival = _Arrival(new)
        with self._lock:
            self._waiting.append(arrival)
            self._arrived.notify()
            lead, self._leading = not self._leading, True
        if not lead:
            arrival.turn.wait()
        if not arrival.settled:  # first in line: write the waiting orders until ours is written
            self._lead(arrival)
        if arrival.failure is not None:
            raise arrival.failure
        assert arrival.created is not None
        return arrival.created

    def _lead(self, mine: _Arrival) -> None:
        try:
            while not mine.settled:
                with self._lock:
                    if time.monotonic() - self._last_written < GATHER_SECONDS:
                        wanted = min(self._last_size, self.most)
                        self._arrived.wait_for(lambda: len(self._waiting) >= wanted, GATHER_SECONDS)
                    batch = self._waiting[:self.most]
                    del self._waiting[:self.most]
                try:
                    self._write(batch)
                finally:  # stopped midway (the worker shutting down): nobody waits for ever
                    for arrival in batch:
                        if not arrival.settled:
                            arrival.failure = RuntimeError("The order was not written: its writer was stopped")
                            arrival.turn.set()
                with self._lock:
                    self._last_size, self._last_written = len(batch), time.monotonic()
        finally:
            with self._lock:
                if mine in self._waiting:  # interrupted before it was written: its thread is leaving
                    self._waiting.remove(mine)
                if self._waiting:
                    self._waiting[0].turn.set()  # the next in line leads
                else:
                    self._leading = False

    def _write(self, batch: list[_Arrival]) -> None:
        """Write the batch and settle every arrival in it (but on a BaseException: see _lead)."""
        try:
            self.batches.append(len(batch))
            del self.batches[:-1000]
            created = order_services.create_orders(None, [arrival.new for arrival in batch])
        except Exception as failure:
            if len(batch) > 1:  # each on its own, so that what failed fails only its own request
                for arrival in batch:
                    self._write([arrival])
                return
            batch[0].failure = failure
            batch[0].turn.set()
            return
        try:
            repeats = [result.order_id for result in created if result.headline is None and result.order_id]
            headlines = {row["id"]: dict(row) for row in db.session.execute(
                order_services.ORDER_HEADLINE, {"ids": repeats}).mappings()} if repeats else {}
            db.session.rollback()  # end the read
        except Exception as failure:  # written, but not read back: the request fails, and its retry is a repeat
            for arrival in batch:
                arrival.failure = failure
                arrival.turn.set()
            return
        for arrival, result in zip(batch, created):
            arrival.created = replace(result, headline=headlines[result.order_id]) if result.order_id in headlines \
                else result
            arrival.turn.set()


def arrivals() -> ArrivalGroup:
    """The current app's group (made on first use; a process has one app outside the tests)."""
    extensions = current_app.extensions
    group = extensions.get("oms_arrivals")
    if group is None:
        with _MAKING:
            group = extensions.setdefault("oms_arrivals", ArrivalGroup())
    return group


_MAKING = threading.Lock()
