"""Reading a report file, whatever its format: its text streamed from the upload (never the whole file
in memory as bytes and again as text), the header found by name, rows as dicts by header name, the
file's own errors (ReportError) and a row's (RowError), and the checks every format shares.

The formats themselves are amazon_reports.py and ebay_reports.py; what is done with a file (preview,
import) is reports.py.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO, TextIO

from ..domain.errors import InvalidInput
from ..domain.orders import MAX_LINE_QUANTITY, LineRequest, NewOrder, check_quantity
from .importing import Skip

# A real report of a busy month is well under this; the limit keeps one upload from holding a worker
# for minutes (the byte limit alone lets through 50 MB of empty lines).
MAX_LINES = 300_000
MAX_ORDER_ID = 64  # Order.channel_order_id
_CHUNK = 1 << 20  # bytes read at a time while the file's encoding is found


class ReportError(InvalidInput):
    """The file as a whole cannot be read as the kind of report it was said to be (nothing is kept)."""

    def __init__(self, message: str):
        super().__init__(message, field="report")


@dataclass(frozen=True)
class RowError:
    line: int  # the line of the file, counting from 1
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class ParsedFile:
    orders: list[NewOrder] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # item rows read

    @property
    def lines(self) -> int:
        return sum(len(order.lines) for order in self.orders)


# ---------------------------------------------------------------- the file's text

@contextmanager
def report_text(source: bytes | BinaryIO) -> Iterator[TextIO]:
    """The report's text as a stream, decoded as `encoding_of` finds it; the source (an upload spooled
    to disk, or the bytes kept for an import) is read a megabyte at a time and left open.

    Raises ReportError as encoding_of does.
    """
    stream = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source
    encoding = encoding_of(stream)
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")  # newline="": csv reads the line ends
    try:
        yield text
    finally:
        text.detach()  # closing the wrapper would close the upload, still to be kept


def encoding_of(stream: BinaryIO) -> str:
    """UTF-8 (with or without a byte order mark), else Windows-1252 / Latin-1, as Amazon's EU files are;
    UTF-16 with its byte order mark, as Excel saves "Unicode text". Read from the start, in chunks.

    Raises ReportError for a file that is not text (a NUL byte: a workbook, an image, a UTF-16 file
    without its mark) or has more than MAX_LINES lines.
    """
    stream.seek(0)
    start = stream.read(4)
    if start.startswith(b"PK\x03\x04"):
        raise ReportError("This is a zip file or an Excel workbook, not a report: "
                          "upload the report as Amazon or eBay gives it (text), not opened and saved in Excel")
    candidates = ("utf-8-sig", "cp1252", "latin-1")
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",) + candidates
    for encoding in candidates:
        lines = _lines_read_as(stream, encoding)
        if lines is not None:
            break
    else:  # Latin-1 reads any byte
        raise AssertionError("no encoding read the file")
    if lines > MAX_LINES:
        raise ReportError(f"The file has {lines:,} lines; a report file may have at most {MAX_LINES:,}: "
                          f"split it by date and upload the parts")
    return encoding


def _lines_read_as(stream: BinaryIO, encoding: str) -> int | None:
    """The file's lines (its "\n" or, for old Mac files, "\r" line ends) read in this encoding; None when
    it is not in this encoding. Raises ReportError at a NUL character."""
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    newlines = returns = 0
    try:
        while True:
            chunk = stream.read(_CHUNK)
            text = decoder.decode(chunk, final=not chunk)
            if "\x00" in text:
                raise ReportError("The file holds binary data (NUL bytes), not the text of a report: "
                                  "is it the right file?")
            newlines += text.count("\n")
            returns += text.count("\r")
            if not chunk:
                return max(newlines, returns)
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------- rows

def header_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").strip().strip('"').lower().replace("_", "-").split())


class Row(dict):
    """One data row: header name → its cell, stripped; `line` is its line in the file."""

    __slots__ = ("line",)

    def first(self, *names: str) -> str:
        """The first of these columns that has a value, or ""."""
        for name in names:
            value = self.get(name)
            if value:
                return value
        return ""


def table(text: TextIO, delimiter: str, *, header_marks: tuple[str, ...], quoting: int) -> tuple[set[str], list[Row]]:
    """The header's names (from the first row naming one of `header_marks`) and the rows after it that
    hold anything. A name that repeats keeps its first column. Raises ReportError for a file that has
    no such header or that csv cannot read."""
    keys: list[str] | None = None
    rows: list[Row] = []
    reader = csv.reader(text, delimiter=delimiter, quoting=quoting)
    try:
        for cells in reader:
            if keys is None:
                found = [header_key(cell) for cell in cells]
                if any(mark in found for mark in header_marks):
                    seen: set[str] = set()
                    keys = []
                    for key in found:
                        keys.append(key if key not in seen else f"{key} (repeated)")
                        seen.add(key)
                    width = len(keys)
                continue
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            row = Row(zip(keys, map(str.strip, cells)))
            if any(row.values()):
                row.line = reader.line_num
                rows.append(row)
    except csv.Error as error:  # a field over csv's limit (131,072 characters), an unclosed quote
        raise ReportError(f"Line {reader.line_num} cannot be read ({error}): is this the right kind of file?") from None
    if keys is None:
        raise ReportError(f"No header line naming {' or '.join(repr(m) for m in header_marks)}: "
                          f"is this the right kind of file?")
    return set(keys), rows


def require(columns: set[str], *alternatives: tuple[str, ...]) -> None:
    missing = [" or ".join(names) for names in alternatives if not any(name in columns for name in names)]
    if missing:
        raise ReportError(f"The file has no {', '.join(repr(m) for m in missing)} column")


def whole_quantity(text: str, what: str) -> int:
    """A quantity cell: ASCII digits, from 0 (a line with nothing to ship) up to the largest quantity of
    an order line (the order services' own check). Raises ValueError, a row's error, for anything else."""
    shown = text[:20] + ("…" if len(text) > 20 else "")
    if not (text and text.isascii() and text.isdigit()):
        raise ValueError(f"{what} {shown!r} is not a whole number")
    try:
        # Past 18 digits it is over the limit anyway (and int() refuses over 4,300 digits).
        return check_quantity(int(text) if len(text) <= 18 else MAX_LINE_QUANTITY + 1, allow_zero=True)
    except InvalidInput as error:
        raise ValueError(f"{what} {shown}: {error.message}") from None


@dataclass
class Group:
    """The rows of one order while the file is read."""

    first_line: int
    rows: list[Row] = field(default_factory=list)
    lines: list[LineRequest] = field(default_factory=list)
    shipping_cents: int = 0
    shipping_tax_cents: int = 0
    bad: bool = False


def group_rows(rows: Iterable[Row], key: Callable[[Row], str], parsed: ParsedFile, what: str) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for row in rows:
        order_id = key(row)
        if not order_id:
            parsed.errors.append(RowError(row.line, f"no {what}"))
            continue
        if len(order_id) > MAX_ORDER_ID:
            parsed.errors.append(RowError(row.line, f"{what} {order_id[:20]!r}… is longer than {MAX_ORDER_ID} characters"))
            continue
        group = groups.get(order_id)
        if group is None:
            group = groups[order_id] = Group(row.line)
        group.rows.append(row)
    return groups


def fail(group: Group, parsed: ParsedFile, row: Row, order_id: str, message: str) -> None:
    group.bad = True
    parsed.errors.append(RowError(row.line, f"order {order_id}: {message}; the order is left out"))


def checked_sku(text: str) -> str:
    sku = (text or "").strip()
    if not sku:
        raise ValueError("no sku")
    if len(sku) > 64:
        raise ValueError(f"sku {sku[:20]!r}… is longer than 64 characters")
    return sku
