"""Every statistic of a run on real backtests of the bundled data, against an independent
computation (``independent.py``: raw rows, NautilusTrader's catalog objects, plain Python and
Decimal) and NautilusTrader's own analyzer and account where their definitions are liveexec's:

* ``PortfolioAnalyzer`` (fed the engine's account and positions): total PnL and return
  (``PnL (total)``, ``PnL% (total)``), win rate, average win and loss (same currency);
* the account: its balance after every fill (the realized equity path), its commissions (fees);
* NautilusTrader's Rust statistics with ``period=365`` on the independently computed daily
  returns: Sharpe, Sortino, returns volatility, max drawdown. Not its CAGR and Calmar: it takes
  the count of returns as the days where liveexec takes the data window's length.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from nautilus_trader.analysis import AvgLoser, AvgWinner, PortfolioAnalyzer, WinRate
from nautilus_trader.core import nautilus_pyo3
from nautilus_trader.model.objects import Currency
from sqlmodel import Session
from typer.testing import CliRunner

from liveexec.analysis import compare
from liveexec.backtesting._run import _backtest
from liveexec.cli import app
from liveexec.config import LiveexecConfig, parse_config
from liveexec.db import Run, create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import RunResult, list_runs, load_run, resolve_run_id
from tests.analysis import independent
from tests.differential.cases import CASES, prepare

pytestmark = pytest.mark.slow

BTC_BARS = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"


@dataclass(frozen=True)
class Nautilus:
    """NautilusTrader's own view of the run that just ended."""

    balances: list[tuple[int, dict[str, Decimal]]]  # (ts_event, totals) per AccountState
    commissions: dict[str, Decimal]
    pnls: dict[str, dict[str, Any]]  # PortfolioAnalyzer.get_performance_stats_pnls per currency


@dataclass(frozen=True)
class Ran:
    cfg: LiveexecConfig
    result: RunResult
    nautilus: Nautilus
    raw: independent.RawRun
    url: str


def _nautilus(engine: Any) -> Nautilus:
    account = engine.cache.accounts()[0]
    positions = engine.cache.positions() + engine.cache.position_snapshots()
    analyzer = PortfolioAnalyzer()
    for statistic in (WinRate(), AvgWinner(), AvgLoser()):
        analyzer.register_statistic(statistic)
    analyzer.calculate_statistics(account, positions)
    currencies = {p.realized_pnl.currency for p in positions if p.realized_pnl is not None}
    currencies |= set(analyzer.currencies)
    return Nautilus(
        balances=[
            (e.ts_event, {b.currency.code: b.total.as_decimal() for b in e.balances})
            for e in account.events
        ],
        commissions={c.code: m.as_decimal() for c, m in account.commissions().items()},
        pnls={c.code: analyzer.get_performance_stats_pnls(c) for c in currencies},
    )


def run_example(
    name: str,
    url: str,
    catalog: Path,
    **changes: Any,
) -> Ran:
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES_DIR / name).read_text())
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["logging"] = {"level": "ERROR", "file_level": None}
    raw["data"].update(changes.pop("data", {}))
    raw.update(changes)
    cfg = parse_config(raw)
    prepare_demo_catalog(cfg)
    seen: list[Nautilus] = []
    result = _backtest(cfg, database_url=url, inspect=lambda engine: seen.append(_nautilus(engine)))
    assert result.status == "completed", result.error
    return Ran(cfg, result, seen[0], independent.read_run(url, result.run_id), url)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("statistics") / "catalog"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    database = f"sqlite:///{tmp_path_factory.mktemp('statistics-db') / 'liveexec.db'}"
    upgrade(database)
    return database


@pytest.fixture(scope="module")
def btc(url: str, catalog: Path) -> Ran:
    return run_example("ema_cross_btc_perp_bars.yaml", url, catalog)


@pytest.fixture(scope="module")
def usdjpy(url: str, catalog: Path) -> Ran:
    return run_example("ema_cross_usdjpy_fx.yaml", url, catalog)


