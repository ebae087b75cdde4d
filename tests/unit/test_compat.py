"""liveexec's changes to NautilusTrader (liveexec.nodes._compat) change speed, never a result.

Proof on real data: the same NautilusTrader ``BacktestEngine`` run (the bundled BTC perpetual
1-minute bars, NautilusTrader's EMA cross) with and without the patches gives identical orders,
fills, positions, account balances and analyzer statistics, in NETTING and HEDGING.
"""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest
from nautilus_trader.analysis.analyzer import PortfolioAnalyzer
from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.engine import BacktestEngine  # type: ignore[import-not-found]  # Cython, no stub
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.examples.strategies.ema_cross import EMACross, EMACrossConfig
from nautilus_trader.model.currencies import BTC, USD, USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import InstrumentId, PositionId, Symbol, Venue
from nautilus_trader.model.instruments import CryptoPerpetual
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.persistence.wranglers import BarDataWrangler

from liveexec.data import DEMO_DATA_DIR
from liveexec.nodes._compat import (
    TESTED_VERSIONS,
    BufferedTradesAnalyzer,
    parse_version,
    speed_up_backtest_engine,
    tuned_gc,
    version_is_tested,
)

BARS_CSV = DEMO_DATA_DIR / "btc-perp-20211231-20220201_1m.csv.gz"
BAR_TYPE = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"
SLICE = 9_000  # about 6 days of bars: ~800 orders, ~400 position cycles


# --- the version guard -------------------------------------------------------------------------


def test_versions_parse() -> None:
    assert parse_version("1.231.0") == (1, 231, 0)
    assert parse_version("1.231.2rc1") == (1, 231, 2)
    assert parse_version("1.232") == (1, 232, 0)
    with pytest.raises(ValueError, match="not a NautilusTrader version"):
        parse_version("dev")


def test_the_installed_nautilus_trader_is_a_tested_version() -> None:
    # When this fails after an upgrade: run this file against the new version, read the patched
    # NautilusTrader code again, then widen TESTED_VERSIONS.
    assert version_is_tested(), TESTED_VERSIONS


@pytest.mark.parametrize("version", ["1.230.9", "1.232.0", "2.0.0"])
def test_outside_the_tested_versions_nothing_is_patched_and_a_warning_is_logged(
    version: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = _engine(OmsType.NETTING)
    try:
        with caplog.at_level(logging.WARNING, logger="liveexec.compat"):
            assert speed_up_backtest_engine(engine, version=version) == ()
        assert type(engine.portfolio.analyzer) is PortfolioAnalyzer
        assert f"NautilusTrader {version} is outside" in caplog.text
    finally:
        engine.dispose()


def test_inside_the_tested_versions_the_analyzer_is_buffered() -> None:
    engine = _engine(OmsType.NETTING)
    try:
        assert speed_up_backtest_engine(engine) == ("buffered-analyzer-trades",)
        assert type(engine.portfolio.analyzer) is BufferedTradesAnalyzer
    finally:
        engine.dispose()


def test_an_analyzer_that_is_not_nautilus_traders_own_is_left_alone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = _engine(OmsType.NETTING)
    try:
        assert speed_up_backtest_engine(engine) == ("buffered-analyzer-trades",)
        with caplog.at_level(logging.WARNING, logger="liveexec.compat"):
            assert speed_up_backtest_engine(engine) == ()  # already patched: not twice
        assert "not applied" in caplog.text
    finally:
        engine.dispose()


# --- the garbage collector during a run ---------------------------------------------------------


def test_tuned_gc_freezes_for_the_run_and_restores_everything_after() -> None:
    before = gc.get_threshold()
    with tuned_gc():
        assert gc.get_freeze_count() > 1000  # the modules, at least
        assert gc.get_threshold() != before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_tuned_gc_restores_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="boom"), tuned_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


# --- the buffered analyzer against NautilusTrader's own, call by call --------------------------


def _trades() -> list[tuple[str, Money, int | None]]:
    usd_eur = [USD, Currency.from_str("EUR"), USDT]
    trades: list[tuple[str, Money, int | None]] = []
    for n in range(300):
        currency = usd_eur[n % 3 if n % 7 else 0]
        pnl = Money(Decimal(n * 37 % 101 - 50) / 4, currency)
        trades.append((f"P-{n // 2}", pnl, None if n % 11 == 0 else 1_600_000_000_000 + n))
    return trades


def _same_series(a: dict[Currency, pd.Series], b: dict[Currency, pd.Series]) -> None:
    assert list(a) == list(b)
    for currency, series in a.items():
        pd.testing.assert_series_equal(series, b[currency], check_exact=True)


def test_buffered_analyzer_builds_nautilus_traders_series_exactly() -> None:
    own, buffered = PortfolioAnalyzer(), PortfolioAnalyzer()
    BufferedTradesAnalyzer.install(buffered)
    for n, (position_id, pnl, ts) in enumerate(_trades()):
        for analyzer in (own, buffered):
            analyzer.record_trade(PositionId(position_id), pnl, ts)
        if n in (0, 1, 150, 151, 299):  # reads in between: flushes meet later appends
            _same_series(own._recorded_realized_pnls, buffered._recorded_realized_pnls)
    _same_series(own._recorded_realized_pnls, buffered._recorded_realized_pnls)
    _same_series(own._recorded_realized_pnl_timestamps, buffered._recorded_realized_pnl_timestamps)
    for currency in (USD, USDT, Currency.from_str("EUR")):
        expected, got = own.realized_pnls(currency), buffered.realized_pnls(currency)
        assert expected is not None and got is not None
        pd.testing.assert_series_equal(expected, got, check_exact=True)


