"""The stock forms of a product's row: receiving units, and setting the count after a stocktake."""
from __future__ import annotations

from ..domain.inventory import MAX_STOCK_QUANTITY
from ..formfields import Form, QuantityField, TextField
from ..models import StockMove


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
