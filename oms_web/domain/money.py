"""The order's money: how a line's tax and discount are reckoned, how an order's total adds up, and how
a figure is split into parts (over lines, over partial invoices) that add up to it exactly.

Amounts are integer cents. A channel states its discounts and taxes to the cent; we keep its figures
rather than recompute them, so that the order's total is the channel's total. A split is never
rounded part by part (parts rounded alone drift a cent from their whole): either the whole is spread
by largest remainder, or each part is "the share so far, less what earlier parts took".
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


def amount_text(cents: int, currency: str = "USD") -> str:
    """An amount as staff read it: "USD 1,234.50" (integer arithmetic: no float ever rounds it)."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{currency} {abs(cents) // 100:,}.{abs(cents) % 100:02d}"


def decimal_text(cents: int) -> str:
    """An amount as a machine reads it: "1234.50" (the order API's figures), by integer arithmetic too."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def line_tax_cents(quantity: int, unit_price_cents: int, tax_rate_bp: int) -> int:
    """Tax at a rate (basis points) on quantity × unit price, rounded half up to the cent."""
    return rate_tax_cents(quantity * unit_price_cents, tax_rate_bp)


def rate_tax_cents(amount_cents: int, tax_rate_bp: int) -> int:
    """Tax at a rate (basis points) on an amount, rounded half up to the cent."""
    return (amount_cents * tax_rate_bp + 5_000) // 10_000


def share(amount: int, part: int, whole: int) -> int:
    """amount × part / whole, rounded half up: the part's share of a whole's amount (0 for no whole)."""
    if whole <= 0:
        return 0
    return (2 * amount * part + whole) // (2 * whole)


def unit_of_total(line_total: int, quantity: int) -> tuple[int, int]:
    """(unit price, rounding) of a line a channel prices as a total for `quantity` units: the unit is
    rounded up to the cent and the line takes the rounding as a discount, so quantity × unit − rounding
    is the channel's total exactly (19.99 for 3: 6.67 each, 0.02 off)."""
    unit = -(-line_total // quantity)
    return unit, unit * quantity - line_total


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` split in proportion to the weights, in whole cents that add up to it exactly (largest
    remainder; ties go to the earlier weight). No weight at all: the amount goes evenly."""
    if not weights:
        return []
    total = sum(weights)
    if total <= 0:
        weights, total = [1] * len(weights), len(weights)
    parts = [amount * w // total for w in weights]
    left = amount - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in by_remainder[:left]:
        parts[i] += 1
    return parts


def line_gross_cents(line: Any) -> int:
    """The line's price before its discounts: ordered × unit price."""
    return line.ordered * line.unit_price_cents


def line_tax(line: Any) -> int:
    """The line's tax for its ordered units: the channel's figure, else at the line's rate on its net."""
    if line.tax_cents is not None:
        return line.tax_cents
    return rate_tax_cents(line_gross_cents(line) - line.discount_cents, line.tax_rate_bp)


def stated_rate_bp(line: Any, tax_included: bool) -> int:
    """The rate (basis points) a line was taxed at: its own when taxed at its rate; for tax the channel
    stated, what that tax is of the line's net (of the net less the tax, when prices include it), so
    that an invoice never shows our catalogue's rate beside a channel's tax."""
    if line.tax_cents is None:
        return line.tax_rate_bp
    base = line_gross_cents(line) - line.discount_cents - (line.tax_cents if tax_included else 0)
    return (2 * line.tax_cents * 10_000 + base) // (2 * base) if base > 0 else 0


def rescale_line(line: Any, quantity: int, invoiced: tuple[int, int] = (0, 0)) -> None:
    """A line's discount and tax for a new quantity (an edited order). Stated figures go in proportion;
    a line taxed at its rate stays so. Once some of its units are invoiced (`invoiced`: the discount and
    tax its invoices charged), the line keeps exactly those for them and takes, for the other units,
    the new figure less the invoiced units' share of it: its invoices still add up to the line."""
    if quantity == line.ordered or line.ordered <= 0:
        return
    discount = share(line.discount_cents, quantity, line.ordered)
    tax = (share(line.tax_cents, quantity, line.ordered) if line.tax_cents is not None
           else rate_tax_cents(quantity * line.unit_price_cents - discount, line.tax_rate_bp))
    if line.invoiced:
        discount_invoiced, tax_invoiced = invoiced
        discount = discount_invoiced + discount - share(discount, line.invoiced, quantity)
        line.tax_cents = tax_invoiced + tax - share(tax, line.invoiced, quantity)  # stated from now on
    elif line.tax_cents is not None:
        line.tax_cents = tax
    line.discount_cents = discount


@dataclass(frozen=True)
class Totals:
    subtotal_cents: int
    discount_cents: int
    tax_cents: int
    shipping_cents: int
    total_cents: int


def totals(subtotal: int, discount: int, tax: int, shipping: int, tax_included: bool) -> Totals:
    """What the customer pays: subtotal − discount + shipping, plus the tax unless the prices include it."""
    return Totals(subtotal, discount, tax, shipping, subtotal - discount + shipping + (0 if tax_included else tax))


def order_totals(order: Any) -> Totals:
    """The order's figures from its lines, its shipping and its shipping's tax."""
    return totals(sum(line_gross_cents(l) for l in order.lines), sum(l.discount_cents for l in order.lines),
                  sum(line_tax(l) for l in order.lines) + order.shipping_tax_cents, order.shipping_cents,
                  order.tax_included)
