"""Market data into a NautilusTrader ParquetDataCatalog (a local path or an fsspec URI).

An import happens in two steps: ``read_*`` parses and checks whole files into NautilusTrader
objects (with NautilusTrader's own wranglers, so the values are those NautilusTrader alone
would build from the same frame) and writes nothing; ``write_data`` then writes the instrument
and the data, after checking that the catalog can take them. A file that fails leaves the
catalog as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from nautilus_trader.model.data import Bar, BarAggregation, BarType, QuoteTick, TradeTick
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.wranglers import (
    BarDataWrangler,
    QuoteTickDataWrangler,
    TradeTickDataWrangler,
)

from liveexec.config import CatalogConfig
from liveexec.data._layouts import DataKind, Layout
from liveexec.data._parse import TS, Parsed, parse_table
from liveexec.data._readers import read_table
from liveexec.errors import ConfigError, ConfigIssue, DataError

__all__ = [
    "DEFAULT_VOLUME",
    "ImportResult",
    "ParsedData",
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

# NautilusTrader's wranglers use this volume (bars) and size (quotes) when a file has none.
DEFAULT_VOLUME = 1_000_000.0

# Bar aggregations with a fixed length; MONTH and YEAR bars are not.
_FIXED_INTERVALS = frozenset(
    {
        BarAggregation.MILLISECOND,
        BarAggregation.SECOND,
        BarAggregation.MINUTE,
        BarAggregation.HOUR,
        BarAggregation.DAY,
        BarAggregation.WEEK,
    }
)


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
    """Write instruments the catalog does not hold yet; refuse one it holds differently."""
    for instrument in instruments:
        if not _instrument_in_catalog(catalog, instrument):
            catalog.write_data([instrument])


@dataclass(frozen=True, slots=True)
class ParsedData:
    """Whole files read and checked, as NautilusTrader objects; nothing written yet."""

    instrument: Instrument
    kind: DataKind
    data: list[Bar] | list[QuoteTick] | list[TradeTick]
    identifier: str  # the bar type for bars, else the instrument id
    files: tuple[str, ...]
    rows: int  # rows read from the files (bid/ask bars: matched pairs)
    timestamps: str
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote."""

    instrument_id: str
    kind: DataKind
    identifier: str
    rows: int
    written: int
    start: pd.Timestamp
    end: pd.Timestamp
    timestamps: str
    notes: tuple[str, ...]


# --- reading -------------------------------------------------------------------------------------


def _parse(path: Path, kind: DataKind, layout: Layout, interval_ns: int | None = None) -> Parsed:
    return parse_table(read_table(Path(path), kind, layout), kind, layout, interval_ns=interval_ns)


def _frame(parsed: Parsed, columns: tuple[str, ...]) -> pd.DataFrame:
    """The pandas frame NautilusTrader's wranglers take: a UTC ``timestamp`` index."""
    index = pd.DatetimeIndex(
        pd.to_datetime(parsed.frame[TS].to_numpy(), unit="ns", utc=True), name="timestamp"
    )
    # One block per column, as pandas.read_csv builds: BarDataWrangler takes ``frame.values`` into
    # a writable memoryview, and with copy-on-write (pandas 3) a single block gives a read-only
    # view where several blocks give a fresh array.
    return pd.DataFrame(
        {name: parsed.frame[name].to_numpy(writable=True) for name in columns},
        index=index,
        copy=False,
    )


def _notes(parsed: Parsed, path: Path) -> list[str]:
    if parsed.reordered:
        return [f"{path.name}: rows were not in time order; sorted by time (ties keep file order)"]
    return []


def _volume(volume: float | None) -> float:
    if volume is None:
        return DEFAULT_VOLUME
    if not volume > 0:
        raise ConfigError("--volume", [ConfigIssue("volume", f"{volume} is not positive")])
    return float(volume)


