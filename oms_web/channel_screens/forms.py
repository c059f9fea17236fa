"""The channel page's forms: its shipping defaults. Bounds come from the model's columns and the
service's limits, so the form never takes what the database or domain.channel_shipping would refuse."""
from __future__ import annotations

from ..domain.deadlines import MAX_HANDLING_DAYS
from ..formfields import Form, QuantityField, TextField
from ..models import SalesChannel


class ShippingDefaultsForm(Form):
    handling_days = QuantityField("Handling time (days to ship an order without a marketplace ship-by date)",
                                  minimum=0, maximum=MAX_HANDLING_DAYS, called="Handling time")
    default_carrier = TextField("Default carrier (e.g. UPS)", SalesChannel.default_carrier, called="The default carrier")
    default_service = TextField("Default service (e.g. Ground)", SalesChannel.default_service,
                                called="The default service")

    def fill_from(self, channel: SalesChannel) -> None:
        self.handling_days.data = channel.handling_days
        self.default_carrier.data = channel.default_carrier
        self.default_service.data = channel.default_service
