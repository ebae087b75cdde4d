"""The differential matrix: each case as raw files, a liveexec config and the reference's inputs.

A case names its raw inputs once; :func:`prepare` writes them into a work directory (slices of
the real files bundled with liveexec or kept in ``tests/differential/data``), and both paths read
those same files: liveexec through ``liveexec data import``, the reference through
NautilusTrader's wranglers. The liveexec config is written out as YAML, the way a user writes it;
the reference gets its instruments from NautilusTrader's own classes (see ``reference.py``), so a
config that defines an instrument differently from NautilusTrader shows up as a difference.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from tests.differential.reference import ReferenceSource, ReferenceStrategy, ReferenceVenue

__all__ = ["CASES", "FIXTURES", "Case", "Import", "prepare"]

HERE = Path(__file__).resolve().parent
DEMO = HERE.parents[1] / "liveexec" / "data" / "demo"
FIXTURES = HERE / "data"

EMA_CROSS = "nautilus_trader.examples.strategies.ema_cross:EMACross"
EMA_CROSS_CONFIG = "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig"
QUOTER = "nautilus_trader.examples.strategies.simpler_quoter:SimpleQuoterStrategy"
QUOTER_CONFIG = "nautilus_trader.examples.strategies.simpler_quoter:SimpleQuoterStrategyConfig"


# --- raw files ---------------------------------------------------------------------------------


def _gunzip_head(
    source: Path, rows: int | None, drop_columns: tuple[str, ...] = ()
) -> Callable[[Path], None]:
    """A CSV from a gzip copy: its header and first ``rows`` data lines (all when None), with
    ``drop_columns`` removed. Lines are copied as text so values stay exactly as published."""

    def write(target: Path) -> None:
        with gzip.open(source, "rt", newline="") as src:
            header = src.readline().rstrip("\n").split(",")
            keep = [i for i, name in enumerate(header) if name not in drop_columns]
            lines = [",".join(header[i] for i in keep)]
            for n, line in enumerate(src):
                if rows is not None and n >= rows:
                    break
                values = line.rstrip("\n").split(",")
                lines.append(",".join(values[i] for i in keep))
        target.write_text("\n".join(lines) + "\n")

    return write


def _copy(source: Path) -> Callable[[Path], None]:
    def write(target: Path) -> None:
        target.write_bytes(source.read_bytes())

    return write


RAW_FILES: dict[str, Callable[[Path], None]] = {
    # BTC perpetual 1-minute bars: the first 10,000 (2021-12-31 23:01 to 2022-01-07 ~21:40).
    "btc-perp-10k.csv": _gunzip_head(DEMO / "btc-perp-20211231-20220201_1m.csv.gz", 10_000),
    # The same bars without their volume column (NautilusTrader takes 1,000,000 then).
    "btc-perp-3k-novolume.csv": _gunzip_head(
        DEMO / "btc-perp-20211231-20220201_1m.csv.gz", 3_000, drop_columns=("volume",)
    ),
    "btc-perp-3k.csv": _gunzip_head(DEMO / "btc-perp-20211231-20220201_1m.csv.gz", 3_000),
    "usdjpy-bid.csv": _gunzip_head(DEMO / "fxcm-usdjpy-m1-bid-2013.csv.gz", None),
    "usdjpy-ask.csv": _gunzip_head(DEMO / "fxcm-usdjpy-m1-ask-2013.csv.gz", None),
    "btcusdt-quotes.parquet": _copy(DEMO / "btcusdt-quotes.parquet"),
    "btcusdt-trades.parquet": _copy(DEMO / "btcusdt-trades.parquet"),
    "eurusd-quotes.csv": _gunzip_head(FIXTURES / "eurusd-quotes-20190101.csv.gz", None),
    "usdjpy-quotes.csv": _gunzip_head(FIXTURES / "usdjpy-quotes-20190101.csv.gz", None),
}


def prepare(case: Case, workdir: Path) -> dict[str, Path]:
    """Write the case's raw files into ``workdir`` (once) and return them by name."""
    paths: dict[str, Path] = {}
    for name in case.raw_files:
        target = workdir / name
        if not target.exists():
            workdir.mkdir(parents=True, exist_ok=True)
            RAW_FILES[name](target)
        paths[name] = target
    return paths