def _bar_type(bar_type: str | BarType, instrument: Instrument) -> BarType:
    try:
        parsed = bar_type if isinstance(bar_type, BarType) else BarType.from_str(bar_type)
    except ValueError as exc:
        issue = ConfigIssue(
            "bar_type", f"{bar_type!r}: {exc}", "e.g. 'BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL'"
        )
        raise ConfigError("--bar-type", [issue]) from None
    if parsed.instrument_id != instrument.id:
        issue = ConfigIssue("bar_type", f"{parsed} is not a bar type of {instrument.id}")
        raise ConfigError("--bar-type", [issue])
    return parsed


def _interval_ns(bar_type: BarType) -> int | None:
    if bar_type.spec.aggregation not in _FIXED_INTERVALS:
        return None
    return int(bar_type.spec.timedelta.value)


def read_bars(
    path: Path,
    instrument: Instrument,
    bar_type: str | BarType,
    layout: Layout | None = None,
    *,
    volume: float | None = None,
) -> ParsedData:
    """Bars of one bar type from a CSV or parquet file; a missing volume column takes
    ``volume`` (default NautilusTrader's 1,000,000)."""
    layout = layout or Layout()
    kind: DataKind = "bars"
    parsed_type = _bar_type(bar_type, instrument)
    default_volume = _volume(volume)
    parsed = _parse(path, kind, layout, _interval_ns(parsed_type))
    frame = _frame(parsed, parsed.columns)
    bars = BarDataWrangler(parsed_type, instrument).process(frame, default_volume=default_volume)
    notes = _notes(parsed, Path(path))
    if "volume" not in parsed.columns:
        notes.append(f"no volume column: every bar has volume {default_volume:,.0f}")
    return ParsedData(
        instrument,
        kind,
        bars,
        str(parsed_type),
        (str(path),),
        parsed.frame.height,
        parsed.timestamps,
        tuple(notes),
    )


def read_bid_ask_bars_as_quotes(
    bid_path: Path,
    ask_path: Path,
    instrument: Instrument,
    layout: Layout | None = None,
    *,
    bar_type: str | BarType | None = None,
    volume: float | None = None,
) -> ParsedData:
    """Bid and ask OHLC bar files turned into quotes (four per bar, at open, high, low, close),
    as NautilusTrader's acceptance tests do. Bars present in only one file are dropped, as
    NautilusTrader's wrangler does; the result's notes count them. ``bar_type`` is needed only
    for bars stamped at their open (its interval moves them to their close)."""
    layout = layout or Layout()
    interval = _interval_ns(_bar_type(bar_type, instrument)) if bar_type is not None else None
    default_volume = _volume(volume)
    bid = _parse(bid_path, "bars", layout, interval)
    ask = _parse(ask_path, "bars", layout, interval)
    columns = ("open", "high", "low", "close")
    bid_frame = _frame(bid, columns)
    ask_frame = _frame(ask, columns)
    matched = bid_frame.index.intersection(ask_frame.index)
    if len(matched) == 0:
        raise DataError(
            f"{bid_path} and {ask_path}",
            "no bid bar has an ask bar at the same time",
            hint="the two files must cover the same times",
        )
    ticks = QuoteTickDataWrangler(instrument).process_bar_data(
        bid_data=bid_frame, ask_data=ask_frame, default_volume=default_volume
    )
    notes = _notes(bid, Path(bid_path)) + _notes(ask, Path(ask_path))
    for side, frame in (("bid", bid_frame), ("ask", ask_frame)):
        unmatched = len(frame.index) - len(matched)
        if unmatched:
            notes.append(f"{unmatched:,} {side} bars had no bar on the other side: dropped")
    return ParsedData(
        instrument,
        "quotes",
        ticks,
        instrument.id.value,
        (str(bid_path), str(ask_path)),
        len(matched),
        bid.timestamps,
        tuple(notes),
    )


