"""Restart-resume: a paper node SIGKILLed at several points of its run, then started again with
the same config, continues the same run from what the recorder committed -- and the killed and
resumed run equals a run that was never interrupted, order by order and fill by fill.

The nodes are real ``liveexec paper`` processes on a day of real BTC bars; the kills are real
SIGKILLs. The reference is an uninterrupted paper run of the same config in another database.
The strategies are NautilusTrader's ``EMACross`` (its history request answered from the bars
before the checkpoint: warm indicators) and ``Ladder`` (tests/live/ladder_strategy.py: limit
orders that rest across the kill, decisions from the cache only), which also writes what the
resumed node sees at start.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from sqlalchemy import Engine, make_url, text
from typer.testing import CliRunner

from liveexec import backtest
from liveexec.cli import app
from liveexec.config import load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR

ROOT = Path(__file__).resolve().parents[2]
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))
TRADER = "RESUMER-001"
BARS = 1441  # 2022-01-05, one day of 1-minute bars (both ends included)


def _config_file(
    tmp_path: Path, *, trader: str = TRADER, name: str = "resume", hold: Path | None = None
) -> Path:
    """The test config; ``hold``: Ladder holds the node in its ``on_stop`` while that file
    exists (ladder_strategy.py), a kill point after the end of the replay."""
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["trader_id"] = trader
    raw["mode"] = "paper"
    ema = raw["strategies"][0]
    ema["config"]["request_bars"] = True  # answered from the catalog before the checkpoint
    raw["strategies"].append(
        {
            "path": "tests.live.ladder_strategy:Ladder",
            "config_path": "tests.live.ladder_strategy:LadderConfig",
            "config": {
                "instrument_id": "BTCUSDT-PERP.SIM",
                "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.050",
                "order_id_tag": "002",
                "seen_path": str(tmp_path / f"{name}_seen.jsonl"),
                **({"hold_path": str(hold)} if hold is not None else {}),
            },
        }
    )
    raw["data"]["start"] = "2022-01-05T00:00:00Z"
    raw["data"]["end"] = "2022-01-06T00:00:00Z"
    raw["paper"] = {"min_gap_ms": 2, "wait_for_node": True}
    # The rate limits count wall time: at 2 ms a bar Ladder's orders would be throttled (a
    # wall-clock effect that makes even two uninterrupted runs differ).
    raw["risk"] = {"max_order_submit_rate": "100000/00:00:01"}
    raw["logging"] = {"level": "ERROR"}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    prepare_demo_catalog(load_config(path))
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _paper(
    config: Path, url: str, *extra: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [LIVEEXEC, "paper", str(config), "--db", url, "--no-progress", *extra],
        cwd=ROOT,
        env=env or _env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(node: subprocess.Popen[str]) -> None:
    out, err = node.communicate(timeout=300)
    assert node.returncode == 0, (out, err)


def _checkpoint(engine: Engine, trader: str) -> int | None:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT replay_position FROM runs WHERE trader_id = :t AND mode = 'paper' "
                "ORDER BY started_at DESC LIMIT 1"
            ),
            {"t": trader},
        ).scalar()


def _reach(engine: Engine, node: subprocess.Popen[str], position: int) -> int:
    """Wait until the node's committed checkpoint passed ``position``; the checkpoint then."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert node.poll() is None, node.communicate()
        reached = _checkpoint(engine, TRADER)
        if reached is not None and reached >= position:
            return reached
        time.sleep(0.005)
    raise AssertionError(f"the node did not reach event {position} in time")


def _kill_at(engine: Engine, node: subprocess.Popen[str], position: int) -> int:
    """SIGKILL the node once its committed checkpoint passed ``position``; the checkpoint then."""
    reached = _reach(engine, node, position)
    node.send_signal(signal.SIGKILL)
    node.wait()
    return reached


# A kill point after the last event: the replay's last checkpoint committed, the strategies
# stopping (Ladder holds the node in its on_stop), the run's row not closed.
AT_END = BARS + 1