# --- cases ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    """One `liveexec data import` call, and the same file for NautilusTrader's wranglers."""

    kind: Literal["bars", "bid_ask_quotes", "quotes", "trades"]
    instrument_id: str
    file: str
    ask_file: str | None = None
    bar_type: str | None = None
    # The file has more decimals than the instrument keeps: rounded, as NautilusTrader's
    # wranglers round (`liveexec data import` refuses it otherwise).
    round_to_precision: bool = False

    def cli_args(self, files: dict[str, Path]) -> list[str]:
        args = ["--instrument", self.instrument_id]
        if self.round_to_precision:
            args.append("--round-to-precision")
        if self.kind == "bars":
            assert self.bar_type is not None
            return [*args, "--bars", str(files[self.file]), "--bar-type", self.bar_type]
        if self.kind == "bid_ask_quotes":
            assert self.ask_file is not None
            return [*args, "--bid", str(files[self.file]), "--ask", str(files[self.ask_file])]
        return [*args, f"--{self.kind}", str(files[self.file])]

    def reference(self, files: dict[str, Path]) -> ReferenceSource:
        return ReferenceSource(
            kind=self.kind,
            instrument_id=self.instrument_id,
            path=files[self.file],
            ask_path=files[self.ask_file] if self.ask_file else None,
            bar_type=self.bar_type,
        )


