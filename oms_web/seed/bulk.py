"""Writing generated rows fast: plain tuples, in chunks, inside the caller's transaction.

On SQLite the rows go through the driver's executemany; on PostgreSQL through COPY, an order of
magnitude faster than INSERT there. Both run on the connection of the current SQLAlchemy transaction,
so the caller's commit or rollback covers them. Tables are written parents first in every flush, so
a row never reaches the database before the row its foreign key points at.

On PostgreSQL the foreign keys of these tables are dropped for the load and added back at the end,
in the same transaction: adding a foreign key checks every row in one join, where checking row by
row (a trigger and a KEY SHARE lock on the parent per row) made the server the bottleneck. The rows
are still checked, just all at once; a bad one rolls the whole load back.

(Writing from a background thread was tried and was slower: the driver takes the GIL back for every
row, and fighting the generating thread for it cost more than the overlap won.)
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

# Every table the history writes, parents first, with the columns of its tuples.
TABLES: dict[str, tuple[str, ...]] = {
    "customers": ("id", "name", "email", "phone", "created_at"),
    "addresses": ("id", "customer_id", "kind", "name", "line1", "line2", "city", "region", "postal_code", "country"),
    "orders": ("id", "channel_id", "channel_order_id", "status", "payment_status", "segment", "hold_reason",
               "customer_id", "customer_name", "email", "ship_to", "bill_to", "service_level", "currency",
               "subtotal_cents", "tax_cents", "shipping_cents", "total_cents", "created_at", "updated_at",
               "finalized_at", "fulfilled_at", "voided_at", "void_reason", "ship_by"),
    "order_lines": ("id", "order_id", "product_id", "sku", "name", "channel_line_id", "ordered", "allocated",
                    "shipped", "invoiced", "unit_price_cents", "tax_rate_bp"),
    "shipments": ("id", "order_id", "location_id", "status", "carrier", "service_level", "tracking_number", "created_by_id",
                  "created_at", "shipped_at", "delivered_at"),
    "shipment_lines": ("id", "shipment_id", "order_line_id", "quantity"),
    "invoices": ("id", "number", "order_id", "shipment_id", "currency", "subtotal_cents", "tax_cents",
                 "shipping_cents", "total_cents", "issued_by_id", "issued_at"),
    "invoice_lines": ("id", "invoice_id", "order_line_id", "sku", "name", "quantity", "unit_price_cents",
                      "tax_rate_bp", "line_total_cents", "tax_cents"),
    "stock_ledger": ("id", "product_id", "location_id", "in_hand_delta", "committed_delta", "reason", "note", "order_id",
                     "shipment_id", "user_id", "created_at"),
    "order_events": ("id", "order_id", "user_id", "kind", "message", "data", "created_at"),
}

FLUSH_EVERY = 50_000  # rows buffered across all tables before they are sent
BULK_FOREIGN_KEY_CHECK_FROM = 250_000  # rows: from here, foreign keys are checked once at the end (PostgreSQL)


class BulkWriter:
    """Buffers rows per table (`writer.rows["orders"].append(tuple)`) and sends them in chunks."""

    def __init__(self, connection: sa.Connection):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
        self.written = 0
        self._foreign_keys: list[tuple[str, str, str]] = []

    def start(self, *, rows_expected: int) -> None:
        """Before the first row: on PostgreSQL and for a big load, set the written tables' foreign keys
        aside. (Dropping one locks its tables against readers too, until the commit: not worth it for a
        small load.)"""
        if self.dialect != "postgresql" or rows_expected < BULK_FOREIGN_KEY_CHECK_FROM:
            return
        self._foreign_keys = [tuple(row) for row in self.connection.execute(sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid::regclass::text = ANY(:tables) ORDER BY conrelid, conname"),
            {"tables": list(TABLES)})]
        for table, name, _definition in self._foreign_keys:
            self.connection.execute(sa.text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))

    def next_ids(self) -> dict[str, int]:
        """The first free id of every table; rows are written with explicit ids."""
        return {table: (self.connection.scalar(sa.text(f"SELECT MAX(id) FROM {table}")) or 0) + 1
                for table in TABLES}

    def timestamp(self, now: datetime):
        """A converter from seconds relative to `now` into what this database's DateTime columns hold.

        SQLite stores SQLAlchemy's DateTime as text in one fixed format; writing that text directly
        skips a per-value type conversion that would otherwise dominate the run.
        """
        if self.dialect == "sqlite":
            last = [None, ""]  # rows written together often share a time: remember the last one

            def to_sqlite(seconds: float) -> str:
                if seconds != last[0]:
                    last[0], last[1] = seconds, (now + timedelta(seconds=seconds)).isoformat(" ", "microseconds")
                return last[1]
            return to_sqlite

        def to_datetime(seconds: float) -> datetime:
            return now + timedelta(seconds=seconds)
        return to_datetime

    def buffered(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def maybe_flush(self) -> None:
        if self.buffered() >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        for table, rows in self.rows.items():
            if rows:
                self._write(table, TABLES[table], rows)
                self.written += len(rows)
                rows.clear()

    def _write(self, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
        raw = self.connection.connection.driver_connection
        if self.dialect == "postgresql":
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
        else:
            placeholders = ", ".join("?" for _ in columns)
            cursor = raw.cursor()
            try:
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", rows)
            finally:
                cursor.close()

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        """An UPDATE (or other statement) per tuple, in the driver's own paramstyle (%s or ?)."""
        self.flush()
        if not rows:
            return
        raw = self.connection.connection.driver_connection
        if self.dialect == "sqlite":
            sql = sql.replace("%s", "?")
        cursor = raw.cursor()
        try:
            cursor.executemany(sql, rows)
        finally:
            cursor.close()

    def finish(self) -> None:
        """After the last row: on PostgreSQL, check and restore the foreign keys, and move the id sequences
        past the ids written explicitly."""
        self.flush()
        for table, name, definition in self._foreign_keys:
            self.connection.execute(sa.text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))
        self._foreign_keys = []
        if self.dialect == "postgresql":
            for table in TABLES:
                self.connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
