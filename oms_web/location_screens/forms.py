"""The location forms: bounds from the Location columns and the locations service's priority range, so a
form never takes what the database or domain.locations would refuse."""
from __future__ import annotations

from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, ValidationError

from ..domain.locations import MAX_PRIORITY, MIN_PRIORITY, LocationDetails
from ..formfields import Form, QuantityField, TextField
from ..models import Location, LocationKind, Supplier
from ..web import as_id

KINDS = [SelectChoice(kind.value, kind.label) for kind in LocationKind]


class SupplierField(SelectField):
    """The supplier a drop-ship location is; empty for the others. A value that names no supplier is refused."""

    def pre_validate(self, form) -> None:
        if self.data and (as_id(self.data) is None or not any(choice.value == self.data for choice in self.choices)):
            raise ValidationError("Choose one of the suppliers listed")

    @property
    def value(self) -> int | None:
        return as_id(self.data) if self.data else None


class LocationForm(Form):
    """Editing a location: everything but its kind, which is set once."""

    name = TextField("Name", Location.name, called="The name", required=True)
    priority = QuantityField(f"Priority ({MIN_PRIORITY}–{MAX_PRIORITY:,}; higher is used first)", minimum=MIN_PRIORITY,
                             maximum=MAX_PRIORITY, called="The priority", default=100)
    active = SelectField("State", choices=[SelectChoice("1", "Active"), SelectChoice("0", "Inactive")], default="1", validate_choice=False,
                         validators=[AnyOf(["1", "0"], message="Choose whether the location is active")])
    supplier = SupplierField("Supplier (drop-ship locations only)", validate_choice=False)
    ship_from_name = TextField("Ship-from name (on labels; empty: the location's name)", Location.ship_from_name,
                               called="The ship-from name")
    line1 = TextField("Address line 1", Location.line1, called="Address line 1")
    line2 = TextField("Address line 2", Location.line2, called="Address line 2")
    city = TextField("City", Location.city, called="The city")
    region = TextField("Region / state", Location.region, called="The region")
    postal_code = TextField("Postal code", Location.postal_code, called="The postal code")
    country = TextField("Country (two letters, e.g. GB)", Location.country, called="The country")

    def __init__(self, *args, suppliers: list[Supplier] = (), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.supplier.choices = [SelectChoice("", "—")] + [SelectChoice(str(s.id), s.name) for s in suppliers]

    def details(self) -> LocationDetails:
        return LocationDetails(
            name=self.name.data or "", priority=self.priority.data, active=self.active.data == "1",
            supplier_id=self.supplier.value, ship_from_name=self.ship_from_name.value, line1=self.line1.value,
            line2=self.line2.value, city=self.city.value, region=self.region.value,
            postal_code=self.postal_code.value, country=self.country.value)

    def fill_from(self, location: Location) -> None:
        for name in ("name", "priority", "ship_from_name", "line1", "line2", "city", "region", "postal_code", "country"):
            getattr(self, name).data = getattr(location, name)
        self.active.data = "1" if location.active else "0"
        self.supplier.data = str(location.supplier_id) if location.supplier_id else ""


class NewLocationForm(LocationForm):
    kind = SelectField("Kind (cannot change later)", choices=KINDS, default=LocationKind.WAREHOUSE.value,
                       validate_choice=False,
                       validators=[AnyOf([k.value for k in LocationKind], message="Choose what kind of location this is")])