def read_quotes(
    path: Path, instrument: Instrument, layout: Layout | None = None, *, volume: float | None = None
) -> ParsedData:
    """Quotes (bid, ask, optional sizes) from a CSV or parquet file; missing sizes take
    ``volume`` (default NautilusTrader's 1,000,000)."""
    layout = layout or Layout()
    default_volume = _volume(volume)
    parsed = _parse(path, "quotes", layout)
    ticks = QuoteTickDataWrangler(instrument).process(
        _frame(parsed, parsed.columns), default_volume=default_volume
    )
    return ParsedData(
        instrument,
        "quotes",
        ticks,
        instrument.id.value,
        (str(path),),
        parsed.frame.height,
        parsed.timestamps,
        tuple(_notes(parsed, Path(path))),
    )


def read_trades(path: Path, instrument: Instrument, layout: Layout | None = None) -> ParsedData:
    """Trades (trade id, price, quantity, optional aggressor side) from a CSV or parquet file.
    ``buyer_maker`` true means the seller was the aggressor."""
    layout = layout or Layout()
    parsed = _parse(path, "trades", layout)
    columns = tuple(name for name in parsed.columns if name != "buyer_maker")
    frame = _frame(parsed, columns)
    if "buyer_maker" in parsed.columns:
        # The wrangler tests `x is True`, which a text "True" never is: give it sides instead.
        makers = parsed.frame["buyer_maker"].to_numpy()
        frame["side"] = ["SELL" if maker else "BUY" for maker in makers]
    ticks = TradeTickDataWrangler(instrument).process(frame)
    notes = _notes(parsed, Path(path))
    if "buyer_maker" not in parsed.columns and "side" not in parsed.columns:
        notes.append("no aggressor side column: trades have no aggressor")
    return ParsedData(
        instrument,
        "trades",
        ticks,
        instrument.id.value,
        (str(path),),
        parsed.frame.height,
        parsed.timestamps,
        tuple(notes),
    )


# --- writing -------------------------------------------------------------------------------------


def _definition(instrument: Instrument) -> dict[str, Any]:
    document: dict[str, Any] = type(instrument).to_dict(instrument)
    for key in ("ts_event", "ts_init"):
        document.pop(key, None)
    return document


def _instrument_in_catalog(catalog: ParquetDataCatalog, instrument: Instrument) -> bool:
    """Whether the catalog holds this instrument; refuses a different definition of it."""
    held = catalog.instruments(instrument_ids=[instrument.id.value])
    if not held:
        return False
    # Compared as the catalog stores it: its schema drops some fields (a tick scheme, for one),
    # so what it gives back can never equal the config's instrument in those.
    batch = catalog.serializer.serialize(instrument, type(instrument))
    wanted = _definition(catalog.serializer.deserialize(type(instrument), batch)[0])
    for existing in held:
        found = _definition(existing)
        if found != wanted:
            fields = sorted(
                key for key in set(found) | set(wanted) if found.get(key) != wanted.get(key)
            )
            differences = ", ".join(
                f"{key}: catalog {found.get(key)!r}, config {wanted.get(key)!r}" for key in fields
            )
            raise DataError(
                catalog.path,
                f"the catalog holds another definition of {instrument.id} ({differences})",
                hint="import into a new catalog, or delete the catalog's instrument and its data "
                "so that data and definition agree",
            )
    return True


def _data_class(parsed: ParsedData) -> type:
    classes: dict[DataKind, type] = {"bars": Bar, "quotes": QuoteTick, "trades": TradeTick}
    return classes[parsed.kind]


