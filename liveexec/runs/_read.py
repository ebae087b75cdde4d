"""Reading the tables back into polars with exact types: Decimal money, UTC-aware times.

PostgreSQL rows come through ``COPY ... TO STDOUT`` (CSV), SQLite rows through the DB-API; both
end in the same typed polars casts, so the two databases give identical frames.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from psycopg import sql
from sqlalchemy import BigInteger, Boolean, Engine, Integer, Table

from liveexec.db._types import MONEY_PRECISION, MONEY_SCALE, ExactDecimal, UTCDateTime

__all__ = ["read_table"]

MONEY = pl.Decimal(MONEY_PRECISION, MONEY_SCALE)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.f"


def _polars_cast(column: Any) -> pl.Expr:  # noqa: ANN401 (SQLAlchemy column)
    expr = pl.col(column.name)
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return expr.cast(MONEY)
    if isinstance(kind, UTCDateTime):
        return expr.str.to_datetime(_TIME_FORMAT, time_unit="us").dt.replace_time_zone("UTC")
    if isinstance(kind, (BigInteger, Integer)):
        return expr.cast(pl.Int64)
    if isinstance(kind, Boolean):
        return expr.cast(pl.Boolean)
    return expr


def _typed(frame: pl.DataFrame, table: Table) -> pl.DataFrame:
    return frame.with_columns([_polars_cast(c) for c in table.columns])


def read_table(
    engine: Engine, table: Table, *, run_id: str | None = None, order_by: str | None = None
) -> pl.DataFrame:
    """Rows of ``table`` (those of ``run_id`` when given) as a typed polars DataFrame."""
    names = [c.name for c in table.columns]
    if engine.dialect.name == "postgresql":
        return _typed(_read_postgres(engine, table, names, run_id, order_by), table)
    return _typed(_read_sqlite(engine, table, names, run_id, order_by), table)


def _read_postgres(
    engine: Engine, table: Table, names: list[str], run_id: str | None, order_by: str | None
) -> pl.DataFrame:
    fields = []
    for column in table.columns:
        ident = sql.Identifier(column.name)
        if isinstance(column.type, UTCDateTime):
            fields.append(
                sql.SQL("to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')").format(ident)
            )
        else:
            fields.append(sql.SQL("{}::text").format(ident))
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(fields), sql.Identifier(table.name)
    )
    if run_id is not None:
        query = sql.SQL("{} WHERE run_id = {}").format(query, sql.Literal(run_id))
    if order_by is not None:
        query = sql.SQL("{} ORDER BY {}").format(query, sql.Identifier(order_by))
    buffer = io.BytesIO()
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cursor:  # type: ignore[union-attr]
            copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)
            with cursor.copy(copy_sql) as copy:
                for block in copy:
                    buffer.write(block)
    finally:
        raw.close()
    if not buffer.tell():
        return pl.DataFrame({name: [] for name in names}, schema=dict.fromkeys(names, pl.String))
    buffer.seek(0)
    return pl.read_csv(
        buffer, has_header=False, new_columns=names, schema=dict.fromkeys(names, pl.String)
    )


def _read_sqlite(
    engine: Engine, table: Table, names: list[str], run_id: str | None, order_by: str | None
) -> pl.DataFrame:
    query = f"SELECT {', '.join(names)} FROM {table.name}"  # names come from our own metadata
    params: tuple[str, ...] = ()
    if run_id is not None:
        query += " WHERE run_id = ?"
        params = (run_id,)
    if order_by is not None:
        query += f" ORDER BY {order_by}"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(query, params)
        rows = cursor.fetchall()
        cursor.close()
    finally:
        raw.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pl.DataFrame(
        {
            name: [None if v is None else str(v) for v in values]
            for name, values in zip(names, columns, strict=True)
        },
        schema=dict.fromkeys(names, pl.String),
    )
