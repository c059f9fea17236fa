"""The board's filters and its selection: the orders a bulk action or a bulk print takes, either the
ticked rows or every order matching the board's filter (re-run here, never trusted from the page),
bounded by bulk_shipping.MAX_ORDERS. Shared by the board's bulk actions and the documents' bulk prints."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask import current_app, request

from ..domain import board
from ..domain.board import BoardFilter, Sort, matching_order_ids
from ..domain.deadlines import Due
from ..domain.bulk_shipping import MAX_ORDERS, check_order_ids
from ..domain.errors import InvalidInput
from ..models import Segment
from ..web import as_id

# The days the date filter takes: Python's calendar ends at 9999-12-31, and the filter reaches a day
# past its "to" in the shop's time zone, so a day at either end would overflow instead of matching nothing.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
DATE_LABELS = {"from": "The From date", "to": "The To date"}
# The bulk form carries the board's filter under these names (its own fields are the filter form's).
MATCH_PREFIX = "match_"
SEARCH_LENGTH = 100  # the board's search box takes no more


def _date(source: Mapping[str, str], name: str, prefix: str) -> date | None:
    """The day of a date filter; text that is no date is ignored, as the browser's date field never sends it."""
    try:
        day = date.fromisoformat(source.get(prefix + name, "").strip())
    except ValueError:
        return None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InvalidInput(f"{DATE_LABELS[name]} must be a day from {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}, "
                           "written like 2026-01-31", field=name)
    return day


def _check_posted_filter(source: Mapping[str, str], prefix: str) -> None:
    """A bulk action's filter comes from the board's own page: anything it could not have sent is refused,
    never read as "no filter" (which would widen the action to every order)."""
    def value(name: str) -> str:
        return source.get(prefix + name, "")

    choices = {"segment": {"", "all", *(s.value for s in Segment)}, "due": {"", *(d.value for d in Due)},
               "sort": {"", *(s.value for s in Sort)}}
    for name, allowed in choices.items():
        if value(name) not in allowed:
            raise InvalidInput(f"The filter's {name} is not one the board offers: nothing was done.", field=name)
    if len(value("q")) > SEARCH_LENGTH:
        raise InvalidInput(f"The search is too long: at most {SEARCH_LENGTH} characters; nothing was done.", field="q")
    if value("channel") and as_id(value("channel")) is None:
        raise InvalidInput("The filter's channel is not a channel of the board: nothing was done.", field="channel")
    for name in ("from", "to"):
        if value(name).strip() and _date(source, name, prefix) is None:
            raise InvalidInput(f"{DATE_LABELS[name]} must be a day written like 2026-01-31; nothing was done.",
                               field=name)


def board_filters(source: Mapping[str, str] | None = None, prefix: str = "") -> tuple[str, BoardFilter, dict]:
    """The segment's name, the filter and the arguments that repeat it, from the query string, or from a
    bulk action's form (`source`, its names after `prefix`), which is checked strictly."""
    if source is not None:
        _check_posted_filter(source, prefix)
    source = request.args if source is None else source
    segment_name = source.get(prefix + "segment", "all")
    segment = next((s for s in Segment if s.value == segment_name), None)
    if segment is None:
        segment_name = "all"
    channel = source.get(prefix + "channel", "")
    # Like the segment, a quick filter or a sort the board does not offer is no filter and the default sort.
    due = next((d for d in Due if d.value == source.get(prefix + "due")), None)
    sort = next((s for s in Sort if s.value == source.get(prefix + "sort")), None)
    filters = BoardFilter(segment=segment, search=source.get(prefix + "q", "")[:SEARCH_LENGTH],
                          channel_id=as_id(channel),
                          created_from=_date(source, "from", prefix), created_to=_date(source, "to", prefix),
                          zone=current_app.config["OMS_TIMEZONE"], due=due, sort=sort)
    args = {"segment": segment_name, "q": filters.search, "channel": channel,
            "from": source.get(prefix + "from", ""), "to": source.get(prefix + "to", ""),
            "due": due.value if due else "", "sort": sort.value if sort else ""}
    return segment_name, filters, {k: v for k, v in args.items() if v}


def count_matching(filters: BoardFilter) -> int:
    """How many orders the filter finds, counted up to one more than a bulk action takes."""
    return board.count_matching(filters, MAX_ORDERS + 1)


def selected_order_ids() -> list[int]:
    """The posted selection, ascending. Raises InvalidInput for none and for more than MAX_ORDERS orders
    (nothing is done then)."""
    if request.form.get("scope") == "filter":
        _, filters, _ = board_filters(request.form, MATCH_PREFIX)
        ids = matching_order_ids(filters, MAX_ORDERS + 1)
        if not ids:
            raise InvalidInput("No order matches this filter now: nothing was done.", field="order_ids")
        if len(ids) > MAX_ORDERS:
            raise InvalidInput(f"More than {MAX_ORDERS:,} orders match this filter: a bulk action takes at most "
                               f"{MAX_ORDERS:,}. Narrow the filter (a segment, a channel, dates) and run it in parts; "
                               "nothing was done.", field="order_ids")
        return sorted(ids)
    texts = request.form.getlist("order_ids")
    if len(texts) > MAX_ORDERS:
        raise InvalidInput(f"{len(texts):,} orders are selected: a bulk action takes at most {MAX_ORDERS:,}.",
                           field="order_ids")
    # Text that is no id is no order a row of the board sent: left out, as the bulk actions always did.
    return check_order_ids({as_id(text) for text in texts} - {None})
