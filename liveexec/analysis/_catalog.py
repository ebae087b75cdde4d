"""A NautilusTrader catalog read with polars: what it holds, and its prices.

Reads the catalog's parquet files directly (local or fsspec), decoding NautilusTrader's fixed
point values (128-bit integers scaled by 10^16 in this build) into floats rounded to each file's
precision: for summaries and charts, not for accounting (the tables hold exact money).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information
import pyarrow.parquet as pq  # type: ignore[import-untyped]
from nautilus_trader.model.objects import FIXED_SCALAR
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from liveexec.config import CatalogConfig
from liveexec.data import open_catalog
from liveexec.errors import DataError

__all__ = ["CatalogData", "catalog_data", "catalog_summary", "load_prices"]

# The catalog's folder per data type (NautilusTrader's class name in snake case).
DATA_FOLDERS = {"bar": "bars", "quote_tick": "quotes", "trade_tick": "trades"}
_KIND_FOLDERS = {kind: folder for folder, kind in DATA_FOLDERS.items()}
# A gap is a pause between two rows longer than this many times the stream's median spacing.
DEFAULT_GAP_FACTOR = 10.0


@dataclass(frozen=True)
class CatalogData:
    """One stream of the catalog: an instrument's quotes or trades, or one bar type."""

    kind: str  # bars, quotes, trades
    identifier: str  # the bar type for bars, else the instrument id
    instrument_id: str
    files: tuple[str, ...]


def _catalog(catalog: ParquetDataCatalog | CatalogConfig | str | Path) -> ParquetDataCatalog:
    if isinstance(catalog, ParquetDataCatalog):
        return catalog
    if isinstance(catalog, CatalogConfig):
        local = Path(catalog.path.removeprefix("file://")).expanduser()
        if not catalog.is_remote and not local.is_dir():
            raise DataError(str(local), "no such catalog folder")
        return open_catalog(catalog)
    path = Path(catalog).expanduser()
    if not path.is_dir():
        raise DataError(str(path), "no such catalog folder")
    return open_catalog(CatalogConfig(path=str(path)))


def catalog_data(catalog: ParquetDataCatalog | CatalogConfig | str | Path) -> list[CatalogData]:
    """The streams of market data in ``catalog``, sorted by instrument and kind."""
    opened = _catalog(catalog)
    root = str(opened.path).rstrip("/")
    found: list[CatalogData] = []
    for folder, kind in DATA_FOLDERS.items():
        base = f"{root}/data/{folder}"
        if not opened.fs.exists(base):
            continue
        for directory in sorted(opened.fs.ls(base, detail=False)):
            identifier = str(directory).rstrip("/").rsplit("/", 1)[-1]
            files = tuple(sorted(str(f) for f in opened.fs.glob(f"{directory}/*.parquet")))
            if not files:
                continue
            instrument = _instrument_of(kind, identifier)
            found.append(CatalogData(kind, identifier, instrument, files))
    return sorted(found, key=lambda d: (d.instrument_id, d.kind, d.identifier))


def _instrument_of(kind: str, identifier: str) -> str:
    if kind != "bars":
        return identifier
    # BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL: the instrument id is all but the last 4 parts.
    return identifier.rsplit("-", 4)[0]


