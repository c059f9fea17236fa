"""Writing generated rows fast: plain tuples, in chunks, inside the caller's transaction.

On SQLite the rows go through the driver's executemany; on PostgreSQL through COPY, an order of
magnitude faster than INSERT there. Both run on the connection of the current SQLAlchemy transaction,
so the caller's commit or rollback covers them. Tables are written parents first in every flush, so
a row never reaches the database before the row its foreign key points at.

The chunks are written by a background thread while the caller builds the next ones: the drivers
let go of the GIL while the database works, so on two cores generating and writing overlap. Only
one thread uses the connection at a time: the caller waits (`wait()`) before it uses it itself.
"""
from __future__ import annotations

import queue
import threading
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
               "finalized_at", "fulfilled_at", "voided_at", "void_reason"),
    "order_lines": ("id", "order_id", "product_id", "sku", "name", "channel_line_id", "ordered", "allocated",
                    "shipped", "invoiced", "unit_price_cents", "tax_rate_bp"),
    "shipments": ("id", "order_id", "status", "carrier", "service_level", "tracking_number", "created_by_id",
                  "created_at", "shipped_at", "delivered_at"),
    "shipment_lines": ("id", "shipment_id", "order_line_id", "quantity"),
    "invoices": ("id", "number", "order_id", "shipment_id", "currency", "subtotal_cents", "tax_cents",
                 "shipping_cents", "total_cents", "issued_by_id", "issued_at"),
    "invoice_lines": ("id", "invoice_id", "order_line_id", "sku", "name", "quantity", "unit_price_cents",
                      "tax_rate_bp", "line_total_cents", "tax_cents"),
    "stock_ledger": ("id", "product_id", "in_hand_delta", "committed_delta", "reason", "note", "order_id",
                     "shipment_id", "user_id", "created_at"),
    "order_events": ("id", "order_id", "user_id", "kind", "message", "data", "created_at"),
}

FLUSH_EVERY = 50_000  # rows buffered across all tables before they are sent


class BulkWriter:
    """Buffers rows per table (`writer.rows["orders"].append(tuple)`) and sends them in chunks."""

    def __init__(self, connection: sa.Connection):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
        self.written = 0
        self._chunks: queue.Queue = queue.Queue(maxsize=2)  # chunks in flight: bounds the memory held
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None

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
        """Hand the buffered rows to the writing thread (waiting while two chunks are still in flight)."""
        chunk = [(table, rows) for table, rows in self.rows.items() if rows]
        if not chunk:
            return
        for table, _rows in chunk:
            self.rows[table] = []
        self._check()
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_chunks, name="seed-writer", daemon=True)
            self._thread.start()
        self._chunks.put(chunk)

    def wait(self) -> None:
        """Until every chunk handed over is written; raises what the writing thread hit."""
        self.flush()
        if self._thread is not None:
            self._chunks.put(None)
            self._thread.join()
            self._thread = None
        self._check()

    def stop(self) -> None:
        """After a failure in the caller: let the writing thread finish its chunk and end, writing no more."""
        if self._thread is not None:
            self._failure = self._failure or RuntimeError("abandoned")
            self._chunks.put(None)
            self._thread.join()
            self._thread = None

    def _check(self) -> None:
        if self._failure is not None:
            raise RuntimeError("writing the seeded rows failed") from self._failure

    def _write_chunks(self) -> None:
        while True:
            chunk = self._chunks.get()
            if chunk is None:
                return
            if self._failure is not None:
                continue  # keep taking chunks so that the caller never blocks; it raises at its next call
            try:
                for table, rows in chunk:
                    self._write(table, TABLES[table], rows)
                    self.written += len(rows)
            except BaseException as failure:  # noqa: BLE001 (handed to the caller's thread)
                self._failure = failure

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
        self.wait()
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
        """After the last flush: move PostgreSQL's id sequences past the ids written explicitly."""
        self.wait()
        if self.dialect == "postgresql":
            for table in TABLES:
                self.connection.execute(sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"))
