"""Reading the tables back into polars with exact types: Decimal money, UTC-aware times.

PostgreSQL is read by its ADBC driver, which decodes the rows of a binary ``COPY`` into Arrow
columns in C; Python never touches a single value. SQLite is read through the engine's own
connection (Python's ``sqlite3``): the ADBC SQLite driver carries a second copy of SQLite, and
two copies in one process break each other's POSIX locks on the file (closing one drops the
other's), which SQLite documents as a way to corrupt a database and which crashed concurrent
`liveexec promote` processes with SIGBUS here (issue 18). Both end in the same typed polars
casts, so the two databases give identical frames (JSON columns excepted: they are each
database's JSON text, see :func:`read_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import JSON, BigInteger, Boolean, Engine, Integer, Table, text
from sqlalchemy.exc import OperationalError

from liveexec.db import MONEY_PRECISION, MONEY_SCALE, ExactDecimal, UTCDateTime, mask_url
from liveexec.errors import DatabaseError, DatabaseUnavailableError

if TYPE_CHECKING:
    from adbc_driver_manager.dbapi import Connection

__all__ = ["read_table"]

MONEY = pl.Decimal(MONEY_PRECISION, MONEY_SCALE)
UTC_TIME = pl.Datetime("us", "UTC")
# The text the writer (and SQLAlchemy's SQLite DATETIME) stores: naive UTC, microseconds. The
# fixed-width format parses ~6x faster than the flexible one, which is the fallback.
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%6f"
_SQLITE_ANY_TIME = "%Y-%m-%d %H:%M:%S%.f"
_SQLITE_MONEY = rf"^-?[0-9]{{1,{MONEY_PRECISION - MONEY_SCALE}}}(\.[0-9]{{1,{MONEY_SCALE}}})?$"
# Below this many rows (planner estimate) one COPY stream is as fast as two.
_PARALLEL_ROWS = 200_000
_STREAMS = 2
_CONNECT_TIMEOUT_S = 10


def _kind(column: Any) -> str:  # noqa: ANN401 (SQLAlchemy column)
    """How a column travels: ``money``, ``time``, ``int``, ``bool``, ``json`` or ``text``."""
    kind = column.type
    if isinstance(kind, ExactDecimal):
        return "money"
    if isinstance(kind, UTCDateTime):
        return "time"
    if isinstance(kind, (BigInteger, Integer)):
        return "int"
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
        return "json"
    return "text"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_items(table: Table, dialect: str) -> list[tuple[str, str, str]]:
    """``(expression, name, kind)`` per column, as the database should send it so that
    the driver decodes it cheaply and exactly.

    PostgreSQL: ``NUMERIC`` travels as text. The driver would turn the binary digits into text
    itself, about five times slower than PostgreSQL's own ``numeric_out`` (2.4 s against 0.5 s of
    client CPU for the five money columns of 1M orders); text is exact at any scale. JSON
    travels as its text. SQLite: every column is cast to the storage type it must have, because
    the driver infers a column's Arrow type from the values it meets.
    """
    items = []
    for column in table.columns:
        name = _quoted(column.name)
        kind = _kind(column)
        if dialect == "postgresql":
            expr = f"{name}::text" if kind in ("money", "json") else name
        elif kind in ("int", "bool"):
            expr = f"CAST({name} AS INTEGER)"
        else:
            expr = f"CAST({name} AS TEXT)"
        items.append((expr, column.name, kind))
    return items


def _polars_cast(column: Any, dialect: str, time_format: str) -> pl.Expr:  # noqa: ANN401
    expr = pl.col(column.name)
    kind = _kind(column)
    if kind == "money":
        # Exact decimal text with at most MONEY_SCALE decimals (checked for SQLite, guaranteed by
        # NUMERIC(36,18) on PostgreSQL); a strict cast refuses, rather than nulls, a bad value.
        return expr.cast(MONEY, strict=True)
    if kind == "time":
        if dialect == "postgresql":
            # timestamptz arrives as UTC microseconds whatever the session time zone.
            return expr.cast(UTC_TIME)
        parsed = expr.str.to_datetime(time_format, time_unit="us", strict=True, cache=False)
        return parsed.dt.replace_time_zone("UTC")
    if kind == "int":
        return expr.cast(pl.Int64)
    if kind == "bool":
        return expr.cast(pl.Boolean)
    return expr.cast(pl.String)


def _typed(frame: pl.DataFrame, table: Table, dialect: str) -> pl.DataFrame:
    if dialect == "sqlite":
        _check_sqlite_money(frame, table)
    # Rows not written by liveexec's writer may keep SQLite times without their microseconds:
    # the flexible format is the fallback.
    formats = (_SQLITE_TIME, _SQLITE_ANY_TIME) if dialect == "sqlite" else (_SQLITE_TIME,)
    for attempt, time_format in enumerate(formats, start=1):
        try:
            return frame.select([_polars_cast(c, dialect, time_format) for c in table.columns])
        except pl.exceptions.InvalidOperationError as exc:
            if attempt == len(formats):
                # e.g. a NUMERIC 'NaN' on PostgreSQL, or a time SQLite holds in another format.
                raise DatabaseError(f"{table.name}: {str(exc).splitlines()[0]}") from None
    raise AssertionError("unreachable")


def _check_sqlite_money(frame: pl.DataFrame, table: Table) -> None:
    """SQLite keeps money as text: refuse text that Decimal(36, 18) would round or reject."""
    money = [c.name for c in table.columns if _kind(c) == "money"]
    if not money or frame.is_empty():
        return

    def bad(name: str) -> pl.Expr:
        return pl.col(name).is_not_null() & ~pl.col(name).str.contains(_SQLITE_MONEY)

    flags = frame.select(bad(name).any() for name in money).row(0)
    for name, flagged in zip(money, flags, strict=True):
        if flagged:
            key = next(iter(table.primary_key.columns)).name
            row = frame.filter(bad(name)).row(0, named=True)
            raise DatabaseError(
                f"{table.name}.{name} of the row {key}={row[key]!r} holds {row[name]!r}: not an "
                f"exact decimal with at most {MONEY_PRECISION - MONEY_SCALE} integer digits and "
                f"{MONEY_SCALE} decimals"
            )


def read_table(
    engine: Engine, table: Table, *, run_id: str | None = None, order_by: str | None = None
) -> pl.DataFrame:
    """Rows of ``table`` (those of ``run_id`` when given) as a typed polars DataFrame.

    Money columns are ``Decimal(36, 18)``, times ``Datetime("us", "UTC")``, integers ``Int64``;
    the same rows give the same frame on SQLite and PostgreSQL. JSON columns are the database's
    JSON text (PostgreSQL's ``jsonb`` text sorts keys and spaces them): parse them before
    comparing.
    """
    dialect = engine.dialect.name
    items = _select_items(table, dialect)
    if dialect == "postgresql":
        frame = _read_postgres(engine, table, items, run_id)
    elif dialect == "sqlite":
        frame = _read_sqlite(engine, table, items, run_id)
    else:
        raise DatabaseError(f"cannot read {table.name} from a {dialect} database")
    frame = _typed(frame, table, dialect)
    return frame.sort(order_by, maintain_order=True) if order_by is not None else frame


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres_uri(engine: Engine) -> str:
    """The engine's URL as libpq takes it (``postgresql+psycopg://`` -> ``postgresql://``)."""
    url = engine.url.set(drivername="postgresql")
    if "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(_CONNECT_TIMEOUT_S)})
    return url.render_as_string(hide_password=False)


@contextmanager
def _postgres(engine: Engine) -> Iterator[Connection]:
    # Loaded on first use only; the driver ships no type information.
    import adbc_driver_postgresql.dbapi  # type: ignore[import-untyped]  # noqa: PLC0415

    uri = _postgres_uri(engine)
    try:
        connection = adbc_driver_postgresql.dbapi.connect(uri, autocommit=True)
    except Exception as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to database {mask_url(engine.url)}: {_reason(exc, engine)}"
        ) from None
    try:
        yield connection
    finally:
        connection.close()


