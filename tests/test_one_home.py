"""Rules with one home (STYLE.md): each written once and called everywhere, so no copy can drift.
These read the package's source: a second copy of a rule fails here before it can disagree."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from oms_web.columns import column_length, escape_like
from oms_web.domain import events
from oms_web.models import Customer, Order

PACKAGE = Path(__file__).resolve().parent.parent / "oms_web"


def _written_in(pattern: str) -> list[str]:
    """The package's modules (relative paths) whose source matches `pattern`, migrations aside."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" not in path.parts and re.search(pattern, path.read_text(encoding="utf-8"), re.MULTILINE):
            found.append(path.relative_to(PACKAGE).as_posix())
    return found


@pytest.mark.parametrize("rule, pattern, home", [
    ("a text column's length", r"^def column_length\(", ["columns.py"]),
    ("LIKE's escaping", r"""replace\(["']%["'], ["']\\\\%["']\)""", ["columns.py"]),
    ("the largest quantity of a line", r"^MAX_\w*QUANTITY\s*=\s*\d", ["domain/inventory.py", "domain/order_rules.py"]),
    ("low stock (the product list's filter, the overview, a product's row)", r"<=\s*(\w+\.)?reorder_point",
     ["models.py"]),
    # min(still needed, available): the single path, the batch path and the seed all call stock.plan_allocation.
    ("the allocation rule", r"min\((line\.ordered|needed?\b)", ["domain/stock.py"]),
    ("the guarded update of the stock counts", r"stock_committed\s*\+[^\n]*(<=|>=)", ["domain/stock.py"]),
    ("the ledger row of a stock change", r"[=(]\s*StockMove\(|StockMove\.__table__", ["domain/stock.py"]),
    ("an event row", r"= OrderEvent\(", ["domain/events.py"]),
])
def test_a_rule_is_written_once(rule, pattern, home):
    # Quantities have one limit per kind: an order line's units (orders) and a product's stock (inventory).
    assert _written_in(pattern) == home, f"{rule} is written in more than one module"


def test_every_lock_of_the_services_is_taken_in_the_lock_module():
    """domain/locking.py keeps the one lock order; a lock statement elsewhere in the domain could break it."""
    assert [path for path in _written_in(r"with_for_update\(|FOR UPDATE") if path.startswith("domain/")] == \
        ["domain/locking.py"]


def test_an_event_kind_is_named_once_and_never_typed_at_a_call():
    kinds = {value for name, value in vars(events).items() if name.isupper() and name != "FULFILLED_MESSAGE"
             and isinstance(value, str)}
    assert kinds == events.KINDS and len(kinds) == len([n for n in vars(events) if n.isupper()]) - 2
    assert _written_in(r"\bevents\.record\(") == []  # one constructor per kind instead
    typed = "|".join(sorted(events.KINDS))
    # A kind compared or passed as a string literal (an event row written by hand, as the seed does, too).
    assert _written_in(rf"""(kind\s*(==|=)\s*|_event\([^\n]*,\s*)["']({typed})["']""") == [], \
        "an event kind is typed as a string: use its name in domain/events.py"


def test_no_channel_cuts_a_currency_code_to_fit():
    """Cut to three letters, "EURO" passes for EUR: the channels check the code (amounts.currency_code)."""
    assert [path for path in _written_in(r"currency\W[^\n]*\[:3\]") if path.startswith("channels/")] == []


def test_escape_like_keeps_wildcards_and_backslashes_as_written():
    assert escape_like(r"50%_off\now") == r"50\%\_off\\now"
    assert column_length(Order.channel_order_id) == 64 and column_length(Customer.phone) == 40
    with pytest.raises(TypeError):
        column_length(Order.id)
