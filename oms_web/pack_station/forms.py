"""The pack station's form: the scan, and the parcel the station posts back with it: `order_id`, and
for each line `shown-<line id>` (units it was shown to pack) and `scanned-<line id>`.

The parcel is the packer's, held in the page; here it is only read and bounded. Whether it still
fits the order is domain.packing's to say.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..domain.errors import InvalidInput
from ..domain.orders import MAX_LINE_QUANTITY
from ..domain.packing import MAX_SCAN_LENGTH
from ..domain.return_scans import CONDITION_LABELS as CONDITIONS
from ..formfields import Form, TextField
from ..web import as_id

_STATE_FIELD = re.compile(r"(shown|scanned)-([0-9]{1,18})")
ACTIONS = ("scan", "close", "cancel", "receive")
# What a packer may type instead of pressing a key: a printed sheet of these barcodes on the bench works too.
COMMANDS = {"CLOSE": "close", "CANCEL": "cancel", "RECEIVE": "receive"}
GARBLED = "The station's figures for this order are garbled: scan the order again"


class StationForm(Form):
    code = TextField("Scan", maximum=MAX_SCAN_LENGTH, called="The scan")


def posted_parcel(form: Mapping[str, str]) -> tuple[int | None, dict[int, int], dict[int, int]]:
    """(order id or None, units shown per line, units scanned per line) as posted.

    Raises InvalidInput for anything that is not a station's own post: a bad id, a count that is not
    a whole number within bounds, a line with one figure and not the other."""
    raw_order = (form.get("order_id") or "").strip()
    order_id = as_id(raw_order) if raw_order else None
    if raw_order and order_id is None:
        raise InvalidInput(GARBLED, field="code")
    figures: dict[str, dict[int, int]] = {"shown": {}, "scanned": {}}
    for name in form:
        state = _STATE_FIELD.fullmatch(name)
        if state is None:
            if name.startswith(("shown-", "scanned-")):
                raise InvalidInput(GARBLED, field="code")
            continue
        raw = (form.get(name) or "").strip()
        if not re.fullmatch(r"[0-9]{1,7}", raw) or int(raw) > MAX_LINE_QUANTITY:
            raise InvalidInput(GARBLED, field="code")
        figures[state.group(1)][int(state.group(2))] = int(raw)
    shown, scanned = figures["shown"], figures["scanned"]
    if set(shown) != set(scanned) or (order_id is None and shown) or (order_id is not None and not shown):
        raise InvalidInput(GARBLED, field="code")
    return order_id, shown, scanned


def action_of(form: Mapping[str, str], code: str) -> str:
    """What the post asks: a button's action, else a typed command, else a scan."""
    action = form.get("action") or "scan"
    if action not in ACTIONS:
        raise InvalidInput(f"The station does one of: {', '.join(ACTIONS)}", field="code")
    return COMMANDS.get(code.strip().upper(), action) if action == "scan" else action


# ---------------------------------------------------------------- a return being received (domain.return_scans)

_RECEIPT_FIELD = re.compile(r"(expect|counted|condition)-([0-9]{1,18})")
RETURN_GARBLED = "The station's figures for this return are garbled: scan the return slip again"


def posted_receipt(form: Mapping[str, str]) -> tuple[int, dict[int, int], dict[int, int], dict[int, str]] | None:
    """(return id, units shown per return line, units counted, condition) as posted, or None when the
    station holds no return. Raises InvalidInput for anything that is not a station's own post."""
    raw_return = (form.get("return_id") or "").strip()
    figures: dict[str, dict[int, Any]] = {"expect": {}, "counted": {}, "condition": {}}
    for name in form:
        field = _RECEIPT_FIELD.fullmatch(name)
        if field is None:
            if name.startswith(("expect-", "counted-", "condition-")):
                raise InvalidInput(RETURN_GARBLED, field="code")
            continue
        raw = (form.get(name) or "").strip()
        if field.group(1) == "condition":
            if raw not in CONDITIONS:
                raise InvalidInput(RETURN_GARBLED, field="code")
            figures["condition"][int(field.group(2))] = raw
            continue
        if not re.fullmatch(r"[0-9]{1,7}", raw) or int(raw) > MAX_LINE_QUANTITY:
            raise InvalidInput(RETURN_GARBLED, field="code")
        figures[field.group(1)][int(field.group(2))] = int(raw)
    shown, counted, conditions = figures["expect"], figures["counted"], figures["condition"]
    if not raw_return:
        if shown or counted or conditions:
            raise InvalidInput(RETURN_GARBLED, field="code")
        return None
    return_id = as_id(raw_return)
    if return_id is None or not shown or set(shown) != set(counted) or not set(conditions) <= set(shown):
        raise InvalidInput(RETURN_GARBLED, field="code")
    return return_id, shown, counted, conditions
