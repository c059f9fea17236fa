"""Reading a store's JSON order strictly: each field of the JSON type its channel documents and within
the column it is kept in, or a Problem that names the field.

Nothing is coerced. An object where text belongs is not written as "{'a': 1}", `true` is no id, a SKU
too long for its column is not cut (cut, it could name another product), 12.345 dollars is not rounded
to a cent the store did not charge. Every problem of a payload is collected, so the store hears of all
of them at once (PayloadError), and nothing is written.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..columns import column_length
from ..domain.deadlines import FIRST_SHIP_BY, LAST_SHIP_BY
from ..domain.errors import InvalidInput
from ..domain.orders import check_quantity
from .amounts import MoneyError, currency_places
from .times import BadTime, parse_ship_by, parse_time

MAX_AMOUNT = Decimal("1000000")  # a line's unit price or a charge above this is a mistake
_AMOUNT = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")  # ASCII digits only: Decimal() also reads "١٢" as 12
_DIGITS = re.compile(r"[0-9]{1,64}")
# The stores' ids are 64-bit integers: 20 digits at most, so an id fits its column and so does the
# placeholder SKU made of it (SHOPIFY-VARIANT-<id>, within OrderLine.sku).
MAX_ID_DIGITS = 20


@dataclass
class Problem:
    field: str
    message: str


class PayloadError(Exception):
    """The payload was read and refused: 422, with every problem."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


class BodyError(ValueError):
    """The body is not JSON at all: 400."""


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")  # Python's json reads NaN and Infinity; JSON has neither