def _kill_run_at(engine: Engine, config: Path, url: str, position: int, hold: Path) -> int:
    """Start the config's node and SIGKILL it at ``position`` (or :data:`AT_END`, with the
    config's Ladder ``hold`` file); the committed checkpoint then."""
    if position != AT_END:
        return _kill_at(engine, _paper(config, url), position)
    hold.touch()
    node = _paper(config, url)
    _held(node, hold)
    reached = _reach(engine, node, BARS)
    node.send_signal(signal.SIGKILL)
    node.wait()
    hold.unlink()
    return reached


def _fills(engine: Engine, run_id: str) -> list[tuple[Any, ...]]:
    """Every fill of the run by data time: strategy, side, quantity, price, commission."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT strategy_id, payload FROM order_events "
                "WHERE run_id = :r AND event_type = 'OrderFilled'"
            ),
            {"r": run_id},
        ).all()
    fills = []
    for strategy_id, payload in rows:
        data = payload if isinstance(payload, dict) else json.loads(payload)
        fills.append(
            (
                int(data["ts_event"]),
                strategy_id,
                data["order_side"],
                data["last_qty"],
                data["last_px"],
                data["commission"],
            )
        )
    return sorted(fills)


def _norm(value: object) -> str:
    """A column value as text, numbers without their scale (SQLite and PostgreSQL alike)."""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except ArithmeticError:
        return str(value)


def _orders(engine: Engine, run_id: str) -> Counter[tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT strategy_id, side, order_type, quantity, price, status, filled_qty "
                "FROM unified_orders WHERE run_id = :r"
            ),
            {"r": run_id},
        ).all()
    return Counter(tuple(_norm(v) for v in row) for row in rows)


def _positions(engine: Engine, run_id: str) -> list[tuple[str, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT strategy_id, status, net_qty, realized_pnl FROM unified_positions "
                "WHERE run_id = :r ORDER BY strategy_id, opened_at"
            ),
            {"r": run_id},
        ).all()
    return [tuple(_norm(v) for v in row) for row in rows]


def _balances(engine: Engine, run_id: str) -> list[tuple[str, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT currency, total, locked, free FROM account_balances "
                "WHERE run_id = :r ORDER BY currency"
            ),
            {"r": run_id},
        ).all()
    return [tuple(_norm(v) for v in row) for row in rows]


def _run_id(engine: Engine, trader: str) -> str:
    with engine.connect() as connection:
        (run_id,) = connection.execute(
            text("SELECT run_id FROM runs WHERE trader_id = :t AND mode = 'paper'"),
            {"t": trader},
        ).one()  # one row: the resumed run is the killed one, reopened
    return str(run_id)


def _committed_view(engine: Engine) -> dict[str, list[str]]:
    """Ladder's open orders and position and the account's balances, as committed, in the form
    ladder_strategy.py writes what its node sees."""
    with engine.connect() as connection:
        orders = connection.execute(
            text(
                "SELECT client_order_id FROM unified_orders WHERE strategy_id = 'Ladder-002' "
                "AND status IN ('ACCEPTED', 'PARTIALLY_FILLED')"
            )
        ).scalars()
        positions = connection.execute(
            text(
                "SELECT position_id, net_qty FROM unified_positions "
                "WHERE strategy_id = 'Ladder-002' AND status = 'OPEN'"
            )
        ).all()
        balances = connection.execute(text("SELECT total, currency FROM account_balances")).all()
    return {
        "open_orders": sorted(orders),
        "positions": sorted(f"{pid}:{Decimal(str(qty)).normalize():f}" for pid, qty in positions),
        "balances": sorted(f"{Decimal(str(total)):.8f} {code}" for total, code in balances),
    }


def _same_as_reference(engine: Engine, run_id: str, reference: dict[str, Any]) -> None:
    _consistent(engine, run_id)
    assert _fills(engine, run_id) == reference["fills"]
    assert _orders(engine, run_id) == reference["orders"]
    assert _positions(engine, run_id) == reference["positions"]
    assert _balances(engine, run_id) == reference["balances"]


def _consistent(engine: Engine, run_id: str) -> None:
    """No event twice, every order's filled quantity equal to its fills, positions to fills."""
    with engine.connect() as connection:
        duplicated = connection.execute(
            text(
                "SELECT client_order_id, event_type, COUNT(*) FROM order_events "
                "WHERE run_id = :r AND event_type IN ('OrderInitialized', 'OrderAccepted', "
                "'OrderFilled', 'OrderCanceled') "
                "GROUP BY client_order_id, event_type HAVING COUNT(*) > 1"
            ),
            {"r": run_id},
        ).all()
        assert duplicated == []
        orders = connection.execute(
            text("SELECT client_order_id, filled_qty, fills FROM unified_orders WHERE run_id = :r"),
            {"r": run_id},
        ).all()
        events = connection.execute(
            text(
                "SELECT client_order_id, payload FROM order_events "
                "WHERE run_id = :r AND event_type = 'OrderFilled'"
            ),
            {"r": run_id},
        ).all()
    filled: Counter[str] = Counter()
    per_order: dict[str, Decimal] = {}
    for client_order_id, payload in events:
        data = payload if isinstance(payload, dict) else json.loads(payload)
        filled[data["trade_id"]] += 1
        per_order[client_order_id] = per_order.get(client_order_id, Decimal(0)) + Decimal(
            data["last_qty"]
        )
    assert all(count == 1 for count in filled.values()), "a trade id filled twice"
    for client_order_id, filled_qty, raw_fills in orders:
        fills = raw_fills if isinstance(raw_fills, list) else json.loads(raw_fills)
        assert Decimal(str(filled_qty)) == per_order.get(client_order_id, Decimal(0))
        assert len(fills) == sum(1 for c, _ in events if c == client_order_id)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The uninterrupted paper run of the same config (its own SQLite database)."""
    tmp_path = tmp_path_factory.mktemp("reference")
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    upgrade(url)
    config = _config_file(tmp_path, name="reference")
    _finish(_paper(config, url))
    engine = create_db_engine(url, create=False)
    try:
        run_id = _run_id(engine, TRADER)
        # The independent anchor: the uninterrupted paper run equals NautilusTrader's backtest
        # of the same config (BacktestNode), fill by fill and order by order.
        backtested = backtest(
            load_config(config, overrides=["mode=backtest"]), database_url=url
        ).run_id
        assert _fills(engine, run_id) == _fills(engine, backtested)
        assert _orders(engine, run_id) == _orders(engine, backtested)
        return {
            "fills": _fills(engine, run_id),
            "orders": _orders(engine, run_id),
            "positions": _positions(engine, run_id),
            "balances": _balances(engine, run_id),
        }
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(
    "kills", [(5,), (400, 1400), (700, AT_END)], ids=["early", "twice", "then_at_the_end"]
)
def test_killed_and_resumed_run_equals_the_uninterrupted_run(
    tmp_path: Path, db_url: str, reference: dict[str, Any], kills: tuple[int, ...]
) -> None:
    upgrade(db_url)
    hold = tmp_path / "hold"
    config = _config_file(tmp_path, hold=hold)
    engine = create_db_engine(db_url, create=False)
    try:
        committed = []  # what the tables held at each kill: what the next node must see
        for position in kills:
            _kill_run_at(engine, config, db_url, position, hold)
            committed.append(_committed_view(engine))
        _finish(_paper(config, db_url))
        run_id = _run_id(engine, TRADER)
        with engine.connect() as connection:
            status, resumes, final = connection.execute(
                text("SELECT status, resumes, replay_position FROM runs WHERE run_id = :r"),
                {"r": run_id},
            ).one()
        assert (status, resumes, final) == ("completed", len(kills), BARS)
        _same_as_reference(engine, run_id, reference)
        seen = [
            json.loads(line) for line in (tmp_path / "resume_seen.jsonl").read_text().splitlines()
        ]
        fresh = {"open_orders": [], "positions": [], "balances": ["100000.00000000 USDT"]}
        # The resumed nodes' own view at start (Ladder's cache): the committed open orders,
        # position and balances -- so its later decisions could equal the uninterrupted run's.
        assert seen == [fresh, *committed]
        if AT_END not in kills:
            # An order rested across a kill (the end window's case is about the end: whether
            # Ladder has an order resting at the checkpoint near 700 depends on where the kill
            # lands under load, so it is not asked of that case).
            assert any(view["open_orders"] for view in committed)
    finally:
        engine.dispose()


def test_resume_with_another_config_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    upgrade(sqlite_url)
    config = _config_file(tmp_path)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        _kill_at(engine, _paper(config, sqlite_url), 1)
    finally:
        engine.dispose()
    changed = tmp_path / "changed.yaml"
    raw = yaml.safe_load(config.read_text())
    raw["strategies"][1]["config"]["offset_bps"] = 6
    changed.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(
        app, ["paper", str(changed), "--db", sqlite_url, "--no-progress"], env=_env()
    )
    assert result.exit_code == 2, result.output
    assert "config_id" in result.output and "--fresh" in result.output


def _hold_writes(url: str, run_id: str) -> Any:
    """Block the recorder's commits from another connection: on PostgreSQL a lock on the run's
    row (every recorder transaction with a checkpoint updates it), on SQLite the file's write
    lock. The node keeps replaying; its groups wait uncommitted in the writer's buffer."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        return connection
    connection = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    connection.execute("SELECT 1 FROM runs WHERE run_id = %s FOR UPDATE", (run_id,))
    return connection


