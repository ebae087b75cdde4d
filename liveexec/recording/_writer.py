"""The recorder's write path: batched, idempotent upserts into the shared tables.

Small PostgreSQL batches (a live node's) are one ``INSERT ... SELECT FROM unnest(...) ON
CONFLICT`` per table, all sent in one pipeline; large ones (a backtest's) go through ``COPY`` into
a temporary table and one ``INSERT ... ON CONFLICT`` per table. SQLite batches go through DB-API
``executemany`` upserts. Values are
converted here with the same checks as the column types (exact money, UTC times), without
SQLAlchemy's per-row work. Replaying the same events gives the same rows: events are keyed by
``event_id``, orders keep the state of their newest event, and positions the state of their
newest update.
"""

from __future__ import annotations

import functools
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import JSON, Connection, Dialect, Engine, Table, text

from liveexec.db import (
    EXACT_CONTEXT,
    AccountBalance,
    DenialStreak,
    ExactDecimal,
    OrderEvent,
    UnifiedOrder,
    UnifiedPosition,
    UTCDateTime,
    checked_decimal,
    checked_utc,
)

__all__ = [
    "BALANCE_COLUMNS",
    "EVENT_COLUMNS",
    "ORDER_COLUMNS",
    "PIPELINE_MAX_ROWS",
    "POSITION_COLUMNS",
    "Batch",
    "is_connection_error",
    "write_batch",
]

Row = Mapping[str, Any]

ORDERS: Table = UnifiedOrder.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
EVENTS: Table = OrderEvent.__table__  # type: ignore[attr-defined]
POSITIONS: Table = UnifiedPosition.__table__  # type: ignore[attr-defined]
BALANCES: Table = AccountBalance.__table__  # type: ignore[attr-defined]
STREAKS: Table = DenialStreak.__table__  # type: ignore[attr-defined]

ORDER_COLUMNS = tuple(c.name for c in ORDERS.columns)
EVENT_COLUMNS = tuple(c.name for c in EVENTS.columns if c.name != "id")
POSITION_COLUMNS = tuple(c.name for c in POSITIONS.columns if c.name != "id")
BALANCE_COLUMNS = tuple(c.name for c in BALANCES.columns if c.name != "id")
STREAK_COLUMNS = tuple(c.name for c in STREAKS.columns)
_ORDER_KEY = ("operation_id",)
_POSITION_KEY = ("run_id", "position_id", "opening_order_id")
_BALANCE_KEY = ("run_id", "account_id", "currency")
_STREAK_KEY = ("run_id", "first_seq")
# The tables that keep a state (not a log): (Batch attribute, table, columns, key).
_STATES: tuple[tuple[str, Table, tuple[str, ...], tuple[str, ...]], ...] = (
    ("orders", ORDERS, ORDER_COLUMNS, _ORDER_KEY),
    ("positions", POSITIONS, POSITION_COLUMNS, _POSITION_KEY),
    ("balances", BALANCES, BALANCE_COLUMNS, _BALANCE_KEY),
    ("streaks", STREAKS, STREAK_COLUMNS, _STREAK_KEY),
)


def _newest(row: Row) -> int:
    """Where a state stands in its run: the sequence of the event that led to it.

    The recorder numbers every event of a run as it arrives, and a run has one recorder: the
    sequence orders states whatever the events' clocks say. Event times do not: in a live node
    an order's submission is stamped by the node's clock and its fills by the venue's (a paper
    venue's is the replayed data's), so a newer state can carry an older time.
    """
    return int(row["last_event_seq"])


def _newer_sql(table: str, incoming: str) -> str:
    """The same rule in SQL: a stored row is replaced only by a state at least as new."""
    return f"{table}.last_event_seq <= {incoming}.last_event_seq"


# Written by the risk engine and the router, not by the recorder: an upsert keeps their values
# unless the recorder has one itself (an OrderDenied's decision), never overwrites with NULL.
_KEPT_IF_NULL = frozenset({"risk_decision", "risk_reason", "route"})


def _assign(table: str, column: str, incoming: str) -> str:
    if column in _KEPT_IF_NULL:
        return f"{column} = COALESCE({incoming}.{column}, {table}.{column})"
    return f"{column} = {incoming}.{column}"


