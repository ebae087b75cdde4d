"""The bundled demo: real data into the examples' catalog, then the example backtests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from liveexec.config import DataStreamConfig, LiveexecConfig
from liveexec.data import (
    DEMO_DATA_DIR,
    import_bars,
    import_bid_ask_bars_as_quotes,
    import_quotes,
    open_catalog,
)
from liveexec.nodes import defined_instruments

__all__ = ["DemoSource", "demo_sources", "prepare_demo_catalog"]


@dataclass(frozen=True)
class DemoSource:
    """Bundled files for one data stream of the example configs."""

    instrument_id: str
    kind: str
    bar_type: str | None
    load: Callable[[ParquetDataCatalog, Instrument], int]


def demo_sources(data_dir: Path = DEMO_DATA_DIR) -> list[DemoSource]:
    return [
        DemoSource(
            "BTCUSDT-PERP.SIM",
            "bars",
            "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
            lambda catalog, instrument: (
                import_bars(
                    catalog,
                    instrument,
                    "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                    data_dir / "btc-perp-20211231-20220201_1m.csv.gz",
                    # Some prices have 2 or 3 decimals, the volumes 4: the example's instrument
                    # (NautilusTrader's BTCUSDT-PERP test instrument) keeps 1 and 3.
                    round_to_precision=True,
                ).written
            ),
        ),
        DemoSource(
            "USD/JPY.SIM",
            "quotes",
            None,
            lambda catalog, instrument: (
                import_bid_ask_bars_as_quotes(
                    catalog,
                    instrument,
                    data_dir / "fxcm-usdjpy-m1-bid-2013.csv.gz",
                    data_dir / "fxcm-usdjpy-m1-ask-2013.csv.gz",
                ).written
            ),
        ),
        DemoSource(
            "BTCUSDT.BINANCE",
            "quotes",
            None,
            lambda catalog, instrument: (
                import_quotes(catalog, instrument, data_dir / "btcusdt-quotes.parquet").written
            ),
        ),
    ]


def _has_data(catalog: ParquetDataCatalog, stream: DataStreamConfig) -> bool:
    if stream.kind == "bars" and stream.bar_type is not None:
        bars = catalog.bars(bar_types=[stream.bar_type], instrument_ids=[stream.instrument_id])
        return bool(bars)
    if stream.kind == "quotes":
        return bool(catalog.quote_ticks(instrument_ids=[stream.instrument_id]))
    return bool(catalog.trade_ticks(instrument_ids=[stream.instrument_id]))


def prepare_demo_catalog(cfg: LiveexecConfig) -> dict[str, int]:
    """Write the bundled data a demo config needs into its catalog, once; rows written by stream."""
    assert cfg.data is not None
    catalog = open_catalog(cfg.data.catalog)
    instruments = {i.id.value: i for i in defined_instruments(cfg)}
    sources = {(s.instrument_id, s.kind, s.bar_type): s for s in demo_sources()}
    written: dict[str, int] = {}
    for stream in cfg.data.streams:
        source = sources.get((stream.instrument_id, stream.kind, stream.bar_type))
        if source is None or stream.instrument_id not in instruments:
            raise KeyError(f"no bundled data for {stream.kind} of {stream.instrument_id}")
        if _has_data(catalog, stream):
            continue
        instrument = instruments[stream.instrument_id]
        # The import writes the instrument with its data, once the whole file has parsed.
        written[f"{stream.kind} {stream.bar_type or stream.instrument_id}"] = source.load(
            catalog, instrument
        )
    return written
