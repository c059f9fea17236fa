"""The order page's forms: void, note, edit lines, ship, mark a shipment shipped.

The lines and ship forms have a field per order line (`qty-<line id>`, `ship-<line id>`), so they are
made for one order by `lines_form` and `ship_form`.
"""
from __future__ import annotations

from typing import Any

from wtforms import BooleanField

from ..domain.orders import MAX_NOTE_LENGTH
from ..formfields import Form, LongTextField, QuantityField, TextField
from ..models import LabelPurchase, Order, OrderLine, Shipment


class VoidForm(Form):
    reason = TextField("Reason (the customer and your colleagues see this)", Order.void_reason, called="The reason")


class NoteForm(Form):
    note = LongTextField("Add a note", maximum=MAX_NOTE_LENGTH, called="The note")


class _CarrierFields(Form):
    carrier = TextField("Carrier", Shipment.carrier, called="The carrier")
    tracking_number = TextField("Tracking no.", Shipment.tracking_number, called="The tracking number")


class ShippedForm(_CarrierFields):
    """A packed shipment handed to the carrier (the service says which of the two is missing)."""


class ShipForm(_CarrierFields):
    service_level = TextField("Service", Shipment.service_level, called="The service")
    # A rate staff picked from the parcel's quote (domain.labels); empty: the channel's rate rule decides.
    quote_id = TextField("Quote", LabelPurchase.remote_id, called="The quote")
    rate_id = TextField("Rate", LabelPurchase.rate_id, called="The rate")
    preset_id = QuantityField("Box", minimum=1, maximum=2**31 - 1, required=False, called="The box")

    def quantities(self, order: Order) -> dict[int, int]:
        return {line.id: self[f"ship-{line.id}"].data or 0 for line in order.lines}


class LinesForm(Form):
    new_sku = TextField("Add product", OrderLine.sku, called="The SKU")
    new_qty = QuantityField("Quantity", minimum=1, required=False, default=1)


def _with_fields(base: type[Form], fields: dict[str, Any]) -> type[Form]:
    """`base` with fields named at run time (a line's id is part of the name)."""
    form = type(base.__name__, (base,), {})
    for name, unbound in fields.items():
        setattr(form, name, unbound)
    return form


def lines_form(order: Order, formdata: Any = None) -> LinesForm:
    fields: dict[str, Any] = {}
    for line in order.lines:
        fields[f"qty-{line.id}"] = QuantityField(f"Quantity of {line.sku}", required=False, default=line.ordered)
        fields[f"remove-{line.id}"] = BooleanField(f"Remove {line.sku}")
    return _with_fields(LinesForm, fields)(formdata=formdata)


def ship_form(order: Order, formdata: Any = None, location_id: int | None = None) -> ShipForm:
    """The ship form; its quantities offered are the units at `location_id` (every unit when None)."""
    from ..domain.allocations import units_at

    here = units_at(order, location_id) if location_id is not None else None
    fields = {f"ship-{line.id}": QuantityField(f"Units of {line.sku} to ship", called=f"Units of {line.sku}",
                                               required=False, default=line.to_ship if here is None else here.get(line.id, 0))
              for line in order.lines}
    return _with_fields(ShipForm, fields)(formdata=formdata, service_level=order.service_level)