def _keep_newest(states: dict[Any, Row], key: Any, row: Row) -> None:  # noqa: ANN401 (key tuple)
    current = states.get(key)
    if current is None or _newest(current) <= _newest(row):
        states[key] = row


class Batch:
    """Rows collected between two flushes; orders and positions keep only their newest state."""

    __slots__ = ("balances", "checkpoints", "events", "orders", "positions", "streaks")

    def __init__(self) -> None:
        self.events: list[Row] = []
        self.orders: dict[str, Row] = {}
        self.positions: dict[tuple[str, str, str], Row] = {}
        self.balances: dict[tuple[str, str, str], Row] = {}
        self.streaks: dict[tuple[str, int], Row] = {}  # denial streaks (see _denials)
        # run id -> the furthest replay checkpoint in the batch (paper runs, see add_checkpoint)
        self.checkpoints: dict[str, Row] = {}

    def add_event(self, row: Row) -> None:
        self.events.append(row)

    def add_order(self, row: Row) -> None:
        _keep_newest(self.orders, row["operation_id"], row)

    def add_position(self, row: Row) -> None:
        _keep_newest(self.positions, tuple(row[c] for c in _POSITION_KEY), row)

    def add_balance(self, row: Row) -> None:
        _keep_newest(self.balances, tuple(row[c] for c in _BALANCE_KEY), row)

    def add_denial_streak(self, row: Row) -> None:
        _keep_newest(self.streaks, (row["run_id"], row["first_seq"]), row)

    def add_checkpoint(self, row: Row) -> None:
        """``run_id``, ``replay_position``, ``replay_ts_ns``: the replayed events whose
        consequences are in this group or an earlier one (committed with them)."""
        current = self.checkpoints.get(row["run_id"])
        if current is None or current["replay_position"] <= row["replay_position"]:
            self.checkpoints[row["run_id"]] = row

    def __len__(self) -> int:
        return (
            len(self.events)
            + len(self.orders)
            + len(self.positions)
            + len(self.balances)
            + len(self.streaks)
            + len(self.checkpoints)
        )


_CHECKPOINT = text(
    "UPDATE runs SET replay_position = :replay_position, replay_ts_ns = :replay_ts_ns "
    "WHERE run_id = :run_id"
)


def is_connection_error(exc: BaseException) -> bool:
    """A psycopg error of the connection (lost, refused, closed), not of the statement.

    psycopg is imported only by PostgreSQL engines: a process that never loaded it (a backtest
    into SQLite, which saves ~0.3 s of imports) cannot have raised one of its errors.
    """
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(
        exc, psycopg.OperationalError | psycopg.InterfaceError
    )


def write_batch(engine: Engine, batch: Batch) -> None:
    """Write one batch in one transaction (all of it or nothing; writing it again is harmless).

    The rows go through the driver's own cursor, so a driver error is not seen by SQLAlchemy:
    on a connection-level failure the connection is invalidated here, so that the pool hands
    out a fresh one to the next attempt instead of the broken one."""
    if not len(batch):
        return
    with engine.connect() as connection:
        try:
            with connection.begin():
                created: set[str] = set()
                if connection.dialect.name != "postgresql":
                    _write_sqlite(connection, batch)
                elif len(batch) <= PIPELINE_MAX_ROWS:
                    _pipeline_postgres(connection, batch)
                else:
                    created = _copy_postgres(connection, batch)
                if batch.checkpoints:  # in the same transaction as the rows
                    connection.execute(_CHECKPOINT, list(batch.checkpoints.values()))
            # Committed: the temporary tables made in this transaction stay with the connection.
            _temp_tables(connection).update(created)
        except Exception as exc:
            if is_connection_error(exc) and not connection.invalidated:
                connection.invalidate()
            raise


# --- value conversion (the rows skip SQLAlchemy's per-value type processing for speed) ---------

Converter = Callable[[Any], Any]
_ENCODE = msgspec.json.Encoder().encode  # several times faster than json.dumps here


def _sqlite_decimal(value: Any) -> str:  # noqa: ANN401
    text = format(checked_decimal(value).normalize(EXACT_CONTEXT), "f")
    return "0" if text in ("-0", "0") else text


def _sqlite_time(value: datetime) -> str:
    # The text format SQLAlchemy's SQLite DATETIME writes and reads.
    return checked_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _json(value: Any) -> str:  # noqa: ANN401
    return _ENCODE(value).decode()


