"""Market data into a NautilusTrader catalog: CSV (plain, gzip, zip) and parquet files of bars,
quotes and trades, read in the layout they come in, checked whole, then written.

    from liveexec.data import Layout, PRESETS, open_catalog, read_bars, write_data
    parsed = read_bars(path, instrument, "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL",
                       PRESETS["binance-klines"].layout)   # raises DataError, writes nothing
    write_data(open_catalog("catalog"), parsed)
"""

from pathlib import Path

from liveexec.data._catalog import (
    DEFAULT_VOLUME,
    ImportResult,
    ParsedData,
    import_bars,
    import_bid_ask_bars_as_quotes,
    import_quotes,
    import_trades,
    open_catalog,
    read_bars,
    read_bid_ask_bars_as_quotes,
    read_quotes,
    read_trades,
    write_data,
    write_instruments,
)
from liveexec.data._layouts import (
    PRESETS,
    BarStamp,
    DataKind,
    Layout,
    Preset,
    PresetName,
    TimestampUnit,
)

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo"

__all__ = [
    "DEFAULT_VOLUME",
    "DEMO_DATA_DIR",
    "PRESETS",
    "BarStamp",
    "DataKind",
    "ImportResult",
    "Layout",
    "ParsedData",
    "Preset",
    "PresetName",
    "TimestampUnit",
    "import_bars",
    "import_bid_ask_bars_as_quotes",
    "import_quotes",
    "import_trades",
    "open_catalog",
    "read_bars",
    "read_bid_ask_bars_as_quotes",
    "read_quotes",
    "read_trades",
    "write_data",
    "write_instruments",
]
