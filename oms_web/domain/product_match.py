"""What a SKU box means when no product has what was typed in it: the refusal, with the products whose
name matches, since people type the name they know ("Solar lantern") into a box that wants the SKU."""
from __future__ import annotations

import sqlalchemy as sa

from ..extensions import db
from ..models import Product
from .errors import InvalidInput

MAX_SUGGESTIONS = 5


def products_named_like(text: str, limit: int = MAX_SUGGESTIONS) -> list[Product]:
    """Active products whose name holds every word of `text`, ignoring case."""
    words = text.lower().split()[:5]
    if not words:
        return []
    return db.session.scalars(
        sa.select(Product).where(Product.active, *(sa.func.lower(Product.name).contains(w, autoescape=True)
                                                   for w in words))
        .order_by(Product.name, Product.sku).limit(limit)).all()


def unknown_sku(typed: list[str], *, field: str = "sku") -> InvalidInput:
    """The refusal for SKU boxes whose text no product has as its SKU, offering the products named like it."""
    message = f"No product has the SKU {', '.join(typed)}"
    suggestions = []
    for text in typed:
        named = products_named_like(text)
        if named:
            suggestions.append(f"for {text}, use the SKU of " + ", ".join(f"{p.name} ({p.sku})" for p in named))
    if suggestions:
        message += ": " + "; ".join(suggestions)
    elif len(typed) == 1 and " " in typed[0]:
        message = f"No product has the SKU or the name {typed[0]}"
    return InvalidInput(message, field=field)
