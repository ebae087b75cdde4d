"""Recorded tables against NautilusTrader's own reports of the same run, on real data."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import polars as pl
import pytest
from sqlalchemy import text

from liveexec.backtesting._run import _backtest
from liveexec.config import LiveexecConfig, load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import RunResult

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("demo_catalog")]


@dataclass(frozen=True)
class NautilusReports:
    """NautilusTrader's own reports of the engine that ran: what the recorder must have seen."""

    orders: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame


def run(name: str, url: str) -> tuple[LiveexecConfig, RunResult, NautilusReports]:
    cfg = load_config(EXAMPLES_DIR / name, overrides=["logging.level=ERROR"])
    prepare_demo_catalog(cfg)
    upgrade(url)
    reports: list[NautilusReports] = []

    def inspect(engine: Any) -> None:
        trader = engine.trader
        reports.append(
            NautilusReports(
                orders=trader.generate_orders_report(),
                fills=trader.generate_order_fills_report(),
                positions=trader.generate_positions_report(),
            )
        )

    result = _backtest(cfg, database_url=url, inspect=inspect)
    return cfg, result, reports[0]


def money_sum(values: object) -> dict[str, Decimal]:
    """NautilusTrader's list of money strings ('1.23 USDT') as amounts per currency."""
    totals: dict[str, Decimal] = {}
    if isinstance(values, list):
        for item in values:
            amount, currency = str(item).split()
            totals[currency] = totals.get(currency, Decimal(0)) + Decimal(amount)
    return totals


def assert_orders_match(result: RunResult, reference: pd.DataFrame) -> None:
    assert result.orders.height == len(reference)
    ours = {row["client_order_id"]: row for row in result.orders.iter_rows(named=True)}
    assert set(ours) == set(reference.index)
    for client_order_id, ref in reference.iterrows():
        row = ours[client_order_id]
        assert row["side"] == ref["side"]
        assert row["order_type"] == ref["type"]
        assert row["time_in_force"] == ref["time_in_force"]
        assert row["status"] == ref["status"]
        assert row["quantity"] == Decimal(ref["quantity"])
        assert row["filled_qty"] == Decimal(ref["filled_qty"])
        if isinstance(ref["avg_px"], float) and not math.isnan(ref["avg_px"]):
            assert float(row["avg_px"]) == pytest.approx(ref["avg_px"], rel=1e-12)
        else:
            assert row["avg_px"] is None
        commissions = {k: Decimal(v) for k, v in json.loads(row["commissions"]).items()}
        assert commissions == money_sum(ref["commissions"])
        assert row["venue_order_id"] == ref["venue_order_id"]


def assert_fills_match(result: RunResult, reference: pd.DataFrame) -> None:
    filled = {
        client_order_id: qty
        for client_order_id, qty in result.fills.group_by("client_order_id")
        .agg(pl.col("last_qty").sum())
        .iter_rows()
    }
    assert set(filled) == set(reference.index)
    for client_order_id, ref in reference.iterrows():
        assert filled[client_order_id] == Decimal(ref["filled_qty"])


def assert_positions_match(result: RunResult, reference: pd.DataFrame) -> None:
    assert result.positions.height == len(reference)

    def key(opening: str, pnl: Decimal, peak: Decimal) -> tuple[str, Decimal, Decimal]:
        return (opening, pnl, peak)

    ours = Counter(
        key(r["opening_order_id"], r["realized_pnl"], r["peak_qty"])
        for r in result.positions.iter_rows(named=True)
    )
    theirs = Counter(
        key(
            ref["opening_order_id"],
            Decimal(ref["realized_pnl"].split()[0]),
            Decimal(ref["peak_qty"]),
        )
        for _, ref in reference.iterrows()
    )
    assert ours == theirs
    assert set(result.positions.get_column("status").to_list()) <= {"OPEN", "CLOSED"}


def test_usdjpy_ema_cross_reproduces_nautilus_acceptance_figures(db_url: str) -> None:
    """NautilusTrader's EMACross 10/20 on FXCM USD/JPY 2013: 178 orders and 89 positions."""
    _cfg, result, reports = run("ema_cross_usdjpy_fx.yaml", db_url)
    assert result.status == "completed"
    assert result.orders.height == 178
    assert result.positions.height == 89
    assert_orders_match(result, reports.orders)
    assert_fills_match(result, reports.fills)
    assert_positions_match(result, reports.positions)


def test_market_maker_on_binance_quotes_matches_nautilus(db_url: str) -> None:
    _cfg, result, reports = run("simple_quoter_btcusdt_quotes.yaml", db_url)
    assert result.orders.height > 0
    assert set(result.orders.get_column("status").to_list()) >= {"FILLED", "CANCELED"}
    assert_orders_match(result, reports.orders)
    assert_fills_match(result, reports.fills)
    assert_positions_match(result, reports.positions)


def test_btc_bars_ema_cross_matches_nautilus_and_events_rebuild_orders(db_url: str) -> None:
    _cfg, result, reports = run("ema_cross_btc_perp_bars.yaml", db_url)
    assert result.orders.height == len(reports.orders) > 1000
    assert_orders_match(result, reports.orders)
    assert_fills_match(result, reports.fills)
    assert_positions_match(result, reports.positions)
    # liveexec's statistics against NautilusTrader's PortfolioAnalyzer and account (total PnL
    # and return, win rate, fees, the balance day by day) and an independent computation are
    # checked by tests/analysis/test_statistics.py.
    # The event log holds every order's life: one OrderInitialized per order, one OrderFilled per
    # fill, and each order's last event is the one its row was last updated from.
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as connection:
            counts = dict(
                connection.execute(
                    text(
                        "SELECT event_type, count(*) FROM order_events WHERE run_id = :r "
                        "GROUP BY event_type"
                    ),
                    {"r": result.run_id},
                ).all()
            )
            stale = connection.execute(
                text(
                    "SELECT count(*) FROM unified_orders o WHERE o.run_id = :r AND o.last_event_ns "
                    "<> (SELECT max(e.ts_event) FROM order_events e WHERE e.run_id = o.run_id "
                    "AND e.client_order_id = o.client_order_id)"
                ),
                {"r": result.run_id},
            ).scalar_one()
    finally:
        engine.dispose()
    assert counts["OrderInitialized"] == result.orders.height
    assert counts["OrderFilled"] == result.fills.height
    assert stale == 0
