"""Runs killed with SIGKILL at random points: shown 'abandoned', tables consistent.

A real `liveexec backtest` process is killed while it records. Afterwards the next command that
opens the database marks the run abandoned, and what was committed is whole: every order that
has events has its row, each row's fills are exactly its OrderFilled events, and no event is
recorded twice.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from liveexec.cli import app
from liveexec.config import load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_catalog")]

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
KILLS = int(os.environ.get("LIVEEXEC_SIGKILL_TRIALS", "3"))  # per database; 20 for the figure
runner = CliRunner(env={"COLUMNS": "200"})


def count(url: str, sql: str) -> int:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def kill_mid_run(url: str, catalog: Path, after_events: int, extra_delay_s: float) -> None:
    exe = Path(sys.executable).with_name("liveexec")
    env = {**os.environ, "LIVEEXEC_CATALOG": str(catalog)}
    process = subprocess.Popen(
        [exe, "backtest", BARS, "--db", url, "--no-progress", "--set", "logging.level=ERROR"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if count(url, "SELECT count(*) FROM order_events") >= after_events:
                break
            time.sleep(0.05)
        time.sleep(extra_delay_s)
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def check_consistent(url: str) -> None:
    orphans = count(
        url,
        "SELECT count(DISTINCT e.client_order_id) FROM order_events e WHERE NOT EXISTS "
        "(SELECT 1 FROM unified_orders o WHERE o.run_id = e.run_id "
        "AND o.client_order_id = e.client_order_id)",
    )
    assert orphans == 0, f"{orphans} orders have events but no row"
    duplicates = count(url, "SELECT count(*) - count(DISTINCT event_id) FROM order_events")
    assert duplicates == 0
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            filled = dict(
                connection.execute(
                    text(
                        "SELECT run_id || '/' || client_order_id, count(*) FROM order_events "
                        "WHERE event_type = 'OrderFilled' GROUP BY run_id, client_order_id"
                    )
                ).all()
            )
            rows = connection.execute(
                text("SELECT run_id || '/' || client_order_id, fills FROM unified_orders")
            ).all()
    finally:
        engine.dispose()
    for key, fills in rows:
        entries = json.loads(fills) if isinstance(fills, str) else fills
        assert len(entries) == filled.get(key, 0), key


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_sigkill_at_random_points_leaves_abandoned_runs_and_consistent_tables(
    database: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url: str = request.getfixturevalue("sqlite_url" if database == "sqlite" else "postgres_url")
    catalog = tmp_path / "catalog"
    monkeypatch.setenv("LIVEEXEC_CATALOG", str(catalog))
    prepare_demo_catalog(load_config(BARS))
    upgrade(url)
    rng = random.Random(4136)
    for trial in range(KILLS):
        before = count(url, "SELECT count(*) FROM order_events")
        kill_mid_run(url, catalog, before + rng.randrange(1, 6000), rng.uniform(0, 0.5))
        check_consistent(url)
        assert count(url, "SELECT count(*) FROM runs WHERE status = 'running'") == 1, trial
    listed = runner.invoke(app, ["runs", "list", "--db", url, "--limit", "100"])
    assert listed.exit_code == 0, listed.output
    assert count(url, "SELECT count(*) FROM runs WHERE status = 'abandoned'") == KILLS
    assert count(url, "SELECT count(*) FROM runs WHERE status = 'running'") == 0
    assert listed.output.count("abandoned") == KILLS


def stop_mid_run(url: str, catalog: Path, signals: list[signal.Signals], delay_s: float) -> int:
    """Start a backtest, wait until it records, send ``signals`` 20 ms apart; its exit code."""
    exe = Path(sys.executable).with_name("liveexec")
    env = {**os.environ, "LIVEEXEC_CATALOG": str(catalog)}
    before = count(url, "SELECT count(*) FROM order_events")
    process = subprocess.Popen(
        [exe, "backtest", BARS, "--db", url, "--no-progress", "--set", "logging.level=ERROR"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if count(url, "SELECT count(*) FROM order_events") > before:
            break
        time.sleep(0.02)
    time.sleep(delay_s)  # somewhere later in the run
    for sent in signals:
        if process.poll() is not None:
            break
        process.send_signal(sent)
        time.sleep(0.02)
    _out, err = process.communicate(timeout=120)
    assert "Traceback" not in err, err
    return process.returncode


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT], [signal.SIGINT] * 25],
    ids=["sigterm", "double-ctrl-c", "ctrl-c-held-down"],
)
def test_sigterm_and_a_double_ctrl_c_close_the_run_as_interrupted(
    signals: list[signal.Signals],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = tmp_path / "catalog"
    monkeypatch.setenv("LIVEEXEC_CATALOG", str(catalog))
    prepare_demo_catalog(load_config(BARS))
    upgrade(sqlite_url)
    for delay_s in (0.0, random.Random(len(signals)).uniform(0.1, 1.5)):
        assert stop_mid_run(sqlite_url, catalog, signals, delay_s) == 130
    assert count(sqlite_url, "SELECT count(*) FROM runs WHERE status = 'interrupted'") == 2
    assert count(sqlite_url, "SELECT count(*) FROM runs WHERE status = 'running'") == 0
    check_consistent(sqlite_url)
