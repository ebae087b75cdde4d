"""Two instruments in one paper run: EUR/USD and USD/JPY real quotes on one venue, an EMA cross
on each (the differential matrix's ``fx2019_two_instruments_one_venue`` case, imported the way a
user does it), equal their backtest exactly: every order, fill, position and balance, read back
from the tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from liveexec.backtesting import backtest
from liveexec.cli import app
from liveexec.config import load_config
from liveexec.db import upgrade
from liveexec.recording import RecorderActor
from liveexec.runs import RunResult
from liveexec.trading._run import paper_in_process
from tests.differential.cases import CASES, prepare

pytestmark = pytest.mark.slow

CASE = next(case for case in CASES if case.name == "fx2019_two_instruments_one_venue")
runner = CliRunner(env={"COLUMNS": "200"})


def _key() -> list[pl.Expr]:
    """The strategy's tag and its own count, from ``O-<date>-<time>-<trader>-<tag>-<count>``
    (the date and time are the node clock's: data time in a backtest, wall time in paper)."""
    coid = pl.col("client_order_id")
    return [
        coid.str.extract(r"-(\d+)-\d+$").alias("tag"),
        coid.str.extract(r"-(\d+)$").cast(pl.Int64).alias("n"),
    ]


def _orders(result: RunResult) -> list[tuple[Any, ...]]:
    """Orders by strategy and place in its own sequence (generated ids differ between runs)."""
    return (
        result.orders.with_columns(_key())
        .sort("strategy_id", "n")
        .select(
            "strategy_id",
            "tag",
            "n",
            "instrument_id",
            "side",
            "order_type",
            "quantity",
            "status",
            "filled_qty",
            "avg_px",
            "commissions",
        )
        .rows()
    )


def _fills(result: RunResult) -> list[tuple[Any, ...]]:
    return (
        result.fills.with_columns(_key())
        .sort("tag", "n", "trade_id")
        .select("tag", "n", "side", "last_qty", "last_px", "commission", "liquidity_side")
        .rows()
    )


def _positions(result: RunResult) -> list[tuple[Any, ...]]:
    return sorted(
        result.positions.select(
            "instrument_id", "side", "peak_qty", "realized_pnl", "avg_px_open", "avg_px_close"
        ).rows(),
        key=str,
    )


def test_two_instruments_in_one_paper_run_equal_their_backtest(db_url: str, tmp_path: Path) -> None:
    files = prepare(CASE, tmp_path / "raw")
    path = tmp_path / "two.yaml"
    raw = CASE.liveexec_config(tmp_path / "catalog")
    # The first half hour of the quotes (4,531 of the 20,000): enough for both strategies to
    # trade, short enough for a paced replay.
    raw["data"]["end"] = "2019-01-01T23:30:00Z"
    # Bars of 20 quotes rather than the case's 15-second bars: a live node builds internal time
    # bars on wall-clock timers, which a replay faster than real time does not reach (see
    # docs/ARCHITECTURE.md, paper mode); tick bars close on the data alone, in both nodes.
    for strategy in raw["strategies"]:
        instrument = strategy["config"]["instrument_id"]
        strategy["config"]["bar_type"] = f"{instrument}-20-TICK-MID-INTERNAL"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    for spec in CASE.imports:
        done = runner.invoke(app, ["data", "import", str(path), *spec.cli_args(files)])
        assert done.exit_code == 0, done.output
    upgrade(db_url)
    backtested = backtest(load_config(path), database_url=db_url)
    actors: list[Any] = []
    papered = paper_in_process(
        load_config(path, overrides=["mode=paper"]),
        database_url=db_url,
        on_node=lambda node: actors.extend(node.trader.actors()),
    )
    assert papered.status == "completed"
    assert papered.config_id == backtested.config_id
    expected = _orders(backtested)
    traded = {row[3] for row in expected if row[7] == "FILLED"}
    assert traded == {"EUR/USD.SIM", "USD/JPY.SIM"}, "both instruments must trade"
    print(  # shown with -s: the figures for the report
        f"\ntwo instruments: {len(expected)} orders "
        f"({sum(row[3] == 'USD/JPY.SIM' for row in expected)} on USD/JPY), "
        f"{backtested.fills.height} fills, {backtested.positions.height} positions"
    )
    assert _orders(papered) == expected
    assert _fills(papered) == _fills(backtested)
    assert _positions(papered) == _positions(backtested)
    assert papered.account.rows() == backtested.account.rows()
    # The recorder keeps fills of working orders only: every order of the run is closed, and
    # their fill lists were dropped once their rows were written (bounded over a long run).
    (recorder,) = [actor for actor in actors if isinstance(actor, RecorderActor)]
    assert recorder.events_seen > 0
    assert recorder._fills == {}