@pytest.mark.slow
def test_kill_mid_batch_loses_and_duplicates_nothing(
    tmp_path: Path, db_url: str, reference: dict[str, Any]
) -> None:
    """SIGKILL while the node's latest groups are produced but not committed (the database is
    held from another connection): the committed checkpoint stays where it was, the resumed
    node regenerates the lost tail from there, and the run still equals the uninterrupted one."""
    upgrade(db_url)
    config = _config_file(tmp_path)
    engine = create_db_engine(db_url, create=False)
    try:
        node = _paper(config, db_url)
        before = _reach(engine, node, 300)
        run_id = _run_id(engine, TRADER)
        held = _hold_writes(db_url, run_id)
        try:
            time.sleep(1.0)  # the node replays on: hundreds of events, their groups held back
            assert node.poll() is None
            node.send_signal(signal.SIGKILL)
            node.wait()
        finally:
            held.rollback()
            held.close()
        at_kill = _checkpoint(engine, TRADER)
        # Nothing of the held groups reached the tables (at most the one in flight at the lock).
        assert at_kill is not None and at_kill - before < 50, (before, at_kill)
        _finish(_paper(config, db_url))
        with engine.connect() as connection:
            status, resumes = connection.execute(
                text("SELECT status, resumes FROM runs WHERE run_id = :r"), {"r": run_id}
            ).one()
        assert (status, resumes) == ("completed", 1)
        _same_as_reference(engine, run_id, reference)
    finally:
        engine.dispose()


