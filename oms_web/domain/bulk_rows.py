"""Many rows in few statements: the SQL engine of the batch paths (create_orders, stock.commit_many).

The ORM's unit of work costs several times what the database does for a new order's rows, so a batch
writes them as many-row statements instead, in the caller's transaction: by COPY on PostgreSQL, by the
driver's executemany on SQLite. The statements are built once per table: building a statement (and its
cache key) costs SQLAlchemy several times what running it costs SQLite (measured in bench/run.py).
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import db


def insert_rows(table: sa.Table, drafts: Sequence[Any], columns: tuple[str, ...], now: datetime) -> None:
    """Insert the drafts (objects with the columns as attributes) as rows, giving each draft its id.
    One row comes back with its id (RETURNING); many take ids reserved beforehand, so that the driver
    can send them many at a time (which RETURNING in parameter order would not on SQLite)."""
    if not drafts:
        return
    timestamp = {"created_at": now} if "created_at" not in columns and "created_at" in table.c else {}
    if len(drafts) == 1:
        row = {c: getattr(drafts[0], c) for c in columns} | timestamp
        drafts[0].id = db.session.connection().execute(_insert_returning_id(table), row).scalar_one()
        return
    for draft, new_id in zip(drafts, _reserve_ids(table, len(drafts))):
        draft.id = new_id
    insert_many(table, [{"id": draft.id, **{c: getattr(draft, c) for c in columns}} | timestamp for draft in drafts])


def insert_many(table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Many rows (each with the same keys): on PostgreSQL by COPY, on SQLite through the driver's
    executemany. psycopg's executemany handles each row's result in Python, which took a quarter of the
    order API's time (bench/api.py); COPY sends the rows as one stream, converted by the columns' own
    SQLAlchemy types, in the same transaction."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        names = tuple(rows[0])
        convert = _copy_converters(table, names, connection.dialect)
        copy_sql = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
        try:
            with connection.connection.driver_connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row([value if to_db is None else to_db(value)
                                    for value, to_db in zip(map(row.__getitem__, names), convert)])
        except connection.dialect.loaded_dbapi.Error as error:  # as SQLAlchemy raises it (IntegrityError, ...)
            raise sa.exc.DBAPIError.instance(copy_sql, None, error, connection.dialect.loaded_dbapi.Error) from error
        return
    connection.execute(_insert(table), rows)


@functools.cache
def _insert(table: sa.Table) -> sa.Insert:
    return sa.insert(table)


@functools.cache
def _insert_returning_id(table: sa.Table) -> sa.Insert:
    return sa.insert(table).returning(table.c.id)


@functools.cache
def _highest_id(table: sa.Table) -> sa.TextClause:
    return sa.text(f"SELECT COALESCE(MAX(id), 0) FROM {table.name}")


@functools.cache
def _copy_converters(table: sa.Table, names: tuple[str, ...], dialect: sa.Dialect) -> tuple[Any, ...]:
    """Each column's bind processor (an enum to its value, JSON for the driver), or None."""
    return tuple(table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)


def _reserve_ids(table: sa.Table, count: int) -> list[int]:
    """`count` new ids for the table: from its sequence on PostgreSQL; on SQLite, whose writers take
    turns (the write transaction began IMMEDIATE), the ids after the highest one."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        return list(connection.execute(_NEXT_IDS, {"table": table.name, "count": count}).scalars())
    highest = connection.execute(_highest_id(table)).scalar()
    return list(range(highest + 1, highest + 1 + count))


_NEXT_IDS = sa.text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")
