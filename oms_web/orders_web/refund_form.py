"""The order page's refund form: units per invoiced line (up to those not yet refunded), shipping, another
amount, reason, method and the channel's reference. Bounds come from the refund service and its columns."""
from __future__ import annotations

import re
from typing import Any

from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation

from ..domain import money
from ..domain.refunds import MAX_REFUND_CENTS, Refundable, RefundRequest
from ..formfields import Form, QuantityField, TextField
from ..models import Order, Refund, RefundMethod, RefundReason

_AMOUNT = re.compile(r"[0-9]{1,9}(\.[0-9]{1,2})?")


class AmountField(StringField):
    """An amount of money typed as 12.50 (or 12), kept in whole cents in `cents`; empty is zero."""

    def __init__(self, label: str, *, called: str, **kwargs: Any) -> None:
        super().__init__(label, validators=[self._check], filters=[lambda v: v.strip() if isinstance(v, str) else v],
                         **kwargs)
        self.called = called

    @property
    def cents(self) -> int:
        text = (self.data or "").replace(",", "")
        if not text:
            return 0
        whole, _, fraction = text.partition(".")
        return int(whole) * 100 + int((fraction + "00")[:2])

    def _check(self, form: Form, field: Any) -> None:
        text = (self.data or "").replace(",", "")
        if text and not _AMOUNT.fullmatch(text):
            raise StopValidation(f"{self.called} must be an amount like 12.50, up to "
                                 f"{money.decimal_text(MAX_REFUND_CENTS)}")
        if text and self.cents > MAX_REFUND_CENTS:
            raise StopValidation(f"{self.called} is too large: at most {money.decimal_text(MAX_REFUND_CENTS)}")


class RefundForm(Form):
    shipping = AmountField("Shipping to refund (tax incl.)", called="Shipping")
    amount = AmountField("Other amount (tax incl.)", called="The other amount")
    reason = SelectField("Reason", choices=[SelectChoice(r.value, r.label) for r in RefundReason])
    method = SelectField("Paid back by", choices=[SelectChoice(m.value, m.label) for m in RefundMethod])
    note = TextField("Note", Refund.note, called="The note")
    channel_reference = TextField("Channel's refund id", Refund.channel_reference, called="The channel's refund id")

    def request(self, order: Order, return_id: int | None = None) -> RefundRequest:
        return RefundRequest(return_id=return_id,
            reason=RefundReason(self.reason.data), method=RefundMethod(self.method.data),
            units={line.id: self[f"units-{line.id}"].data or 0 for line in order.lines if f"units-{line.id}" in self},
            shipping_cents=self.shipping.cents, amount_cents=self.amount.cents, note=self.note.value,
            channel_reference=self.channel_reference.value)


def refund_form(order: Order, left: Refundable | None, formdata: Any = None,
                prefill_units: dict[int, int] | None = None) -> RefundForm:
    """The form for this order: a units field per line with invoiced units not yet refunded. With
    `prefill_units` (a received return's units per line) it holds them, up to those refundable, and the
    reason "returned"."""
    form = type("RefundForm", (RefundForm,), {})
    for line in order.lines:
        figures = left.lines.get(line.id) if left else None
        if figures and figures.refundable_units > 0:
            setattr(form, f"units-{line.id}", QuantityField(
                f"Units of {line.sku} to refund", called=f"Units of {line.sku}", required=False, default=0,
                maximum=figures.refundable_units))
    data: dict[str, Any] = {}
    if prefill_units and left:
        data = {f"units-{line_id}": min(units, left.lines[line_id].refundable_units)
                for line_id, units in prefill_units.items()
                if line_id in left.lines and left.lines[line_id].refundable_units > 0}
        data["reason"] = RefundReason.RETURNED.value
    return form(formdata=formdata, data=data or None)