@dataclass(frozen=True)
class Case:
    name: str
    venues: tuple[ReferenceVenue, ...]
    instruments: tuple[dict[str, Any], ...]  # liveexec instrument definitions (YAML shape)
    strategies: tuple[ReferenceStrategy, ...]
    imports: tuple[Import, ...]
    streams: tuple[dict[str, str], ...]  # liveexec data.streams
    start: str | None = None
    end: str | None = None
    min_orders: int = 1
    expected_orders: int | None = None  # NautilusTrader's published figures, where there are
    expected_positions: int | None = None
    liquidity_sides: frozenset[str] = frozenset({"TAKER"})  # present among the fills
    trader_id: str = "TRADER-001"
    notes: str = ""
    marks: tuple[Any, ...] = field(default_factory=tuple)

    @property
    def raw_files(self) -> list[str]:
        names = [i.file for i in self.imports] + [i.ask_file for i in self.imports if i.ask_file]
        return list(dict.fromkeys(names))

    @property
    def instrument_ids(self) -> list[str]:
        return [str(spec["id"]) for spec in self.instruments]

    def window(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        return (
            pd.Timestamp(self.start) if self.start else None,
            pd.Timestamp(self.end) if self.end else None,
        )

    def liveexec_config(self, catalog: Path) -> dict[str, Any]:
        """The config a user would write for this case (dumped to YAML by the test)."""
        venues: list[dict[str, Any]] = []
        for venue in self.venues:
            entry: dict[str, Any] = {
                "name": venue.name,
                "oms_type": venue.oms_type,
                "account_type": venue.account_type,
                "starting_balances": list(venue.starting_balances),
                "default_leverage": str(venue.default_leverage),
            }
            if venue.base_currency is not None:
                entry["base_currency"] = venue.base_currency
            if venue.fixed_commission is not None:
                entry["fee_model"] = {"kind": "fixed", "commission": venue.fixed_commission}
            venues.append(entry)
        data: dict[str, Any] = {"catalog": {"path": str(catalog)}, "streams": list(self.streams)}
        if self.start:
            data["start"] = self.start
        if self.end:
            data["end"] = self.end
        return {
            "trader_id": self.trader_id,
            "mode": "backtest",
            "strategies": [
                {"path": s.path, "config_path": s.config_path, "config": s.config}
                for s in self.strategies
            ],
            "venues": venues,
            "instruments": list(self.instruments),
            "data": data,
            "logging": {"level": "ERROR"},
        }


# Instrument definitions in liveexec's config, each the same instrument as reference.INSTRUMENTS.
BTC_PERP: dict[str, Any] = {
    "kind": "crypto_perpetual",
    "id": "BTCUSDT-PERP.SIM",
    "raw_symbol": "BTCUSDT",
    "base_currency": "BTC",
    "quote_currency": "USDT",
    "settlement_currency": "USDT",
    "price_precision": 1,
    "size_precision": 3,
    "lot_size": "1",
    "margin_init": "0.05",
    "margin_maint": "0.025",
    "maker_fee": "0.0002",
    "taker_fee": "0.00018",
}


def _fx(symbol: str) -> dict[str, Any]:
    """TestInstrumentProvider.default_fx_ccy(symbol) as a liveexec definition."""
    base, quote = symbol.split("/")
    jpy = quote == "JPY"
    return {
        "kind": "currency_pair",
        "id": f"{symbol}.SIM",
        "raw_symbol": symbol,
        "base_currency": base,
        "quote_currency": quote,
        "price_precision": 3 if jpy else 5,
        "size_precision": 0,
        "lot_size": "1000",
        "min_quantity": "1000",
        "max_quantity": "10000000",
        "min_notional": "1000 USD",
        "max_notional": "50000000 USD",
        "tick_scheme": "FOREX_3DECIMAL" if jpy else "FOREX_5DECIMAL",
        "margin_init": "0.03",
        "margin_maint": "0.03",
        "maker_fee": "0.00002",
        "taker_fee": "0.00002",
    }


def _btcusdt_spot(venue: str, maker_fee: str, taker_fee: str) -> dict[str, Any]:
    return {
        "kind": "currency_pair",
        "id": f"BTCUSDT.{venue}",
        "raw_symbol": "BTCUSDT",
        "base_currency": "BTC",
        "quote_currency": "USDT",
        "price_precision": 2,
        "size_precision": 6,
        "min_quantity": "0.000001",
        "max_quantity": "9000",
        "min_notional": "10 USDT",
        "maker_fee": maker_fee,
        "taker_fee": taker_fee,
    }


def _ema(instrument_id: str, bar_type: str, size: str, **extra: Any) -> ReferenceStrategy:
    return ReferenceStrategy(
        path=EMA_CROSS,
        config_path=EMA_CROSS_CONFIG,
        config={
            "instrument_id": instrument_id,
            "bar_type": bar_type,
            "trade_size": size,
            "fast_ema_period": 10,
            "slow_ema_period": 20,
            "request_bars": False,
            "subscribe_trade_ticks": False,
            **extra,
        },
    )


def _margin(
    name: str,
    oms: Literal["NETTING", "HEDGING"],
    balances: tuple[str, ...],
    base: str | None,
    fixed: str | None = None,
) -> ReferenceVenue:
    return ReferenceVenue(
        name=name,
        oms_type=oms,
        account_type="MARGIN",
        base_currency=base,
        starting_balances=balances,
        default_leverage=Decimal(1),
        fixed_commission=fixed,
    )


BTC_BARS = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"
USDJPY_BID = "USD/JPY.SIM-1-MINUTE-BID-EXTERNAL"
USDJPY_ASK = "USD/JPY.SIM-1-MINUTE-ASK-EXTERNAL"


def _btc_bars_case(name: str, oms: Literal["NETTING", "HEDGING"], file: str, **extra: Any) -> Case:
    fixed = extra.pop("fixed", None)
    return Case(
        name=name,
        venues=(_margin("SIM", oms, ("1000000 USDT",), "USDT", fixed),),
        instruments=(BTC_PERP,),
        strategies=(_ema("BTCUSDT-PERP.SIM", BTC_BARS, "0.100"),),
        imports=(
            Import("bars", "BTCUSDT-PERP.SIM", file, bar_type=BTC_BARS, round_to_precision=True),
        ),
        streams=({"kind": "bars", "instrument_id": "BTCUSDT-PERP.SIM", "bar_type": BTC_BARS},),
        **extra,
    )


CASES: tuple[Case, ...] = (
    _btc_bars_case("btc_bars_netting", "NETTING", "btc-perp-10k.csv", min_orders=100),
    _btc_bars_case("btc_bars_hedging", "HEDGING", "btc-perp-10k.csv", min_orders=100),
    Case(
        name="usdjpy_bid_ask_external_bars",
        notes="BID and ASK 1-minute bars as two EXTERNAL streams; the strategy on the BID bars",
        venues=(_margin("SIM", "HEDGING", ("1000000 USD",), "USD"),),
        instruments=(_fx("USD/JPY"),),
        strategies=(_ema("USD/JPY.SIM", USDJPY_BID, "1000000"),),
        imports=(
            Import("bars", "USD/JPY.SIM", "usdjpy-bid.csv", bar_type=USDJPY_BID),
            Import("bars", "USD/JPY.SIM", "usdjpy-ask.csv", bar_type=USDJPY_ASK),
        ),
        streams=(
            {"kind": "bars", "instrument_id": "USD/JPY.SIM", "bar_type": USDJPY_BID},
            {"kind": "bars", "instrument_id": "USD/JPY.SIM", "bar_type": USDJPY_ASK},
        ),
        min_orders=100,
    ),
    Case(
        name="usdjpy_quotes_from_bars_15min_internal",
        notes="NautilusTrader's EMA cross acceptance run: 178 orders, 89 positions",
        venues=(_margin("SIM", "HEDGING", ("1000000 USD",), "USD"),),
        instruments=(_fx("USD/JPY"),),
        strategies=(
            ReferenceStrategy(
                path=EMA_CROSS,
                config_path=EMA_CROSS_CONFIG,
                config={
                    "instrument_id": "USD/JPY.SIM",
                    "bar_type": "USD/JPY.SIM-15-MINUTE-BID-INTERNAL",
                    "trade_size": "1000000",
                    "fast_ema_period": 10,
                    "slow_ema_period": 20,
                },
            ),
        ),
        imports=(
            Import("bid_ask_quotes", "USD/JPY.SIM", "usdjpy-bid.csv", ask_file="usdjpy-ask.csv"),
        ),
        streams=({"kind": "quotes", "instrument_id": "USD/JPY.SIM"},),
        expected_orders=178,
        expected_positions=89,
    ),
    Case(
        name="btcusdt_quotes_market_maker",
        notes="Binance BTCUSDT quotes only; NautilusTrader's SimpleQuoterStrategy",
        venues=(
            ReferenceVenue(
                name="BINANCE",
                oms_type="NETTING",
                account_type="CASH",
                base_currency=None,
                starting_balances=("10 BTC", "100000 USDT"),
                default_leverage=Decimal(1),
            ),
        ),
        instruments=(_btcusdt_spot("BINANCE", "0.001", "0.001"),),
        strategies=(
            ReferenceStrategy(
                path=QUOTER,
                config_path=QUOTER_CONFIG,
                config={"instrument_id": "BTCUSDT.BINANCE", "order_qty": "0.010000"},
            ),
        ),
        imports=(Import("quotes", "BTCUSDT.BINANCE", "btcusdt-quotes.parquet"),),
        streams=({"kind": "quotes", "instrument_id": "BTCUSDT.BINANCE"},),
        liquidity_sides=frozenset({"MAKER", "TAKER"}),
    ),
    Case(
        name="btcusdt_trades_tick_bars",
        notes="Binance BTCUSDT trades only; EMA cross on 5-trade bars aggregated from them",
        venues=(
            ReferenceVenue(
                name="BINANCE",
                oms_type="NETTING",
                account_type="CASH",
                base_currency=None,
                starting_balances=("10 BTC", "100000 USDT"),
                default_leverage=Decimal(1),
            ),
        ),
        instruments=(_btcusdt_spot("BINANCE", "0.001", "0.001"),),
        strategies=(
            _ema(
                "BTCUSDT.BINANCE",
                "BTCUSDT.BINANCE-5-TICK-LAST-INTERNAL",
                "0.010000",
                subscribe_trade_ticks=True,
            ),
        ),
        imports=(Import("trades", "BTCUSDT.BINANCE", "btcusdt-trades.parquet"),),
        streams=({"kind": "trades", "instrument_id": "BTCUSDT.BINANCE"},),
    ),
    Case(
        name="fx2019_two_instruments_one_venue",
        notes="EUR/USD and USD/JPY quotes from CSV on one venue, one EMA cross on each",
        venues=(_margin("SIM", "HEDGING", ("1000000 USD", "100000000 JPY"), None),),
        instruments=(_fx("EUR/USD"), _fx("USD/JPY")),
        strategies=(
            _ema("EUR/USD.SIM", "EUR/USD.SIM-15-SECOND-MID-INTERNAL", "100000", order_id_tag="001"),
            _ema("USD/JPY.SIM", "USD/JPY.SIM-15-SECOND-MID-INTERNAL", "100000", order_id_tag="002"),
        ),
        imports=(
            Import("quotes", "EUR/USD.SIM", "eurusd-quotes.csv"),
            Import("quotes", "USD/JPY.SIM", "usdjpy-quotes.csv"),
        ),
        streams=(
            {"kind": "quotes", "instrument_id": "EUR/USD.SIM"},
            {"kind": "quotes", "instrument_id": "USD/JPY.SIM"},
        ),
    ),
    Case(
        name="maker_taker_fees_quotes",
        notes="a maker rebate and a taker fee that differ: each fill's commission shows its side",
        venues=(
            ReferenceVenue(
                name="MAKER",
                oms_type="NETTING",
                account_type="CASH",
                base_currency=None,
                starting_balances=("10 BTC", "100000 USDT"),
                default_leverage=Decimal(1),
            ),
        ),
        instruments=(_btcusdt_spot("MAKER", "-0.0001", "0.0007"),),
        strategies=(
            ReferenceStrategy(
                path=QUOTER,
                config_path=QUOTER_CONFIG,
                config={"instrument_id": "BTCUSDT.MAKER", "order_qty": "0.010000"},
            ),
        ),
        imports=(Import("quotes", "BTCUSDT.MAKER", "btcusdt-quotes.parquet"),),
        streams=({"kind": "quotes", "instrument_id": "BTCUSDT.MAKER"},),
        liquidity_sides=frozenset({"MAKER", "TAKER"}),
    ),
    _btc_bars_case(
        "fixed_fee_model", "NETTING", "btc-perp-3k.csv", fixed="2.50 USDT", min_orders=20
    ),
    _btc_bars_case("bars_without_volume", "NETTING", "btc-perp-3k-novolume.csv", min_orders=20),
    _btc_bars_case(
        "data_window",
        "HEDGING",
        "btc-perp-10k.csv",
        start="2022-01-02T06:30:00+00:00",
        end="2022-01-03T18:15:00+00:00",
        min_orders=20,
    ),
)
