"""How many orders each channel took in each UTC hour (models.HourlyOrderCount), for the overview.

An order's channel and creation time never change, so the count moves only when an order is made:
`segments.set_segment(..., is_new=True)`, which every service that makes an order calls, queues the
order here, and the write transaction adds the queued counts last (after the segment counts, in
(hour, channel) order), so two transactions never wait on each other's counter rows in opposite
orders. The bulk seed, which writes orders without the services, recounts instead.
"""
from __future__ import annotations

from collections import Counter as Tally
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import HourlyOrderCount, Order

_PENDING = "oms_hourly_order_deltas"
_EPOCH = datetime(1970, 1, 1)
HOUR = timedelta(hours=1)


def utc_hour_of(moment: datetime) -> int:
    """Whole hours since the epoch of a time the database keeps (naive UTC; an aware one is converted)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return (moment - _EPOCH) // HOUR


def start_of_hour(hour: int) -> datetime:
    """The naive UTC time at which hour number `hour` starts."""
    return _EPOCH + hour * HOUR


def first_hour_from(moment: datetime) -> int:
    """The first whole hour (as utc_hour_of numbers it) that starts at or after `moment` (naive UTC)."""
    return -((_EPOCH - moment) // HOUR)


class utc_hour(sa.sql.functions.FunctionElement):
    """utc_hour_of() in SQL, for a timestamp column."""

    type = sa.Integer()
    inherit_cache = True


@compiles(utc_hour, "sqlite")
def _utc_hour_sqlite(element, compiler, **kw) -> str:
    # Whole seconds first: strftime rounds a fraction, and 23:59:59.9999 would count in the next hour.
    return f"(CAST(strftime('%s', substr({compiler.process(element.clauses, **kw)}, 1, 19)) AS INTEGER) / 3600)"


@compiles(utc_hour, "postgresql")
def _utc_hour_postgresql(element, compiler, **kw) -> str:
    return f"CAST(floor(extract(epoch FROM {compiler.process(element.clauses, **kw)}) / 3600) AS INTEGER)"


def count_new_order(order) -> None:
    """Queue one more order for its channel and hour (an ORM order, or the batch path's draft of one)."""
    deltas: Tally = db.session.info.setdefault(_PENDING, Tally())
    deltas[(utc_hour_of(order.created_at), order.channel_id)] += 1


_COUNTS = HourlyOrderCount.__table__


def _add_to_count(insert):
    statement = insert(_COUNTS).values(utc_hour=sa.bindparam("hour"), channel_id=sa.bindparam("channel"),
                                       orders=sa.bindparam("delta"))
    return statement.on_conflict_do_update(index_elements=[_COUNTS.c.utc_hour, _COUNTS.c.channel_id],
                                           set_={"orders": _COUNTS.c.orders + statement.excluded.orders})


# The first order of an hour makes its row; "on conflict" lets two transactions both try that safely.
_ADD_TO_COUNT = {"sqlite": _add_to_count(sqlite.insert), "postgresql": _add_to_count(postgresql.insert)}


def flush_hourly_counts(session: Session) -> None:
    deltas: Tally = session.info.pop(_PENDING, Tally())
    changes = [{"hour": hour, "channel": channel, "delta": deltas[hour, channel]}
               for hour, channel in sorted(deltas) if deltas[hour, channel]]
    if changes:  # one statement, its rows in a fixed order
        connection = session.connection()
        connection.execute(_ADD_TO_COUNT[connection.dialect.name], changes)


def discard_pending_hourly_counts(session: Session) -> None:
    session.info.pop(_PENDING, None)


def pending_hourly_counts() -> Tally:
    return Tally(db.session.info.get(_PENDING, Tally()))


def restore_pending_hourly_counts(saved: Tally) -> None:
    db.session.info[_PENDING] = Tally(saved)


_HOUR_OF_ORDER = utc_hour(Order.created_at)
RECOUNT = (sa.select(_HOUR_OF_ORDER.label("utc_hour"), Order.channel_id, sa.func.count().label("orders"))
           .group_by(_HOUR_OF_ORDER, Order.channel_id))


def recount_hourly_counts() -> None:
    """Count every hour again from the orders (after orders were written in bulk, without the services)."""
    db.session.execute(sa.delete(HourlyOrderCount))
    db.session.execute(sa.insert(HourlyOrderCount).from_select(["utc_hour", "channel_id", "orders"], RECOUNT))


def miscounted_hours(limit: int = 20) -> list[tuple[int, int, int, int]]:
    """(hour, channel, orders counted afresh, orders the counter holds) wherever the two differ.

    Compared in the database (a union, since SQLite before 3.39 has no full outer join), so that only
    the differences come back, whatever the number of hours."""
    recount = RECOUNT.subquery()
    both = sa.union_all(
        sa.select(recount.c.utc_hour, recount.c.channel_id, recount.c.orders.label("actual"),
                  sa.literal(0).label("stored")),
        sa.select(_COUNTS.c.utc_hour, _COUNTS.c.channel_id, sa.literal(0), _COUNTS.c.orders)).subquery()
    actual, stored = sa.func.sum(both.c.actual), sa.func.sum(both.c.stored)
    return [tuple(row) for row in db.session.execute(
        sa.select(both.c.utc_hour, both.c.channel_id, actual, stored)
        .group_by(both.c.utc_hour, both.c.channel_id).having(actual != stored)
        .order_by(both.c.utc_hour, both.c.channel_id).limit(limit))]
