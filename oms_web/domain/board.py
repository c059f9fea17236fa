"""The order board's queries: one segment's orders, by keyset, newest first or oldest ship-by first;
search and filters.

Shared by the board screen and bench/run.py. Every query walks an index: (segment, id) for a
segment's page newest first, (segment, ship_by, id) for a work segment's page by deadline (and for
Late / Due today: a range of it per work segment), and for a search the matching ids are gathered
first through the indexes on order id, email, channel order id, line SKU and customer (names from
NAME_SEARCH_FROM characters), then paged newest first.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

import sqlalchemy as sa

from ..columns import escape_like as _escape
from ..extensions import db
from ..models import (SQLITE_SEARCH_TABLE, Customer, Order, OrderLine, SalesChannel, Segment, Shipment, ShipmentStatus,
                      utcnow)
from .deadlines import WORK_SEGMENTS, Due, ShopDay
from .overview_figures import utc_start_of

PAGE_SIZE = 50
# A customer's name is searched for a part of it from this length: no index finds a shorter part (a
# trigram index needs three characters), and reading every customer for "a" took 135 ms at 1,000,000
# orders. Shorter terms still find an order number, an email's start, a channel order id or a SKU.
NAME_SEARCH_FROM = 3


def searches_names(text: str) -> bool:
    return len(text.strip()) >= NAME_SEARCH_FROM


class Sort(str, enum.Enum):
    SHIP_BY = "ship_by"  # the oldest ship-by first: the work segments' default
    NEWEST = "newest"  # the newest order first: every other list's, and a search's

    @property
    def label(self) -> str:
        return {"ship_by": "Ship-by, oldest first", "newest": "Newest first"}[self.value]


@dataclass(frozen=True)
class BoardFilter:
    segment: Segment | None = None  # None: every segment
    search: str = ""
    channel_id: int | None = None
    created_from: date | None = None  # the shop's days, in `zone`
    created_to: date | None = None
    zone: tzinfo = timezone.utc
    order_ids: tuple[int, ...] | None = None  # only these orders (the rows a board shows, for its refresh)
    due: Due | None = None  # only the work segments' orders late, or due today (the shop's day, in `zone`)
    sort: Sort | None = None  # None: the list's default (sort_of)
    today: date | None = None  # the shop's day that "late" and "due today" are of; None: today in `zone`

    @property
    def shop_day(self) -> ShopDay:
        return ShopDay.of(self.today, self.zone)


def sort_of(filters: BoardFilter) -> Sort:
    """The order a list is in: by ship-by where an index has it (one segment, or Late / Due today across
    the work segments), by default in the work segments; a search lists newest first."""
    if filters.search.strip() or (filters.segment is None and filters.due is None):
        return Sort.NEWEST
    if filters.sort is not None:
        return filters.sort
    return Sort.SHIP_BY if filters.due is not None or filters.segment in WORK_SEGMENTS else Sort.NEWEST


def can_sort_by_ship_by(filters: BoardFilter) -> bool:
    return sort_of(BoardFilter(segment=filters.segment, search=filters.search, due=filters.due,
                               sort=Sort.SHIP_BY)) is Sort.SHIP_BY


@dataclass(frozen=True)
class BoardRow:
    id: int
    number: str
    created_at: datetime
    channel: str
    customer_name: str
    email: str | None
    total_cents: int
    currency: str
    segment: Segment
    units_ordered: int
    units_allocated: int
    units_shipped: int
    ship_by: datetime | None = None
    due: Due | None = None  # late or due today on the shop's day; None for either, or when not to be shipped
    age: timedelta = timedelta(0)  # since it was placed
    packed_since: datetime | None = None  # a Packed order's oldest parcel on the bench: how long it has waited
    units_returned: int = 0  # received back on returns

    @property
    def return_stage(self) -> str | None:
        """"Returned" / "Partly returned" after Fulfilled (domain.returns.stage_after_fulfilled)."""
        from .returns import stage_after_fulfilled

        return stage_after_fulfilled(self.segment is Segment.FULFILLED, self.units_shipped, self.units_returned)


@dataclass(frozen=True)
class BoardPage:
    rows: list[BoardRow]
    next_before_id: int | None  # keyset for the next (older) page, newest first
    names_searched: bool = True  # False: the search term was too short to look for in names
    sort: Sort = Sort.NEWEST
    next_after: tuple[datetime, int] | None = None  # keyset for the next page by ship-by: (ship_by, id)

    @property
    def next_after_text(self) -> str | None:
        """The next page's keyset by ship-by as a URL parameter (read back by after_from_text)."""
        if self.next_after is None:
            return None
        ship_by, order_id = self.next_after
        return f"{ship_by.isoformat(timespec='microseconds')}_{order_id}"


