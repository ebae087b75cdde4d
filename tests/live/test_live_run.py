"""``liveexec live`` / ``liveexec.live``: every refusal before anything starts, and the
run itself up to the venue connection, which fails here (no internet) and is recorded as such.
No test reaches a venue."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from liveexec.config import load_config, parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.errors import ConfigError, RunFailedError, SchemaOutOfDateError
from liveexec.promotion import NotApprovedError
from liveexec.runs import acquire_lease, release_lease
from liveexec.trading import LeaseHeldError, live
from tests.analysis.test_promotion_record import forged_approval, insert_row
from tests.live.test_live_adapters import CREDS, ENV, KEY, SECRET, live_raw

ROOT = Path(__file__).resolve().parents[2]
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))
BINANCE = {"binance": {**CREDS, "account_type": "USDT_FUTURES", "environment": "testnet"}}
PERP = ["BTCUSDT-PERP.BINANCE"]


def _count(url: str, table: str) -> int:
    engine = create_db_engine(url, create=False)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _issues(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [issue.location for issue in exc.value.issues]


def test_another_mode_is_refused_saying_what_to_change(sqlite_url: str) -> None:
    raw = live_raw(BINANCE, PERP)
    cfg = parse_config(raw, environ=ENV).model_copy(update={"mode": "paper"})
    with pytest.raises(ConfigError) as exc:
        live(cfg, database_url=sqlite_url)
    assert _issues(exc) == ["mode"]
    assert "set `mode: live`" in str(exc.value)


def test_a_missing_key_variable_is_named_before_anything_starts(tmp_path: Path) -> None:
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(live_raw(BINANCE, PERP)))
    with pytest.raises(ConfigError) as exc:
        load_config(path, environ={"LX_KEY": KEY})
    assert "LX_SECRET is not set" in str(exc.value)
    assert _issues(exc) == ["live.binance.api_secret"]


def test_an_empty_key_is_refused_naming_the_field(sqlite_url: str) -> None:
    cfg = parse_config(live_raw(BINANCE, PERP), environ={**ENV, "LX_SECRET": " "})
    with pytest.raises(ConfigError) as exc:
        live(cfg, database_url=sqlite_url)
    assert _issues(exc) == ["live.binance.api_secret"]


def test_a_venue_a_strategy_names_but_no_adapter_connects_is_named(sqlite_url: str) -> None:
    raw = live_raw(BINANCE, PERP)
    raw["strategies"][0]["config"]["instrument_id"] = "BTC-USDT-SWAP.OKX"
    raw["strategies"][0]["config"]["bar_type"] = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
    with pytest.raises(ConfigError) as exc:
        live(parse_config(raw, environ=ENV), database_url=sqlite_url)
    assert _issues(exc) == [
        "strategies[0].config.instrument_id",
        "strategies[0].config.bar_type",
    ]
    assert "venue 'OKX' is not configured for live trading" in str(exc.value)


def test_simulated_venues_and_instruments_without_an_adapter_are_refused() -> None:
    raw: dict[str, Any] = live_raw(BINANCE, [*PERP, "BTCUSDT-PERP.SIM"])
    raw["venues"] = [{"name": "SIM", "starting_balances": ["1000 USDT"]}]
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, environ=ENV)
    assert "venues[0].name" in _issues(exc)
    assert "instruments" in _issues(exc)
    assert "venue 'SIM' has no live adapter configured" in str(exc.value)


def test_a_schema_not_at_head_is_refused(db_url: str) -> None:
    upgrade(db_url, "0005")
    with pytest.raises(SchemaOutOfDateError):
        live(parse_config(live_raw(BINANCE, PERP), environ=ENV), database_url=db_url)


def test_an_unapproved_config_is_refused_before_any_run_row(db_url: str) -> None:
    upgrade(db_url)
    with pytest.raises(NotApprovedError, match="liveexec live --force"):
        live(parse_config(live_raw(BINANCE, PERP), environ=ENV), database_url=db_url)
    assert _count(db_url, "runs") == 0
    assert _count(db_url, "live_leases") == 0


def test_an_approval_typed_into_the_database_does_not_start_live(db_url: str) -> None:
    """The attack of issue 18: an 'approved' row written with SQL (well chained, unsigned)."""
    upgrade(db_url)
    cfg = parse_config(live_raw(BINANCE, PERP), environ=ENV)
    engine = create_db_engine(db_url, create=False)
    try:
        insert_row(engine, **forged_approval(engine, cfg.config_id))
    finally:
        engine.dispose()
    with pytest.raises(NotApprovedError, match="is not signed by a trusted approver"):
        live(cfg, database_url=db_url)
    assert _count(db_url, "runs") == 0
    assert _count(db_url, "live_leases") == 0


def test_a_running_trader_id_is_refused_before_any_run_row(db_url: str) -> None:
    upgrade(db_url)
    engine = create_db_engine(db_url, create=False)
    lease = acquire_lease(engine, "LIVE-001", "paper")
    try:
        with pytest.raises(LeaseHeldError, match="trader LIVE-001 is already running"):
            live(
                parse_config(live_raw(BINANCE, PERP), environ=ENV),
                database_url=db_url,
                force=True,
            )
        assert _count(db_url, "runs") == 0
    finally:
        release_lease(engine, lease)
        engine.dispose()


@pytest.mark.slow
def test_live_runs_up_to_the_connection_and_records_why_it_failed(
    tmp_path: Path, sqlite_url: str
) -> None:
    """``liveexec live --force`` in its own process: the override is recorded, the node is
    built and tries to connect (there is no internet here), the run is closed ``failed`` saying
    so, the lease is released, and no key appears in anything it printed."""
    upgrade(sqlite_url)
    raw = live_raw(BINANCE, PERP)
    raw["live"]["timeout_connection_s"] = 1
    raw["logging"] = {"level": "INFO"}
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = subprocess.run(
        [LIVEEXEC, "live", str(path), "--db", sqlite_url, "--force", "--reason", "test"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LX_KEY": KEY, "LX_SECRET": SECRET, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "did not connect" in " ".join(done.stderr.split())
    assert "demo-fapi.binance.com" in output  # the node really tried the testnet's host
    assert KEY not in output
    assert SECRET not in output
    engine = create_db_engine(sqlite_url, create=False)
    try:
        with engine.connect() as connection:
            mode, status, error, config = connection.execute(
                text("SELECT mode, status, error, config FROM runs")
            ).one()
            decision, reason = connection.execute(
                text("SELECT decision, reason FROM promotions")
            ).one()
            leases = connection.execute(text("SELECT count(*) FROM live_leases")).scalar_one()
    finally:
        engine.dispose()
    assert (mode, status) == ("live", "failed")
    assert "did not connect" in error
    assert KEY not in str(config)
    assert SECRET not in str(config)
    assert (decision, reason) == ("forced", "test")
    assert leases == 0
    # The message names the run's own log, which holds why the clients did not connect; the
    # process's own NautilusTrader file is gone (issue 18 §5: it was left, and the run had none).
    logs = tmp_path / ".local" / "share" / "liveexec" / "logs"
    run_id = error_run_id(engine_url=sqlite_url)
    run_log = logs / f"{run_id}.log"
    assert str(run_log) in "".join(done.stderr.split())  # the terminal may wrap the path
    assert run_log.is_file() and run_log.stat().st_size > 0
    assert "demo-fapi.binance.com" in run_log.read_text() or "ERROR" in run_log.read_text()
    assert not list(logs.glob("nautilus-*.log"))


def error_run_id(*, engine_url: str) -> str:
    engine = create_db_engine(engine_url, create=False)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT run_id FROM runs")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.slow
def test_live_from_a_notebook_runs_its_node_in_a_child_process(sqlite_url: str) -> None:
    """``liveexec.live`` where a node cannot run in-process (a kernel, a worker thread):
    the node runs in a spawned child with the keys handed over, and its outcome comes back as
    the same exception with the run row the child closed."""
    upgrade(sqlite_url)
    raw = live_raw(BINANCE, PERP)
    raw["live"]["timeout_connection_s"] = 1
    cfg = parse_config(raw, environ=ENV)
    outcome: list[BaseException] = []

    def from_a_worker_thread() -> None:  # not the main thread: the subprocess by default
        try:
            live(cfg, database_url=sqlite_url, force=True, force_reason="notebook test")
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=from_a_worker_thread)
    worker.start()
    worker.join(timeout=180)
    assert not worker.is_alive()
    assert len(outcome) == 1
    error = outcome[0]
    assert isinstance(error, RunFailedError), repr(error)
    assert "did not connect" in str(error)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        with engine.connect() as connection:
            run_id, status, pid = connection.execute(
                text("SELECT run_id, status, owner_pid FROM runs")
            ).one()
            leases = connection.execute(text("SELECT count(*) FROM live_leases")).scalar_one()
    finally:
        engine.dispose()
    assert (run_id, status) == (error.run_id, "failed")
    assert pid != os.getpid()  # the child process owned the run
    assert leases == 0