@pytest.fixture(scope="module")
def quoter(url: str, catalog: Path) -> Ran:
    return run_example("simple_quoter_btcusdt_quotes.yaml", url, catalog)


def _ns(moment: datetime) -> int:
    return independent._ns(moment)


def _balance_at(nautilus: Nautilus, currency: str, ns: int) -> Decimal:
    """The account's balance after its last state at or before ``ns``."""
    balance = None
    for ts, totals in nautilus.balances:
        if ts > ns:
            break
        balance = totals.get(currency, balance)
    assert balance is not None
    return balance


def _rust(statistic: Any, returns: list[float], days: list[Any]) -> float:
    """A NautilusTrader (Rust) returns statistic on daily returns stamped at midnight UTC."""
    series = {
        _ns(datetime(d.year, d.month, d.day, tzinfo=UTC)): r
        for d, r in zip(days, returns, strict=True)
    }
    return float(statistic.calculate_from_returns(series))


def check_return_statistics(
    ran: Ran, equity: list[Decimal], days: list[Any], ends: list[int], window: tuple[int, int]
) -> None:
    """Daily equity, returns and every statistic on them, against ``equity`` computed
    independently."""
    stats = ran.result.statistics
    start = stats.starting_balance
    assert start is not None
    assert stats.start is not None and stats.end is not None
    assert (_ns(stats.start), _ns(stats.end)) == tuple(w // 1000 * 1000 for w in window)
    ours = stats.daily
    assert ours.get_column("date").to_list() == days
    for mine, theirs in zip(ours.get_column("equity").to_list(), equity, strict=True):
        assert abs(mine - theirs) <= Decimal("0.000001"), (mine, theirs)
    returns = independent.returns(equity, start)
    assert ours.get_column("return").to_list() == pytest.approx(returns, rel=1e-9, abs=1e-12)
    if len(returns) > 1 and independent.stdev(returns) > 0:
        assert stats.sharpe == pytest.approx(independent.sharpe(returns), rel=1e-6)
        assert stats.sharpe == pytest.approx(
            _rust(nautilus_pyo3.SharpeRatio(period=365), returns, days), rel=1e-6
        )
        assert stats.sortino == pytest.approx(independent.sortino(returns), rel=1e-6)
        assert stats.sortino == pytest.approx(
            _rust(nautilus_pyo3.SortinoRatio(period=365), returns, days), rel=1e-6
        )
        assert stats.volatility == pytest.approx(independent.volatility(returns), rel=1e-6)
        assert stats.volatility == pytest.approx(
            _rust(nautilus_pyo3.ReturnsVolatility(period=365), returns, days), rel=1e-6
        )
    deepest, longest = independent.drawdown(equity, ends, start, window[0])
    assert stats.max_drawdown == pytest.approx(deepest, rel=1e-9, abs=1e-15)
    assert stats.max_drawdown == pytest.approx(
        _rust(nautilus_pyo3.MaxDrawdown(), returns, days), rel=1e-6, abs=1e-12
    )
    assert stats.max_drawdown_duration == timedelta(microseconds=longest // 1000)
    if (window[1] - window[0]) >= 86_400e9:
        expected = independent.cagr(equity[-1], start, *window)
        assert stats.cagr == pytest.approx(expected, rel=1e-6)
        if deepest < 0:
            assert stats.calmar == pytest.approx(expected / -deepest, rel=1e-6)
    else:
        assert stats.cagr is None and stats.calmar is None
    months = independent.monthly(days, equity, start)
    assert {
        f"{m:%Y-%m}": r for m, r in stats.monthly.select("month", "return").iter_rows()
    } == pytest.approx(months, rel=1e-9, abs=1e-12)
    assert stats.exposure == pytest.approx(independent.exposure(ran.raw, *window), rel=1e-9)


def check_trade_statistics(ran: Ran, currency: str) -> None:
    """Trades, win rate, win/loss sizes and durations from the recorded positions, and
    NautilusTrader's analyzer in the positions' own currency."""
    stats = ran.result.statistics
    closed = [p for p in ran.raw.positions if p.closed_ns is not None]
    wins = [p for p in closed if p.realized_pnl > 0]
    assert stats.trades == len(closed)
    theirs = ran.nautilus.pnls[currency]
    if closed:
        assert stats.win_rate == len(wins) / len(closed)
        assert stats.win_rate == pytest.approx(theirs["Win Rate"])
        held = [p.closed_ns - p.opened_ns for p in closed if p.closed_ns is not None]
        mean = timedelta(microseconds=sum(held) / len(held) / 1000)
        assert stats.avg_trade_duration is not None
        assert abs(stats.avg_trade_duration - mean) <= timedelta(microseconds=1)
    else:
        assert stats.win_rate is None and stats.avg_trade_duration is None


def test_btc_statistics_equal_the_independent_computation_and_nautilus(btc: Ran) -> None:
    """The BTC example: a losing EMA cross, 4,136 orders, NETTING, one month of 1-minute bars."""
    stats = btc.result.statistics
    raw = btc.raw
    assert stats.currency == "USDT" and stats.marked_to_market
    # Totals: the recorded positions, NautilusTrader's analyzer and account.
    realized = sum((p.realized_pnl for p in raw.positions), Decimal(0))
    assert stats.total_pnl == realized < 0
    assert float(stats.total_pnl) == pytest.approx(btc.nautilus.pnls["USDT"]["PnL (total)"])
    assert stats.total_return == pytest.approx(btc.nautilus.pnls["USDT"]["PnL% (total)"] / 100)
    assert stats.fees == btc.nautilus.commissions["USDT"] == sum(f.commission for f in raw.fills)
    assert stats.funding == 0
    check_trade_statistics(btc, "USDT")
    wins = [p.realized_pnl for p in raw.positions if p.realized_pnl > 0]
    losses = [p.realized_pnl for p in raw.positions if p.realized_pnl < 0]
    assert stats.avg_win == sum(wins) / len(wins)
    assert stats.avg_loss == sum(losses) / len(losses)
    assert float(stats.avg_win) == pytest.approx(btc.nautilus.pnls["USDT"]["Avg Winner"])
    assert float(stats.avg_loss) == pytest.approx(btc.nautilus.pnls["USDT"]["Avg Loser"])
    assert stats.profit_factor == pytest.approx(float(sum(wins) / -sum(losses)), rel=1e-12)
    # Marked-to-market daily equity by cash flows at the bars' closes.
    prices = independent.bars(btc.cfg.data.catalog.path, BTC_BARS)
    window = (prices.times[0], prices.times[-1])
    marks = independent.day_ends(*window)
    days, ends = [d for d, _ in marks], [e for _, e in marks]
    start = Decimal(100_000)
    equity = independent.cash_flow_equity(raw, {"BTCUSDT-PERP.SIM": prices}, start, ends)
    check_return_statistics(btc, equity, days, ends, window)
    # The realized part is the account's balance, day by day (NautilusTrader's AccountState).
    for realized, end in zip(stats.daily.get_column("realized").to_list(), ends, strict=True):
        assert realized == _balance_at(btc.nautilus, "USDT", end)
    # Buy and hold: the first close of the window to the last.
    first, last = prices.mid(window[0]), prices.mid(window[1])
    assert stats.benchmark_return == pytest.approx(float(last / first - 1), rel=1e-12)
    assert stats.benchmark.item(0, "price_source") == "LAST bars"
    bench = [prices.mid(e) for e in ends]
    bench_returns = independent.returns(bench, first)
    assert stats.benchmark_sharpe == pytest.approx(independent.sharpe(bench_returns), rel=1e-6)
    bench_deepest, _ = independent.drawdown(bench, ends, first, window[0])
    assert stats.benchmark_max_drawdown == pytest.approx(bench_deepest, rel=1e-9)
    # The mapping view: numbers for thresholds and JSON.
    assert stats["total_pnl"] == float(stats.total_pnl)
    assert stats["max_drawdown_duration_s"] == stats.max_drawdown_duration.total_seconds()
    assert all(v is None or isinstance(v, (int, float)) for v in stats.values())


def test_usdjpy_pnl_is_in_the_account_currency_at_the_runs_own_rates(usdjpy: Ran) -> None:
    """JPY PnL on a USD account: converted fill by fill at the run's USD/JPY quotes, as
    NautilusTrader's account converts it, so the total is the venue's balance change."""
    result = usdjpy.result
    stats = result.statistics
    raw = usdjpy.raw
    assert stats.currency == result.currency == "USD"
    assert {p.currency for p in raw.positions} == {"JPY"}
    change = _balance_at(usdjpy.nautilus, "USD", 2**63) - Decimal(1_000_000)
    assert stats.total_pnl == change
    assert float(stats.total_pnl) == pytest.approx(usdjpy.nautilus.pnls["USD"]["PnL (total)"])
    assert stats.total_return == pytest.approx(usdjpy.nautilus.pnls["USD"]["PnL% (total)"] / 100)
    assert stats.fees == usdjpy.nautilus.commissions["USD"]
    rates = independent.quotes(usdjpy.cfg.data.catalog.path, "USD/JPY.SIM")
    assert independent.converted_pnl_per_fill(raw, rates, "USD", 2) == (stats.total_pnl, stats.fees)
    check_trade_statistics(usdjpy, "JPY")
    # Equity: NautilusTrader's USD balance, plus the open position marked at the mid and
    # converted at the mid rate (1 / mid of USD/JPY).
    window = (rates.times[0], rates.times[-1])
    marks = independent.day_ends(*window)
    days, ends = [d for d, _ in marks], [e for _, e in marks]
    equity = []
    for end in ends:
        mid = rates.mid(end)
        value = independent.open_value(raw, "USD/JPY.SIM", mid, end) / mid
        equity.append(_balance_at(usdjpy.nautilus, "USD", end) + value)
    check_return_statistics(usdjpy, equity, days, ends, window)
    for sharpe in (stats.sharpe, stats.sortino, stats.cagr, stats.max_drawdown):
        assert sharpe is not None  # what the issue found missing
    # The account: no 'starting 0' for a currency the account does not hold.
    rows = {row["currency"]: row for row in result.account.iter_rows(named=True)}
    assert rows["JPY"]["starting"] is None and rows["JPY"]["ending"] is None
    assert rows["JPY"]["realized_pnl"] == sum(p.realized_pnl for p in raw.positions)
    assert rows["USD"]["realized_pnl"] is None
    shown = dict(result.formatted_statistics())
    assert shown["total PnL (realized, net of fees)"] == f"{stats.total_pnl:,.2f} USD"
    page = result._repr_html_()
    assert "<h5>Statistics (USD)</h5>" in page and "1 / ask of USD/JPY" in page
    assert "<td>JPY</td><td></td>" in page  # no starting balance shown for JPY


def test_quoter_one_day_run(quoter: Ran) -> None:
    """46 seconds of quotes, one position (a loss), a CASH account holding BTC and USDT: the
    statistics that need two days of returns or a whole day are n/a, the rest hold."""
    stats = quoter.result.statistics
    raw = quoter.raw
    assert stats.currency == "USDT"
    assert stats.total_pnl == sum(p.realized_pnl for p in raw.positions) < 0
    assert float(stats.total_pnl) == pytest.approx(quoter.nautilus.pnls["USDT"]["PnL (total)"])
    assert stats.total_return == pytest.approx(quoter.nautilus.pnls["USDT"]["PnL% (total)"] / 100)
    assert stats.fees == quoter.nautilus.commissions["USDT"]
    check_trade_statistics(quoter, "USDT")
    prices = independent.quotes(quoter.cfg.data.catalog.path, "BTCUSDT.BINANCE")
    window = (prices.times[0], prices.times[-1])
    marks = independent.day_ends(*window)
    assert len(marks) == 1
    days, ends = [d for d, _ in marks], [e for _, e in marks]
    equity = independent.cash_flow_equity(raw, {"BTCUSDT.BINANCE": prices}, Decimal(100_000), ends)
    check_return_statistics(quoter, equity, days, ends, window)
    assert stats.sharpe is None and stats.sortino is None and stats.volatility is None
    assert stats.cagr is None and stats.calmar is None
    shown = dict(quoter.result.formatted_statistics())
    assert shown["total PnL (realized, net of fees)"] == f"{stats.total_pnl:,.8f} USDT"
    assert shown["Sharpe (annualised)"] == "n/a"


def test_a_run_without_trades(url: str, catalog: Path) -> None:
    """Twenty minutes of bars: the slow EMA never warms up, nothing is traded."""
    ran = run_example(
        "ema_cross_btc_perp_bars.yaml",
        url,
        catalog,
        data={"start": "2022-01-03T00:00:00Z", "end": "2022-01-03T00:10:00Z"},
    )
    stats = ran.result.statistics
    assert ran.result.orders.height == 0 and stats.trades == 0
    assert stats.total_pnl == 0 and stats.fees == 0 and stats.total_return == 0
    assert stats.win_rate is None and stats.profit_factor is None
    assert stats.avg_win is None and stats.avg_loss is None and stats.avg_trade_duration is None
    assert stats.exposure == 0 and stats.max_drawdown == 0
    assert stats.max_drawdown_duration == timedelta(0)
    assert stats.sharpe is None  # one day, and no movement
    prices = independent.bars(catalog.as_posix(), BTC_BARS)
    start, end = _ns(datetime(2022, 1, 3, tzinfo=UTC)), _ns(datetime(2022, 1, 3, 0, 10, tzinfo=UTC))
    inside = [t for t in prices.times if start <= t <= end]
    assert (_ns(stats.start), _ns(stats.end)) == (inside[0], inside[-1])
    first, last = prices.mid(inside[0]), prices.mid(inside[-1])
    assert stats.benchmark_return == pytest.approx(float(last / first - 1), rel=1e-12)


def test_two_currencies_on_one_account(tmp_path: Path) -> None:
    """EUR/USD and USD/JPY on a multi-currency account (1,000,000 USD, 100,000,000 JPY): the
    statistics are in USD, the first currency the account lists; JPY PnL and fees converted
    fill by fill at the run's USD/JPY quotes."""
    case = next(c for c in CASES if c.name == "fx2019_two_instruments_one_venue")
    files = prepare(case, tmp_path / "raw")
    config = tmp_path / "case.yaml"
    config.write_text(yaml.safe_dump(case.liveexec_config(tmp_path / "catalog"), sort_keys=False))
    runner = CliRunner()
    for spec in case.imports:
        imported = runner.invoke(app, ["data", "import", str(config), *spec.cli_args(files)])
        assert imported.exit_code == 0, imported.output
    database = f"sqlite:///{tmp_path / 'liveexec.db'}"
    upgrade(database)
    raw_config = yaml.safe_load(config.read_text())
    raw_config["logging"] = {"level": "ERROR", "file_level": None}
    result = _backtest(parse_config(raw_config), database_url=database)
    stats = result.statistics
    raw = independent.read_run(database, result.run_id)
    assert {p.currency for p in raw.positions} == {"USD", "JPY"}
    assert stats.currency == "USD"
    assert stats.starting_balance == Decimal(1_000_000)
    rates = independent.quotes((tmp_path / "catalog").as_posix(), "USD/JPY.SIM")
    assert independent.converted_pnl_per_fill(raw, rates, "USD", 2) == (stats.total_pnl, stats.fees)
    assert stats.total_return == pytest.approx(float(stats.total_pnl / Decimal(1_000_000)))
    assert any("JPY converted to USD" in note for note in stats.notes)
    assert set(stats.benchmark.get_column("instrument_id")) == {"EUR/USD.SIM", "USD/JPY.SIM"}
    assert stats.benchmark_return is None  # one per instrument: in the frame only
    # Asked in JPY instead: USD PnL converted at the same quotes (USD to JPY at their bid/ask).
    engine = create_db_engine(database, create=False)
    try:
        in_yen = load_run(engine, result.run_id, currency="JPY").statistics
    finally:
        engine.dispose()
    assert in_yen.currency == "JPY" and in_yen.starting_balance == Decimal(100_000_000)
    assert in_yen.trades == stats.trades and in_yen.win_rate == stats.win_rate


def test_without_the_catalog_the_statistics_say_why(usdjpy: Ran, tmp_path: Path) -> None:
    """The catalog moved: no rates, so money stays in the positions' currency, and what needs
    prices is n/a with the reason; given the catalog's new place, all is back."""
    engine = create_db_engine(usdjpy.url, create=False)
    catalog = Path(usdjpy.cfg.data.catalog.path)
    moved = tmp_path / "moved"
    try:
        shutil.copytree(catalog, moved)
        alone = load_run(engine, usdjpy.result.run_id, catalog=tmp_path / "nowhere").statistics
        again = load_run(engine, usdjpy.result.run_id, catalog=moved).statistics
    finally:
        engine.dispose()
    assert alone.currency == "JPY"
    assert alone.total_pnl == sum(p.realized_pnl for p in usdjpy.raw.positions)
    assert alone.total_return is None and alone.sharpe is None and alone.benchmark_return is None
    assert any("no catalog at" in note for note in alone.notes)
    assert any("not converted to USD" in note for note in alone.notes)
    assert dict(again) == dict(usdjpy.result.statistics)


def test_statistics_are_the_same_on_postgres(usdjpy: Ran, postgres_url: str) -> None:
    upgrade(postgres_url)
    result = _backtest(usdjpy.cfg, database_url=postgres_url)
    assert dict(result.statistics) == dict(usdjpy.result.statistics)
    assert result.statistics.daily.equals(usdjpy.result.statistics.daily)
    assert result.fills.drop("position_id").equals(usdjpy.result.fills.drop("position_id"))


def test_list_runs_is_a_frame_of_what_a_runs_table_needs(
    url: str, btc: Ran, usdjpy: Ran, quoter: Ran
) -> None:
    engine = create_db_engine(url, create=False)
    try:
        runs = list_runs(engine, limit=None)
        listed = {row["run_id"]: row for row in runs.iter_rows(named=True)}
        for ran in (btc, usdjpy, quoter):
            row = listed[ran.result.run_id]
            stats = ran.result.statistics
            assert (row["pnl"], row["currency"]) == (stats.total_pnl, stats.currency)
            assert row["total_return"] == pytest.approx(stats.total_return)
            assert row["orders"] == ran.result.orders.height
            assert row["trades"] == stats.trades
            assert row["config_id"] == ran.result.config_id
        assert listed[btc.result.run_id]["strategy"] == "EMACross"
        assert listed[btc.result.run_id]["instruments"] == "BTCUSDT-PERP.SIM"
        # Non-default parameters only, as the config class reads them ("0.100" is 0.1).
        parameters = listed[btc.result.run_id]["parameters"]
        assert "trade_size=0.1" in parameters and "fast_ema_period" not in parameters
        assert runs.get_column("started_at").is_sorted(descending=True)
        quoters = list_runs(engine, strategy="simplequoterstrategy", mode="backtest")
        assert quoters.get_column("run_id").to_list() == [quoter.result.run_id]
        assert list_runs(engine, status="failed").is_empty()
        assert list_runs(engine, since=datetime.now(UTC) + timedelta(days=1)).is_empty()
        assert list_runs(engine, since=datetime.now(UTC).date()).height >= 3
        with pytest.raises(ValueError, match="naive"):
            list_runs(engine, since=datetime(2026, 1, 1))
        assert list_runs(engine, config_id=usdjpy.result.config_id, limit=None).height >= 1
        assert list_runs(engine, limit=1).height == 1
    finally:
        engine.dispose()


def test_run_id_prefixes(url: str, btc: Ran) -> None:
    engine = create_db_engine(url, create=False)
    try:
        with Session(engine) as session:
            for run_id in (
                "abc00000-0000-4000-8000-000000000001",
                "abc00000-0000-4000-8000-000000000002",
            ):
                session.add(
                    Run(
                        run_id=run_id,
                        trader_id="T",
                        mode="backtest",
                        config_id="c",
                        config={},
                        liveexec_version="0",
                        nautilus_version="0",
                        started_at=datetime.now(UTC),
                        status="failed",
                    )
                )
            session.commit()
        run_id = btc.result.run_id
        assert resolve_run_id(engine, run_id[:12]) == run_id
        assert resolve_run_id(engine, run_id) == run_id
        with pytest.raises(ConfigError, match="ambiguous: 2 runs start with it") as ambiguous:
            resolve_run_id(engine, "abc0")
        assert "abc00000-0000-4000-8000-000000000001" in str(ambiguous.value)
        assert "abc00000-0000-4000-8000-000000000002" in str(ambiguous.value)
        with pytest.raises(ConfigError, match="no run id starts with it"):
            resolve_run_id(engine, "zzz")
        with pytest.raises(ConfigError, match="no run id starts with it"):
            resolve_run_id(engine, "%")  # LIKE's wildcard is a character here
    finally:
        engine.dispose()


def test_compare_puts_runs_side_by_side(url: str, btc: Ran, usdjpy: Ran, quoter: Ran) -> None:
    report = compare(url, btc.result.run_id[:10], usdjpy.result.run_id, quoter.result)
    frame = report.frame
    assert frame.get_column("run_id").to_list() == [
        btc.result.run_id,
        usdjpy.result.run_id,
        quoter.result.run_id,
    ]
    assert frame.schema["total_pnl"] == pl.Decimal(36, 18)  # exact, in each row's currency
    assert frame.get_column("total_pnl").to_list() == [
        btc.result.statistics.total_pnl,
        usdjpy.result.statistics.total_pnl,
        quoter.result.statistics.total_pnl,
    ]
    assert frame.get_column("currency").to_list() == ["USDT", "USD", "USDT"]
    assert frame.get_column("sharpe").to_list()[:2] == [
        btc.result.statistics.sharpe,
        usdjpy.result.statistics.sharpe,
    ]
    table = report.table()
    assert table.columns == ["statistic", *(r.run_id[:8] for r in report.runs)]
    rows = {row[0]: row[1:] for row in table.iter_rows()}
    assert rows["total PnL (realized, net of fees)"] == tuple(
        r.formatted_statistics()[1][1] for r in report.runs
    )
    assert rows["total return"][0].endswith(" %")
    text = str(report)
    assert "-3,245.12 USD" in text and "USDT" in text
    assert "<table>" in report._repr_html_()
    with pytest.raises(ConfigError, match="no run id starts with it"):
        compare(url, "not-a-run")


def test_independent_module_imports_no_liveexec() -> None:
    source = Path(independent.__file__).read_text()
    imported: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    assert [name for name in imported if name.split(".")[0] == "liveexec"] == []
    probe = (
        "import sys, tests.analysis.independent; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'liveexec'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


def test_currency_precision_is_nautilus_traders() -> None:
    from liveexec.runs._format import currency_precision  # noqa: PLC0415

    for code in ("USD", "JPY", "BTC", "USDT", "EUR"):
        assert currency_precision(code) == Currency.from_str(code).precision
