"""Market data into a NautilusTrader ParquetDataCatalog (a local path or an fsspec URI)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from nautilus_trader.model.data import BarType
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.wranglers import (
    BarDataWrangler,
    QuoteTickDataWrangler,
    TradeTickDataWrangler,
)

from liveexec.config import CatalogConfig
from liveexec.errors import ConfigError, ConfigIssue

__all__ = [
    "import_bars_csv",
    "import_bid_ask_bars_as_quotes",
    "import_quotes_parquet",
    "import_trades_parquet",
    "open_catalog",
    "write_instruments",
]


def open_catalog(catalog: CatalogConfig | str) -> ParquetDataCatalog:
    """Open (or create) the catalog; ``fs_protocol`` comes from the URI scheme."""
    if isinstance(catalog, str):
        catalog = CatalogConfig(path=catalog)
    options = {key: value.get_secret_value() for key, value in catalog.storage_options.items()}
    if catalog.is_remote:
        return ParquetDataCatalog.from_uri(catalog.path, fs_storage_options=options or None)
    path = Path(catalog.path.removeprefix("file://")).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return ParquetDataCatalog(str(path))


def write_instruments(catalog: ParquetDataCatalog, instruments: list[Instrument]) -> None:
    catalog.write_data(instruments)


def _read_csv(path: Path, what: str, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, index_col="timestamp", parse_dates=True)
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue("<file>", f"{what} file not found")]) from None
    except ValueError as exc:  # no timestamp column, unparsable content
        raise ConfigError(
            str(path), [ConfigIssue("<file>", f"cannot read {what}: {exc}")]
        ) from None
    missing = [column for column in required if column not in frame.columns]
    if missing:
        issue = ConfigIssue("<file>", f"{what} lacks columns {missing} (has {list(frame.columns)})")
        raise ConfigError(str(path), [issue])
    index = pd.DatetimeIndex(frame.index)
    # Naive timestamps are UTC (as in NautilusTrader's test data).
    frame.index = index.tz_localize("UTC") if index.tz is None else index
    return frame


def import_bars_csv(
    catalog: ParquetDataCatalog, instrument: Instrument, bar_type: str, path: Path
) -> int:
    """OHLCV bars (``timestamp,open,high,low,close[,volume]``) for one bar type."""
    frame = _read_csv(path, "bars", ("open", "high", "low", "close"))
    if "volume" not in frame.columns:
        frame["volume"] = 0.0
    # Volumes are rounded to the instrument's size precision (the wrangler needs it exact).
    frame["volume"] = frame["volume"].round(instrument.size_precision)
    bars = BarDataWrangler(BarType.from_str(bar_type), instrument).process(frame)
    catalog.write_data(bars)
    return len(bars)


def import_bid_ask_bars_as_quotes(
    catalog: ParquetDataCatalog, instrument: Instrument, bid_path: Path, ask_path: Path
) -> int:
    """Bid and ask OHLC bar files turned into quotes, as NautilusTrader's acceptance tests do."""
    bid = _read_csv(bid_path, "bid bars", ("open", "high", "low", "close"))
    ask = _read_csv(ask_path, "ask bars", ("open", "high", "low", "close"))
    ticks = QuoteTickDataWrangler(instrument).process_bar_data(bid_data=bid, ask_data=ask)
    catalog.write_data(ticks)
    return len(ticks)


def _read_parquet(path: Path, what: str) -> pd.DataFrame:
    try:
        frame = pd.read_parquet(path)
    except FileNotFoundError:
        raise ConfigError(str(path), [ConfigIssue("<file>", f"{what} file not found")]) from None
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    return frame


def import_quotes_parquet(catalog: ParquetDataCatalog, instrument: Instrument, path: Path) -> int:
    """A plain quote table: ``timestamp``, ``bid``/``ask`` (or ``*_price``), optional sizes."""
    ticks = QuoteTickDataWrangler(instrument).process(_read_parquet(path, "quotes"))
    catalog.write_data(ticks)
    return len(ticks)


def import_trades_parquet(catalog: ParquetDataCatalog, instrument: Instrument, path: Path) -> int:
    """A plain trade table: timestamp, trade_id, price, quantity, buyer_maker."""
    ticks = TradeTickDataWrangler(instrument).process(_read_parquet(path, "trades"))
    catalog.write_data(ticks)
    return len(ticks)
