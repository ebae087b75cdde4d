"""The kill switch: halts written by the CLI from another process are seen by a watcher
within its poll interval; an unreadable database fails closed; config validation paths."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from liveexec.config import parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.risk import HaltWatcher, TradingState


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("liveexec")), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_halt_from_another_process_is_seen_within_a_second(db_url: str) -> None:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    watcher = HaltWatcher(engine, "DESK-7", interval_s=0.2)
    try:
        watcher.start()
        assert watcher.current() == (TradingState.ACTIVE, "no halt in force")
        done = cli("halt", "DESK-7", "--reason", "runaway quoting", "--by", "ops", "--db", db_url)
        assert done.returncode == 0, done.stderr
        seen = time.monotonic()
        while watcher.current()[0] != TradingState.HALTED:
            assert time.monotonic() - seen < 1.0
            time.sleep(0.01)
        _, reason = watcher.current()
        assert "halted by ops" in reason and reason.endswith("runaway quoting")
        assert cli("resume", "DESK-7", "--by", "ops", "--db", db_url).returncode == 0
        seen = time.monotonic()
        while watcher.current()[0] != TradingState.ACTIVE:
            assert time.monotonic() - seen < 1.0
            time.sleep(0.01)
        assert cli("halt", "DESK-7", "--reducing", "--db", db_url).returncode == 0
        fresh = HaltWatcher(engine, "DESK-7", interval_s=0.2)  # a restarted node
        fresh.poll_once()
        assert fresh.current()[0] == TradingState.REDUCING
    finally:
        watcher.stop()
        engine.dispose()


def test_an_unreadable_database_fails_closed(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    try:
        watcher = HaltWatcher(engine, "DESK-7", interval_s=0.05, stale_after_s=0.2)
        watcher.poll_once()
        assert watcher.current()[0] == TradingState.ACTIVE
        (tmp_path / "runs.db").unlink()
        (tmp_path / "runs.db").write_bytes(b"not a database at all" * 100)
        engine.dispose()
        watcher.poll_once()
        time.sleep(0.3)
        state, reason = watcher.current()
        assert state == TradingState.HALTED
        assert "database not read for over" in reason and "fail closed" in reason
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_database_that_hangs_at_start_halts_without_hanging_the_start(
    postgres_url: str,
) -> None:
    from tests.risk.test_run_exposure import _admin_dsn  # noqa: PLC0415

    upgrade(postgres_url)
    engine = create_db_engine(postgres_url)
    watcher = HaltWatcher(engine, "DESK-7", interval_s=0.05, stale_after_s=0.5)
    locked = threading.Event()

    def hold() -> None:  # another session holds the halts table: the watcher's read waits
        with psycopg.connect(_admin_dsn(postgres_url)) as connection:
            connection.execute("LOCK TABLE risk_halts IN ACCESS EXCLUSIVE MODE")
            locked.set()
            time.sleep(2.0)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10)
        began = time.monotonic()
        watcher.start()
        assert time.monotonic() - began < 1.5  # waited stale_after_s, not the 2 s lock
        state, reason = watcher.current()
        assert state == TradingState.HALTED
        assert "the first read has not finished after 0.5 s" in reason
        assert "fail closed" in reason
        holder.join()  # the database answers: the thread's read completes
        deadline = time.monotonic() + 5
        while watcher.current()[0] != TradingState.ACTIVE and time.monotonic() < deadline:
            time.sleep(0.02)
        assert watcher.current() == (TradingState.ACTIVE, "no halt in force")
    finally:
        holder.join()
        watcher.stop()
        engine.dispose()


def test_cli_refuses_a_bad_trader_id() -> None:
    done = cli("halt", "nodash")
    assert done.returncode == 2 and "not a trader id" in done.stderr


@pytest.mark.parametrize(
    ("risk", "location"),
    [
        ({"max_open_orders": 0}, "risk.max_open_orders"),
        ({"instruments": {"ETHUSDT-PERP.SIM": {"max_order_qty": "1"}}}, "risk.instruments"),
        ({"strategies": {"Other-001": {"max_open_orders": 1}}}, "risk.strategies.Other-001"),
        (
            {"max_open_orders": 2, "strategies": {"EMACross-000": {"max_open_orders": 3}}},
            "risk.strategies.EMACross-000.max_open_orders",
        ),
        ({"max_daily_loss": "100"}, "risk.max_daily_loss"),
        ({"reporting_currency": "EUR", "max_gross_exposure": "1000"}, "risk.reporting_currency"),
        ({"instruments": {"BTCUSDT-PERP.SIM": {"price_band_bps": "-5"}}}, "risk.instruments"),
        ({"kill_switch": {"flatten_on_trigger": True}}, "risk.kill_switch.flatten_on_trigger"),
        ({"kill_switch": {"poll_interval_s": 2}}, "risk.kill_switch.poll_interval_s"),
    ],
)
def test_inconsistent_limits_are_refused_with_the_field_path(
    risk: dict[str, Any], location: str
) -> None:
    raw = yaml.safe_load((EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text())
    raw["data"]["catalog"]["path"] = "/nonexistent"
    raw["risk"] = risk
    with pytest.raises(ConfigError) as exc:
        parse_config(raw)
    assert any(issue.location.startswith(location) for issue in exc.value.issues), exc.value