def _reason(exc: BaseException, engine: Engine) -> str:
    """The first line of a driver error, with the password taken out should libpq quote it."""
    lines = str(exc).strip().splitlines()
    reason = lines[0] if lines else type(exc).__name__
    password = engine.url.password
    return reason.replace(str(password), "***") if password else reason


def _fetch(connection: Connection, query: str, params: Sequence[Any] = ()) -> pl.DataFrame:
    cursor = connection.cursor()
    try:
        cursor.execute(query, list(params) if params else None)
        frame = pl.from_arrow(cursor.fetch_arrow_table())
    finally:
        cursor.close()
    assert isinstance(frame, pl.DataFrame)  # a table, not a single column
    return frame


def _read_postgres(
    engine: Engine, table: Table, items: list[tuple[str, str, str]], run_id: str | None
) -> pl.DataFrame:
    """One binary ``COPY`` stream, or ``_STREAMS`` of them over one snapshot for large reads.

    PostgreSQL encodes a query's rows on one core and the driver decodes them on another, so a
    large read is split by physical position (``ctid`` ranges: each stream scans only its own
    pages, and nothing is hashed, so nothing can overflow). The streams see one snapshot: the
    first exports it and the others import it before reading, so a concurrent writer cannot make
    them disagree.
    """
    columns = ", ".join(f"{expr} AS {_quoted(name)}" for expr, name, _kind in items)
    select = f"SELECT {columns} FROM {_quoted(table.name)}"
    # The COPY gets a literal, not a bound parameter: the driver reads through COPY only
    # without them. EXPLAIN, run through SQLAlchemy, gets a bound one.
    from psycopg import sql  # noqa: PLC0415 (PostgreSQL only: SQLite runs never load psycopg)

    where = [] if run_id is None else [f"run_id = {sql.Literal(run_id).as_string(None)}"]
    planned = select if run_id is None else f"{select} WHERE run_id = :run_id"
    try:
        pages = _pages_to_split(engine, table, planned, {"run_id": run_id})
    except OperationalError as exc:
        reason = _reason(exc.orig if exc.orig is not None else exc, engine)
        raise DatabaseUnavailableError(
            f"cannot connect to database {mask_url(engine.url)}: {reason}"
        ) from None
    try:
        with _postgres(engine) as first:
            if pages is None:
                return _fetch(first, _query(select, where))
            return _read_split(engine, first, select, where, pages)
    except DatabaseError:
        raise
    except Exception as exc:
        raise DatabaseError(
            f"cannot read {table.name} from {mask_url(engine.url)}: {_reason(exc, engine)}"
        ) from None


