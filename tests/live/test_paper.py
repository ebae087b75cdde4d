"""Paper runs: NautilusTrader's TradingNode replaying the bundled real data, recorded, compared
with the backtest of the same config (read back from the tables, never from engine memory)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import create_engine, text

from liveexec.backtesting import backtest
from liveexec.config import LiveexecConfig, load_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import build_run_config
from liveexec.runs import RunResult
from liveexec.trading import build_paper_node_config, paper
from liveexec.trading._run import LAST_STATS
from tests.integration.test_recording_writer import T0

# The bundled demo data in $LIVEEXEC_CATALOG, copied (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("demo_catalog")

BARS = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
QUOTES = EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml"
# One day of 1-minute bars: 1,441 bars, 120 orders in the backtest.
DAY = ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-06T00:00:00Z"]


def _config(path: Path, *overrides: str) -> LiveexecConfig:
    cfg = load_config(path, overrides=["logging.level=ERROR", *overrides])
    prepare_demo_catalog(cfg)
    return cfg


def _sequence(result: RunResult) -> list[tuple[Any, ...]]:
    """Each order by its place in the strategy's own sequence (ids differ between runs)."""
    orders = result.orders.with_columns(
        pl.col("client_order_id").str.extract(r"-(\d+)$").cast(pl.Int64).alias("n")
    ).sort("n")
    return orders.select(
        "n", "side", "order_type", "quantity", "price", "status", "filled_qty", "avg_px"
    ).rows()


def _fills(result: RunResult) -> list[tuple[Any, ...]]:
    fills = result.fills.with_columns(
        pl.col("client_order_id").str.extract(r"-(\d+)$").cast(pl.Int64).alias("n")
    ).sort("n", "trade_id")
    return fills.select("n", "side", "last_qty", "last_px", "commission", "liquidity_side").rows()


def _positions(result: RunResult) -> list[tuple[Any, ...]]:
    return sorted(
        result.positions.select(
            "side", "peak_qty", "realized_pnl", "avg_px_open", "avg_px_close"
        ).rows(),
        key=str,
    )


def _assert_same_trading(backtested: RunResult, papered: RunResult) -> None:
    assert papered.mode == "paper"
    assert papered.config_id == backtested.config_id
    assert _sequence(papered) == _sequence(backtested)
    assert _fills(papered) == _fills(backtested)
    assert _positions(papered) == _positions(backtested)
    assert papered.account.rows() == backtested.account.rows()


@pytest.mark.slow
def test_paper_equals_backtest_on_real_bars(db_url: str) -> None:
    upgrade(db_url)
    backtested = backtest(_config(BARS, *DAY), database_url=db_url)
    papered = paper(_config(BARS, *DAY, "mode=paper"), database_url=db_url, subprocess=False)
    assert backtested.orders.height == 120
    _assert_same_trading(backtested, papered)
    assert papered.status == "completed"
    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            modes = connection.execute(
                text("SELECT DISTINCT mode FROM unified_orders WHERE run_id = :r"),
                {"r": papered.run_id},
            ).scalars()
            assert list(modes) == ["paper"]
            status = connection.execute(
                text("SELECT status, ended_at IS NOT NULL FROM runs WHERE run_id = :r"),
                {"r": papered.run_id},
            ).one()
            assert tuple(status) == ("completed", True)
    finally:
        engine.dispose()
    # The run's timings are recorded (their targets are benchmarks/paper_speed.py's, not a
    # timed test's: this machine is shared).
    assert LAST_STATS.events == 1441
    assert LAST_STATS.start_to_first_event_s is not None
    assert LAST_STATS.stop_s is not None
    assert LAST_STATS.recorder is not None
    assert LAST_STATS.recorder.written >= LAST_STATS.recorder.batches > 0