def _run_row(engine: Engine, trader: str = TRADER) -> tuple[Any, ...]:
    """(status, resumes, replay_position) of the trader's latest paper run."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT status, resumes, replay_position FROM runs "
                "WHERE trader_id = :t AND mode = 'paper' ORDER BY started_at DESC LIMIT 1"
            ),
            {"t": trader},
        ).one()
    return tuple(row)


def _held(node: subprocess.Popen[str], hold: Path) -> None:
    """Wait until Ladder holds the node in its ``on_stop`` (the replay has ended)."""
    held = Path(f"{hold}.held")
    deadline = time.monotonic() + 240
    while not held.exists():
        assert node.poll() is None, node.communicate()
        assert time.monotonic() < deadline, "the node did not reach Ladder's on_stop in time"
        time.sleep(0.01)


@pytest.mark.slow
def test_killed_while_stopping_after_the_replay_resumes_equal(
    tmp_path: Path, db_url: str, reference: dict[str, Any]
) -> None:
    """The end-of-replay window: SIGKILL once ``replay_position`` reached the end while the run
    is still ``running`` -- the strategies stopping, EMACross's closing order sent, nothing of
    the stop committed. The same command again resumes with nothing left to replay, and its
    stop (EMACross closes its restored position) must still equal the uninterrupted run's:
    the resumed node's risk gate and cache get the last prices the venue's books are primed
    with (before the fix the closing order was DENIED "no price ... (fail closed)" and the run
    ended ``completed`` one fill short)."""
    upgrade(db_url)
    hold = tmp_path / "hold"
    hold.touch()
    config = _config_file(tmp_path, hold=hold)
    engine = create_db_engine(db_url, create=False)
    try:
        node = _paper(config, db_url)
        _held(node, hold)
        _reach(engine, node, BARS)  # the replay's last checkpoint, committed by the writer
        assert _run_row(engine) == ("running", None, BARS)
        node.send_signal(signal.SIGKILL)
        node.wait()
        hold.unlink()
        _finish(_paper(config, db_url))
        assert _run_row(engine) == ("completed", 1, BARS)
        _same_as_reference(engine, _run_id(engine, TRADER), reference)
    finally:
        engine.dispose()


def _hold_close(url: str, run_id: str) -> Any:
    """Hold the run's closing ``UPDATE runs`` (status no longer ``running``) while every other
    write goes through: on PostgreSQL the run's row locked ``FOR NO KEY UPDATE`` (it blocks
    updates of the row, not the recorder's inserts of rows referencing it, which take a key
    share lock; a group without a checkpoint does not update it), on SQLite -- one write lock
    for the whole file -- a trigger that keeps the closing statement busy (counting the run's
    thousands of events cubed) until the node is killed. Returns what :func:`_release_close`
    undoes."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute(
            "CREATE TRIGGER hold_close BEFORE UPDATE OF status ON runs "
            "WHEN NEW.status <> 'running' BEGIN "
            "SELECT count(*) FROM order_events a, order_events b, order_events c; END"
        )
        return connection
    connection = psycopg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    connection.execute("SELECT 1 FROM runs WHERE run_id = %s FOR NO KEY UPDATE", (run_id,))
    return connection


