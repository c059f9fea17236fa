"""Customers: who an order is for, one customer per email, and the addresses they ship to.

An email identifies one customer. A new order whose new customer brings an email already on file
either uses that customer (channel orders: the shopper is the same person), asks (the manual order
form shows the match and lets staff choose), or makes a new customer anyway, who then keeps no email
of their own (the order still carries it). The unique index on customers.email makes the rule hold
when two orders with one new email arrive at the same moment: the second insert fails, and the second
order finds the first one's customer.
"""
from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Address, Customer
from .errors import InvalidInput

ADDRESS_KEYS = ("name", "line1", "line2", "city", "region", "postal_code", "country")
REQUIRED_ADDRESS_KEYS = ("line1", "city", "postal_code", "country")


class IfEmailOnFile(str, enum.Enum):
    USE = "use"  # the customer of that email
    ASK = "ask"  # refuse with EmailOnFile, so that the person choosing sees the match
    NEW = "new"  # a new customer anyway, without the email (it is the other customer's)


class EmailOnFile(InvalidInput):
    """A new customer's email belongs to a customer on file; `customer_id` is that customer."""

    def __init__(self, customer_id: int, name: str, email: str):
        super().__init__(f"{email} is the email of {name}, a customer on file: use that customer, "
                         f"or make a new customer anyway", field="customer_email")
        self.customer_id = customer_id


def normalise_email(text: str | None) -> str | None:
    """The one form of an email that is stored and compared: trimmed, lower case, None when empty."""
    return (text or "").strip().lower() or None


def check_new_customer(name: str | None, email: str | None, phone: str | None = None
                       ) -> tuple[str, str | None, str | None]:
    """A new customer's name, normalised email and phone, or InvalidInput naming the field."""
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Customer name is required", field="customer_name")
    email = normalise_email(email)
    if email and ("@" not in email or len(email) > _length(Customer.email)):
        raise InvalidInput("That email address does not look right", field="customer_email")
    phone = (phone or "").strip() or None
    for value, column, what, field in ((name, Customer.name, "The name", "customer_name"),
                                       (phone, Customer.phone, "The phone number", "customer_phone")):
        if value and len(value) > _length(column):
            raise InvalidInput(f"{what} has at most {_length(column)} characters", field=field)
    return name, email, phone


def customer_with_email(email: str | None) -> Customer | None:
    email = normalise_email(email)
    if email is None:
        return None
    return db.session.scalar(sa.select(Customer).where(Customer.email == email))


def customer_for(name: str | None, email: str | None, phone: str | None = None,
                 if_email_on_file: IfEmailOnFile = IfEmailOnFile.USE) -> Customer:
    """The customer a new order's customer details stand for: the one of that email, or a new one
    (flushed, so it has its id). Raises InvalidInput on bad details, EmailOnFile when asked to."""
    name, email, phone = check_new_customer(name, email, phone)
    if if_email_on_file is IfEmailOnFile.NEW:
        email = None
    on_file = customer_with_email(email)
    if on_file is None:
        customer = Customer(name=name, email=email, phone=phone)
        try:
            with db.session.begin_nested():
                db.session.add(customer)
                db.session.flush()
            return customer
        except IntegrityError:
            # A concurrent order made the customer of this email first (PostgreSQL's insert waited for
            # it to commit; this statement's snapshot sees it).
            on_file = customer_with_email(email)
            if on_file is None:
                raise
    if if_email_on_file is IfEmailOnFile.ASK:
        raise EmailOnFile(on_file.id, on_file.name, on_file.email or "")
    return on_file


def check_address(address: dict[str, Any], name: str) -> dict[str, Any]:
    """A typed address, trimmed and within its columns, country in capitals; InvalidInput otherwise."""
    clean = {key: (str(address.get(key) or "")).strip() or None for key in ADDRESS_KEYS}
    clean["name"] = clean["name"] or name
    for key in ADDRESS_KEYS:
        limit = _length(getattr(Address, key))
        if clean[key] and len(clean[key]) > limit:
            raise InvalidInput(f"{_ADDRESS_LABELS[key]} has at most {limit} characters", field=f"ship_{key}")
    if not all(clean[key] for key in REQUIRED_ADDRESS_KEYS):
        missing = next(key for key in REQUIRED_ADDRESS_KEYS if not clean[key])
        raise InvalidInput("Enter the ship-to address: street, city, postal code and country", field=f"ship_{missing}")
    clean["country"] = clean["country"].upper()
    if len(clean["country"]) != 2 or not clean["country"].isascii() or not clean["country"].isalpha():
        raise InvalidInput("The country is its two-letter code (US, GB, DE)", field="ship_country")
    return clean


def ship_to_for(customer: Customer, address_id: int | None, new_address: dict[str, Any] | None) -> dict[str, Any]:
    """The ship-to of a customer's new order: one of their addresses, or a new one, which is kept among
    them for the next order. Raises InvalidInput for an address of another customer, or none given."""
    if address_id is not None:
        address = db.session.get(Address, address_id)
        if address is None or address.customer_id != customer.id:
            raise InvalidInput(f"That address is not one of {customer.name}'s", field="address_id")
        return address.as_dict()
    if new_address is None:
        # An order for a customer on file ships somewhere: never guess which of their addresses.
        raise InvalidInput(f"Choose one of {customer.name}'s addresses or enter a new one" if customer.addresses
                           else f"{customer.name} has no address on file: enter the ship-to address",
                           field="address_id")
    values = check_address(new_address, customer.name)
    same = next((a for a in customer.addresses if a.kind == "shipping" and a.as_dict() == values), None)
    if same is None:
        customer.addresses.append(Address(kind="shipping", **values))
    return values


_ADDRESS_LABELS = {"name": "The name", "line1": "The street", "line2": "Street, line 2", "city": "The city",
                   "region": "State / region", "postal_code": "The postal code", "country": "The country"}


def _length(column: Any) -> int:
    return column.type.length