def _query(select: str, where: list[str]) -> str:
    return f"{select} WHERE {' AND '.join(where)}" if where else select


_SIZE = (
    "SELECT pg_relation_size(c.oid) / current_setting('block_size')::int, c.reltuples "
    "FROM pg_class AS c WHERE c.oid = CAST(:name AS regclass)"
)


def _pages_to_split(
    engine: Engine, table: Table, query: str, params: dict[str, str | None]
) -> int | None:
    """The table's page count when the read is worth splitting, else ``None``.

    Worth it: at least ``_PARALLEL_ROWS`` rows (planner estimate) making up at least half the
    table. Each stream scans its share of the table's pages, so for a run that is a small part
    of a large table the streams would mostly scan other runs' rows.
    """
    # Through the engine: the driver would wrap these statements in a COPY, which refuses them.
    with engine.connect() as connection:
        version = connection.execute(text("SHOW server_version_num")).scalar_one()
        if int(version) < 140000:  # TID range scans arrived in PostgreSQL 14
            return None
        plan = connection.execute(text(f"EXPLAIN (FORMAT JSON) {query}"), params).scalar_one()
        rows = plan[0]["Plan"]["Plan Rows"]
        if not isinstance(rows, (int, float)) or rows < _PARALLEL_ROWS:
            return None
        pages, table_rows = connection.execute(text(_SIZE), {"name": _quoted(table.name)}).one()
    if table_rows > 0 and rows < table_rows / 2:
        return None
    return int(pages) if pages >= _STREAMS else None


