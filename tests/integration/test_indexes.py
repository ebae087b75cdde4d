"""On PostgreSQL with enough rows, each query the indexes were made for uses its index."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.engine import make_url

from liveexec.db import upgrade

pytestmark = pytest.mark.postgres

ORDERS = 60_000
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STATUSES = ["FILLED"] * 8 + ["CANCELED", "ACCEPTED"]

# (query, index it must use): the queries documented in migrations/versions/0002_query_indexes.py
QUERIES = [
    (
        "SELECT * FROM unified_orders WHERE trader_id = 'TRADER-7' AND strategy_id = 'S-3' "
        "AND instrument_id = 'INST-5.SIM' AND status IN ('ACCEPTED', 'PARTIALLY_FILLED')",
        "ix_unified_orders_open",
    ),
    (
        "SELECT count(*) FROM unified_orders WHERE strategy_id = 'S-3' "
        "AND created_at >= TIMESTAMPTZ '2024-01-01 00:00:00+00' + interval '59990 seconds'",
        "ix_unified_orders_strategy_created",
    ),
    (
        "SELECT sum(quantity - filled_qty) FROM unified_orders "
        "WHERE instrument_id = 'INST-5.SIM' AND status = 'ACCEPTED'",
        "ix_unified_orders_instrument_status",
    ),
    (
        "SELECT * FROM unified_orders WHERE venue = 'SIM' AND venue_order_id = 'V-12345'",
        "ix_unified_orders_venue_order",
    ),
    ("SELECT * FROM unified_orders WHERE exec_spawn_id = 'O-500'", "ix_unified_orders_exec_spawn"),
    (
        "SELECT * FROM unified_orders WHERE run_id = 'run-03' ORDER BY created_at LIMIT 100",
        "ix_unified_orders_run_created",
    ),
    (
        "SELECT * FROM order_events WHERE run_id = 'run-03' AND client_order_id = 'O-1234' "
        "ORDER BY ts_event",
        "ix_order_events_order",
    ),
    (
        "SELECT * FROM unified_positions WHERE trader_id = 'TRADER-7' AND status = 'OPEN'",
        "ix_unified_positions_trader_status",
    ),
    (
        "SELECT * FROM unified_positions WHERE instrument_id = 'INST-5.SIM' AND status = 'OPEN'",
        "ix_unified_positions_instrument_status",
    ),
    (
        "SELECT * FROM runs WHERE config_id = 'cfg-7' ORDER BY started_at DESC",
        "ix_runs_config_started",
    ),
    ("SELECT * FROM runs ORDER BY started_at DESC LIMIT 20", "ix_runs_started"),
]


@pytest.fixture(scope="module")
def loaded_postgres(module_postgres_url: str) -> Iterator[str]:
    url = module_postgres_url
    upgrade(url)
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    rng = random.Random(7)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
            "nautilus_version, started_at, status) FROM STDIN"
        ) as copy:
            for r in range(2000):
                copy.write_row(
                    (
                        f"run-{r:02d}",
                        f"TRADER-{r % 20}",
                        "backtest",
                        f"cfg-{r % 500}",
                        "{}",
                        "0",
                        "1.231.0",
                        T0 + timedelta(minutes=r),
                        "completed",
                    )
                )
        with cur.copy(
            "COPY unified_orders (operation_id, run_id, trader_id, strategy_id, mode, "
            "instrument_id, venue, client_order_id, venue_order_id, exec_spawn_id, side, "
            "order_type, "
            "time_in_force, quantity, filled_qty, status, fills, commissions, tags, created_at, "
            "updated_at, ts_last_event, last_event_ns) FROM STDIN"
        ) as copy:
            for i in range(ORDERS):
                created = T0 + timedelta(seconds=i)
                copy.write_row(
                    (
                        f"op-{i}",
                        f"run-{i % 50:02d}",
                        f"TRADER-{i % 20}",
                        f"S-{i % 40}",
                        "backtest",
                        f"INST-{i % 60}.SIM",
                        "SIM",
                        f"O-{i}",
                        f"V-{i}",
                        f"O-{i // 10}" if i % 3 == 0 else None,
                        rng.choice(["BUY", "SELL"]),
                        "LIMIT",
                        "GTC",
                        "1.5",
                        "1.5",
                        rng.choice(STATUSES),
                        "[]",
                        "{}",
                        "[]",
                        created,
                        created,
                        created,
                        i,
                    )
                )
        with cur.copy(
            "COPY order_events (event_id, run_id, operation_id, client_order_id, strategy_id, "
            "instrument_id, event_type, ts_event, ts_init, payload, recorded_at) FROM STDIN"
        ) as copy:
            for i in range(ORDERS * 2):
                order = i // 2
                copy.write_row(
                    (
                        f"e-{i}",
                        f"run-{order % 50:02d}",
                        f"op-{order}",
                        f"O-{order}",
                        "S-1",
                        "I.SIM",
                        "OrderFilled",
                        i,
                        i,
                        json.dumps({"n": i}),
                        T0,
                    )
                )
        with cur.copy(
            "COPY unified_positions (run_id, trader_id, strategy_id, instrument_id, position_id, "
            "opening_order_id, side, net_qty, peak_qty, avg_px_open, realized_pnl, currency, "
            "status, opened_at, "
            "updated_at) FROM STDIN"
        ) as copy:
            for i in range(ORDERS // 2):
                copy.write_row(
                    (
                        f"run-{i % 50:02d}",
                        f"TRADER-{i % 20}",
                        "S-1",
                        f"INST-{i % 60}.SIM",
                        f"P-{i}",
                        f"O-{i}",
                        "FLAT",
                        "0",
                        "1",
                        "100",
                        "5",
                        "USD",
                        "CLOSED" if i % 25 else "OPEN",
                        T0,
                        T0,
                    )
                )
        _running_runs(cur, rng)
        for table in ("runs", "unified_orders", "order_events", "unified_positions"):
            cur.execute(f"ANALYZE {table}")
        cur.execute("ANALYZE run_exposure")
    yield dsn


RUNNING = 40
ENDED = 400  # ended paper/live runs: the positions they left open stay in run_exposure


def _running_runs(cur: psycopg.Cursor[tuple[object, ...]], rng: random.Random) -> None:
    """What the database-wide exposure check reads: running paper/live runs, each with working
    orders and open positions in 60 instruments (``run_exposure`` is kept by 0009's triggers
    as these rows go in), and ten times as many ended ones, with positions left open."""
    with cur.copy(
        "COPY runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
        "nautilus_version, started_at, status) FROM STDIN"
    ) as copy:
        for r in range(RUNNING + ENDED):
            copy.write_row(
                (
                    f"live-{r:02d}",
                    f"TRADER-{r % 20}",
                    "live" if r % 2 else "paper",
                    "cfg-live",
                    "{}",
                    "0",
                    "1.231.0",
                    T0,
                    "running" if r < RUNNING else "completed",
                )
            )
    with cur.copy(
        "COPY unified_orders (operation_id, run_id, trader_id, strategy_id, mode, "
        "instrument_id, venue, client_order_id, side, order_type, time_in_force, quantity, "
        "filled_qty, status, fills, commissions, tags, created_at, updated_at, ts_last_event, "
        "last_event_ns) FROM STDIN"
    ) as copy:
        for i in range(2 * RUNNING * 200):
            r = i % (2 * RUNNING)
            copy.write_row(
                (
                    f"live-op-{i}",
                    f"live-{r:02d}",
                    f"TRADER-{r % 20}",
                    "S-1",
                    "live" if r % 2 else "paper",
                    f"INST-{i % 60}.SIM",
                    "SIM",
                    f"L-{i}",
                    rng.choice(["BUY", "SELL"]),
                    "LIMIT",
                    "GTC",
                    "2",
                    "0",
                    "ACCEPTED" if i % 3 else "FILLED",
                    "[]",
                    "{}",
                    "[]",
                    T0,
                    T0,
                    T0,
                    i,
                )
            )
    with cur.copy(
        "COPY unified_positions (run_id, trader_id, strategy_id, instrument_id, position_id, "
        "opening_order_id, side, net_qty, peak_qty, avg_px_open, realized_pnl, currency, "
        "status, opened_at, updated_at) FROM STDIN"
    ) as copy:
        for i in range((RUNNING + ENDED) * 60):
            r = i // 60
            copy.write_row(
                (
                    f"live-{r:02d}",
                    f"TRADER-{r % 20}",
                    "S-1",
                    f"INST-{i % 60}.SIM",
                    f"LP-{i}",
                    f"L-{i}",
                    "LONG",
                    "3",
                    "3",
                    "100",
                    "0",
                    "USD",
                    "OPEN",
                    T0,
                    T0,
                )
            )


@pytest.mark.parametrize(("query", "index"), QUERIES, ids=[index for _, index in QUERIES])
def test_query_uses_its_index(loaded_postgres: str, query: str, index: str) -> None:
    with psycopg.connect(loaded_postgres) as conn, conn.cursor() as cur:
        cur.execute(f"EXPLAIN {query}")
        plan = "\n".join(row[0] for row in cur.fetchall())
    assert index in plan, f"{index} not used by:\n{query}\n{plan}"


def _plan(dsn: str, statement: str) -> str:
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"EXPLAIN {statement.replace(':me', '%(me)s')}", {"me": "TRADER-7"})
        return "\n".join(str(row[0]) for row in cur.fetchall())


def test_database_exposure_statement_reads_run_exposure_by_its_key(loaded_postgres: str) -> None:
    """The database-wide exposure check's statement on PostgreSQL (migration 0009): the running
    runs' ids from ix_runs_running, then their run_exposure rows in one scan of its primary key
    (= ANY of the ids); never a scan of a table, nor a read of the orders or positions."""
    from liveexec.risk._exposure import exposure_statement  # noqa: PLC0415 (this test only)

    plan = _plan(loaded_postgres, str(exposure_statement("postgresql", ("paper", "live"))))
    for index in ("ix_runs_running", "pk_run_exposure"):
        assert index in plan, f"{index} not used:\n{plan}"
    assert "Seq Scan" not in plan, plan
    assert "unified_orders" not in plan, plan
    assert "unified_positions" not in plan, plan
