"""Text columns of the model: how much a value may hold, and how to look for part of one.

One home for both, used by the forms, the channel payload reader, the API's OpenAPI document and the
searches, so that no two of them can disagree.
"""
from __future__ import annotations

from typing import Any


def column_length(column: Any) -> int:
    """The most characters a text column holds, read from the model (`Customer.phone` → 40): the one
    source of every length limit, so that nothing accepts what PostgreSQL would refuse."""
    length = getattr(column.type, "length", None)
    if not length:
        raise TypeError(f"{column} has no length: give the text a maximum of its own")
    return length


def escape_like(text: str) -> str:
    """`text` to be matched as written inside a LIKE pattern given `escape="\\"`: its % and _ are not
    wildcards, and its backslashes are its own."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
