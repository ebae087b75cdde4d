"""``run_exposure`` (migration 0009, PostgreSQL): the per-run sums the database-wide exposure
check reads, kept by triggers, equal at every commit to a plain Python sum over the order and
position rows: under random writes of every kind (inserts, status/fill/side/instrument/run
changes, deletes, a run deleted with its rows, backtests), during and after real paper runs, and
after the migration sums the rows already there. And the check's watcher: the snapshot's age
counts from the read's start, and a database that hangs at start fails closed, not the start."""

from __future__ import annotations

import functools
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from liveexec.db import create_db_engine, downgrade, upgrade
from liveexec.db._models import WORKING_STATUSES
from liveexec.risk._exposure import (
    ExposureWatcher,
    books_from_rows,
    order_rows_statement,
    read_other_exposure,
)
from tests.risk._exposure_rows import T0, add_order, add_position, add_run

pytestmark = pytest.mark.postgres

Sums = dict[tuple[str, str], tuple[Decimal, Decimal, Decimal, int, int]]
STATUSES = (*WORKING_STATUSES, "FILLED", "CANCELED", "REJECTED", "EXPIRED", "DENIED")
INSTRUMENTS = ("AAA.SIM", "BBB.SIM", "CCC.SIM")


def table_sums(connection: Connection) -> Sums:
    rows = connection.execute(
        text(
            "SELECT run_id, instrument_id, net_qty, working_buys, working_sells, "
            "working_orders, open_positions FROM run_exposure"
        )
    ).all()
    return {(r[0], r[1]): (Decimal(r[2]), Decimal(r[3]), Decimal(r[4]), r[5], r[6]) for r in rows}


def row_sums(connection: Connection) -> Sums:
    """The same sums, in Python, from every row of every run that is not a backtest."""
    modes: dict[str, str] = {
        str(run): str(mode)
        for run, mode in connection.execute(text("SELECT run_id, mode FROM runs"))
    }
    acc: dict[tuple[str, str], list[Any]] = {}

    def book(run_id: str, iid: str) -> list[Any]:
        return acc.setdefault((run_id, iid), [Decimal(0), Decimal(0), Decimal(0), 0, 0])

    for run_id, iid, side, qty, filled, status in connection.execute(
        text("SELECT run_id, instrument_id, side, quantity, filled_qty, status FROM unified_orders")
    ):
        if modes[run_id] != "backtest" and status in WORKING_STATUSES:
            entry = book(run_id, iid)
            entry[1 if side == "BUY" else 2] += Decimal(qty) - Decimal(filled)
            entry[3] += 1
    for run_id, iid, net, status in connection.execute(
        text("SELECT run_id, instrument_id, net_qty, status FROM unified_positions")
    ):
        if modes[run_id] != "backtest" and status == "OPEN":
            entry = book(run_id, iid)
            entry[0] += Decimal(net)
            entry[4] += 1
    return {key: (v[0], v[1], v[2], v[3], v[4]) for key, v in acc.items()}


def snapshot_sums(engine: Engine) -> tuple[Sums, Sums]:
    """Both in one snapshot (what a reader sees at one commit)."""
    options = {"isolation_level": "REPEATABLE READ"}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        return table_sums(connection), row_sums(connection)


def rows_books(engine: Engine) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """The check's books summed from the rows (what SQLite's check reads)."""
    with engine.connect() as connection:
        statement = order_rows_statement("postgresql", ("paper", "live"))
        return books_from_rows(connection.execute(statement, {"me": "nobody"}).all())


