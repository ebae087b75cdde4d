"""The reference path: NautilusTrader alone, with no liveexec code.

A case's raw files go through NautilusTrader's own wranglers into its low-level
``BacktestEngine``; the instruments are built with NautilusTrader's classes, the venue with
``engine.add_venue`` and the strategies from their own config classes. What comes out is
NautilusTrader's own view of the run: ``generate_fills_report`` (one row per fill), the orders
and the positions in its cache (snapshots included) and the account's balances.

This module must not import liveexec (a test reads its syntax tree to prove it): a shared
helper would let one bug hide on both sides of the comparison. (Two imports carry
``type: ignore[import-not-found]``: Cython modules without stubs that liveexec itself never
imports, so pyproject's mypy overrides do not list them.)
"""

from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.engine import BacktestEngine  # type: ignore[import-not-found]
from nautilus_trader.backtest.models import FillModel, FixedFeeModel, MakerTakerFeeModel
from nautilus_trader.common.config import LoggingConfig
from nautilus_trader.model.currencies import BTC, USDT
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair, Instrument
from nautilus_trader.model.objects import Currency, Money, Price, Quantity
from nautilus_trader.persistence.wranglers import (
    BarDataWrangler,
    QuoteTickDataWrangler,
    TradeTickDataWrangler,
)
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy  # type: ignore[import-not-found]

__all__ = [
    "INSTRUMENTS",
    "ReferenceRun",
    "ReferenceSource",
    "ReferenceStrategy",
    "ReferenceVenue",
    "run_reference",
]


# --- instruments, written out with NautilusTrader's own classes ------------------------------