def _converters(table: Table, columns: Sequence[str], dialect: str) -> list[Converter | None]:
    converters: list[Converter | None] = []
    for name in columns:
        kind = table.c[name].type
        if isinstance(kind, ExactDecimal):
            converters.append(_sqlite_decimal if dialect == "sqlite" else checked_decimal)
        elif isinstance(kind, UTCDateTime):
            converters.append(_sqlite_time if dialect == "sqlite" else checked_utc)
        elif isinstance(kind, JSON) or isinstance(getattr(kind, "impl", None), JSON):
            converters.append(_json)
        else:
            converters.append(None)
    return converters


def _tuples(
    rows: Iterable[Row], columns: Sequence[str], converters: list[Converter | None]
) -> list[tuple[Any, ...]]:
    pairs = list(zip(columns, converters, strict=True))
    return [
        tuple(
            None if (value := row[name]) is None else (convert(value) if convert else value)
            for name, convert in pairs
        )
        for row in rows
    ]


# --- SQLite -------------------------------------------------------------------------------------


def _upsert_sql(table: str, columns: Sequence[str], key: Sequence[str], action: str) -> str:
    marks = ", ".join("?" for _ in columns)
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(key)}) {action}"
    )


_SQLITE_EVENTS = _upsert_sql("order_events", EVENT_COLUMNS, ("event_id",), "DO NOTHING")
_SQLITE_STATES = {
    name: _upsert_sql(
        table.name,
        columns,
        key,
        "DO UPDATE SET "
        + ", ".join(_assign(table.name, c, "excluded") for c in columns if c not in key)
        + " WHERE "
        + _newer_sql(table.name, "excluded"),
    )
    for name, table, columns, key in _STATES
}


def _write_sqlite(connection: Connection, batch: Batch) -> None:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if not connection.info.get("liveexec_temp_store_memory"):
            # Each upsert inside the batch's transaction gets a statement journal (to undo that
            # statement alone); with SQLite's default temp store those are files: ~90,000 page
            # writes to /var/tmp for the 4,136-order example. In memory they cost nothing of
            # that. Statement journals only: the database file and its WAL are unchanged.
            cursor.execute("PRAGMA temp_store = MEMORY")
            connection.info["liveexec_temp_store_memory"] = True
        writes: list[tuple[str, Table, Sequence[str], Iterable[Row]]] = [
            (_SQLITE_EVENTS, EVENTS, EVENT_COLUMNS, batch.events)
        ]
        writes.extend(
            (_SQLITE_STATES[name], table, columns, getattr(batch, name).values())
            for name, table, columns, _key in _STATES
        )
        for sql, table, columns, rows in writes:
            values = _tuples(rows, columns, _converters(table, columns, "sqlite"))
            if values:
                cursor.executemany(sql, values)
    finally:
        cursor.close()


# --- PostgreSQL -------------------------------------------------------------------------------


def _array_type(table: Table, column: str, dialect: Dialect) -> str:
    """The PostgreSQL type of a column without its length or precision (``text``, ``numeric``,
    ``timestamp with time zone``...): the arrays carry the values, the column's own type
    checks them on insert (a cast to ``varchar(n)`` would truncate instead)."""
    name = re.sub(r"\(.*?\)", "", table.c[column].type.compile(dialect=dialect))
    return "TEXT" if name.startswith("VARCHAR") else name


@functools.cache
def _unnest_sql(name: str, dialect: Dialect) -> str:
    """One ``INSERT ... SELECT FROM unnest(...)`` for a table: every row of the batch in one
    statement, one array parameter per column."""
    if name == "events":
        table, columns = EVENTS, EVENT_COLUMNS
        action = "ON CONFLICT (event_id) DO NOTHING"
    else:
        [(table, columns, key)] = [(t, c, k) for n, t, c, k in _STATES if n == name]
        updates = ", ".join(_assign(table.name, c, "EXCLUDED") for c in columns if c not in key)
        action = (
            f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates} "
            f"WHERE {_newer_sql(table.name, 'EXCLUDED')}"
        )
    names = ", ".join(columns)
    arrays = ", ".join(f"%s::{_array_type(table, c, dialect)}[]" for c in columns)
    return (
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM unnest({arrays}) AS u({names}) "
        f"{action}"
    )


