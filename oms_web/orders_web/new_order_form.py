"""The manual order form: every text field bounded by its column (web.column_length), so the form never
accepts what PostgreSQL would refuse. Which fields are required depends on the choices (a customer on
file or a new one; one of their addresses or a new one): the domain's rules say so, not the form."""
from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from ..domain.customers import ADDRESS_KEYS, IfEmailOnFile
from ..models import Address, Customer, PaymentStatus
from ..web import column_length


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class _Within:
    """At most as many characters as the column holds; the message names the field as staff call it."""

    def __init__(self, column: Any, what: str) -> None:
        self.limit, self.what = column_length(column), what
        self.field_flags = {"maxlength": self.limit}  # rendered as the input's maxlength

    def __call__(self, form: FlaskForm, field: Any) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(f"{self.what} has at most {self.limit:,} characters ({len(field.data):,} given)")


def _text(label: str, column: Any, what: str) -> StringField:
    return StringField(label, filters=[_strip], validators=[_Within(column, what)])


class _Choice(RadioField):
    """A radio choice whose refusal names the choices (a value posted by hand, never by the page)."""

    def pre_validate(self, form: FlaskForm) -> None:
        if self.data not in {choice.value for choice in self.choices}:
            raise ValidationError(f"{self.label.text} is one of: " + ", ".join(c.label for c in self.choices))


class NewOrderForm(FlaskForm):
    class Meta:
        csrf = False  # the app-wide CSRFProtect has checked the token before any view runs

    customer_name = _text("Name", Customer.name, "The name")
    customer_email = _text("Email", Customer.email, "The email")
    customer_phone = _text("Phone", Customer.phone, "The phone number")
    ship_line1 = _text("Street", Address.line1, "The street")
    ship_line2 = _text("Street, line 2", Address.line2, "Street, line 2")
    ship_city = _text("City", Address.city, "The city")
    ship_region = _text("State / region", Address.region, "State / region")
    ship_postal_code = _text("Postal code", Address.postal_code, "The postal code")
    ship_country = _text("Country (2 letters)", Address.country, "The country")
    payment = _Choice("Payment", default=PaymentStatus.PAID.value, choices=[
        SelectChoice(PaymentStatus.PAID.value, "Paid"), SelectChoice(PaymentStatus.PENDING.value, "Awaiting payment")])
    # After "that email is on file": "new" makes a new customer anyway.
    email_on_file = _Choice("That email is on file", default=IfEmailOnFile.ASK.value, choices=[
        SelectChoice(IfEmailOnFile.ASK.value, "Ask"), SelectChoice(IfEmailOnFile.NEW.value, "A new customer anyway")])

    def customer_fields(self) -> list[Any]:
        return [self.customer_name, self.customer_email, self.customer_phone]

    def address_fields(self) -> list[Any]:
        return [getattr(self, f"ship_{key}") for key in ADDRESS_KEYS if key != "name"]

    def new_address(self) -> dict[str, Any] | None:
        """The typed ship-to, or None when nothing of it was typed (one of the customer's is chosen)."""
        typed = {key: getattr(self, f"ship_{key}").data for key in ADDRESS_KEYS if key != "name"}
        return typed if any(typed.values()) else None