def after_from_text(text: str | None) -> tuple[datetime, int] | None:
    """The keyset a next_after_text names, or None for anything else (the first page is shown)."""
    ship_by, _, order_id = (text or "")[:60].partition("_")
    try:
        moment = datetime.fromisoformat(ship_by)
    except ValueError:
        return None
    if moment.tzinfo is not None or not order_id.isascii() or not order_id.isdigit() or len(order_id) > 18:
        return None
    return moment, int(order_id)


def _conditions(filters: BoardFilter, before_id: int | None, *, by_segment: bool = True) -> list[sa.ColumnElement[bool]]:
    """What every listed order must meet, besides the search: segment, older than the page, channel,
    dates, deadline."""
    conditions = []
    if filters.segment is not None and by_segment:
        conditions.append(Order.segment == filters.segment)
    if before_id is not None:
        conditions.append(Order.id < before_id)
    if filters.due is not None:
        if by_segment:
            conditions.append(Order.segment.in_(WORK_SEGMENTS))
        conditions.append(filters.shop_day.condition(filters.due))
    if filters.channel_id is not None:
        conditions.append(Order.channel_id == filters.channel_id)
    if filters.order_ids is not None:
        conditions.append(Order.id.in_(filters.order_ids))
    if filters.created_from is not None:
        conditions.append(Order.created_at >= utc_start_of(filters.created_from, filters.zone))
    if filters.created_to is not None:
        conditions.append(Order.created_at < utc_start_of(filters.created_to + timedelta(days=1), filters.zone))
    return conditions


def _matching_ids(text: str, conditions: list[sa.ColumnElement[bool]], wanted: int, *,
                  newest_first: bool = True) -> sa.Select | None:
    parts = _matching_parts(text, conditions, wanted, newest_first=newest_first)
    return sa.union(*[sa.select(q.subquery().c[0]) for q in parts]) if parts else None


def _matching_parts(text: str, conditions: list[sa.ColumnElement[bool]], wanted: int, *,
                    newest_first: bool = True) -> list[sa.Select]:
    """The newest `wanted` orders meeting `conditions` whose number, email, channel order id, line SKU or
    customer name matches `text`: that many of each kind, each kind through its own index.

    Not `newest_first` (to count them): any `wanted` of each kind, the first each index gives, with no
    walk of the orders by id (a walk finds the newest 50 of a common term soon, but takes long to find
    thousands of them)."""
    text = text.strip()
    if not text:
        return []

    def newest(query: sa.Select, order_id: sa.ColumnElement) -> sa.Select:
        query = query.where(*conditions)
        return (query.order_by(order_id.desc()) if newest_first else query).limit(wanted)

    queries = []
    order_id = Order.id_from_number(text)
    if order_id is not None:
        queries.append(newest(sa.select(Order.id).where(Order.id == order_id), Order.id))
    queries.append(newest(sa.select(Order.id).where(_email_starts_with(text.lower(), walk_common=newest_first)),
                          Order.id))
    if "@" not in text:  # an email address is found through the index above; the rest may be a SKU or a name
        queries.append(newest(sa.select(Order.id).where(Order.channel_order_id == text), Order.id))
        with_sku = sa.select(OrderLine.order_id).where(OrderLine.sku == text.upper())
        if conditions:  # the order's own columns; with none, the (sku, order_id) index alone answers
            with_sku = with_sku.join(Order, Order.id == OrderLine.order_id)
        queries.append(newest(with_sku, OrderLine.order_id))
        if searches_names(text):
            queries.append(newest(sa.select(Order.id).where(
                _placed_by(_customers_named(text), walk_common=newest_first)), Order.id))
    return queries


# When at least this many orders (or customers) match, the newest 50 are found sooner by walking the
# orders newest first than by sorting every match an index finds: at 1,000,000 orders, 120,352 emails
# start with "a" (17 ms sorted, 0.5 ms walked) and 4,026 customers are called Garcia (15 ms, 5 ms).
COMMON = 1_000


