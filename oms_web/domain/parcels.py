"""A parcel's size and weight, from what goes in it and the box it goes in (a package preset)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..extensions import db
from ..models import Order, PackagePreset
from .errors import InvalidInput


# The heaviest parcel a packer may weigh in: 70 kg, the most any of the big carriers takes.
MAX_PARCEL_GRAMS = 70_000


def parcel_for(order: Order, wanted: Mapping[int, int], preset_id: int | None = None,
               weighed_grams: int | None = None) -> dict[str, Any]:
    """{"weight_grams", "length_mm", "width_mm", "height_mm", "preset"}: the contents' weight plus the
    box's (or what the packer weighed), the box's size, or without one the contents' own boxes side by
    side (longest, widest, stacked). Raises InvalidInput for an unknown preset, a weight out of bounds,
    or a parcel that weighs nothing (no product weights)."""
    if weighed_grams is not None and (isinstance(weighed_grams, bool) or not isinstance(weighed_grams, int)
                                      or not 1 <= weighed_grams <= MAX_PARCEL_GRAMS):
        raise InvalidInput(f"The weighed weight must be a whole number of grams from 1 to {MAX_PARCEL_GRAMS:,}",
                           field="weight_grams")
    lines = {line.id: line for line in order.lines}
    weight = length = width = height = 0
    for line_id, units in wanted.items():
        product = lines[line_id].product
        if product is None:
            continue
        weight += units * product.weight_grams
        length, width = max(length, product.length_mm), max(width, product.width_mm)
        height += units * product.height_mm
    preset = None
    if preset_id is not None:
        preset = db.session.get(PackagePreset, preset_id)
        if preset is None:
            raise InvalidInput("That package preset does not exist", field="preset_id")
        weight += preset.tare_grams
        length, width, height = preset.length_mm, preset.width_mm, preset.height_mm
    if weighed_grams is not None:
        weight = weighed_grams
    if weight <= 0:
        raise InvalidInput("The parcel weighs nothing: give its products a weight (Catalog) to buy a label",
                           field="parcel")
    return {"weight_grams": weight, "length_mm": length, "width_mm": width, "height_mm": height,
            "preset": preset.name if preset else None}