def _as_text(books: dict[str, tuple[Decimal, Decimal, Decimal]]) -> dict[str, list[str]]:
    """The figures as the reasons print them: equal values with other trailing zeros differ."""
    return {iid: [str(value) for value in book] for iid, book in books.items()}


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = create_db_engine(postgres_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_run_exposure_equals_the_rows_under_random_writes(engine: Engine) -> None:
    rng = random.Random(5)
    runs = [
        add_run(engine, f"DESK-{r % 3}", mode, status)
        for r, (mode, status) in enumerate(
            [("paper", "running"), ("live", "running"), ("backtest", "completed")] * 3
        )
    ]
    run_modes = {run: ("paper", "live", "backtest")[i % 3] for i, run in enumerate(runs)}
    orders: list[str] = []
    positions: list[int] = []
    checked_rows = 0
    for step in range(400):
        with engine.begin() as connection:
            for _ in range(rng.randint(1, 4)):  # several writes in one transaction
                action = rng.random()
                if action < 0.3 or not orders:
                    run = rng.choice(runs)
                    op = str(uuid.uuid4())
                    qty = Decimal(rng.randint(1, 80)) / 8
                    connection.execute(
                        text(
                            "INSERT INTO unified_orders (operation_id, run_id, trader_id, "
                            "strategy_id, mode, instrument_id, venue, client_order_id, side, "
                            "order_type, time_in_force, quantity, filled_qty, status, fills, "
                            "commissions, tags, created_at, updated_at, ts_last_event, "
                            "last_event_ns) VALUES (:op, :run, 'T', 'S', :mode, :iid, 'SIM', "
                            ":op, :side, 'LIMIT', 'GTC', :qty, :filled, :status, '[]', '{}', "
                            "'[]', :t, :t, :t, 0)"
                        ),
                        {
                            "op": op,
                            "run": run,
                            "mode": run_modes[run],
                            "iid": rng.choice(INSTRUMENTS),
                            "side": rng.choice(["BUY", "SELL"]),
                            "qty": qty,
                            "filled": qty * rng.choice([Decimal(0), Decimal("0.5")]),
                            "status": rng.choice(STATUSES),
                            "t": T0,
                        },
                    )
                    orders.append(op)
                elif action < 0.6:  # a status and fill change, the recorder's usual update
                    connection.execute(
                        text(
                            "UPDATE unified_orders SET status = :status, "
                            "filled_qty = quantity * :part WHERE operation_id = :op"
                        ),
                        {
                            "op": rng.choice(orders),
                            "status": rng.choice(STATUSES),
                            "part": rng.choice([Decimal(0), Decimal("0.25"), Decimal(1)]),
                        },
                    )
                elif action < 0.66:  # a modify: quantity or side; or the key itself moves
                    column, value = rng.choice(
                        [
                            ("quantity", Decimal(rng.randint(80, 120)) / 4),
                            ("side", rng.choice(["BUY", "SELL"])),
                            ("instrument_id", rng.choice(INSTRUMENTS)),
                        ]
                    )
                    connection.execute(
                        text(f"UPDATE unified_orders SET {column} = :v WHERE operation_id = :op"),
                        {"op": rng.choice(orders), "v": value},
                    )
                elif action < 0.7:
                    op = orders.pop(rng.randrange(len(orders)))
                    connection.execute(
                        text("DELETE FROM unified_orders WHERE operation_id = :op"), {"op": op}
                    )
                elif action < 0.8 or not positions:
                    run = rng.choice(runs)
                    pid = connection.execute(
                        text(
                            "INSERT INTO unified_positions (run_id, trader_id, strategy_id, "
                            "instrument_id, position_id, opening_order_id, side, net_qty, "
                            "peak_qty, avg_px_open, realized_pnl, currency, status, opened_at, "
                            "updated_at, last_event_ns, last_event_seq) VALUES (:run, 'T', 'S', "
                            ":iid, :pid, :pid, 'LONG', :net, 1, 1, 0, 'USD', :status, :t, :t, "
                            "0, 0) RETURNING id"
                        ),
                        {
                            "run": run,
                            "iid": rng.choice(INSTRUMENTS),
                            "pid": str(uuid.uuid4()),
                            "net": Decimal(rng.randint(-40, 40)) / 4,
                            "status": rng.choice(["OPEN", "OPEN", "CLOSED"]),
                            "t": T0,
                        },
                    ).scalar_one()
                    positions.append(pid)
                elif action < 0.95:  # the position changes, closes or reopens
                    connection.execute(
                        text(
                            "UPDATE unified_positions SET net_qty = :net, status = :status "
                            "WHERE id = :id"
                        ),
                        {
                            "id": rng.choice(positions),
                            "net": Decimal(rng.randint(-40, 40)) / 4,
                            "status": rng.choice(["OPEN", "OPEN", "CLOSED"]),
                        },
                    )
                else:
                    pid = positions.pop(rng.randrange(len(positions)))
                    connection.execute(
                        text("DELETE FROM unified_positions WHERE id = :id"), {"id": pid}
                    )
        if step % 10 == 9:
            found, expected = snapshot_sums(engine)
            assert found == expected, step
            checked_rows += len(found)
            assert _as_text(read_other_exposure(engine, "nobody")) == _as_text(rows_books(engine))
    assert checked_rows > 200  # the sums had rows to compare, not only empty tables
    # A run deleted: its rows go with it (cascade), and their sums with them.
    doomed = runs[0]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM runs WHERE run_id = :r"), {"r": doomed})
    found, expected = snapshot_sums(engine)
    assert found == expected
    assert not any(run == doomed for run, _ in found)
    assert not any(run_modes[run] == "backtest" for run, _ in found)


def test_the_migration_sums_the_rows_already_there(postgres_url: str) -> None:
    upgrade(postgres_url, "0008")
    engine = create_db_engine(postgres_url)
    try:
        rng = random.Random(3)
        runs: dict[str, str] = {}
        for mode in ("paper", "live", "backtest"):
            run = runs[mode] = add_run(engine, "DESK-9", mode)
            for n in range(12):
                add_order(
                    engine,
                    run,
                    "DESK-9",
                    INSTRUMENTS[n % 3],
                    rng.choice(["BUY", "SELL"]),
                    str(rng.randint(1, 9)),
                    status=rng.choice(STATUSES),
                    mode=mode,
                )
            add_position(engine, run, "DESK-9", INSTRUMENTS[0], "2.5")
            add_position(engine, run, "DESK-9", INSTRUMENTS[1], "-1", status="CLOSED")
        upgrade(postgres_url)  # 0009: sums what is there
        found, expected = snapshot_sums(engine)
        assert found == expected
        assert len(found) >= 4
        downgrade(postgres_url, "0008")  # triggers and table gone; the rows still take writes
        add_order(engine, runs["paper"], "DESK-9", INSTRUMENTS[2], "BUY", "1", mode="paper")
        upgrade(postgres_url)
        found, expected = snapshot_sums(engine)
        assert found == expected
    finally:
        engine.dispose()


@pytest.mark.slow
def test_run_exposure_equals_the_rows_during_and_after_real_paper_runs(postgres_url: str) -> None:
    """Real paper runs (the recorder's batches through the triggers), sampled while they run
    and after: the table equals the rows in every snapshot, and the check's read equals the
    same books summed from the rows."""
    from liveexec.config import load_config  # noqa: PLC0415 (slow test only)
    from liveexec.demo import prepare_demo_catalog  # noqa: PLC0415
    from liveexec.examples import EXAMPLES_DIR  # noqa: PLC0415
    from liveexec.trading import paper  # noqa: PLC0415

    upgrade(postgres_url)
    engine = create_db_engine(postgres_url)
    samples: list[int] = []
    try:
        for example, overrides in (
            ("simple_quoter_btcusdt_quotes.yaml", []),
            (
                "ema_cross_btc_perp_bars.yaml",
                ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-05T12:00:00Z"],
            ),
        ):
            cfg = load_config(
                EXAMPLES_DIR / example,
                overrides=["logging.level=ERROR", "mode=paper", *overrides],
            )
            prepare_demo_catalog(cfg)
            thread, done, errors = _in_thread(
                functools.partial(paper, cfg, database_url=postgres_url, subprocess=True)
            )
            while not done.is_set():
                found, expected = snapshot_sums(engine)
                assert found == expected
                samples.append(len(found))
                options = {"isolation_level": "REPEATABLE READ"}  # both in one snapshot
                with engine.connect().execution_options(**options) as connection:
                    rows = connection.execute(
                        order_rows_statement("postgresql", ("paper", "live")), {"me": "nobody"}
                    ).all()
                    books = read_other_exposure(connection, "nobody")
                    assert _as_text(books) == _as_text(books_from_rows(rows))
                time.sleep(0.05)
            thread.join()
            assert not errors, errors
            found, expected = snapshot_sums(engine)
            assert found == expected
    finally:
        engine.dispose()
    assert sum(1 for n in samples if n) >= 3, samples  # sampled while something was working


def _in_thread(
    call: Callable[[], object],
) -> tuple[threading.Thread, threading.Event, list[BaseException]]:
    """``call`` on a thread of its own (the paper run waits there for its subprocess)."""
    done = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done, errors


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _lock_for(dsn: str, seconds: float, locked: threading.Event) -> threading.Thread:
    """Another session holding ``run_exposure`` exclusively for ``seconds``: the check's read
    waits for it, as for a database that does not answer."""

    def hold() -> None:
        with psycopg.connect(dsn) as conn:
            conn.execute("LOCK TABLE run_exposure IN ACCESS EXCLUSIVE MODE")
            locked.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    assert locked.wait(10)
    return thread


def test_the_snapshot_age_counts_from_the_start_of_the_read(
    engine: Engine, postgres_url: str
) -> None:
    run = add_run(engine, "DESK-2", "live")
    add_order(engine, run, "DESK-2", "AAA.SIM", "BUY", "3")
    watcher = ExposureWatcher(engine, "DESK-1", max_staleness_s=5.0)
    try:
        holder = _lock_for(_admin_dsn(postgres_url), 0.8, threading.Event())
        began = time.monotonic()
        watcher.poll_once()  # waits for the lock: the snapshot is taken when it is released
        took = time.monotonic() - began
        current = watcher.current()
        holder.join()
        assert not isinstance(current, str), current
        books, age = current
        assert books == {"AAA.SIM": (Decimal(0), Decimal(3), Decimal(0))}
        assert took >= 0.7
        assert age >= took - 0.05  # the read's whole wait, not ~0 as when counted from its end
    finally:
        watcher.stop()


def test_a_database_that_hangs_at_start_fails_closed_without_hanging_the_start(
    engine: Engine, postgres_url: str
) -> None:
    run = add_run(engine, "DESK-2", "paper")
    add_order(engine, run, "DESK-2", "AAA.SIM", "SELL", "2")
    watcher = ExposureWatcher(engine, "DESK-1", interval_s=0.05, max_staleness_s=0.5)
    holder = _lock_for(_admin_dsn(postgres_url), 2.0, threading.Event())
    try:
        began = time.monotonic()
        watcher.start()
        assert time.monotonic() - began < 1.5  # waited max_staleness_s, not the 2 s lock
        reason = watcher.current()
        assert isinstance(reason, str)
        assert "not read yet" in reason
        assert "first read has not finished after max_staleness_s 0.5" in reason
        assert "fail closed" in reason
        holder.join()  # the database answers again: the thread's read completes
        deadline = time.monotonic() + 5
        while isinstance(watcher.current(), str) and time.monotonic() < deadline:
            time.sleep(0.02)
        current = watcher.current()
        assert not isinstance(current, str), current
        assert current[0] == {"AAA.SIM": (Decimal(0), Decimal(0), Decimal(2))}
    finally:
        holder.join()
        watcher.stop()


def test_stop_leaves_a_connection_in_use_to_its_thread(
    engine: Engine, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read hung past stop()'s join: stop returns without closing the connection under the
    read (another thread's call on it); the thread closes it itself once the read returns."""
    import liveexec.db._periodic as periodic  # noqa: PLC0415

    monkeypatch.setattr(periodic, "JOIN_TIMEOUT_S", 0.3)
    watcher = ExposureWatcher(engine, "DESK-1", interval_s=0.05, max_staleness_s=0.2)
    holder = _lock_for(_admin_dsn(postgres_url), 2.0, threading.Event())
    try:
        watcher.start()  # the first read waits for the lock
        began = time.monotonic()
        watcher.stop()
        assert time.monotonic() - began < 1.0  # the join's bound, not the 2 s lock
        assert watcher._connection is not None  # still the hung read's: not closed under it
    finally:
        holder.join()
    deadline = time.monotonic() + 5
    while watcher._connection is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert watcher._connection is None  # closed by its own thread after the read returned
    assert watcher.reads == 1  # that read completed normally, and no other started