def _release_close(connection: Any) -> None:
    if isinstance(connection, sqlite3.Connection):
        connection.execute("DROP TRIGGER hold_close")
    else:
        connection.rollback()
    connection.close()


def _counts(engine: Engine, run_id: str) -> tuple[int, int]:
    """The run's committed orders and fills."""
    with engine.connect() as connection:
        orders = connection.execute(
            text("SELECT count(*) FROM unified_orders WHERE run_id = :r"), {"r": run_id}
        ).scalar()
        fills = connection.execute(
            text(
                "SELECT count(*) FROM order_events WHERE run_id = :r AND event_type = 'OrderFilled'"
            ),
            {"r": run_id},
        ).scalar()
    return int(orders or 0), int(fills or 0)


@pytest.mark.slow
def test_killed_after_the_last_commit_before_the_closed_row_resumes_equal(
    tmp_path: Path, db_url: str, reference: dict[str, Any]
) -> None:
    """The last moment of the end-of-replay window: the stop's orders and fills committed (the
    recorder's final group), the run's row not closed yet, SIGKILL. The same command again
    resumes a run with nothing left to do: its strategies start and stop again on the
    restored state (EMACross has no position left to close) and it ends equal to the
    uninterrupted run, ``completed``."""
    upgrade(db_url)
    hold = tmp_path / "hold"
    hold.touch()
    config = _config_file(tmp_path, hold=hold)
    engine = create_db_engine(db_url, create=False)
    expected = (sum(reference["orders"].values()), len(reference["fills"]))
    try:
        node = _paper(config, db_url)
        _held(node, hold)
        _reach(engine, node, BARS)  # (on PostgreSQL the lock below would hold this commit)
        run_id = _run_id(engine, TRADER)
        assert _counts(engine, run_id) != expected  # the stop's closing order not committed yet
        held = _hold_close(db_url, run_id)
        try:
            hold.unlink()  # the node stops: final group committed, its closing UPDATE held
            deadline = time.monotonic() + 120
            while _counts(engine, run_id) != expected:
                assert node.poll() is None, node.communicate()
                assert time.monotonic() < deadline, "the stop's final group was not committed"
                time.sleep(0.005)
            node.send_signal(signal.SIGKILL)
            node.wait()
        finally:
            _release_close(held)
        assert _run_row(engine) == ("running", None, BARS)
        _finish(_paper(config, db_url))
        assert _run_row(engine) == ("completed", 1, BARS)
        _same_as_reference(engine, run_id, reference)
    finally:
        engine.dispose()


