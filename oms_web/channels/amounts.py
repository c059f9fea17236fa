"""Money as the channels write it: strings ("12.50", "$1,234.50", "1.234,50") to integer cents, with
Decimal, never float; a line's money as the channel states it; the ISO 4217 currency codes."""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..domain import money
from ..domain.orders import LineRequest

_NOT_MONEY = re.compile(r"[^0-9.,\-]")


class MoneyError(ValueError):
    pass


def decimal_amount(value: Any) -> Decimal | None:
    """A money string as the channel wrote it ("12.50", "$1,234.50", "AU $3,000.00", "1.234,50",
    "(3.00)") as a Decimal; None for an empty value. Raises MoneyError for anything else."""
    if value is None:
        return None
    if type(value) is not str:
        if isinstance(value, (bool, float)):
            raise MoneyError(f"{value!r} is not a money string")  # a float has already lost the cents
        if isinstance(value, (int, Decimal)):
            return Decimal(value)
    text = str(value).strip()
    if not text:
        return None
    negative = text.startswith("(") and text.endswith(")")
    text = _NOT_MONEY.sub("", text)
    if text.startswith("-"):
        negative, text = True, text[1:]
    if not text or "-" in text:
        raise MoneyError(f"{value!r} is not an amount of money")
    if "," in text and "." in text:
        # Whichever comes last separates the cents; the other groups thousands.
        thousands = "," if text.rfind(".") > text.rfind(",") else "."
        text = text.replace(thousands, "")
        text = text.replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", ".") if text.count(",") == 1 and len(tail) in (1, 2) else text.replace(",", "")
    if text.count(".") > 1:
        raise MoneyError(f"{value!r} is not an amount of money")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise MoneyError(f"{value!r} is not an amount of money") from None
    return -amount if negative else amount


def cents(value: Any, *, default: int | None = 0) -> int | None:
    """Money to integer cents, rounded half up: cents("12.50") == 1250, cents("$1,234.5") == 123450.

    An empty value gives `default`. Raises MoneyError for text that is not an amount.
    """
    amount = decimal_amount(value)
    if amount is None:
        return default
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def charged_line(*, sku: str, quantity: int, line_total: Any, charged_for: int | None = None, discount: Any = None,
                 tax: Any = None, name: str | None = None, channel_line_id: str | None = None) -> LineRequest:
    """A line of `quantity` units whose channel states its money for `charged_for` units (default: the
    same): the price of them all (`line_total`, price × quantity), their discount and their tax, as
    money strings. Discounts written negative ("-5.00", as Amazon's reports do) count as discounts.

    The unit price and its rounding are money.unit_of_total's. For fewer units than were charged (a
    partly shipped order) discount and tax are their share.
    """
    charged_for = charged_for or quantity
    total = cents(line_total, default=None)
    discount_cents = abs(cents(discount) or 0)
    tax_cents = None if tax is None or (isinstance(tax, str) and not tax.strip()) else abs(cents(tax) or 0)
    unit = None
    if total is not None and charged_for > 0:
        unit, rounding = money.unit_of_total(abs(total), charged_for)
        discount_cents += rounding
    if charged_for != quantity:
        discount_cents = money.share(discount_cents, quantity, charged_for)
        tax_cents = None if tax_cents is None else money.share(tax_cents, quantity, charged_for)
    return LineRequest(sku=sku, quantity=quantity, unit_price_cents=unit, name=name, channel_line_id=channel_line_id,
                       discount_cents=discount_cents, tax_cents=tax_cents)


# ISO 4217 codes in use, by the decimals of their minor unit. Amounts are kept in cents, so a currency
# with three decimals (the Kuwaiti dinar) cannot be held to its smallest unit: known, and refused as such.
_CURRENCIES_BY_PLACES = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD "
       "CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD "
       "GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA "
       "MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR "
       "RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD "
       "TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
}
CURRENCY_PLACES = {code: places for places, codes in _CURRENCIES_BY_PLACES.items() for code in codes.split()}


def currency_places(code: str) -> int:
    """The decimals of a currency's minor unit (USD 2, JPY 0). Raises MoneyError for a code that is not
    ISO 4217 ("EURO", "€€€") or one whose minor unit is finer than the cent we keep."""
    places = CURRENCY_PLACES.get(code)
    if places is None:
        raise MoneyError(f"{code!r} is not an ISO 4217 currency code")
    if places > 2:
        raise MoneyError(f"{code} has {places} decimals; amounts are kept to two")
    return places


def currency_code(value: Any, default: str = "USD") -> str:
    """A channel's currency code as the order keeps it: upper case, ISO 4217, within the cents we keep;
    `default` when the channel gave none. Raises MoneyError for anything else ("EURO", "US dollars",
    "KWD"): cut to three letters, "EURO" would pass for "EUR" and "US dollars" for a code that is none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    if not isinstance(value, str):
        raise MoneyError(f"{value!r} is not a currency code")
    code = value.strip().upper()
    if len(code) != 3:  # named in the message: a cell of any length must not make it a long one
        raise MoneyError(f"{code[:10]!r}{'…' if len(code) > 10 else ''} is not an ISO 4217 currency code")
    currency_places(code)
    return code
