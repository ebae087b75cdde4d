"""Persistence: a stream of order events through the recorder's write path, against a raw baseline
of the same rows in the same run (psycopg COPY on PostgreSQL, sqlite3 executemany on SQLite).

    python benchmarks/persistence.py --postgres URL [--events 200000]

The stream is 4 events per order (submitted, accepted, partially filled, filled), each followed by
the order's new state, as the recorder actor produces them. Rates are events per second.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from liveexec.db import create_db_engine, upgrade
from liveexec.recording import RecordBuffer
from liveexec.recording._writer import (
    EVENT_COLUMNS,
    EVENTS,
    ORDER_COLUMNS,
    ORDERS,
    _converters,
    _tuples,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STATES = ("SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "FILLED")


def stream(events: int, run_id: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for n in range(events):
        order_n, step = divmod(n, len(STATES))
        ts = T0 + timedelta(milliseconds=n)
        ns = int(ts.timestamp() * 1e9)
        client_order_id = f"O-{order_n}"
        filled = Decimal("0.5") if step == 2 else Decimal(step == 3)
        yield (
            {
                "event_id": f"{run_id}-e{n}",
                "run_id": run_id,
                "operation_id": f"{run_id}-{order_n}",
                "client_order_id": client_order_id,
                "strategy_id": "EMACross-000",
                "instrument_id": "BTCUSDT.BINANCE",
                "event_type": "Order" + STATES[step].title(),
                "ts_event": ns,
                "ts_init": ns,
                "payload": {"client_order_id": client_order_id, "ts_event": ns, "n": n},
                "recorded_at": ts,
            },
            {
                "operation_id": f"{run_id}-{order_n}",
                "run_id": run_id,
                "trader_id": "TRADER-001",
                "strategy_id": "EMACross-000",
                "mode": "backtest",
                "instrument_id": "BTCUSDT.BINANCE",
                "venue": "BINANCE",
                "client_order_id": client_order_id,
                "venue_order_id": f"V-{order_n}",
                "parent_order_id": None,
                "exec_spawn_id": None,
                "exec_algorithm_id": None,
                "side": "BUY",
                "order_type": "LIMIT",
                "time_in_force": "GTC",
                "quantity": Decimal("1.000000"),
                "price": Decimal("42000.10"),
                "trigger_price": None,
                "filled_qty": filled,
                "avg_px": Decimal("42000.10") if filled else None,
                "status": STATES[step],
                "fills": [],
                "commissions": {"USDT": "0.042"},
                "risk_decision": None,
                "risk_reason": None,
                "route": None,
                "tags": [],
                "created_at": T0,
                "updated_at": ts,
                "ts_last_event": ts,
                "last_event_ns": ns,
                "last_event_seq": ns,
            },
        )


def new_run(engine: Engine, run_id: str) -> None:
    """A runs row for the stream (ids carry a per-invocation suffix, see main)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
                "nautilus_version, started_at, status) VALUES "
                "(:r, 'TRADER-001', 'backtest', 'bench', '{}', '0', '0', :t, 'running')"
            ),
            {
                "r": run_id,
                "t": T0 if engine.dialect.name == "postgresql" else "2024-01-01 00:00:00.000000",
            },
        )


def through_recorder(engine: Engine, events: int, run_id: str, *, background: bool) -> float:
    new_run(engine, run_id)
    rows = list(stream(events, run_id))
    started = time.perf_counter()
    buffer = RecordBuffer(engine, background=background, batch_rows=5_000)
    for event_row, order_row in rows:
        buffer.submit("event", event_row)
        buffer.submit("order", order_row)
    buffer.close()
    return events / (time.perf_counter() - started)


def final_orders(rows: list[tuple[dict[str, Any], dict[str, Any]]]) -> list[dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for _event, order in rows:
        latest[order["operation_id"]] = order
    return list(latest.values())


def raw_postgres(url: str, engine: Engine, events: int, run_id: str) -> float:
    new_run(engine, run_id)
    rows = list(stream(events, run_id))
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    event_values = _tuples(
        [e for e, _ in rows], EVENT_COLUMNS, _converters(EVENTS, EVENT_COLUMNS, "postgresql")
    )
    order_values = _tuples(
        final_orders(rows), ORDER_COLUMNS, _converters(ORDERS, ORDER_COLUMNS, "postgresql")
    )
    started = time.perf_counter()  # the baseline gets its rows as ready-made tuples
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY order_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for row in event_values:
                copy.write_row(row)
        with cur.copy(f"COPY unified_orders ({', '.join(ORDER_COLUMNS)}) FROM STDIN") as copy:
            for row in order_values:
                copy.write_row(row)
    return events / (time.perf_counter() - started)


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def raw_sqlite(path: str, engine: Engine, events: int, run_id: str) -> float:
    new_run(engine, run_id)
    rows = list(stream(events, run_id))
    event_values = _tuples(
        [e for e, _ in rows], EVENT_COLUMNS, _converters(EVENTS, EVENT_COLUMNS, "sqlite")
    )
    order_values = _tuples(
        final_orders(rows), ORDER_COLUMNS, _converters(ORDERS, ORDER_COLUMNS, "sqlite")
    )
    started = time.perf_counter()  # the baseline gets its rows as ready-made tuples
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(insert_sql("order_events", EVENT_COLUMNS), event_values)
        connection.executemany(insert_sql("unified_orders", ORDER_COLUMNS), order_values)
    connection.close()
    return events / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (migrated here)")
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:8]  # fresh ids each invocation: the database may keep earlier runs
    results: list[tuple[str, bool, float, float]] = []
    if args.postgres:
        upgrade(args.postgres)
        engine = create_db_engine(args.postgres)
        copy_rate = raw_postgres(args.postgres, engine, args.events, f"bench-copy-{tag}")
        for background in (False, True):
            rate = through_recorder(
                engine, args.events, f"bench-{background}-{tag}", background=background
            )
            results.append(("PostgreSQL", background, rate, copy_rate))
        engine.dispose()
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = create_db_engine(url)
        raw_rate = raw_sqlite(path, engine, args.events, f"bench-raw-{tag}")
        for background in (False, True):
            rate = through_recorder(
                engine, args.events, f"bench-{background}-{tag}", background=background
            )
            results.append(("SQLite", background, rate, raw_rate))
        engine.dispose()
    print(f"{args.events:,} order events (plus their order upserts), events/s:")
    for name, background, rate, baseline in results:
        mode = "writer thread" if background else "inline      "
        raw = "COPY" if name == "PostgreSQL" else "executemany"
        print(
            f"{name:10s} recorder ({mode}) {rate:9,.0f}   raw {raw} {baseline:9,.0f}   "
            f"ratio {rate / baseline:4.2f}"
        )


if __name__ == "__main__":
    main()
