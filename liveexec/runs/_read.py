"""Reading the tables back into polars with exact types: Decimal money, UTC-aware times.

PostgreSQL rows come through ``COPY ... TO STDOUT`` (CSV), SQLite rows through the DB-API; both
end in the same typed polars casts, so the two databases give identical frames.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import polars as pl
from psycopg import sql
from sqlalchemy import BigInteger, Boolean, Engine, Integer, Table, text

from liveexec.db._types import MONEY_PRECISION, MONEY_SCALE, ExactDecimal, UTCDateTime

__all__ = ["read_table"]

MONEY = pl.Decimal(MONEY_PRECISION, MONEY_SCALE)
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.f"
_PG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S%.f%#z"
_STREAMS = 2
_PARALLEL_ROWS = 200_000


def _polars_cast(column: Any, dialect: str) -> pl.Expr:  # noqa: ANN401 (SQLAlchemy column)
    expr = pl.col(column.name)
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return expr.cast(MONEY)
    if isinstance(kind, UTCDateTime):
        # PostgreSQL (session time zone UTC) writes '2024-01-01 00:00:00.001+00'; SQLite keeps
        # naive UTC text.
        if dialect == "postgresql":
            return expr.str.to_datetime(_PG_TIME_FORMAT, time_unit="us", time_zone="UTC")
        return expr.str.to_datetime(_TIME_FORMAT, time_unit="us").dt.replace_time_zone("UTC")
    if isinstance(kind, (BigInteger, Integer)):
        return expr.cast(pl.Int64)
    if isinstance(kind, Boolean):
        return expr.cast(pl.Boolean)
    return expr


def _typed(frame: pl.DataFrame, table: Table, dialect: str) -> pl.DataFrame:
    return frame.with_columns([_polars_cast(c, dialect) for c in table.columns])


def read_table(
    engine: Engine, table: Table, *, run_id: str | None = None, order_by: str | None = None
) -> pl.DataFrame:
    """Rows of ``table`` (those of ``run_id`` when given) as a typed polars DataFrame."""
    names = [c.name for c in table.columns]
    dialect = engine.dialect.name
    if dialect == "postgresql":
        frame = _read_postgres(engine, table, names, run_id)
    else:
        frame = _read_sqlite(engine, table, names, run_id)
    frame = _typed(frame, table, dialect)
    return frame.sort(order_by, maintain_order=True) if order_by is not None else frame


def _copy_stream(engine: Engine, query: sql.Composable, names: list[str]) -> pl.DataFrame:
    buffer = io.BytesIO()
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
            copy_sql = sql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)
            with cursor.copy(copy_sql) as copy:
                for block in copy:
                    buffer.write(block)
        connection.rollback()  # leave the pooled connection as it was (time zone included)
    finally:
        raw.close()
    schema = dict.fromkeys(names, pl.String)
    if not buffer.tell():
        return pl.DataFrame(schema=schema)
    buffer.seek(0)
    return pl.read_csv(buffer, has_header=False, new_columns=names, schema=schema)


def _read_postgres(
    engine: Engine, table: Table, names: list[str], run_id: str | None
) -> pl.DataFrame:
    """``COPY ... TO STDOUT`` in CSV; large reads are split over parallel streams.

    PostgreSQL formats the rows on one core per connection, so big tables read faster in
    ``_STREAMS`` slices (by a hash of the primary key), run in threads: psycopg waits on the
    network without the GIL.
    """
    columns = sql.SQL(", ").join(sql.Identifier(n) for n in names)
    query = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(table.name))
    conditions: list[sql.Composable] = []
    if run_id is not None:
        conditions.append(sql.SQL("run_id = {}").format(sql.Literal(run_id)))
    key = sql.Identifier(next(iter(table.primary_key.columns)).name)
    streams = _STREAMS if _large(engine, table, run_id) else 1

    def sliced(index: int) -> sql.Composable:
        where = list(conditions)
        if streams > 1:
            where.append(
                sql.SQL("abs(hashtext({}::text)) % {} = {}").format(
                    key, sql.Literal(streams), sql.Literal(index)
                )
            )
        if not where:
            return query
        return sql.SQL("{} WHERE {}").format(query, sql.SQL(" AND ").join(where))

    if streams == 1:
        return _copy_stream(engine, sliced(0), names)
    with ThreadPoolExecutor(max_workers=streams) as pool:
        parts = list(pool.map(lambda i: _copy_stream(engine, sliced(i), names), range(streams)))
    return pl.concat(parts)


def _large(engine: Engine, table: Table, run_id: str | None) -> bool:
    """Whether the read is big enough for parallel streams to pay (planner's row estimate)."""
    query = f"SELECT * FROM {table.name}"  # the name comes from our own metadata
    params: dict[str, str] = {}
    if run_id is not None:
        query += " WHERE run_id = :run_id"
        params["run_id"] = run_id
    with engine.connect() as connection:
        plan = connection.execute(text(f"EXPLAIN (FORMAT JSON) {query}"), params).scalar_one()
    rows = plan[0]["Plan"]["Plan Rows"]
    return isinstance(rows, (int, float)) and rows >= _PARALLEL_ROWS


def _read_sqlite(
    engine: Engine, table: Table, names: list[str], run_id: str | None
) -> pl.DataFrame:
    query = f"SELECT {', '.join(names)} FROM {table.name}"  # names come from our own metadata
    params: tuple[str, ...] = ()
    if run_id is not None:
        query += " WHERE run_id = ?"
        params = (run_id,)
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