def _fixed_to_float(column: pa.ChunkedArray | pa.Array, precision: int) -> np.ndarray:
    """NautilusTrader's 16-byte little-endian fixed-point values as rounded floats."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_floating(array.type) or pa.types.is_integer(array.type):
        return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
    if not pa.types.is_fixed_size_binary(array.type) or array.type.byte_width != 16:
        raise DataError("catalog", f"unexpected price column type {array.type}")
    words = np.frombuffer(array.buffers()[1], dtype="<i8")[
        2 * array.offset : 2 * (array.offset + len(array))
    ].reshape(-1, 2)
    low = words[:, 0].view(np.uint64).astype(np.float64)
    high = words[:, 1].astype(np.float64)
    values: np.ndarray = np.round((high * 2.0**64 + low) / FIXED_SCALAR, precision)
    return values


def _read(opened: ParquetDataCatalog, data: CatalogData) -> pl.DataFrame:
    tables = [pq.read_table(path, filesystem=opened.fs) for path in data.files]
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    metadata = table.schema.metadata or {}
    price_precision = int(metadata.get(b"price_precision", b"8"))
    size_precision = int(metadata.get(b"size_precision", b"8"))
    columns: dict[str, object] = {
        "ts_event": pl.Series(table.column("ts_event").to_numpy().astype(np.int64)).cast(
            pl.Datetime("ns", "UTC")
        )
    }
    if data.kind == "bars":
        for name in ("open", "high", "low", "close"):
            columns[name] = _fixed_to_float(table.column(name), price_precision)
        columns["volume"] = _fixed_to_float(table.column("volume"), size_precision)
    elif data.kind == "quotes":
        bid = _fixed_to_float(table.column("bid_price"), price_precision)
        ask = _fixed_to_float(table.column("ask_price"), price_precision)
        columns.update(bid=bid, ask=ask, mid=(bid + ask) / 2, spread=ask - bid)
    else:
        columns["price"] = _fixed_to_float(table.column("price"), price_precision)
        columns["size"] = _fixed_to_float(table.column("size"), size_precision)
    return pl.DataFrame(columns).sort("ts_event")


def load_prices(
    catalog: ParquetDataCatalog | CatalogConfig | str | Path,
    instrument_id: str,
    kind: str | None = None,
    *,
    bar_type: str | None = None,
) -> pl.DataFrame:
    """One stream's rows: ``ts_event`` and prices (bars: OHLCV; quotes: bid, ask, mid, spread;
    trades: price, size). ``kind`` None takes the first stream the instrument has (bars, then
    quotes, then trades)."""
    opened = _catalog(catalog)
    # The catalog names folders without '/' (NautilusTrader's urisafe_identifier): USDJPY.SIM.
    folder = instrument_id.replace("/", "")
    streams = [d for d in catalog_data(opened) if d.instrument_id == folder]
    if kind is not None:
        if kind not in _KIND_FOLDERS:
            raise DataError(
                str(opened.path), f"kind {kind!r}: expected one of {sorted(_KIND_FOLDERS)}"
            )
        streams = [d for d in streams if d.kind == kind]
    if bar_type is not None:
        streams = [d for d in streams if d.identifier == bar_type.replace("/", "")]
    if not streams:
        wanted = f"{kind or 'data'}{f' of {bar_type}' if bar_type else ''}"
        raise DataError(str(opened.path), f"no {wanted} for {instrument_id}")
    order = {"bars": 0, "quotes": 1, "trades": 2}
    return _read(opened, min(streams, key=lambda d: order[d.kind]))


def catalog_summary(
    catalog: ParquetDataCatalog | CatalogConfig | str | Path,
    *,
    gap_factor: float = DEFAULT_GAP_FACTOR,
    min_gap: timedelta = timedelta(minutes=5),
) -> pl.DataFrame:
    """Per instrument and data type: rows, first and last time, span, median spacing, and the
    gaps (pauses longer than ``gap_factor`` times the median spacing and at least ``min_gap``):
    how many, the longest, and when it started."""
    opened = _catalog(catalog)
    rows: list[dict[str, object]] = []
    for data in catalog_data(opened):
        frame = _read(opened, data)
        times = frame.get_column("ts_event")
        spacing = times.diff().drop_nulls()
        median = spacing.median() if spacing.len() else None
        gaps = pl.DataFrame({"start": times.head(-1), "pause": spacing}) if spacing.len() else None
        threshold = max(median * gap_factor, min_gap) if isinstance(median, timedelta) else min_gap
        found = (
            gaps.filter(pl.col("pause") > threshold).sort("pause", descending=True)
            if gaps is not None
            else None
        )
        first, last = times.min(), times.max()
        rows.append(
            {
                "instrument_id": data.instrument_id,
                "kind": data.kind,
                "stream": data.identifier,
                "rows": frame.height,
                "start": first,
                "end": last,
                "span": (last - first) if first is not None and last is not None else None,  # type: ignore[operator]
                "median_spacing": median,
                "gaps": found.height if found is not None else 0,
                "longest_gap": found.item(0, "pause")
                if found is not None and found.height
                else None,
                "longest_gap_at": found.item(0, "start")
                if found is not None and found.height
                else None,
            }
        )
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "instrument_id": pl.String,
        "kind": pl.String,
        "stream": pl.String,
        "rows": pl.Int64,
        "start": pl.Datetime("ns", "UTC"),
        "end": pl.Datetime("ns", "UTC"),
        "span": pl.Duration("ns"),
        "median_spacing": pl.Duration("ns"),
        "gaps": pl.Int64,
        "longest_gap": pl.Duration("ns"),
        "longest_gap_at": pl.Datetime("ns", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema)
