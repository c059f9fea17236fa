"""Tables the product writes as text (the Amazon shipment confirmation file, CSV exports): one writer,
so that every cell is made safe the same way.

A spreadsheet runs a cell that begins with `=`, `+`, `-` or `@` as a formula, and a buyer's name, a
carrier's service or a tracking number comes from outside: such a cell gets a leading single quote
(OWASP's rule against CSV injection), which the spreadsheet shows as text.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

FORMULA_MARKS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """The value as a cell's text, with a leading quote when a spreadsheet would run it as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_MARKS) else text


def write_table(rows: Iterable[Sequence[Any]], *, delimiter: str = ",") -> str:
    """The rows (the header first) as text, one line each, every cell through safe_cell.

    Tab-separated (`delimiter="\\t"`) is written as Amazon's flat files are, with no quoting: a tab or
    line break inside a value would shift the columns after it, so runs of whitespace become one space.
    Otherwise CSV, quoted where needed.
    """
    if delimiter == "\t":
        return "".join("\t".join(safe_cell(" ".join(str(value if value is not None else "").split()))
                                 for value in row) + "\n" for row in rows)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerows([safe_cell(value) for value in row] for row in rows)
    return out.getvalue()
