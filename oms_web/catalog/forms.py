"""The catalogue's forms: the product form, and the stock forms of a product's row (receiving units,
setting the count after a stocktake). Every bound comes from the model's columns or the catalogue service's limits, so
the form never accepts what the database or the service would refuse. The service checks again: it
is the one the seed and the tests call."""
from __future__ import annotations

from decimal import Decimal, DecimalException

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from ..domain.catalog import (GTIN_LENGTHS, MAX_PRICE_CENTS, MAX_SIDE_MM, MAX_TAX_RATE_BP, MAX_WEIGHT_GRAMS, PRICE_MESSAGE,
                              SKU_MESSAGE, ProductDetails)
from ..domain.inventory import MAX_STOCK_QUANTITY
from ..formfields import Form, QuantityField, TextField
from ..models import Product, StockMove
from ..web import as_id, column_length


class PriceField(StringField):
    """An amount typed as 12.50, kept as whole cents in `cents` (None when it is not one)."""

    cents: int | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        self.cents = None
        try:
            amount = Decimal((self.data or "").strip().replace(",", "")) * 100
        except DecimalException:
            return
        if amount.is_finite() and amount == amount.to_integral_value() and 0 <= amount <= MAX_PRICE_CENTS:
            self.cents = int(amount)

    def pre_validate(self, form: FlaskForm) -> None:
        if self.raw_data and (self.raw_data[0] or "").strip() and self.cents is None:
            raise ValidationError(PRICE_MESSAGE)


class WholeField(IntegerField):
    """A whole number whose message, when it is not one, says which numbers the field takes."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(self.description) from None


def _whole(label: str, what: str, maximum: int) -> IntegerField:
    """An optional whole number from 0; `what` names it in its message (a number over the top in the
    app's one wording for it)."""
    message = f"{what} must be between 0 and {maximum:,}, a whole number"
    return WholeField(label, description=message, validators=[
        Optional(), NumberRange(max=maximum, message=f"{what} is too large: at most {maximum:,}"),
        NumberRange(min=0, message=message)])


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _text(label: str, what: str, column, *, required: str | None = None, too_long: str | None = None,
          more: tuple = ()) -> StringField:
    """Text bounded by its column; `required` is the message when it is left empty (or blank)."""
    limit = column_length(column)
    return StringField(label, filters=[_strip], validators=[
        DataRequired(required) if required else Optional(),
        Length(max=limit, message=too_long or f"{what} has at most {limit:,} characters"), *more])


class ChoiceOfIdField(StringField):
    """An optional id picked from a list (a <select>): empty is none; anything but an id is refused."""

    chosen: int | None = None

    def process_formdata(self, valuelist: list[str]) -> None:
        super().process_formdata(valuelist)
        text = (self.data or "").strip()
        self.chosen = as_id(text) if text else None

    def pre_validate(self, form: FlaskForm) -> None:
        if (self.data or "").strip() and self.chosen is None:
            raise ValidationError(self.description)


class ProductForm(FlaskForm):
    """Editing a product; NewProductForm adds the SKU, which is set once."""

    class Meta:
        csrf = False  # the app-wide CSRFProtect has checked the token before any view runs

    name = _text("Name", "The name", Product.name, required="Give the product a name")
    price = PriceField("Price", validators=[InputRequired(PRICE_MESSAGE)])
    tax_rate_bp = _whole("Tax rate in basis points (2000 = 20%; empty = the shop's default)", "Tax rate (basis points)",
                         MAX_TAX_RATE_BP)
    bin_location = _text("Bin location (aisle-bay-shelf, e.g. A-03-2)", "The bin", Product.bin_location)
    barcode = _text(f"Barcode (GTIN of {', '.join(map(str, GTIN_LENGTHS))} digits)", "The barcode", Product.barcode)
    reorder_point = _whole("Reorder point (low stock at or below this many available)", "The reorder point",
                           MAX_STOCK_QUANTITY)
    weight_grams = _whole("Weight (grams)", "The weight", MAX_WEIGHT_GRAMS)
    length_mm = _whole("Length (mm)", "The length", MAX_SIDE_MM)
    width_mm = _whole("Width (mm)", "The width", MAX_SIDE_MM)
    height_mm = _whole("Height (mm)", "The height", MAX_SIDE_MM)
    active = BooleanField("Active (offered for new orders)", default=True)
    drop_ship_location_id = ChoiceOfIdField("Drop-shipped by", description="Choose a drop-ship supplier from the list")

    def details(self) -> ProductDetails:
        return ProductDetails(
            name=self.name.data or "", price_cents=self.price.cents or 0, tax_rate_bp=self.tax_rate_bp.data,
            bin_location=self.bin_location.data, barcode=self.barcode.data,
            reorder_point=self.reorder_point.data or 0, weight_grams=self.weight_grams.data or 0,
            length_mm=self.length_mm.data or 0, width_mm=self.width_mm.data or 0, height_mm=self.height_mm.data or 0,
            active=bool(self.active.data), drop_ship_location_id=self.drop_ship_location_id.chosen)

    def fill_from(self, product: Product) -> None:
        for name in ("name", "tax_rate_bp", "bin_location", "barcode", "reorder_point", "weight_grams", "length_mm", "width_mm",
                     "height_mm", "active"):
            getattr(self, name).data = getattr(product, name)
        self.drop_ship_location_id.data = str(product.drop_ship_location_id or "")
        self.price.data = f"{product.price_cents // 100}.{product.price_cents % 100:02d}"  # no float on the way


class NewProductForm(ProductForm):
    sku = _text("SKU", "The SKU", Product.sku, required=SKU_MESSAGE, too_long=SKU_MESSAGE,
                more=(Regexp(r"^\S*$", message=SKU_MESSAGE),))



class ReceiveForm(Form):
    quantity = QuantityField("Quantity received", minimum=1, maximum=MAX_STOCK_QUANTITY)
    note = TextField("PO / note", StockMove.note, called="The note")


class CountForm(Form):
    # A count is how many units are on the shelf, not a quantity moved: its bound is the service's.
    counted = QuantityField("Counted quantity", minimum=0, maximum=MAX_STOCK_QUANTITY)
    note = TextField("Reason", StockMove.note, called="The reason")


FORMS = {"receive": ReceiveForm, "count": CountForm}


def row_forms(failed: str | None = None, formdata=None) -> dict[str, Form]:
    """A row's two forms, empty; the one that was refused (`failed`) holding what was posted."""
    return {name: form(formdata=formdata if name == failed else None) for name, form in FORMS.items()}
