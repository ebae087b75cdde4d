"""liveexec's risk gate in a paper node: the same denials, at the same points of the strategy's
order sequence and with the same reasons, as in the backtest of the same config (read back from
the tables of both runs); and the kill switch, set from another process, stops a running paper
node's new orders within a second."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import create_engine, text

from liveexec.backtesting import backtest
from liveexec.config import LiveexecConfig, load_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import RunResult
from liveexec.trading import paper

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_catalog")]

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
IID = "BTCUSDT-PERP.SIM"
TWO_DAYS = ["data.start=2022-01-03T00:00:00Z", "data.end=2022-01-05T00:00:00Z"]


def _config(*overrides: str) -> LiveexecConfig:
    cfg = load_config(BARS, overrides=["logging.level=ERROR", *TWO_DAYS, *overrides])
    prepare_demo_catalog(cfg)
    return cfg


def _decisions(result: RunResult) -> list[tuple[Any, ...]]:
    """Each order at its place in the strategy's own sequence (generated ids differ between
    runs): what it was, what the gate decided and why, and how it ended."""
    orders = result.orders.with_columns(
        pl.col("client_order_id").str.extract(r"-(\d+)$").cast(pl.Int64).alias("n")
    ).sort("n")
    return orders.select(
        "n", "side", "quantity", "status", "risk_decision", "risk_reason", "filled_qty", "avg_px"
    ).rows()


def _denied_events(url: str, run_id: str) -> list[str]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    text(
                        "SELECT client_order_id FROM order_events WHERE run_id = :r "
                        "AND event_type = 'OrderDenied' ORDER BY client_order_id"
                    ),
                    {"r": run_id},
                ).scalars()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("limits", "reason_prefix"),
    [
        (
            # a loss limit: approved until the drawdown is reached, then every entry denied
            [
                "risk.reporting_currency=USDT",
                "risk.max_drawdown=20",
                "risk.loss_action=REDUCING",
            ],
            "trading state REDUCING (max_drawdown 20 USDT",
        ),
        (
            # a position limit below EMACross's trade size: every entry denied
            [f"risk.instruments={{{IID}: {{max_position_qty: '0.05'}}}}"],
            f"max_position_qty 0.05 (instrument {IID})",
        ),
    ],
    ids=["drawdown", "position"],
)
def test_paper_denies_what_the_backtest_denies(
    db_url: str, limits: list[str], reason_prefix: str
) -> None:
    upgrade(db_url)
    backtested = backtest(_config(*limits), database_url=db_url)
    papered = paper(_config(*limits, "mode=paper"), database_url=db_url, subprocess=False)
    assert papered.status == "completed"
    assert papered.config_id == backtested.config_id
    expected = _decisions(backtested)
    denied = [row for row in expected if row[3] == "DENIED"]
    assert denied, "the limit must bite in the backtest, or this test proves nothing"
    assert all(row[4] == "denied" and row[5].startswith(reason_prefix) for row in denied)
    assert _decisions(papered) == expected
    # Each denial is also NautilusTrader's OrderDenied event, recorded once, in both runs.
    assert len(_denied_events(db_url, papered.run_id)) == len(denied)
    assert len(_denied_events(db_url, backtested.run_id)) == len(denied)


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("liveexec")), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _as_utc(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def test_halt_from_another_process_stops_a_running_paper_node_within_a_second(
    db_url: str, isolated_home: Path
) -> None:
    upgrade(db_url)
    _config()  # the catalog
    env = {**os.environ, "LIVEEXEC_HOME": str(isolated_home)}
    # 20 ms per bar: the 2,881 bars would take about a minute; EMACross trades every few
    # hundred milliseconds, so there are orders on both sides of the halt.
    process = _cli(
        "paper",
        str(BARS),
        *("--set", "mode=paper", "--set", "paper.min_gap_ms=20"),
        *("--set", "risk.kill_switch.poll_interval_s=0.2", "--set", "logging.level=ERROR"),
        *("--set", TWO_DAYS[0], "--set", TWO_DAYS[1]),
        *("--db", db_url, "--no-progress"),
        env=env,
    )
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))

    def orders() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM unified_orders")).scalar_one())

    try:
        deadline = time.monotonic() + 60
        while orders() < 4 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert orders() >= 4, process.stderr.read() if process.poll() is not None else ""
        halted = _cli(
            "halt", "TRADER-001", "--reason", "desk test", "--by", "ops", "--db", db_url, env=env
        )
        _out, err = halted.communicate(timeout=30)
        assert halted.returncode == 0, err
        with engine.connect() as connection:
            halted_at = _as_utc(
                connection.execute(text("SELECT halted_at FROM risk_halts")).scalar_one()
            )
        time.sleep(4.0)  # the node keeps running (and its strategy keeps trying to trade)
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
        assert process.returncode == 130, err
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT created_at, status, risk_decision, risk_reason FROM unified_orders "
                    "ORDER BY created_at"
                )
            ).all()
            streaks = connection.execute(
                text(
                    "SELECT last_denied_at, denials, recorded, last_reason FROM denial_streaks "
                    "ORDER BY first_seq"
                )
            ).all()
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()
    before = [row for row in rows if _as_utc(row[0]) < halted_at]
    later = [row for row in rows if _as_utc(row[0]) >= halted_at + timedelta(seconds=1)]
    assert before and all(row[2] == "approved" for row in before)
    for _created, status, decision, reason in later:
        assert (status, decision) == ("DENIED", "denied")
        assert reason.startswith("trading state HALTED: kill switch: halted by ops at ")
        assert reason.endswith(": desk test")
    # Past the first logging.denials_in_full (20) of the streak, denials are only counted: the
    # strategy kept trying for seconds after the halt, and every attempt was denied.
    [(last_denied_at, denials, recorded, last_reason)] = streaks
    assert _as_utc(last_denied_at) >= halted_at + timedelta(seconds=1), (
        "the strategy submitted no order after the halt: the test proves nothing"
    )
    assert denials > recorded == 20
    assert sum(row[1] == "DENIED" for row in rows) == recorded
    assert last_reason.startswith("trading state HALTED: kill switch: halted by ops at ")
    assert last_reason.endswith(": desk test")