def _settled_checkpoint(engine: Engine) -> int:
    """The committed checkpoint once it stopped moving (the node held: its last group lands
    within milliseconds)."""
    last, since = _checkpoint(engine, TRADER), time.monotonic()
    while time.monotonic() - since < 1.0:
        time.sleep(0.05)
        now = _checkpoint(engine, TRADER)
        if now != last:
            last, since = now, time.monotonic()
    assert last is not None
    return last


@pytest.mark.slow
def test_a_stop_asked_of_a_node_killed_while_stopping_is_carried_over(
    tmp_path: Path, db_url: str
) -> None:
    """``liveexec stop`` in the middle of a paper run, the node SIGKILLed while it stops
    (Ladder holds it in ``on_stop``). The same command again resumes the run and stops it
    where the killed node stood, stop policy and all, ``completed`` with the stop's note -- it
    does not trade on through the rest of the data as if nobody had asked."""
    upgrade(db_url)
    hold = tmp_path / "hold"
    # 20 ms an event (pacing is not part of config_id): the stop lands well before the end.
    config = _config_file(tmp_path, hold=hold)
    raw = yaml.safe_load(config.read_text())
    raw["paper"]["min_gap_ms"] = 20
    config.write_text(yaml.safe_dump(raw))
    engine = create_db_engine(db_url, create=False)
    try:
        node = _paper(config, db_url)
        _reach(engine, node, 100)
        hold.touch()
        asked = subprocess.run(
            [LIVEEXEC, "stop", TRADER, "--db", db_url, "--no-wait"],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert asked.returncode == 0, asked.stderr
        _held(node, hold)
        stopped_at = _settled_checkpoint(engine)
        assert _run_row(engine)[0] == "running" and 100 <= stopped_at < BARS - 100
        node.send_signal(signal.SIGKILL)
        node.wait()
        at_kill = _committed_view(engine)
        hold.unlink()
        _finish(_paper(config, db_url))
        run_id = _run_id(engine, TRADER)
        assert _run_row(engine) == ("completed", 1, stopped_at)  # not replayed on
        with engine.connect() as connection:
            note, last_ts = connection.execute(
                text("SELECT error, replay_ts_ns FROM runs WHERE run_id = :r"), {"r": run_id}
            ).one()
            working = connection.execute(
                text(
                    "SELECT count(*) FROM unified_orders WHERE run_id = :r "
                    "AND status IN ('ACCEPTED', 'PARTIALLY_FILLED')"
                ),
                {"r": run_id},
            ).scalar()
            held = connection.execute(
                text(
                    "SELECT count(*) FROM unified_positions WHERE run_id = :r AND status = 'OPEN' "
                    "AND strategy_id = 'EMACross-000'"
                ),
                {"r": run_id},
            ).scalar()
        assert note.startswith("stopped on request (") and "died while it stopped" in note, note
        assert max(fill[0] for fill in _fills(engine, run_id)) <= last_ts  # no later bar traded
        # The stop policy (cancel open orders: Ladder's resting one, if the kill left one) and
        # EMACross's on_stop (close its position) ran; Ladder keeps a position it holds.
        assert (working, held) == (0, 0)
        assert ("Ladder-002" in note) == bool(at_kill["open_orders"]), (note, at_kill)
        _consistent(engine, run_id)
    finally:
        engine.dispose()


# tests/live/sqlite_full/sitecustomize.py: SQLite's own "database or disk is full" in a subprocess.
SQLITE_FULL = Path(__file__).resolve().parent / "sqlite_full"


def _page_count(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
        (pages,) = connection.execute("PRAGMA page_count").fetchone()
    return int(pages)


@pytest.mark.slow
def test_a_run_failed_on_a_full_disk_resumes_once_space_is_back(
    tmp_path: Path, sqlite_url: str, reference: dict[str, Any]
) -> None:
    """The database fills up in the middle of a paper run (SQLite's SQLITE_FULL, "database or
    disk is full", from ``PRAGMA max_page_count`` in the node's and its writer's connections:
    the error a full disk gives, without privileges). The run stops and says so; once there is
    room again the same command resumes it from its last committed checkpoint, and the run ends
    equal to the uninterrupted one."""
    upgrade(sqlite_url)
    config = _config_file(tmp_path)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        # About a quarter of the run's rows fit (the whole run takes some 700 pages).
        full = {
            **_env(),
            "PYTHONPATH": f"{SQLITE_FULL}{os.pathsep}{ROOT}",
            "LIVEEXEC_TEST_SQLITE_MAX_PAGES": str(_page_count(sqlite_url) + 150),
        }
        node = _paper(config, sqlite_url, env=full)
        out, err = node.communicate(timeout=300)
        assert node.returncode == 1, (out, err)
        message = " ".join(err.split())
        assert "database or disk is full" in message, err
        assert "sqlalche.me" not in err and "[SQL:" not in err  # one line, not SQLAlchemy's text
        with engine.connect() as connection:
            recorded = connection.execute(text("SELECT error FROM runs")).scalar_one()
        assert "database or disk is full" in recorded and "sqlalche.me" not in recorded
        status, resumes, position = _run_row(engine)
        assert 0 < position < BARS and resumes is None, (status, position)
        assert "run the same command again" in message, err  # what to do
        assert status == "abandoned"  # ... and the next start does it: resumable
        _finish(_paper(config, sqlite_url))  # room again
        assert _run_row(engine) == ("completed", 1, BARS)
        _same_as_reference(engine, _run_id(engine, TRADER), reference)
    finally:
        engine.dispose()


def test_fresh_starts_a_new_run_and_hedging_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    upgrade(sqlite_url)
    config = _config_file(tmp_path)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        _kill_at(engine, _paper(config, sqlite_url), 1)
        hedging = tmp_path / "hedging.yaml"
        raw = yaml.safe_load(config.read_text())
        raw["venues"][0]["oms_type"] = "HEDGING"
        hedging.write_text(yaml.safe_dump(raw))
        refused = CliRunner().invoke(
            app, ["paper", str(hedging), "--db", sqlite_url, "--no-progress"], env=_env()
        )
        assert refused.exit_code == 2, refused.output
        assert "venues[0].oms_type" in refused.output and "NETTING" in refused.output
        _finish(_paper(config, sqlite_url, "--fresh"))
        with engine.connect() as connection:
            runs = connection.execute(
                text("SELECT status, resumes, replay_position FROM runs ORDER BY started_at")
            ).all()
        assert [tuple(row)[:2] for row in runs] == [("abandoned", None), ("completed", None)]
        assert runs[1][2] == BARS
    finally:
        engine.dispose()


@pytest.mark.slow
def test_stop_after_resume_closes_the_restored_position_and_cancels_the_restored_order(
    tmp_path: Path, db_url: str
) -> None:
    """The restored state is the node's own: right after a resume, with a second per event,
    `liveexec stop` stops the node; NautilusTrader's EMACross closes its restored position (in
    its own ``on_stop``, or on a cross first), and Ladder's restored resting order ends filled by
    the paper venue or cancelled by the stop policy, never left resting."""
    upgrade(db_url)
    config = _config_file(tmp_path)
    engine = create_db_engine(db_url, create=False)
    try:
        # Killed (and resumed, and killed again) until a kill leaves a resting order behind.
        at = 300
        for _ in range(10):
            at = _kill_at(engine, _paper(config, db_url), at + 10)
            resting = _committed_view(engine)["open_orders"]
            if resting:
                break
        assert len(resting) == 1
        run_id = _run_id(engine, TRADER)
        with engine.connect() as connection:
            (ema_position,) = connection.execute(
                text(
                    "SELECT position_id, opening_order_id FROM unified_positions "
                    "WHERE run_id = :r AND strategy_id = 'EMACross-000' AND status = 'OPEN'"
                ),
                {"r": run_id},
            ).all()
        # The same config (paper pacing is not part of config_id), a second per event: the stop
        # arrives before the restored order or position can change by themselves.
        slow = tmp_path / "slow.yaml"
        raw = yaml.safe_load(config.read_text())
        raw["paper"]["min_gap_ms"] = 1000
        slow.write_text(yaml.safe_dump(raw))
        node = _paper(slow, db_url)
        deadline = time.monotonic() + 120
        while (_checkpoint(engine, TRADER) or 0) <= at or _lease_run(engine) != run_id:
            assert node.poll() is None and time.monotonic() < deadline, node.communicate()
            time.sleep(0.05)
        stopped = subprocess.run(
            [LIVEEXEC, "stop", TRADER, "--db", db_url, "--timeout", "30"],
            cwd=ROOT,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert stopped.returncode == 0, stopped.stderr
        _finish(node)
        with engine.connect() as connection:
            closed = connection.execute(
                text(
                    "SELECT status, closing_order_id FROM unified_positions WHERE run_id = :r "
                    "AND position_id = :p AND opening_order_id = :o"
                ),
                {"r": run_id, "p": ema_position[0], "o": ema_position[1]},
            ).one()
            order_status = connection.execute(
                text(
                    "SELECT status FROM unified_orders WHERE run_id = :r AND client_order_id = :c"
                ),
                {"r": run_id, "c": resting[0]},
            ).scalar()
            (status,) = connection.execute(
                text("SELECT status FROM runs WHERE run_id = :r"), {"r": run_id}
            ).one()
        assert closed[0] == "CLOSED" and closed[1] is not None
        # Cancelled by the stop policy, or filled by the venue on the bar before the stop
        # arrived: either way the resumed node's venue held it (never left ACCEPTED).
        assert order_status in ("CANCELED", "FILLED")
        assert status == "completed"
        _consistent(engine, run_id)
    finally:
        engine.dispose()


def _lease_run(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT run_id FROM live_leases WHERE trader_id = :t"), {"t": TRADER}
        ).scalar()


@pytest.mark.slow
def test_killed_at_random_points_equals_the_uninterrupted_run(
    tmp_path: Path, db_url: str, reference: dict[str, Any]
) -> None:
    """``LIVEEXEC_RESUME_KILLS`` SIGKILLs (default 3) at random points of one run, each followed
    by a resume (``LIVEEXEC_RESUME_SEED`` repeats a draw); the run still equals the reference.
    In half the draws the last kill lands after the last event (:data:`AT_END`)."""
    kills = int(os.environ.get("LIVEEXEC_RESUME_KILLS", "3"))
    seed = int(os.environ.get("LIVEEXEC_RESUME_SEED", str(random.randrange(1 << 30))))
    draw = random.Random(seed)
    points = sorted(draw.sample(range(1, BARS - 60), kills))
    if draw.random() < 0.5:
        points[-1] = AT_END
    upgrade(db_url)
    hold = tmp_path / "hold"
    config = _config_file(tmp_path, hold=hold)
    engine = create_db_engine(db_url, create=False)
    try:
        reached = 0
        for point in points:
            # A point the previous kill already passed: kill again a little further on.
            at = point if point == AT_END else max(point, reached + 1)
            reached = _kill_run_at(engine, config, db_url, at, hold)
        _finish(_paper(config, db_url))
        run_id = _run_id(engine, TRADER)
        with engine.connect() as connection:
            resumes = connection.execute(
                text("SELECT resumes FROM runs WHERE run_id = :r"), {"r": run_id}
            ).scalar()
        assert resumes == kills, f"seed {seed}"
        _same_as_reference(engine, run_id, reference)
    finally:
        engine.dispose()