def _check_free(catalog: ParquetDataCatalog, parsed: ParsedData) -> tuple[int, int]:
    start = parsed.data[0].ts_init
    end = parsed.data[-1].ts_init
    taken = catalog.get_intervals(_data_class(parsed), parsed.identifier)
    overlapping = [(lo, hi) for lo, hi in taken if lo <= end and start <= hi]
    if overlapping:
        spans = "; ".join(
            f"{pd.Timestamp(lo, tz='UTC')} to {pd.Timestamp(hi, tz='UTC')}"
            for lo, hi in overlapping
        )
        raise DataError(
            ", ".join(parsed.files),
            f"the catalog already holds {parsed.kind} of {parsed.identifier} from {spans}; this "
            f"file covers {pd.Timestamp(start, tz='UTC')} to {pd.Timestamp(end, tz='UTC')}",
            hint="import each span once: use a new catalog, or remove the catalog's data first",
        )
    return start, end


def _files(catalog: ParquetDataCatalog, directory: str) -> set[str]:
    return set(catalog.fs.glob(f"{directory}/*.parquet"))


def write_data(catalog: ParquetDataCatalog, parsed: ParsedData) -> ImportResult:
    """Write the instrument (unless the catalog holds it already) and the data.

    Checked first, so a refusal writes nothing: the catalog's definition of the instrument
    must be the config's, and the catalog must hold no data of this stream in the file's span.
    """
    if not parsed.data:
        raise DataError(", ".join(parsed.files), "the file holds no rows")
    present = _instrument_in_catalog(catalog, parsed.instrument)
    start, end = _check_free(catalog, parsed)
    # The catalog's own directory scheme, so a rollback removes exactly the files written here.
    directories = [
        catalog._make_path(_data_class(parsed), parsed.identifier),
        catalog._make_path(type(parsed.instrument), parsed.instrument.id.value),
    ]
    before = {directory: _files(catalog, directory) for directory in directories}
    try:
        if not present:
            catalog.write_data([parsed.instrument])
        catalog.write_data(list(parsed.data))
    except BaseException:
        # A write that fails half way (disk full, interrupted) takes its new files with it.
        for directory, files in before.items():
            for leftover in _files(catalog, directory) - files:
                catalog.fs.rm(leftover)
        raise
    return ImportResult(
        parsed.instrument.id.value,
        parsed.kind,
        parsed.identifier,
        parsed.rows,
        len(parsed.data),
        pd.Timestamp(start, tz="UTC"),
        pd.Timestamp(end, tz="UTC"),
        parsed.timestamps,
        parsed.notes,
    )


# --- read and write in one call ------------------------------------------------------------------


def import_bars(
    catalog: ParquetDataCatalog,
    instrument: Instrument,
    bar_type: str | BarType,
    path: Path,
    layout: Layout | None = None,
    *,
    volume: float | None = None,
) -> ImportResult:
    """:func:`read_bars`, then :func:`write_data`."""
    return write_data(catalog, read_bars(path, instrument, bar_type, layout, volume=volume))


def import_bid_ask_bars_as_quotes(
    catalog: ParquetDataCatalog,
    instrument: Instrument,
    bid_path: Path,
    ask_path: Path,
    layout: Layout | None = None,
    *,
    bar_type: str | BarType | None = None,
    volume: float | None = None,
) -> ImportResult:
    """:func:`read_bid_ask_bars_as_quotes`, then :func:`write_data`."""
    parsed = read_bid_ask_bars_as_quotes(
        bid_path, ask_path, instrument, layout, bar_type=bar_type, volume=volume
    )
    return write_data(catalog, parsed)


def import_quotes(
    catalog: ParquetDataCatalog,
    instrument: Instrument,
    path: Path,
    layout: Layout | None = None,
    *,
    volume: float | None = None,
) -> ImportResult:
    """:func:`read_quotes`, then :func:`write_data`."""
    return write_data(catalog, read_quotes(path, instrument, layout, volume=volume))


def import_trades(
    catalog: ParquetDataCatalog, instrument: Instrument, path: Path, layout: Layout | None = None
) -> ImportResult:
    """:func:`read_trades`, then :func:`write_data`."""
    return write_data(catalog, read_trades(path, instrument, layout))