def test_buffered_analyzer_reset_drops_pending_trades() -> None:
    own, buffered = PortfolioAnalyzer(), PortfolioAnalyzer()
    BufferedTradesAnalyzer.install(buffered)
    for analyzer in (own, buffered):
        analyzer.record_trade(PositionId("P-1"), Money(5, USD), 1)
        analyzer.reset()
        analyzer.record_trade(PositionId("P-2"), Money(-3, USD), 2)
    _same_series(own._recorded_realized_pnls, buffered._recorded_realized_pnls)
    assert list(buffered._recorded_realized_pnls[USD].index) == ["P-2"]


def test_only_nautilus_traders_analyzer_can_be_buffered() -> None:
    analyzer = PortfolioAnalyzer()
    BufferedTradesAnalyzer.install(analyzer)
    with pytest.raises(TypeError, match="expected a PortfolioAnalyzer"):
        BufferedTradesAnalyzer.install(analyzer)


# --- whole runs on real data, with and without the patches -------------------------------------


def _instrument() -> CryptoPerpetual:
    # As the example config defines it (liveexec/examples/ema_cross_btc_perp_bars.yaml).
    return CryptoPerpetual(
        instrument_id=InstrumentId.from_str("BTCUSDT-PERP.SIM"),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=1,
        size_precision=3,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.001"),
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal("0.05"),
        margin_maint=Decimal("0.025"),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.00018"),
        ts_event=0,
        ts_init=0,
    )


_BARS: list[Bar] = []


def _bars() -> list[Bar]:
    if not _BARS:
        frame = pd.read_csv(BARS_CSV, nrows=SLICE)
        frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
        frame = frame.set_index("timestamp")
        wrangler = BarDataWrangler(BarType.from_str(BAR_TYPE), _instrument())
        _BARS.extend(wrangler.process(frame))
    return _BARS


def _engine(oms_type: OmsType) -> BacktestEngine:
    # run_analysis stays on (NautilusTrader's default): its post-run statistics read the
    # analyzer's recorded series, so the buffered analyzer is read back inside the run too.
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(
        venue=Venue("SIM"),
        oms_type=oms_type,
        account_type=AccountType.MARGIN,
        base_currency=USDT,
        starting_balances=[Money(100_000, USDT)],
    )
    engine.add_instrument(_instrument())
    return engine


@dataclass(frozen=True)
class Outcome:
    orders: pd.DataFrame
    fills: pd.DataFrame
    positions: pd.DataFrame
    account: pd.DataFrame
    balances: list[str]
    realized_pnls: pd.Series
    statistics: dict[str, Any]


def _run(oms_type: OmsType, *, patched: bool) -> Outcome:
    engine = _engine(oms_type)
    try:
        engine.add_data(_bars())
        engine.add_strategy(
            EMACross(
                EMACrossConfig(
                    instrument_id=InstrumentId.from_str("BTCUSDT-PERP.SIM"),
                    bar_type=BarType.from_str(BAR_TYPE),
                    trade_size=Decimal("0.100"),
                    fast_ema_period=10,
                    slow_ema_period=20,
                    request_bars=False,
                    subscribe_trade_ticks=False,
                )
            )
        )
        applied = speed_up_backtest_engine(engine) if patched else ()
        assert applied == (("buffered-analyzer-trades",) if patched else ())
        if patched:
            with tuned_gc():
                engine.run()
        else:
            engine.run()
        trader: Any = engine.trader
        account = engine.cache.account_for_venue(Venue("SIM"))
        analyzer = engine.portfolio.analyzer
        assert (type(analyzer) is BufferedTradesAnalyzer) is patched
        result = engine.get_result()
        return Outcome(
            # Event ids are fresh uuid4s in every run; everything else must be equal.
            orders=trader.generate_orders_report().drop(columns=["init_id"]),
            fills=trader.generate_fills_report().drop(columns=["event_id"]),
            positions=_positions(trader.generate_positions_report()),
            account=trader.generate_account_report(Venue("SIM")),
            balances=[str(balance) for balance in account.balances_total().values()],
            realized_pnls=analyzer.realized_pnls(USDT),
            statistics={**result.stats_pnls["USDT"], **result.stats_returns},
        )
    finally:
        engine.dispose()


def _positions(report: pd.DataFrame) -> pd.DataFrame:
    # A NETTING snapshot's id carries a fresh uuid4 in every run (Cache.snapshot_position):
    # compare the position id it was taken of.
    report = report.reset_index()
    report["position_id"] = (
        report["position_id"]
        .astype(str)
        .str.replace(
            r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "", regex=True
        )
    )
    return report


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.mark.parametrize("oms_type", [OmsType.NETTING, OmsType.HEDGING], ids=lambda o: o.name)
def test_runs_on_real_data_are_identical_with_and_without_the_patches(oms_type: OmsType) -> None:
    plain = _run(oms_type, patched=False)
    fast = _run(oms_type, patched=True)
    assert len(plain.orders) > 500
    assert len(plain.fills) == len(plain.orders)
    closed = plain.positions[plain.positions["side"] == "FLAT"]
    assert len(closed) > 200  # many closed position cycles, each recorded by the analyzer
    _frames_equal(plain.orders, fast.orders)
    _frames_equal(plain.fills, fast.fills)
    _frames_equal(plain.positions, fast.positions)
    _frames_equal(plain.account, fast.account)
    assert plain.balances == fast.balances
    pd.testing.assert_series_equal(plain.realized_pnls, fast.realized_pnls, check_exact=True)
    assert len(plain.realized_pnls) == len(closed)
    pd.testing.assert_series_equal(
        pd.Series(plain.statistics), pd.Series(fast.statistics), check_exact=True
    )