def _is_common(matches: sa.Select) -> bool:
    probe = matches.limit(COMMON).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(probe)) >= COMMON


def _email_starts_with(start: str, *, walk_common: bool = True) -> sa.ColumnElement[bool]:
    in_range = sa.and_(Order.email >= start, Order.email < start + "\uffff")
    if not walk_common or not _is_common(sa.select(Order.id).where(in_range)):
        return in_range
    # The same test on an expression, which no index serves: the planners then walk the orders by id.
    email = Order.email + ""
    return sa.and_(email >= start, email < start + "\uffff")


def _placed_by(customers: sa.Select | sa.TextualSelect, *, walk_common: bool = True) -> sa.ColumnElement[bool]:
    if not walk_common or not _is_common(sa.select(customers.subquery().c[0])):
        return Order.customer_id.in_(customers)
    return (Order.customer_id + 0).in_(customers)  # as above: walked by id


def _customers_named(text: str) -> sa.Select | sa.TextualSelect:
    """Customers whose name holds `text` (NAME_SEARCH_FROM characters or more), ignoring case: through
    the trigram index on PostgreSQL, the FTS5 trigram table on SQLite."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.select(Customer.id).where(Customer.name.ilike(f"%{_escape(text)}%", escape="\\"))
    phrase = '"' + text.replace('"', '""') + '"'  # an FTS5 string: matched as written, any case
    return sa.text(f"SELECT rowid FROM {SQLITE_SEARCH_TABLE} WHERE {SQLITE_SEARCH_TABLE} MATCH :phrase") \
        .bindparams(phrase=phrase).columns(sa.column("rowid", sa.Integer))


def board_page(filters: BoardFilter, *, before_id: int | None = None, after: tuple[datetime, int] | None = None,
               limit: int = PAGE_SIZE) -> BoardPage:
    """A page of the board: newest first from `before_id`, or (sort_of says which) oldest ship-by first
    from the keyset `after`."""
    if sort_of(filters) is Sort.SHIP_BY:
        return _page_by_ship_by(filters, after, limit)
    # The page's ids (a subquery), then their rows. Asked for whole rows in id order, PostgreSQL walked the
    # primary key backwards and skipped the newest orders one by one: at 1,000,000 orders it read
    # 19,000 rows to find 50 Fulfilled ones (the newest orders are mostly still being fulfilled, which
    # its statistics cannot know). Asked for ids only, it walks the (segment, id) index, reading
    # nothing else. No join to the channels either: with one, SQLite walked the small channels table
    # first and sorted the orders it found.
    conditions = _conditions(filters, before_id)
    query = sa.select(Order.id).where(*conditions).order_by(Order.id.desc()).limit(limit + 1)
    matches = _matching_ids(filters.search, conditions, limit + 1)
    if matches is not None:
        query = query.where(Order.id.in_(matches))
    found = db.session.execute(
        sa.select(*_ROW_COLUMNS).where(Order.id.in_(query.scalar_subquery())).order_by(Order.id.desc())).all()
    more = len(found) > limit
    rows = _rows(found[:limit], filters)
    return BoardPage(rows=rows, next_before_id=rows[-1].id if more and rows else None,
                     names_searched=not filters.search.strip() or searches_names(filters.search))


def _page_by_ship_by(filters: BoardFilter, after: tuple[datetime, int] | None, limit: int) -> BoardPage:
    """Oldest ship-by first (ties by id), from the keyset `after`: each segment's first ids through its
    range of the (segment, ship_by, id) index, merged. One statement per segment would each sort all
    the late orders of every work segment if asked for them at once (an IN list keeps no index order)."""
    conditions = _conditions(filters, None, by_segment=False)
    if after is not None:
        conditions.append(sa.tuple_(Order.ship_by, Order.id) > sa.tuple_(
            sa.literal(after[0], Order.ship_by.type), sa.literal(after[1], Order.id.type)))
    segments = [filters.segment] if filters.segment is not None else list(WORK_SEGMENTS)
    if filters.due is not None:
        segments = [segment for segment in segments if segment in WORK_SEGMENTS]
    if not segments:
        return BoardPage(rows=[], next_before_id=None, sort=Sort.SHIP_BY)
    firsts = [sa.select(Order.id, Order.ship_by).where(Order.segment == segment, *conditions)
              .order_by(Order.ship_by, Order.id).limit(limit + 1).subquery() for segment in segments]
    if len(firsts) == 1:
        ids = sa.select(firsts[0].c.id)
    else:
        merged = sa.union_all(*[sa.select(first.c.id, first.c.ship_by) for first in firsts]).subquery()
        ids = sa.select(merged.c.id).order_by(merged.c.ship_by, merged.c.id).limit(limit + 1)
    found = db.session.execute(sa.select(*_ROW_COLUMNS).where(Order.id.in_(ids.scalar_subquery()))
                               .order_by(Order.ship_by, Order.id)).all()
    more = len(found) > limit
    rows = _rows(found[:limit], filters)
    return BoardPage(rows=rows, next_before_id=None, sort=Sort.SHIP_BY,
                     next_after=(rows[-1].ship_by, rows[-1].id) if more and rows else None)


_ROW_COLUMNS = (Order.id, Order.created_at, Order.channel_id, Order.customer_name, Order.email, Order.total_cents,
                Order.currency, Order.segment, Order.ship_by)


def _rows(found: list[sa.Row], filters: BoardFilter) -> list[BoardRow]:
    """The board's rows of the orders found (_ROW_COLUMNS), with their units, channel and deadline."""
    units = {order_id: (o, a, s, r) for order_id, o, a, s, r in db.session.execute(
        sa.select(OrderLine.order_id, sa.func.sum(OrderLine.ordered), sa.func.sum(OrderLine.allocated),
                  sa.func.sum(OrderLine.shipped), sa.func.sum(OrderLine.returned))
        .where(OrderLine.order_id.in_([r[0] for r in found])).group_by(OrderLine.order_id))} if found else {}
    channels = dict(db.session.execute(sa.select(SalesChannel.id, SalesChannel.name)).all())
    packed = [r[0] for r in found if r[7] is Segment.PACKED]
    packed_since = dict(db.session.execute(
        sa.select(Shipment.order_id, sa.func.min(Shipment.created_at))
        .where(Shipment.order_id.in_(packed), Shipment.status == ShipmentStatus.PACKED)
        .group_by(Shipment.order_id)).all()) if packed else {}
    day, now = filters.shop_day, utcnow()
    return [BoardRow(id=r[0], number=f"{Order.NUMBER_PREFIX}{r[0]:06d}", created_at=r[1], channel=channels.get(r[2], ""),
                     customer_name=r[3], email=r[4], total_cents=r[5], currency=r[6], segment=r[7],
                     units_ordered=int(units.get(r[0], (0, 0, 0))[0] or 0),
                     units_allocated=int(units.get(r[0], (0, 0, 0))[1] or 0),
                     units_shipped=int(units.get(r[0], (0, 0, 0))[2] or 0),
                     ship_by=r[8], due=day.due(r[8], r[7]), age=max(now - r[1], timedelta(0)),
                     packed_since=packed_since.get(r[0]),
                     units_returned=int(units.get(r[0], (0, 0, 0, 0))[3] or 0)) for r in found]


