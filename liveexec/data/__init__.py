"""Market data into a NautilusTrader catalog: CSV (plain, gzip, zip) and parquet files of bars,
quotes and trades, read in the layout they come in, checked whole, then written.

    from liveexec.data import Layout, PRESETS, open_catalog, read_bars, write_data
    parsed = read_bars(path, instrument, "BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL",
                       PRESETS["binance-klines"].layout)   # raises DataError, writes nothing
    write_data(open_catalog("catalog"), parsed)

Names are imported on first use: the layouts, presets and read limits (what the command line's
options and help need) do not import NautilusTrader or pandas; the readers and writers do.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveexec.data._catalog import (
        DEFAULT_VOLUME,
        ImportResult,
        ParsedData,
        catalog_root,
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
    from liveexec.data._limits import ReadLimits

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
    "ReadLimits",
    "TimestampUnit",
    "catalog_root",
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

_LAYOUTS = ("PRESETS", "BarStamp", "DataKind", "Layout", "Preset", "PresetName", "TimestampUnit")


def __getattr__(name: str) -> Any:  # noqa: ANN401 (module attribute protocol)
    if name not in __all__ or name == "DEMO_DATA_DIR":
        raise AttributeError(f"module 'liveexec.data' has no attribute {name!r}")
    home = "_layouts" if name in _LAYOUTS else "_limits" if name == "ReadLimits" else "_catalog"
    return getattr(importlib.import_module(f"liveexec.data.{home}"), name)