def load_json(raw: bytes) -> Any:
    """The body's JSON. Raises BodyError for anything that is not JSON, and for JSON nested so deep
    that reading it would exhaust the stack (a RecursionError is no reason for a 500)."""
    try:
        return json.loads(raw, parse_constant=_not_json)
    except RecursionError:
        raise BodyError("The JSON is nested too deeply") from None
    except ValueError:  # also bad UTF-8, and integers of more digits than Python converts
        raise BodyError("The body must be JSON") from None


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored as text (PostgreSQL refuses both), or None."""
    if "\x00" in value:
        return "must not contain a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, "\ud800", which JSON allows
        return "must be valid text"
    return None


def money_problem(value: Any, places: int, *, rounded: bool = False) -> tuple[int | None, str | None]:
    """(cents, None) for an amount of money written as "12.50" or 12.5; (None, why) for anything else.

    More decimals than the currency has are refused, unless `rounded` (for a figure the store itself
    computes by division, such as WooCommerce's unit price): then rounded half up.
    """
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None, "must be an amount like \"12.50\""
    text = value.strip() if isinstance(value, str) else repr(value)
    if not _AMOUNT.fullmatch(text):
        return None, ("must be zero or more" if text.startswith("-") else "must be an amount like \"12.50\"")
    amount = Decimal(text)
    if amount > MAX_AMOUNT:
        return None, f"must be at most {MAX_AMOUNT:,}"
    unit = Decimal(1).scaleb(-places)
    if amount != amount.quantize(unit):
        if not rounded:
            return None, f"has more decimals than the currency's {places}"
        amount = amount.quantize(unit, rounding=ROUND_HALF_UP)
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)), None


def to_cents(value: Any, field: str, problems: list[Problem], *, default: int | None = None, places: int = 2,
             rounded: bool = False) -> int:
    """An amount of money (money_problem) in integer cents; absent, `default`. Anything else adds a
    Problem under `field`."""
    if value is None or value == "":
        if default is None:
            problems.append(Problem(field, "is required"))
        return default or 0
    cents, why = money_problem(value, places, rounded=rounded)
    if why:
        problems.append(Problem(field, why))
    return cents or 0


class Reader:
    """One JSON object of a payload, read field by field; each problem is added to the shared list
    under the field's full name ("lines[0].sku")."""

    def __init__(self, data: dict[str, Any], where: str = "", problems: list[Problem] | None = None):
        self.data = data
        self.where = where
        self.problems: list[Problem] = [] if problems is None else problems

    def name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.name(key), message))

    def check(self) -> None:
        """Raise PayloadError when any problem was found."""
        if self.problems:
            raise PayloadError(self.problems)

    def text(self, key: str, column: Any, *, required: bool | str = False) -> str | None:
        """A string field, stripped, that fits `column` (a model's String column); None when absent
        or blank. `required` may be the message for a missing one."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            self.problem(key, "must be text")
            return None
        text = (value or "").strip()
        if not text:
            if required:
                self.problem(key, required if isinstance(required, str) else "is required")
            return None
        why = text_problem(text)
        if why is None and len(text) > column_length(column):
            why = f"must be at most {column_length(column)} characters"
        if why:
            self.problem(key, why)
            return None
        return text

    def word(self, key: str) -> str | None:
        """A status word (what it means is the caller's business): a string, or nothing."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            self.problem(key, "must be text")
            return None
        return value

    def store_id(self, key: str, *, required: bool = False, digits_too: bool = False) -> str | None:
        """A store's numeric id, a JSON integer, as text; None when absent or 0 (WooCommerce's "none").
        `digits_too`: a string of digits is taken as well (WooCommerce sends some ids as strings)."""
        value = self.data.get(key)
        if value is None or (digits_too and value == ""):
            text = None
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            text = str(value)
        elif digits_too and isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
            text = str(int(value))
        else:
            self.problem(key, "must be a whole number (the store's id)" + (" or its digits" if digits_too else ""))
            return None
        if text is not None and len(text) > MAX_ID_DIGITS:
            self.problem(key, f"must be at most {MAX_ID_DIGITS} digits")
            return None
        if (text is None or text == "0") and required:
            self.problem(key, "is required")
        return None if text in (None, "0") else text

    def quantity(self, key: str) -> int:
        """A JSON integer within the app's one maximum (domain.orders.check_quantity)."""
        try:
            return check_quantity(self.data.get(key), field_name=self.name(key))
        except InvalidInput as error:
            self.problem(key, error.message)
            return 1

    def money(self, key: str, places: int, *, default: int | None = None, rounded: bool = False) -> int:
        """An amount in integer cents (money_problem). Absent: `default`, or a problem when there is none."""
        return to_cents(self.data.get(key), self.name(key), self.problems, default=default, places=places,
                        rounded=rounded)

    def currency(self, key: str, default: str = "USD") -> tuple[str, int]:
        """(ISO 4217 code, its decimals); the default when absent. Upper case is the code's own spelling,
        so "eur" is EUR; "EURO" or "€€€" is refused, not guessed at."""
        value = self.data.get(key)
        if value is None or value == "":
            return default, currency_places(default)
        why = "must be a currency code like \"USD\"" if not isinstance(value, str) else text_problem(value)
        if why is None:
            try:
                return value.strip().upper(), currency_places(value.strip().upper())
            except MoneyError as error:
                why = str(error)
        self.problem(key, why)
        return default, currency_places(default)

    def country(self, key: str, column: Any) -> str | None:
        """A two-letter country code (ISO 3166), in either case; None when absent."""
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        code = value.strip().upper() if isinstance(value, str) else ""
        if len(code) != column_length(column) or not (code.isascii() and code.isalpha()):
            self.problem(key, "must be a two-letter country code (ISO 3166), like \"GB\"")
            return None
        return code

    def time(self, key: str) -> datetime | None:
        """An ISO 8601 timestamp as naive UTC; None when absent."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        moment = parse_time(value) if isinstance(value, str) and text_problem(value) is None else None
        if moment is None:
            self.problem(key, "must be a date and time like \"2026-01-02T10:00:00Z\"")
        return moment

    def ship_by(self, key: str) -> datetime | None:
        """A ship-by date (times.parse_ship_by) as naive UTC; None when absent."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or text_problem(value) is not None:
            self.problem(key, "must be a date and time like \"2026-01-02T10:00:00Z\"")
            return None
        try:
            return parse_ship_by(value, self.name(key))
        except BadTime:
            self.problem(key, f"must be a date and time like \"2026-01-02T10:00:00Z\", from "
                              f"{FIRST_SHIP_BY:%Y-%m-%d} to {LAST_SHIP_BY - timedelta(days=1):%Y-%m-%d}")
            return None

    def flag(self, key: str, default: bool = False) -> bool:
        """A JSON true or false; the default when absent. Anything else ("yes", 1) is refused."""
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.problem(key, "must be true or false")
            return default
        return value

    def one_of(self, key: str, allowed: tuple[str, ...], default: str) -> str:
        value = self.data.get(key, default)
        if not isinstance(value, str) or value not in allowed:
            self.problem(key, "must be " + " or ".join(f"\"{word}\"" for word in allowed))
            return default
        return value

    def object(self, key: str, *, required: bool = False) -> Reader | None:
        """A nested object's Reader; None when absent (a problem if `required`) or not an object."""
        value = self.data.get(key)
        if value is None:
            if required:
                self.problem(key, "is required")
            return None
        if not isinstance(value, dict):
            self.problem(key, "must be an object")
            return None
        return Reader(value, self.name(key), self.problems)

    def objects(self, key: str, *, called: str | None = None) -> list[Reader] | None:
        """A list of objects' Readers, named `called[i]` (default: the key); None when absent, a problem
        for anything but a list of objects."""
        value = self.data.get(key)
        called = called or key
        if value is None:
            return None
        if not isinstance(value, list):
            self.problem(called, "must be a list")
            return None
        readers = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                readers.append(Reader(item, self.name(f"{called}[{index}]"), self.problems))
            else:
                self.problems.append(Problem(self.name(f"{called}[{index}]"), "must be an object"))
        return readers


def read_object(payload: Any) -> Reader:
    """The payload's top-level Reader. Raises PayloadError when it is not a JSON object."""
    if not isinstance(payload, dict):
        raise PayloadError([Problem("body", "must be a JSON object")])
    return Reader(payload)