def _page_range(index: int, bounds: list[int]) -> list[str]:
    """The ``ctid`` conditions of stream ``index``. The last range is open-ended: pages added
    after the page count was taken are read too (the snapshot decides which of their rows
    exist)."""
    low = f"ctid >= '({bounds[index]},0)'::tid"
    if index == len(bounds) - 1:
        return [low]
    return [low, f"ctid < '({bounds[index + 1]},0)'::tid"]


def _read_split(
    engine: Engine, first: Connection, select: str, where: list[str], pages: int
) -> pl.DataFrame:
    bounds = [pages * i // _STREAMS for i in range(_STREAMS)]
    cursor = first.cursor()
    try:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        row = cursor.fetchone()
        assert row is not None
        snapshot = str(row[0])

        def stream(index: int) -> pl.DataFrame:
            if index == 0:
                return _fetch(first, _query(select, [*where, *_page_range(0, bounds)]))
            with _postgres(engine) as other:
                other_cursor = other.cursor()
                try:
                    other_cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    # The snapshot id comes from pg_export_snapshot(), not from a user.
                    other_cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                    part = _fetch(other, _query(select, [*where, *_page_range(index, bounds)]))
                    other_cursor.execute("ROLLBACK")
                finally:
                    other_cursor.close()
                return part

        parts = _parallel(stream, _STREAMS)
        cursor.execute("ROLLBACK")
    finally:
        cursor.close()
    return pl.concat(parts, rechunk=False)


def _parallel(work: Callable[[int], pl.DataFrame], count: int) -> list[pl.DataFrame]:
    # The drivers decode without the GIL, so threads run the streams side by side.
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(work, range(count)))


# --- SQLite -----------------------------------------------------------------------------------

# Always the first row: it gives every column a non-NULL value of its type, because the driver
# infers the column types from the first rows and fails on a later text value in a column whose
# first rows were all NULL.
_PROBE = "_liveexec_probe"


def _read_sqlite(
    engine: Engine, table: Table, items: list[tuple[str, str, str]], run_id: str | None
) -> pl.DataFrame:
    probe = ", ".join(
        f"{0 if kind in ('int', 'bool') else repr('')} AS {_quoted(name)}"
        for _e, name, kind in items
    )
    columns = ", ".join(expr for expr, _name, _kind in items)
    query = (
        f"SELECT 1 AS {_PROBE}, {probe} UNION ALL SELECT 0, {columns} FROM {_quoted(table.name)}"
    )
    params = [run_id] if run_id is not None else []
    if run_id is not None:
        query += " WHERE run_id = ?"
    frame = _read_sqlite_connection(engine, table, items, query, params)
    marks = frame.get_column(_PROBE)
    if frame.is_empty() or marks[0] != 1 or marks.sum() != 1:
        raise DatabaseError(f"SQLite returned the rows of {table.name} out of order")
    return frame.slice(1).drop(_PROBE)


def _read_sqlite_connection(
    engine: Engine, table: Table, items: list[tuple[str, str, str]], query: str, params: list[Any]
) -> pl.DataFrame:
    """The rows through the engine's own SQLite connection (it waits for a writer's lock as
    every liveexec connection does); polars builds the columns from the rows in Rust."""
    schema: dict[str, type[pl.DataType]] = {_PROBE: pl.Int64}
    for _expr, name, kind in items:
        schema[name] = pl.Int64 if kind in ("int", "bool") else pl.String
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            rows = cursor.execute(query, params).fetchall()
        finally:
            cursor.close()
    except Exception as exc:
        raise DatabaseError(f"cannot read {table.name} from SQLite: {exc}") from None
    finally:
        raw.close()
    return pl.DataFrame(rows, schema=schema, orient="row")