# A batch this small (a live node's: what arrived since the last commit) goes in one round trip;
# a larger one (a backtest's 5,000 rows) through COPY, which converts rows several times faster
# than psycopg's array parameters (~0.7 s of CPU over the example backtest).
PIPELINE_MAX_ROWS = 1_000


def _pipeline_postgres(connection: Connection, batch: Batch) -> None:
    """The batch in one round trip: an ``INSERT ... SELECT FROM unnest(...)`` per table, sent
    together in psycopg's pipeline mode (then the commit). Each statement is a round trip
    otherwise, and inside a busy node every round trip also waits for the interpreter lock:
    ``COPY`` per table through temporary tables takes ~15 of them per batch.
    """
    raw = connection.connection.driver_connection
    assert raw is not None
    writes: list[tuple[str, Table, Sequence[str], Iterable[Row]]] = [
        ("events", EVENTS, EVENT_COLUMNS, batch.events)
    ]
    writes.extend(
        (name, table, columns, getattr(batch, name).values())
        for name, table, columns, _key in _STATES
    )
    with raw.pipeline(), raw.cursor() as cursor:
        for name, table, columns, rows in writes:
            values = _tuples(rows, columns, _converters(table, columns, "postgresql"))
            if values:
                arrays = [list(column) for column in zip(*values, strict=True)]
                cursor.execute(_unnest_sql(name, connection.dialect), arrays)


# --- PostgreSQL, large batches ------------------------------------------------------------------


def _temp_tables(connection: Connection) -> set[str]:
    """The temporary tables this database connection already has (``info`` lives as long as
    the driver connection, and so do its temporary tables): one round trip less per table and
    batch."""
    made: set[str] = connection.info.setdefault("liveexec_temp_tables", set())
    return made


def _copy_rows(
    cursor: Any,  # noqa: ANN401 (psycopg cursor)
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Row],
    *,
    made: set[str],
    created: set[str],
) -> str:
    temp = f"_liveexec_{table.name}"
    if temp not in made and temp not in created:
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {temp} "
            f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        created.add(temp)  # kept only if the transaction commits (see write_batch)
    values = _tuples(rows, columns, _converters(table, columns, "postgresql"))
    with cursor.copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
    return temp


def _copy_postgres(connection: Connection, batch: Batch) -> set[str]:
    """A large batch through ``COPY`` (into temporary tables for the upserts). Returns the
    temporary tables it created (they exist once the transaction commits)."""
    import psycopg  # noqa: PLC0415 (loaded already: the connection is psycopg's)

    raw = connection.connection.driver_connection
    assert raw is not None
    made = _temp_tables(connection)
    created: set[str] = set()
    cols_events = ", ".join(EVENT_COLUMNS)
    with raw.cursor() as cursor:
        if batch.events:
            # Events are new almost always: COPY them straight into the table, and only when
            # some were recorded before (a replay) go through a temporary table and skip those.
            values = _tuples(
                batch.events, EVENT_COLUMNS, _converters(EVENTS, EVENT_COLUMNS, "postgresql")
            )
            cursor.execute("SAVEPOINT liveexec_events")
            try:
                with cursor.copy(f"COPY order_events ({cols_events}) FROM STDIN") as copy:
                    for row in values:
                        copy.write_row(row)
                cursor.execute("RELEASE SAVEPOINT liveexec_events")
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT liveexec_events")
                temp = _copy_rows(
                    cursor, EVENTS, EVENT_COLUMNS, batch.events, made=made, created=created
                )
                cursor.execute(
                    f"INSERT INTO order_events ({cols_events}) SELECT {cols_events} FROM {temp} "
                    "ON CONFLICT (event_id) DO NOTHING"
                )
        for name, table, columns, key in _STATES:
            states = getattr(batch, name)
            if not states:
                continue
            temp = _copy_rows(cursor, table, columns, states.values(), made=made, created=created)
            names = ", ".join(columns)
            updates = ", ".join(_assign(table.name, c, "EXCLUDED") for c in columns if c not in key)
            cursor.execute(
                f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {temp} "
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates} "
                f"WHERE {_newer_sql(table.name, 'EXCLUDED')}"
            )
    return created