@pytest.mark.slow
def test_paper_equals_backtest_on_real_quotes(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    backtested = backtest(_config(QUOTES), database_url=sqlite_url)
    papered = paper(_config(QUOTES, "mode=paper"), database_url=sqlite_url, subprocess=False)
    assert backtested.orders.height == 40
    _assert_same_trading(backtested, papered)


@pytest.mark.slow
def test_replay_that_does_not_wait_for_the_node_diverges(sqlite_url: str) -> None:
    """With the market not waiting for the node (as a venue's would not), orders reach the venue
    after later prices did: the report shows it rather than hiding it."""
    upgrade(sqlite_url)
    backtested = backtest(_config(BARS, *DAY), database_url=sqlite_url)
    papered = paper(
        _config(BARS, *DAY, "mode=paper", "paper.min_gap_ms=0", "paper.wait_for_node=false"),
        database_url=sqlite_url,
        subprocess=False,
    )
    assert _fills(papered) != _fills(backtested)


def test_paper_speed_paces_the_replay(sqlite_url: str) -> None:
    """paper.speed: 41 one-minute bars (40 minutes of data) at 1,200x real time take >= 2 s."""
    upgrade(sqlite_url)
    window = ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-05T00:40:00Z"]
    cfg = _config(BARS, *window, "mode=paper", "paper.speed=1200", "paper.min_gap_ms=0")
    paper(cfg, database_url=sqlite_url, subprocess=False)
    assert LAST_STATS.events == 41
    assert LAST_STATS.replay_s is not None
    assert 2.0 <= LAST_STATS.replay_s < 6.0
    fast = _config(BARS, *window, "mode=paper", "paper.min_gap_ms=0")
    paper(fast, database_url=sqlite_url, subprocess=False)
    assert LAST_STATS.replay_s is not None
    assert LAST_STATS.replay_s < 1.0


def test_paper_min_gap_paces_the_replay(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    window = ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-05T00:40:00Z"]
    paper(
        _config(BARS, *window, "mode=paper", "paper.min_gap_ms=50"),
        database_url=sqlite_url,
        subprocess=False,
    )
    assert LAST_STATS.replay_s is not None
    assert LAST_STATS.replay_s >= 40 * 0.05


def test_paper_in_a_subprocess_returns_the_result_from_the_database(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    window = ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-05T06:00:00Z"]
    seen: list[float] = []
    result = paper(
        _config(BARS, *window, "mode=paper"),
        database_url=sqlite_url,
        subprocess=True,
        progress=seen.append,
    )
    assert result.mode == "paper"
    assert result.status == "completed"
    assert result.orders.height > 0
    assert seen
    assert seen[-1] <= 1.0


def test_paper_refuses_a_backtest_config_naming_the_field() -> None:
    with pytest.raises(ConfigError, match="mode: expected 'paper'"):
        paper(load_config(BARS), subprocess=False)


def test_paper_mode_needs_data() -> None:
    with pytest.raises(ConfigError, match="paper mode replays a 'data' section"):
        load_config(BARS, overrides=["mode=paper", "data=null"])


def test_paper_refuses_a_database_not_at_head(sqlite_url: str) -> None:
    upgrade(sqlite_url, "0001")
    from liveexec.errors import SchemaOutOfDateError  # noqa: PLC0415

    with pytest.raises(SchemaOutOfDateError):
        paper(_config(BARS, *DAY, "mode=paper"), database_url=sqlite_url, subprocess=False)


def test_paper_node_runs_the_backtests_components_and_risk_limits() -> None:
    cfg = load_config(BARS, overrides=["mode=paper", "risk.max_order_submit_rate=7/00:00:02"])
    node_config, run_config = build_paper_node_config(cfg)
    backtest_engine = build_run_config(
        load_config(BARS, overrides=["risk.max_order_submit_rate=7/00:00:02"])
    ).engine
    assert backtest_engine is not None
    assert node_config.strategies == backtest_engine.strategies
    assert node_config.exec_algorithms == backtest_engine.exec_algorithms
    assert node_config.actors == backtest_engine.actors
    assert node_config.risk_engine is not None
    assert backtest_engine.risk_engine is not None
    assert node_config.risk_engine.max_order_submit_rate == "7/00:00:02"
    for name in (
        "bypass",
        "max_order_submit_rate",
        "max_order_modify_rate",
        "max_notional_per_order",
    ):
        assert getattr(node_config.risk_engine, name) == getattr(backtest_engine.risk_engine, name)
    # The paper venue is the backtest's venue config itself (fee and fill models, balances).
    (venue,) = run_config.venues
    assert node_config.exec_clients["SIM"].venue == venue
    assert venue.starting_balances == ["100000 USDT"]
    assert node_config.timeout_post_stop <= 0.5


def _cli(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("liveexec")), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_cli_paper_stops_gracefully_on_a_signal(
    sqlite_url: str, sig: signal.Signals, isolated_home: Path
) -> None:
    upgrade(sqlite_url)
    _config(BARS)  # the catalog
    env = {**os.environ, "LIVEEXEC_HOME": str(isolated_home)}
    process = _cli(
        "paper",
        str(BARS),
        "--set",
        "mode=paper",
        "--set",
        "paper.min_gap_ms=20",
        "--set",
        "logging.level=ERROR",
        "--db",
        sqlite_url,
        "--no-progress",
        env=env,
    )
    engine = create_engine(sqlite_url)
    try:
        deadline = time.monotonic() + 60
        orders = 0
        while orders < 3 and time.monotonic() < deadline:  # the node trades: stop it now
            time.sleep(0.2)
            with engine.connect() as connection:
                orders = connection.execute(
                    text("SELECT count(*) FROM unified_orders")
                ).scalar_one()
        assert orders >= 3, "the wall-clock flush records orders while the node runs"
        process.send_signal(sig)
        _out, err = process.communicate(timeout=30)
        assert process.returncode == 130, err
        assert "recorded as 'interrupted'" in " ".join(err.split())
        with engine.connect() as connection:
            run = connection.execute(text("SELECT status, ended_at FROM runs")).one()
            assert run[0] == "interrupted"
            assert run[1] is not None
            # Flushed: every recorded event has its order's row, every fill its event.
            orphans = connection.execute(
                text(
                    "SELECT count(*) FROM order_events e LEFT JOIN unified_orders o "
                    "ON o.run_id = e.run_id AND o.client_order_id = e.client_order_id "
                    "WHERE o.client_order_id IS NULL"
                )
            ).scalar_one()
            assert orphans == 0
            run_id = connection.execute(text("SELECT run_id FROM runs")).scalar_one()
        # The run's NautilusTrader lines are its own file; the process's file is gone (issue 18
        # §5: every `liveexec paper` left a nautilus-<pid>.log, and no run had a log).
        logs = isolated_home / "logs"
        assert (logs / f"{run_id}.log").is_file()
        assert not list(logs.glob("nautilus-*.log"))
    finally:
        if process.poll() is None:
            process.kill()
        engine.dispose()


def test_quiet_node_table_lags_less_than_a_second(sqlite_url: str) -> None:
    """A node that trades rarely (one bar every 300 ms) has each order in the table within a
    second of its event, through the recorder's wall-clock flush (not only at the end)."""
    upgrade(sqlite_url)
    window = ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-05T01:00:00Z"]
    cfg = _config(BARS, *window, "mode=paper", "paper.min_gap_ms=300")
    lags: list[float] = []
    engine = create_engine(sqlite_url)

    def watch(node: Any) -> None:
        import threading  # noqa: PLC0415

        def poll() -> None:
            seen: dict[str, float] = {}
            while node.is_running or not seen:
                cache_orders = {o.client_order_id.value: o for o in node.cache.orders()}
                now = time.monotonic()
                for coid in cache_orders:
                    seen.setdefault(coid, now)
                with engine.connect() as connection:
                    stored = set(
                        connection.execute(
                            text("SELECT client_order_id FROM unified_orders")
                        ).scalars()
                    )
                for coid in list(seen):
                    if coid in stored:
                        lags.append(now - seen.pop(coid))
                time.sleep(0.05)
                if not node.is_running and len(lags) > 3:
                    return

        threading.Thread(target=poll, daemon=True).start()

    from liveexec.trading._run import paper_in_process  # noqa: PLC0415

    result = paper_in_process(cfg, database_url=sqlite_url, on_node=watch)
    engine.dispose()
    assert result.orders.height >= 2
    assert lags
    assert max(lags) < 1.0, lags


def test_upsert_keeps_risk_and_route_columns(db_url: str) -> None:
    """The recorder owns its columns only: risk_decision, risk_reason and route written by the
    risk engine and the router survive the recorder's later upserts of the same order."""
    from liveexec.db import create_db_engine  # noqa: PLC0415
    from liveexec.recording import Batch, write_batch  # noqa: PLC0415
    from tests.integration.test_recording_writer import order  # noqa: PLC0415

    upgrade(db_url)
    engine = create_db_engine(db_url, create=False)
    try:
        _open_run_row(engine)
        first = order("ACCEPTED", 1, "0")
        write_batch(engine, _batch(Batch(), first))
        with engine.begin() as connection:
            connection.execute(
                text(
                    "UPDATE unified_orders SET risk_decision = 'approved', "
                    "risk_reason = 'within limits', route = '{\"venue\": \"SIM\"}'"
                )
            )
        later = order("FILLED", 2, "1")
        write_batch(engine, _batch(Batch(), later))
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT status, risk_decision, risk_reason, route FROM unified_orders")
            ).one()
        assert tuple(row[:3]) == ("FILLED", "approved", "within limits")
        assert _json(row[3]) == {"venue": "SIM"}
        # A value the recorder has itself (an OrderDenied's decision) does replace it.
        denied = {**order("DENIED", 3, "1"), "risk_decision": "denied", "risk_reason": "limit"}
        write_batch(engine, _batch(Batch(), denied))
        with engine.connect() as connection:
            row = connection.execute(
                text("SELECT status, risk_decision, risk_reason, route FROM unified_orders")
            ).one()
        assert tuple(row[:3]) == ("DENIED", "denied", "limit")
        assert _json(row[3]) == {"venue": "SIM"}
    finally:
        engine.dispose()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _open_run_row(engine: Any) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO runs (run_id, trader_id, mode, config_id, config, liveexec_version, "
                "nautilus_version, started_at, status) VALUES ('r1', 'T-1', 'paper', 'c', '{}', "
                "'0', '1', :t, 'running')"
            ),
            {"t": T0 if engine.dialect.name != "sqlite" else "2024-01-02 03:04:05.000000"},
        )


def _batch(batch: Any, row: dict[str, Any]) -> Any:
    batch.add_order(row)
    return batch


def test_states_are_ordered_by_arrival_not_by_event_time(sqlite_url: str) -> None:
    """In a live node an order's submission carries the node's clock and its fill the venue's:
    a newer state with an older time still replaces the stored one."""
    from liveexec.db import create_db_engine  # noqa: PLC0415
    from liveexec.recording import Batch, write_batch  # noqa: PLC0415
    from tests.integration.test_recording_writer import order  # noqa: PLC0415

    upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        _open_run_row(engine)
        submitted = {**order("SUBMITTED", 1, "0"), "last_event_ns": 2_000}
        filled = {**order("FILLED", 2, "1"), "last_event_ns": 1_000}
        write_batch(engine, _batch(Batch(), submitted))
        write_batch(engine, _batch(Batch(), filled))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT status FROM unified_orders")).scalar_one() == (
                "FILLED"
            )
    finally:
        engine.dispose()


def test_decimal_fills_are_exact(sqlite_url: str) -> None:
    """Money read back from a paper run is exact decimal, as a backtest's."""
    upgrade(sqlite_url)
    window = ["data.start=2022-01-05T00:00:00Z", "data.end=2022-01-05T03:00:00Z"]
    result = paper(_config(BARS, *window, "mode=paper"), database_url=sqlite_url, subprocess=False)
    assert result.fills.height > 0
    assert all(isinstance(v, Decimal) for v in result.fills.get_column("last_px").to_list())
