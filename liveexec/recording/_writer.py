"""The recorder's write path: batched, idempotent upserts into the shared tables.

PostgreSQL batches go through ``COPY`` into a temporary table and one ``INSERT ... ON CONFLICT``
per table; SQLite batches through ``executemany`` upserts. Replaying the same events gives the
same rows: events are keyed by ``event_id``, orders keep the state of their newest event, and
positions the state of their newest update.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from liveexec.db import OrderEvent, UnifiedOrder, UnifiedPosition
from liveexec.db._types import ExactDecimal, UTCDateTime, checked_decimal, checked_utc

__all__ = ["EVENT_COLUMNS", "ORDER_COLUMNS", "POSITION_COLUMNS", "Batch", "write_batch"]

Row = Mapping[str, Any]

ORDERS: Table = UnifiedOrder.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
EVENTS: Table = OrderEvent.__table__  # type: ignore[attr-defined]
POSITIONS: Table = UnifiedPosition.__table__  # type: ignore[attr-defined]

ORDER_COLUMNS = tuple(c.name for c in ORDERS.columns)
EVENT_COLUMNS = tuple(c.name for c in EVENTS.columns if c.name != "id")
POSITION_COLUMNS = tuple(c.name for c in POSITIONS.columns if c.name != "id")
_POSITION_KEY = ("run_id", "position_id", "opening_order_id")


class Batch:
    """Rows collected between two flushes; orders and positions keep only their newest state."""

    __slots__ = ("events", "orders", "positions")

    def __init__(self) -> None:
        self.events: list[Row] = []
        self.orders: dict[str, Row] = {}
        self.positions: dict[tuple[str, str, str], Row] = {}

    def add_event(self, row: Row) -> None:
        self.events.append(row)

    def add_order(self, row: Row) -> None:
        key = row["operation_id"]
        current = self.orders.get(key)
        if current is None or current["last_event_ns"] <= row["last_event_ns"]:
            self.orders[key] = row

    def add_position(self, row: Row) -> None:
        key = (row["run_id"], row["position_id"], row["opening_order_id"])
        current = self.positions.get(key)
        if current is None or current["updated_at"] <= row["updated_at"]:
            self.positions[key] = row

    def __len__(self) -> int:
        return len(self.events) + len(self.orders) + len(self.positions)


def write_batch(engine: Engine, batch: Batch) -> None:
    """Write one batch in one transaction."""
    if not len(batch):
        return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            _write_postgres(connection, batch)
        else:
            _write_sqlite(connection, batch)


# --- SQLite -------------------------------------------------------------------------------------


def _write_sqlite(connection: Connection, batch: Batch) -> None:
    if batch.events:
        connection.execute(
            sqlite_insert(EVENTS).on_conflict_do_nothing(index_elements=["event_id"]), batch.events
        )
    if batch.orders:
        stmt = sqlite_insert(ORDERS)
        updates = {c: stmt.excluded[c] for c in ORDER_COLUMNS if c != "operation_id"}
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=["operation_id"],
                set_=updates,
                where=ORDERS.c.last_event_ns <= stmt.excluded.last_event_ns,
            ),
            list(batch.orders.values()),
        )
    if batch.positions:
        stmt = sqlite_insert(POSITIONS)
        updates = {c: stmt.excluded[c] for c in POSITION_COLUMNS if c not in _POSITION_KEY}
        connection.execute(
            stmt.on_conflict_do_update(index_elements=list(_POSITION_KEY), set_=updates),
            list(batch.positions.values()),
        )


# --- PostgreSQL -------------------------------------------------------------------------------


def _copy_value(value: Any, column_type: Any) -> Any:  # noqa: ANN401 (COPY adapts any value)
    if value is None:
        return None
    if isinstance(column_type, ExactDecimal):
        return checked_decimal(value)
    if isinstance(column_type, UTCDateTime):
        return checked_utc(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return value


def _copy_rows(
    cursor: Any, table: Table, columns: Sequence[str], rows: Iterable[Row]  # noqa: ANN401
) -> str:
    temp = f"_liveexec_{table.name}"
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {temp} "
        f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    types = [table.c[name].type for name in columns]
    with cursor.copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([_copy_value(row[n], t) for n, t in zip(columns, types, strict=True)])
    return temp


def _write_postgres(connection: Connection, batch: Batch) -> None:
    raw = connection.connection.driver_connection
    assert raw is not None
    cols_events = ", ".join(EVENT_COLUMNS)
    cols_orders = ", ".join(ORDER_COLUMNS)
    cols_positions = ", ".join(POSITION_COLUMNS)
    with raw.cursor() as cursor:
        if batch.events:
            temp = _copy_rows(cursor, EVENTS, EVENT_COLUMNS, batch.events)
            cursor.execute(
                f"INSERT INTO order_events ({cols_events}) SELECT {cols_events} FROM {temp} "
                "ON CONFLICT (event_id) DO NOTHING"
            )
        if batch.orders:
            temp = _copy_rows(cursor, ORDERS, ORDER_COLUMNS, batch.orders.values())
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ORDER_COLUMNS if c != "operation_id")
            cursor.execute(
                f"INSERT INTO unified_orders ({cols_orders}) SELECT {cols_orders} FROM {temp} "
                f"ON CONFLICT (operation_id) DO UPDATE SET {updates} "
                "WHERE unified_orders.last_event_ns <= EXCLUDED.last_event_ns"
            )
        if batch.positions:
            temp = _copy_rows(cursor, POSITIONS, POSITION_COLUMNS, batch.positions.values())
            updates = ", ".join(
                f"{c} = EXCLUDED.{c}" for c in POSITION_COLUMNS if c not in _POSITION_KEY
            )
            cursor.execute(
                f"INSERT INTO unified_positions ({cols_positions}) SELECT {cols_positions} "
                f"FROM {temp} ON CONFLICT ({', '.join(_POSITION_KEY)}) DO UPDATE SET {updates}"
            )