def count_matching(filters: BoardFilter, limit: int) -> int:
    """How many orders the board's filter finds (all its pages), counted no further than `limit`: the
    same conditions and search as board_page, through the indexes, in no order (the board asks it on
    every page that has a next one, for its "select all N matching" offer)."""
    def counted(query: sa.Select) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(query.limit(limit).subquery())) or 0

    conditions = _conditions(filters, None)
    parts = _matching_parts(filters.search, conditions, limit, newest_first=False)
    if not parts:
        return counted(sa.select(Order.id).where(*conditions))
    # With a search, the matches of each kind meet the conditions already. A common term reaches the
    # limit in one kind alone (an email start, a name): then no union of them all need be sorted.
    if len(parts) > 1 and any(counted(part) >= limit for part in parts):
        return limit
    return counted(sa.union(*[sa.select(q.subquery().c[0]) for q in parts]))


def matching_order_ids(filters: BoardFilter, limit: int) -> list[int]:
    """Every order the board's filter finds (all its pages, not one), newest first, at most `limit` of
    them: the board's "all N orders matching this filter" asks for one more than it takes, to refuse a
    larger selection. The same conditions and search as board_page, through the same indexes."""
    conditions = _conditions(filters, None)
    query = sa.select(Order.id).where(*conditions).order_by(Order.id.desc()).limit(limit)
    matches = _matching_ids(filters.search, conditions, limit)
    if matches is not None:
        query = query.where(Order.id.in_(matches))
    return list(db.session.scalars(query))
