"""What every screen's form is made of: text bounded by its model column, a whole number within the
app's one quantity limit, and the refusal of a form that does not validate.

The screens' own forms (`<package>/forms.py`) are built from these, so a form can never accept what
the database refuses, and each message names the field the way the shop says it.
"""
from __future__ import annotations

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import StopValidation

from .domain.errors import InvalidInput
from .domain.orders import MAX_LINE_QUANTITY
from .web import column_length

# The largest number of units one action moves (an order line, a receipt, a shipment): one limit for
# every form and the order API alike.
MAX_QUANTITY = MAX_LINE_QUANTITY


class Form(FlaskForm):
    class Meta:
        csrf = False  # the app-wide CSRFProtect checked the token before any view ran


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class _Bounded:
    """Text at most `limit` characters (after stripping), and present when required."""

    def __init__(self, limit: int, required: bool) -> None:
        self.limit, self.required = limit, required
        self.field_flags = {"maxlength": limit, **({"required": True} if required else {})}

    def __call__(self, form: Form, field: Any) -> None:
        text = field.data or ""
        if len(text) > self.limit:
            raise StopValidation(f"{field.called} has at most {self.limit:,} characters ({len(text):,} given)")
        if not text and self.required:
            raise StopValidation(f"{field.called} is required")


class _BoundedMixin:
    def __init__(self, label: str, column: Any = None, *, called: str | None = None, required: bool = False,
                 maximum: int | None = None, **kwargs: Any) -> None:
        limit = maximum if maximum is not None else column_length(column)
        super().__init__(label, filters=[_stripped], validators=[_Bounded(limit, required)], **kwargs)
        self.called = called or label

    @property
    def value(self) -> str | None:
        """The text, None when empty (as the services take it)."""
        return self.data or None


class TextField(_BoundedMixin, StringField):
    """A one-line text whose length is its column's (or `maximum`, for text kept outside a column)."""


class LongTextField(_BoundedMixin, TextAreaField):
    """A note: several lines, bounded as TextField is."""


class _WholeNumber:
    def __init__(self, minimum: int, maximum: int, required: bool) -> None:
        self.minimum, self.maximum, self.required = minimum, maximum, required
        self.field_flags = {"min": minimum, "max": maximum, "step": 1, **({"required": True} if required else {})}

    def __call__(self, form: Form, field: Any) -> None:
        if field.process_errors:
            raise StopValidation()  # "must be a whole number" is said already
        if field.data is None:
            raise StopValidation(f"{field.called} is required" if self.required else None)
        if field.data > self.maximum:  # the same words as web.in_range, for every number of the app
            raise StopValidation(f"{field.called} is too large: at most {self.maximum:,}")
        if field.data < self.minimum:
            raise StopValidation(f"{field.called} must be between {self.minimum:,} and {self.maximum:,}")


class QuantityField(IntegerField):
    """A whole number of units, from `minimum` to the app's one MAX_QUANTITY (or `maximum`).

    ASCII digits only: int() would also take "²" or "1_000", and chew on thousands of digits."""

    def __init__(self, label: str, *, minimum: int = 0, maximum: int = MAX_QUANTITY, required: bool = True,
                 called: str | None = None, **kwargs: Any) -> None:
        super().__init__(label, validators=[_WholeNumber(minimum, maximum, required)], **kwargs)
        self.called = called or label

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not raw:
            return
        if not re.fullmatch(r"-?[0-9]+", raw):
            raise ValueError(f"{self.called} must be a whole number")
        # Past 18 digits it is out of any range: no need to read it all.
        self.data = int(raw) if len(raw.lstrip("-0")) <= 18 else (-1 if raw.startswith("-") else 10**18) * 10

    @property
    def value(self) -> int | None:
        return self.data


def field_errors(form: FlaskForm) -> dict[str, str]:
    """Each field's first message, as the templates' field() macro shows them."""
    return {name: messages[0] for name, messages in form.errors.items() if messages}


def validated(form: Form) -> Form:
    """The form when every field is valid; else the first field's message as a refusal naming it, which
    the views already show next to that field (and which changes nothing)."""
    if not form.validate():
        name, message = next(iter(field_errors(form).items()))
        raise InvalidInput(message, field=name)
    return form
