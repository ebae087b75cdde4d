"""Market data: the bundled demo set and imports into a NautilusTrader catalog."""

from pathlib import Path

from liveexec.data._catalog import (
    import_bars_csv,
    import_bid_ask_bars_as_quotes,
    import_quotes_parquet,
    import_trades_parquet,
    open_catalog,
    write_instruments,
)

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo"

__all__ = [
    "DEMO_DATA_DIR",
    "import_bars_csv",
    "import_bid_ask_bars_as_quotes",
    "import_quotes_parquet",
    "import_trades_parquet",
    "open_catalog",
    "write_instruments",
]
