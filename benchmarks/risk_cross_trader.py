"""The database-wide exposure check's read (``risk.database_exposure``) on PostgreSQL with 2M
rows in ``unified_orders``: p50/p99 of ``ExposureWatcher.poll_once`` (the statement over
``run_exposure``, migration 0009, its rows and their Decimals, as the check's thread runs it),
alternating call by call with the same read over the order and position rows themselves (the
0007 statement through its partial covering indexes: what the check ran before 0009), then the
latter with index scans disabled (sequential scans); the EXPLAIN ANALYZE plans and the ratios,
all measured in the same run. The three reads must return the same books.

Data (COPY into a scratch database created on the server and dropped afterwards): 2,000 runs
of 25 traders, 1,900 completed backtests, 60 ended paper/live runs and ``--running`` (40)
running paper/live runs; ``--orders`` (2,000,000) orders spread over them, ``--working``
(100,000) of them working, of which ``--counted`` (10,000) in the running paper/live runs of
the other traders (the rest: orders left working at the end of backtests and of ended runs,
which the check must not read), the others filled or canceled; 200,000 positions, those of
running runs open. ``VACUUM ANALYZE`` after the load (autovacuum's job on a live server). Then
``--churn`` (20,000) transactions of one order update each, as the recorder commits them, on the
running runs' working orders (a quantity up or down: the triggers update ``run_exposure`` every
time), so the read meets the table as trading leaves it, not as the bulk load packed it: its
pages, dead rows and HOT share are printed.

The check does not run this in the order path: a thread refreshes a snapshot every
``refresh_interval_s`` (default 0.25 s) and orders are denied when it is older than
``max_staleness_s``; the read's p99 is what bounds how fresh the snapshot can be.

The machine is shared: the figures are noisy, compare only the ratio measured in the same run.

Run: .venv/bin/python benchmarks/risk_cross_trader.py [--postgres URL] [--orders N]
[--working N] [--counted N] [--churn N] [--calls N]
(default URL: LIVEEXEC_TEST_POSTGRES_URL)
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

import psycopg
from sqlalchemy import event

from liveexec.db import create_db_engine, upgrade
from liveexec.risk import InstrumentInfo, OrderIntent, RiskLimits, RiskModel
from liveexec.risk._exposure import (
    DatabaseExposureLimits,
    ExposureWatcher,
    OtherBooks,
    books_from_rows,
    combined_exposure_reason,
    exposure_statement,
    order_rows_statement,
    read_other_exposure,
)

ME = "TRADER-000"
TRADERS = 25
RUNS = 2000
ENDED_LIVE = 60
POSITIONS = 200_000
INSTRUMENTS = [f"INST-{i}.SIM" for i in range(50)]
WORKING = ["ACCEPTED", "PARTIALLY_FILLED", "SUBMITTED"]
MODES = ("paper", "live")
NO_INDEX = "SET enable_indexscan = off; SET enable_indexonlyscan = off; SET enable_bitmapscan = off"


@contextmanager
def scratch_database(server: str) -> Iterator[str]:
    name = f"liveexec_bench_cross_{os.getpid()}"
    admin = server.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{admin.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _copy(cur: psycopg.Cursor[tuple[object, ...]], sql: str, lines: Iterator[str]) -> None:
    with cur.copy(sql) as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines):
            buffer.write(line)
            if n % 20_000 == 19_999:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def load(dsn: str, *, orders: int, working: int, counted: int, running: int) -> dict[str, int]:
    rng = random.Random(7)  # noqa: S311 (test data, not secrets)
    runs: list[tuple[str, str, str, str]] = []  # run id, trader, mode, status
    for r in range(RUNS):
        trader = f"TRADER-{r % TRADERS:03d}"
        if r < running:
            mode, status = ("live" if r % 2 else "paper"), "running"
        elif r < running + ENDED_LIVE:
            mode, status = ("live" if r % 2 else "paper"), rng.choice(["completed", "abandoned"])
        else:
            mode, status = "backtest", "completed"
        runs.append((f"run-{r:04d}", trader, mode, status))
    others_running = [r for r in runs if r[3] == "running" and r[1] != ME]
    not_running = [r for r in runs if r[3] != "running"]
    counts = {"orders": orders, "working": working, "counted": 0}

    def order_lines() -> Iterator[str]:
        for i in range(orders):
            if i < counted:  # working, in a running paper/live run of another trader
                run = others_running[i % len(others_running)]
                status = rng.choice(WORKING)
                counts["counted"] += 1
            elif i < working:  # working, in a backtest or an ended run: never counted
                run = not_running[i % len(not_running)]
                status = "ACCEPTED"
            else:
                run = runs[i % RUNS]
                status = "FILLED" if i % 5 else "CANCELED"
            qty = rng.randint(1, 100)
            filled = qty // 2 if status == "PARTIALLY_FILLED" else qty if status == "FILLED" else 0
            yield (
                f"op-{i}\t{run[0]}\t{run[1]}\tS-{i % 7}\t{run[2]}\t{rng.choice(INSTRUMENTS)}\tSIM\t"
                f"O-{i}\t{rng.choice(('BUY', 'SELL'))}\tLIMIT\tGTC\t{qty}\t{filled}\t{status}\t"
                f"[]\t{{}}\t[]\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\t"
                f"2026-01-01 00:00:00+00\t{i}\n"
            )

    def position_lines() -> Iterator[str]:
        seen: set[tuple[str, str]] = set()
        for i in range(POSITIONS):
            run = runs[i % RUNS]
            instrument = rng.choice(INSTRUMENTS)
            # a running run's last cycle per instrument is open (NETTING: one open at a time)
            status = (
                "OPEN" if run[3] == "running" and (run[0], instrument) not in seen else "CLOSED"
            )
            seen.add((run[0], instrument))
            net = rng.randint(-50, 50) if status == "OPEN" else 0
            yield (
                f"{run[0]}\t{run[1]}\tS-1\t{instrument}\tP-{i}\tO-{i}\tFLAT\t{net}\t"
                f"50\t100\t0\tUSDT\t{status}\t2026-01-01 00:00:00+00\t2026-01-01 00:00:00+00\n"
            )

    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        _copy(
            cur,
            "COPY runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
            "nautilus_version, started_at, status) FROM STDIN",
            (f"{r[0]}\t{r[1]}\t{r[2]}\tcfg\t{{}}\t0\t1.231.0\t2026-01-01\t{r[3]}\n" for r in runs),
        )
        _copy(
            cur,
            "COPY unified_orders (operation_id, run_id, trader_id, strategy_id, mode, "
            "instrument_id, venue, client_order_id, side, order_type, time_in_force, quantity, "
            "filled_qty, status, fills, commissions, tags, created_at, updated_at, ts_last_event, "
            "last_event_ns) FROM STDIN",
            order_lines(),
        )
        _copy(
            cur,
            "COPY unified_positions (run_id, trader_id, strategy_id, instrument_id, position_id, "
            "opening_order_id, side, net_qty, peak_qty, avg_px_open, realized_pnl, currency, "
            "status, opened_at, updated_at) FROM STDIN",
            position_lines(),
        )
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("runs", "unified_orders", "unified_positions", "run_exposure"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return counts


def churn(dsn: str, transactions: int) -> str:
    """``transactions`` commits of one working order's quantity changed (up, then down: the
    books end as loaded), on the running paper/live runs; the table's state afterwards."""
    rng = random.Random(11)  # noqa: S311 (test data, not secrets)
    with psycopg.connect(dsn) as conn:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT o.operation_id FROM unified_orders o JOIN runs r USING (run_id) "
                "WHERE r.status = 'running' AND o.status IN ('ACCEPTED', 'SUBMITTED', "
                "'PARTIALLY_FILLED')"
            )
        ]
        conn.commit()
        picked = [rng.choice(ids) for _ in range(transactions // 2)]
        for step in (1, -1):
            for operation_id in picked:
                conn.execute(
                    "UPDATE unified_orders SET quantity = quantity + %s WHERE operation_id = %s",
                    (step, operation_id),
                )
                conn.commit()
        row = conn.execute(
            "SELECT pg_relation_size('run_exposure') / 8192, n_live_tup, n_dead_tup, "
            "n_tup_hot_upd, n_tup_upd FROM pg_stat_user_tables WHERE relname = 'run_exposure'"
        ).fetchone()
    assert row is not None
    pages, live, dead, hot, updated = row
    return (
        f"run_exposure after {len(picked) * 2:,} one-order transactions: {pages} pages, "
        f"{live} live rows, {dead} dead, {hot}/{updated} updates HOT"
    )


def timed(call: Callable[[], object], calls: int) -> list[float]:
    call()  # warm: connection, plan
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def timed_pair(
    first: Callable[[], object], second: Callable[[], object], calls: int
) -> tuple[list[float], list[float]]:
    first()
    second()
    out: tuple[list[float], list[float]] = ([], [])
    for _ in range(calls):
        for call, times in ((first, out[0]), (second, out[1])):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def order_path(instruments: int, calls: int) -> list[float]:
    """The per-order part (in the order path): ``combined_exposure_reason`` on a model with a
    position and a price in each of ``instruments``, the other traders in all of them."""
    ids = INSTRUMENTS[:instruments]
    model = RiskModel(RiskLimits(), "USDT")
    for n, iid in enumerate(ids):
        model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
        model.set_price(iid, Decimal(100 + n), 0)
        model.submit(OrderIntent(f"P-{n}", "S-1", iid, n % 2 == 0, Decimal(3)), 0)
        model.on_fill(f"P-{n}", Decimal(3))
    books: OtherBooks = {iid: (Decimal(2), Decimal(1), Decimal(1)) for iid in ids}
    limits = DatabaseExposureLimits(max_gross=Decimal(10**12), max_net=None)
    order = OrderIntent("O-1", "S-1", ids[0], True, Decimal(1), is_market=True)
    assert model.check(order, 0) is None
    out = []
    for _ in range(calls):
        start = time.perf_counter()
        combined_exposure_reason(limits, model, order, books)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get("LIVEEXEC_TEST_POSTGRES_URL"))
    parser.add_argument("--orders", type=int, default=2_000_000)
    parser.add_argument("--working", type=int, default=100_000)
    parser.add_argument("--counted", type=int, default=10_000)
    parser.add_argument("--running", type=int, default=40)
    parser.add_argument("--churn", type=int, default=20_000)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seq-calls", type=int, default=15)
    args = parser.parse_args()
    if not args.postgres:
        parser.error("--postgres URL (or LIVEEXEC_TEST_POSTGRES_URL) is needed")
    with scratch_database(args.postgres) as dsn:
        upgrade(dsn.replace("postgresql://", "postgresql+psycopg://", 1))  # the triggers too
        start = time.perf_counter()
        counts = load(
            dsn,
            orders=args.orders,
            working=args.working,
            counted=args.counted,
            running=args.running,
        )
        print(
            f"loaded {counts['orders']:,} orders ({counts['working']:,} working, "
            f"{counts['counted']:,} of them in other traders' running paper/live runs), "
            f"{POSITIONS:,} positions, {RUNS:,} runs in {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        print(churn(dsn, args.churn) + f" ({time.perf_counter() - start:.1f} s)")
        url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
        engine = create_db_engine(url)
        new_sql = str(exposure_statement("postgresql", MODES)).replace(":me", "%(me)s")
        old_sql = str(order_rows_statement("postgresql", MODES)).replace(":me", "%(me)s")
        with psycopg.connect(dsn) as conn:
            for label, sql in (("run_exposure, 0009", new_sql), ("order rows, 0007", old_sql)):
                plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", {"me": ME}).fetchall()
                print(f"\nplan ({label}):\n" + "\n".join(row[0] for row in plan))
        books = read_other_exposure(engine, ME)
        print(f"\n{len(books)} instruments in the snapshot")
        watcher = ExposureWatcher(engine, ME)  # what the check's thread runs, read by read
        old_connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        old_statement = order_rows_statement("postgresql", MODES)

        def old_read() -> dict[str, tuple[Decimal, Decimal, Decimal]]:
            return books_from_rows(old_connection.execute(old_statement, {"me": ME}).all())

        assert old_read() == books, "run_exposure and the order rows disagree"
        # The read alone, as the check's thread runs it (the target's figure); then new and
        # old alternately for their ratio: the machine's noise falls on both alike (the old
        # read's thousands of Decimals and cache misses fall on the new one's tail too).
        alone = timed(watcher.poll_once, args.calls)
        indexed, old = timed_pair(watcher.poll_once, old_read, args.calls)
        assert watcher.reads == 2 * args.calls + 2, "a read failed"
        old_connection.close()
        with psycopg.connect(dsn) as conn:  # the statement alone: server, network, rows
            server = timed(lambda: conn.execute(new_sql, {"me": ME}).fetchall(), args.calls)
            # the floor on this machine: a round trip that reads nothing
            floor = timed(lambda: conn.execute("SELECT 1").fetchall(), args.calls)

        seq_engine = create_db_engine(url)

        @event.listens_for(seq_engine, "connect")
        def _no_index(dbapi_connection: object, _record: object) -> None:
            with dbapi_connection.cursor() as cur:  # type: ignore[attr-defined]  # psycopg
                cur.execute(NO_INDEX)
            dbapi_connection.commit()  # type: ignore[attr-defined]  # psycopg

        with seq_engine.connect() as connection:
            assert books_from_rows(connection.execute(old_statement, {"me": ME}).all()) == books
        with psycopg.connect(dsn) as conn:
            conn.execute(NO_INDEX)
            plan = conn.execute(f"EXPLAIN {old_sql}", {"me": ME}).fetchall()
        print("\nplan (order rows, index scans off):\n" + "\n".join(row[0] for row in plan))
        with seq_engine.connect() as connection:
            sequential = timed(
                lambda: books_from_rows(connection.execute(old_statement, {"me": ME}).all()),
                args.seq_calls,
            )
        watcher.stop()
        engine.dispose()
        seq_engine.dispose()
    in_path = {n: order_path(n, max(args.calls, 5000)) for n in (1, 5, len(INSTRUMENTS))}

    def line(label: str, values: list[float]) -> None:
        print(
            f"{label}: {len(values)} calls, p50 {pct(values, 0.5) * 1e3:.2f} ms, "
            f"p99 {pct(values, 0.99) * 1e3:.2f} ms, max {max(values) * 1e3:.2f} ms"
        )

    print()
    line("ExposureWatcher.poll_once, run_exposure (0009), alone", alone)
    line("ExposureWatcher.poll_once, run_exposure (0009), alternating with the next", indexed)
    line("the same read over the order rows (0007 partial covering indexes)", old)
    line("the 0009 statement alone (psycopg, no SQLAlchemy, no Decimals)", server)
    line("floor, SELECT 1 on the same connection", floor)
    line("the order rows with sequential scans (index scans off)", sequential)
    for n, times in in_path.items():
        print(
            f"in the order path, combined_exposure_reason over {n} instruments: "
            f"p50 {pct(times, 0.5) * 1e6:.1f} µs, p99 {pct(times, 0.99) * 1e6:.1f} µs"
        )
    for label, base in (("order rows", old), ("sequential scans", sequential)):
        print(
            f"ratio {label} / run_exposure: p50 "
            f"{statistics.median(base) / statistics.median(indexed):.1f}x, "
            f"p99 {pct(base, 0.99) / pct(indexed, 0.99):.1f}x"
        )
    print("target: run_exposure p99 <= 2 ms (shared, loaded machine: noisy)")


if __name__ == "__main__":
    main()