def btcusdt_perp_sim() -> Instrument:
    """A linear BTCUSDT perpetual on a simulated venue (the BTC-PERP bar file names none)."""
    return CryptoPerpetual(
        instrument_id=InstrumentId(Symbol("BTCUSDT-PERP"), Venue("SIM")),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=1,
        size_precision=3,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("0.001"),
        lot_size=Quantity.from_str("1.000"),
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


def btcusdt_spot_rebate() -> Instrument:
    """Binance BTCUSDT spot with a maker rebate and a taker fee that differ, so that the
    commission of every fill shows which side of the book it was on."""
    base = TestInstrumentProvider.btcusdt_binance()
    return CurrencyPair(
        instrument_id=InstrumentId(Symbol("BTCUSDT"), Venue("MAKER")),
        raw_symbol=base.raw_symbol,
        base_currency=base.base_currency,
        quote_currency=base.quote_currency,
        price_precision=base.price_precision,
        size_precision=base.size_precision,
        price_increment=base.price_increment,
        size_increment=base.size_increment,
        lot_size=None,
        max_quantity=base.max_quantity,
        min_quantity=base.min_quantity,
        max_notional=None,
        min_notional=base.min_notional,
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal("-0.0001"),
        taker_fee=Decimal("0.0007"),
        ts_event=0,
        ts_init=0,
    )


INSTRUMENTS: dict[str, Callable[[], Instrument]] = {
    "BTCUSDT-PERP.SIM": btcusdt_perp_sim,
    "BTCUSDT.BINANCE": TestInstrumentProvider.btcusdt_binance,
    "BTCUSDT.MAKER": btcusdt_spot_rebate,
    "USD/JPY.SIM": lambda: TestInstrumentProvider.default_fx_ccy("USD/JPY"),
    "EUR/USD.SIM": lambda: TestInstrumentProvider.default_fx_ccy("EUR/USD"),
}


# --- what a case tells the reference ---------------------------------------------------------


@dataclass(frozen=True)
class ReferenceVenue:
    name: str
    oms_type: Literal["NETTING", "HEDGING"]
    account_type: Literal["CASH", "MARGIN"]
    base_currency: str | None
    starting_balances: tuple[str, ...]
    default_leverage: Decimal
    fixed_commission: str | None = None  # FixedFeeModel when set, else MakerTakerFeeModel


@dataclass(frozen=True)
class ReferenceSource:
    """One raw file (or a bid/ask pair) and how NautilusTrader's wranglers read it."""

    kind: Literal["bars", "bid_ask_quotes", "quotes", "trades"]
    instrument_id: str
    path: Path
    ask_path: Path | None = None  # the ask bars of a bid/ask pair
    bar_type: str | None = None


@dataclass(frozen=True)
class ReferenceStrategy:
    path: str  # "module:Class"
    config_path: str
    config: dict[str, Any]


@dataclass(frozen=True)
class ReferenceRun:
    """NautilusTrader's view of one run, as plain values."""

    orders: pd.DataFrame  # trader.generate_orders_report()
    fills: pd.DataFrame  # trader.generate_fills_report(): one row per fill
    positions: list[dict[str, Any]]  # positions and NETTING snapshots, from the cache
    balances: dict[str, Decimal]  # final total balance per currency, summed over venues
    seconds: float


def _read_table(path: Path) -> pd.DataFrame:
    """A raw file as NautilusTrader's examples read it: ``timestamp`` as the index."""
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
        return frame.set_index("timestamp") if "timestamp" in frame.columns else frame
    return pd.read_csv(path, index_col="timestamp", parse_dates=True)


def _window(frame: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None) -> Any:
    """Rows whose timestamp lies in [start, end] (both bounds inclusive, as a catalog query)."""
    index = pd.DatetimeIndex(frame.index)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= index >= start
    if end is not None:
        keep &= index <= end
    return frame[keep.to_numpy()]


def _load(
    source: ReferenceSource,
    instrument: Instrument,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
) -> list[Any]:
    if source.kind == "bars":
        assert source.bar_type is not None
        frame = _window(_read_table(source.path), start, end)
        return list(BarDataWrangler(BarType.from_str(source.bar_type), instrument).process(frame))
    if source.kind == "bid_ask_quotes":
        assert source.ask_path is not None
        bid = _window(_read_table(source.path), start, end)
        ask = _window(_read_table(source.ask_path), start, end)
        wrangler = QuoteTickDataWrangler(instrument)
        return list(wrangler.process_bar_data(bid_data=bid, ask_data=ask))
    frame = _window(_read_table(source.path), start, end)
    if source.kind == "quotes":
        return list(QuoteTickDataWrangler(instrument).process(frame))
    return list(TradeTickDataWrangler(instrument).process(frame))


def _strategy(spec: ReferenceStrategy) -> Strategy:
    def resolve(path: str) -> Any:
        module, _, name = path.partition(":")
        return getattr(importlib.import_module(module), name)

    config = resolve(spec.config_path).parse(json.dumps(spec.config))
    strategy: Strategy = resolve(spec.path)(config=config)
    return strategy


# A snapshot of a NETTING position cycle carries the position's id with "-<uuid4>" appended.
_SNAPSHOT_SUFFIX = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _position_row(position: Any, *, snapshot: bool) -> dict[str, Any]:
    closing = position.closing_order_id
    position_id = position.id.value
    return {
        "position_id": _SNAPSHOT_SUFFIX.sub("", position_id) if snapshot else position_id,
        "instrument_id": position.instrument_id.value,
        "opening_order_id": position.opening_order_id.value,
        "closing_order_id": closing.value if closing is not None else None,
        "realized_pnl": position.realized_pnl.as_decimal(),
        "currency": position.realized_pnl.currency.code,
        "peak_qty": position.peak_qty.as_decimal(),
        "ts_opened": position.ts_opened,
        "ts_closed": position.ts_closed if position.is_closed else None,
    }


def run_reference(
    *,
    trader_id: str,
    venues: Sequence[ReferenceVenue],
    instrument_ids: Sequence[str],
    sources: Sequence[ReferenceSource],
    strategies: Sequence[ReferenceStrategy],
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> ReferenceRun:
    """One backtest through NautilusTrader's ``BacktestEngine``, and its outcome."""
    began = time.perf_counter()
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId(trader_id),
            logging=LoggingConfig(log_level="ERROR"),
            run_analysis=False,
        )
    )
    try:
        for venue in venues:
            fee_model = (
                FixedFeeModel(Money.from_str(venue.fixed_commission))
                if venue.fixed_commission is not None
                else MakerTakerFeeModel()
            )
            engine.add_venue(
                venue=Venue(venue.name),
                oms_type=OmsType[venue.oms_type],
                account_type=AccountType[venue.account_type],
                starting_balances=[Money.from_str(text) for text in venue.starting_balances],
                base_currency=(
                    Currency.from_str(venue.base_currency) if venue.base_currency else None
                ),
                default_leverage=venue.default_leverage,
                fill_model=FillModel(),
                fee_model=fee_model,
            )
        instruments = {iid: INSTRUMENTS[iid]() for iid in instrument_ids}
        for instrument in instruments.values():
            engine.add_instrument(instrument)
        for source in sources:
            engine.add_data(_load(source, instruments[source.instrument_id], start, end))
        for spec in strategies:
            engine.add_strategy(_strategy(spec))
        engine.run()
        trader: Any = engine.trader
        cache: Any = engine.cache
        positions = [_position_row(p, snapshot=True) for p in cache.position_snapshots()]
        positions += [_position_row(p, snapshot=False) for p in cache.positions()]
        balances: dict[str, Decimal] = {}
        for venue in venues:
            account = cache.account_for_venue(Venue(venue.name))
            for currency, money in account.balances_total().items():
                balances[currency.code] = balances.get(currency.code, Decimal(0)) + (
                    money.as_decimal()
                )
        return ReferenceRun(
            orders=trader.generate_orders_report(),
            fills=trader.generate_fills_report(),
            positions=positions,
            balances=balances,
            seconds=time.perf_counter() - began,
        )
    finally:
        engine.dispose()
