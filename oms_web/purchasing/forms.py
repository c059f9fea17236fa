"""The purchasing screens' forms: a supplier, a product at a supplier, a purchase order's details and its
lines. Lengths come from the model's columns and numbers from the services' limits, so a form never takes
what the database or the service would refuse; the services check again."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, DecimalException
from typing import Any

from wtforms import BooleanField, StringField
from wtforms.validators import StopValidation

from ..domain.inventory import MAX_STOCK_QUANTITY
from ..domain.suppliers import COST_MESSAGE, MAX_COST_CENTS, MAX_LEAD_TIME_DAYS, SupplierDetails
from ..domain.purchasing import MAX_NOTES_LENGTH
from ..formfields import Form, LongTextField, QuantityField, TextField
from ..models import Product, Supplier, SupplierProduct
from ..web import as_id


class CostField(StringField):
    """An amount typed as 12.50, kept as whole cents in `cents`; a negative one is refused as such."""

    cents: int | None = None

    def __init__(self, label: str, *, required: bool = True, **kwargs: Any) -> None:
        super().__init__(label, **kwargs)
        self.required = required

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.cents = None

    def pre_validate(self, form: Form) -> None:
        text = (self.data or "").strip().replace(",", "")
        if not text:
            if self.required:
                raise StopValidation("Give the unit cost, such as 12.50")
            return
        if len(text) > 20:
            raise StopValidation(f"A unit cost is at most {MAX_COST_CENTS // 100:,}.{MAX_COST_CENTS % 100:02d}")
        try:
            amount = Decimal(text) * 100
        except DecimalException:
            raise StopValidation(COST_MESSAGE) from None
        if not amount.is_finite() or amount != amount.to_integral_value():
            raise StopValidation(COST_MESSAGE)
        if amount < 0:
            raise StopValidation("A unit cost cannot be negative")
        if amount > MAX_COST_CENTS:
            raise StopValidation(f"A unit cost is at most {MAX_COST_CENTS // 100:,}.{MAX_COST_CENTS % 100:02d}")
        self.cents = int(amount)


def cost_text(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class DateField(StringField):
    """A date typed (or picked) as 2026-12-24, in `day`; empty is None."""

    day: date | None = None

    def pre_validate(self, form: Form) -> None:
        self.day = None
        text = (self.data or "").strip()
        if not text:
            return
        if len(text) > 10:
            raise StopValidation("The expected date has at most 10 characters, such as 2026-12-24")
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise StopValidation("The expected date is a date such as 2026-12-24")
        try:
            self.day = date.fromisoformat(text)
        except ValueError:
            raise StopValidation("The expected date is not a day of the calendar") from None


class SupplierForm(Form):
    name = TextField("Name", Supplier.name, called="The name", required=True)
    email = TextField("Email for purchase orders", Supplier.email, called="The email")
    address = LongTextField("Address", Supplier.address, called="The address")
    lead_time_days = QuantityField("Lead time (days)", minimum=0, maximum=MAX_LEAD_TIME_DAYS, called="The lead time")
    active = BooleanField("Active (new purchase orders may go to it)", default=True)

    def details(self) -> SupplierDetails:
        return SupplierDetails(name=self.name.data or "", email=self.email.value, address=self.address.value,
                               lead_time_days=self.lead_time_days.data, active=bool(self.active.data))

    def fill_from(self, supplier: Supplier) -> None:
        for name in ("name", "email", "address", "lead_time_days", "active"):
            getattr(self, name).data = getattr(supplier, name)


class SupplierProductForm(Form):
    sku = TextField("Our SKU", Product.sku, called="The SKU", required=True)
    supplier_sku = TextField("Supplier's SKU", SupplierProduct.supplier_sku, called="The supplier's SKU")
    unit_cost = CostField("Unit cost")


def chosen_id(formdata: Any, name: str) -> int | None:
    """A select's id, or None when it is not one."""
    return as_id(formdata.get(name))


class PurchaseOrderForm(Form):
    """A PO's details: the supplier (on creation), where it goes, when it is expected, notes."""

    expected_on = DateField("Expected")
    notes = LongTextField("Notes for the supplier", maximum=MAX_NOTES_LENGTH, called="The notes")


class AddLineForm(Form):
    sku = TextField("SKU", Product.sku, called="The SKU", required=True)
    quantity = QuantityField("Quantity", minimum=1, maximum=MAX_STOCK_QUANTITY)
    unit_cost = CostField("Unit cost (empty: the supplier's)", required=False)


class LineForm(Form):
    quantity = QuantityField("Quantity (0 removes the line)", minimum=0, maximum=MAX_STOCK_QUANTITY)
    unit_cost = CostField("Unit cost")
