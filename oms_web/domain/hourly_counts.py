"""What each channel did in each UTC hour (models.HourlyOrderCount): orders taken, parcels and units
shipped, for the overview.

An order's channel and creation time never change, nor does a parcel's shipping time once it is
shipped, so the counts move only when an order is made or a parcel is handed to the carrier:
`segments.set_segment(..., is_new=True)`, which every service that makes an order calls, and
`shipping.mark_shipped` queue them here, and the write transaction adds the queued counts last (after
the segment counts, in (hour, channel) order), so two transactions never wait on each other's counter
rows in opposite orders. The bulk seed, which writes without the services, recounts instead.
"""
from __future__ import annotations

from collections import Counter as Tally
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from ..extensions import db
from ..models import HANDED_OVER, HourlyOrderCount, Order, Shipment, ShipmentLine

_PENDING = "oms_hourly_order_deltas"
_EPOCH = datetime(1970, 1, 1)
HOUR = timedelta(hours=1)
FIGURES = ("orders", "parcels_shipped", "units_shipped")


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


def _queue(moment: datetime, channel_id: int, **figures: int) -> None:
    deltas: Tally = db.session.info.setdefault(_PENDING, Tally())
    hour = utc_hour_of(moment)
    for figure, n in figures.items():
        deltas[hour, channel_id, figure] += n


def count_new_order(order) -> None:
    """Queue one more order for its channel and hour (an ORM order, or the batch path's draft of one)."""
    _queue(order.created_at, order.channel_id, orders=1)


def count_shipped(shipment: Shipment) -> None:
    """Queue one more parcel shipped, with its units, for its order's channel and the hour it shipped."""
    _queue(shipment.shipped_at, shipment.order.channel_id, parcels_shipped=1,
           units_shipped=sum(line.quantity for line in shipment.lines))


_COUNTS = HourlyOrderCount.__table__


def _add_to_count(insert):
    statement = insert(_COUNTS).values(utc_hour=sa.bindparam("hour"), channel_id=sa.bindparam("channel"),
                                       **{figure: sa.bindparam(figure) for figure in FIGURES})
    return statement.on_conflict_do_update(
        index_elements=[_COUNTS.c.utc_hour, _COUNTS.c.channel_id],
        set_={figure: _COUNTS.c[figure] + statement.excluded[figure] for figure in FIGURES})


# The first count of an hour makes its row; "on conflict" lets two transactions both try that safely.
_ADD_TO_COUNT = {"sqlite": _add_to_count(sqlite.insert), "postgresql": _add_to_count(postgresql.insert)}


def flush_hourly_counts(session: Session) -> None:
    deltas: Tally = session.info.pop(_PENDING, Tally())
    rows: dict[tuple[int, int], dict[str, int]] = {}
    for (hour, channel, figure), n in deltas.items():
        rows.setdefault((hour, channel), dict.fromkeys(FIGURES, 0))[figure] += n
    changes = [{"hour": hour, "channel": channel, **figures} for (hour, channel), figures in sorted(rows.items())
               if any(figures.values())]
    if changes:  # one statement, its rows in a fixed order
        connection = session.connection()
        connection.execute(_ADD_TO_COUNT[connection.dialect.name], changes)


def discard_pending_hourly_counts(session: Session) -> None:
    session.info.pop(_PENDING, None)


def pending_hourly_counts() -> Tally:
    return Tally(db.session.info.get(_PENDING, Tally()))


def restore_pending_hourly_counts(saved: Tally) -> None:
    db.session.info[_PENDING] = Tally(saved)


def _recount() -> sa.Select:
    """Every hour's figures counted afresh from the orders and the shipments."""
    created = utc_hour(Order.created_at)
    shipped = utc_hour(Shipment.shipped_at)
    zero = sa.literal(0)
    both = sa.union_all(
        sa.select(created.label("utc_hour"), Order.channel_id.label("channel_id"), sa.func.count().label("orders"),
                  zero.label("parcels_shipped"), zero.label("units_shipped"))
        .group_by(created, Order.channel_id),
        sa.select(shipped, Order.channel_id, zero, sa.func.count(sa.distinct(Shipment.id)),
                  sa.func.sum(ShipmentLine.quantity))
        .join(Order, Order.id == Shipment.order_id).join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(Shipment.status.in_(HANDED_OVER), Shipment.shipped_at.is_not(None))
        .group_by(shipped, Order.channel_id)).subquery()
    return (sa.select(both.c.utc_hour, both.c.channel_id, *[sa.func.sum(both.c[f]).label(f) for f in FIGURES])
            .group_by(both.c.utc_hour, both.c.channel_id))


def recount_hourly_counts() -> None:
    """Count every hour again (after orders and shipments were written in bulk, without the services)."""
    db.session.execute(sa.delete(HourlyOrderCount))
    db.session.execute(sa.insert(HourlyOrderCount).from_select(["utc_hour", "channel_id", *FIGURES], _recount()))


def miscounted_hours(limit: int = 20) -> list[tuple[int, int, str, int, int]]:
    """(hour, channel, figure, counted afresh, held by the counter) wherever the two differ.

    Compared in the database (a union, since SQLite before 3.39 has no full outer join), so that only
    the differences come back, whatever the number of hours."""
    recount = _recount().subquery()
    zero = sa.literal(0)
    both = sa.union_all(
        sa.select(recount.c.utc_hour, recount.c.channel_id, *[recount.c[f].label(f"{f}_actual") for f in FIGURES],
                  *[zero.label(f"{f}_stored") for f in FIGURES]),
        sa.select(_COUNTS.c.utc_hour, _COUNTS.c.channel_id, *[zero for _ in FIGURES],
                  *[_COUNTS.c[f] for f in FIGURES])).subquery()
    sums = {f"{f}_{side}": sa.func.sum(both.c[f"{f}_{side}"]) for f in FIGURES for side in ("actual", "stored")}
    found = []
    for row in db.session.execute(
            sa.select(both.c.utc_hour, both.c.channel_id, *[s.label(n) for n, s in sums.items()])
            .group_by(both.c.utc_hour, both.c.channel_id)
            .having(sa.or_(*[sums[f"{f}_actual"] != sums[f"{f}_stored"] for f in FIGURES]))
            .order_by(both.c.utc_hour, both.c.channel_id).limit(limit)).mappings():
        found.extend((row["utc_hour"], row["channel_id"], f, int(row[f"{f}_actual"]), int(row[f"{f}_stored"]))
                     for f in FIGURES if row[f"{f}_actual"] != row[f"{f}_stored"])
    return found
