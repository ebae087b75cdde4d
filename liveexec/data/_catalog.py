"""Market data into a NautilusTrader ParquetDataCatalog (a local path or an fsspec URI).

An import happens in two steps: ``read_*`` reads and checks whole files, a block at a time and
within ``ReadLimits``, keeping only the checked columns, and writes nothing; ``write_data`` then
writes the instrument and the data, after checking that the catalog can take them, building the
NautilusTrader objects a batch at a time with NautilusTrader's own wranglers (so the values are
those NautilusTrader alone would build from the same frame). A file that fails, or a write that
fails (a full disk), leaves the catalog as it was.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from nautilus_trader.model.data import Bar, BarAggregation, BarType, QuoteTick, TradeTick
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import QUANTITY_MAX
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.wranglers import (
    BarDataWrangler,
    QuoteTickDataWrangler,
    TradeTickDataWrangler,
)

from liveexec.config import CatalogConfig
from liveexec.data._layouts import DataKind, Layout
from liveexec.data._limits import ReadLimits
from liveexec.data._parse import TS, BarInterval, Parsed, Precision, parse_table
from liveexec.data._readers import ROW, open_table
from liveexec.errors import ConfigError, ConfigIssue, DataError

__all__ = [
    "DEFAULT_VOLUME",
    "WRITE_BATCH_ROWS",
    "ImportResult",
    "ParsedData",
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


def catalog_root(catalog: CatalogConfig | str) -> Path | None:
    """The local directory of a catalog location; None for a remote one (an fsspec URI)."""
    if isinstance(catalog, str):
        catalog = CatalogConfig(path=catalog)
    if catalog.is_remote:
        return None
    return Path(catalog.path.removeprefix("file://")).expanduser()


def open_catalog(catalog: CatalogConfig | str) -> ParquetDataCatalog:
    """Open (or create) the catalog; ``fs_protocol`` comes from the URI scheme."""
    if isinstance(catalog, str):
        catalog = CatalogConfig(path=catalog)
    options = {key: value.get_secret_value() for key, value in catalog.storage_options.items()}
    path = catalog_root(catalog)
    if path is None:
        return ParquetDataCatalog.from_uri(catalog.path, fs_storage_options=options or None)
    path.mkdir(parents=True, exist_ok=True)
    return ParquetDataCatalog(str(path))


def write_instruments(catalog: ParquetDataCatalog, instruments: list[Instrument]) -> None:
    """Write instruments the catalog does not hold yet; refuse one it holds differently."""
    for instrument in instruments:
        if not _instrument_in_catalog(catalog, instrument):
            catalog.write_data([instrument])


# NautilusTrader's objects cost ~600-800 bytes a row while they are built and written (measured
# on 1M trades), against ~50 for a checked row: they are built and written this many rows at a
# time, so the write holds one batch of them, never the file's. A file of fewer rows is written
# as one catalog file, as before; a bigger one as a file per batch, each cut between two times.
WRITE_BATCH_ROWS = 250_000

# Quotes from bid/ask bars: NautilusTrader puts a bar's four quotes at its close and 100, 200 and
# 300 ms before, so a batch only ends between bars further apart than that.
_BAR_QUOTES_SPAN_NS = 300_000_000


@dataclass(frozen=True, slots=True)
class ParsedData:
    """Whole files read and checked; nothing written yet.

    ``frame`` holds the checked rows in time order; ``build`` makes rows into NautilusTrader
    objects with its own wranglers. ``batches`` builds them a batch at a time (what
    :func:`write_data` writes); ``data`` builds them all at once, for small files and tests.
    """

    instrument: Instrument
    kind: DataKind
    identifier: str  # the bar type for bars, else the instrument id
    files: tuple[str, ...]
    rows: int  # rows read from the files (bid/ask bars: matched pairs)
    timestamps: str
    notes: tuple[str, ...]
    frame: pl.DataFrame
    build: Callable[[pl.DataFrame], list[Any]]
    per_row: int = 1  # objects built from one row (quotes from bid/ask bars: 4)
    min_gap_ns: int = 0  # a batch ends between rows further apart than this
    rounded: int = 0  # values rounded to the instrument's precision (round_to_precision)

    @property
    def count(self) -> int:
        """Objects the rows make."""
        return self.frame.height * self.per_row

    def batches(self, rows: int = WRITE_BATCH_ROWS) -> Iterator[list[Any]]:
        """The objects, ``rows`` rows' worth at a time (more when times tie at a cut), in time
        order across batches."""
        for offset, length in _cuts(self.frame[TS], rows, self.min_gap_ns):
            yield self._built(self.frame.slice(offset, length))

    @property
    def data(self) -> list[Any]:
        """Every object at once (memory: ~700 bytes a row)."""
        return [item for batch in self.batches() for item in batch]

    def span(self) -> tuple[int, int]:
        """The first and the last object's ``ts_init``, from the first and the last row only."""
        first = self._built(self.frame.head(1))[0]
        last = self._built(self.frame.tail(1))[-1]
        return first.ts_init, last.ts_init

    def _built(self, rows: pl.DataFrame) -> list[Any]:
        try:
            return self.build(rows)
        except (ValueError, TypeError, OverflowError) as exc:
            # The rows were checked against what NautilusTrader accepts; should it still refuse
            # one, the import stops (a write removes what it wrote), naming where to look.
            first, last = rows.select(pl.col(ROW).min(), pl.col(ROW).max().alias("last")).row(0)
            raise DataError(
                ", ".join(self.files),
                f"NautilusTrader refused one of the rows numbered {first} to {last}: {exc}",
            ) from None


def _cuts(ts: pl.Series, rows: int, min_gap_ns: int) -> Iterator[tuple[int, int]]:
    """(offset, length) of batches of about ``rows`` rows, each ending where the next row's time
    is more than ``min_gap_ns`` later: NautilusTrader's catalog needs each file's time interval
    apart from the others'."""
    total = len(ts)
    start = 0
    while start < total:
        stop = min(start + rows, total)
        while stop < total:
            window = ts.slice(stop - 1, 4097).to_numpy()
            apart = np.flatnonzero(np.diff(window) > min_gap_ns)
            if apart.size:
                stop += int(apart[0])
                break
            stop += len(window) - 1
        yield start, stop - start
        start = stop


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
    rounded: int = 0  # values rounded to the instrument's precision (round_to_precision)


# --- reading -------------------------------------------------------------------------------------


def _parse(  # noqa: PLR0917 (as the readers call it)
    path: Path,
    kind: DataKind,
    layout: Layout,
    limits: ReadLimits | None,
    precision: Precision,
    interval: BarInterval | None = None,
) -> Parsed:
    try:
        with open_table(Path(path), kind, layout, limits or ReadLimits()) as raw:
            return parse_table(raw, kind, layout, interval=interval, precision=precision)
    except (MemoryError, pl.exceptions.PanicException) as exc:
        # Out of memory all the same (a process limit below what the limits allow), or a panic
        # in polars' Rust code, which reaches Python as an exception, not an abort.
        reason = "ran out of memory" if isinstance(exc, MemoryError) else "polars failed"
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise DataError(
            str(path),
            f"{reason} while reading the file{f' ({detail})' if detail else ''}",
            hint="import it in parts, or with a lower --max-rows",
        ) from None


def _pandas(rows: pl.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """The pandas frame NautilusTrader's wranglers take: a UTC ``timestamp`` index."""
    index = pd.DatetimeIndex(
        pd.to_datetime(rows[TS].to_numpy(), unit="ns", utc=True), name="timestamp"
    )
    # One block per column, as pandas.read_csv builds: BarDataWrangler takes ``frame.values`` into
    # a writable memoryview, and with copy-on-write (pandas 3) a single block gives a read-only
    # view where several blocks give a fresh array.
    return pd.DataFrame(
        {name: rows[name].to_numpy(writable=True) for name in columns},
        index=index,
        copy=False,
    )


def _notes(parsed: Parsed, path: Path) -> list[str]:
    notes: list[str] = []
    if parsed.reordered:
        notes.append(
            f"{path.name}: rows were not in time order; sorted by time (ties keep file order)"
        )
    if parsed.rounded:
        notes.append(
            f"{path.name}: {parsed.rounded:,} value{'s' if parsed.rounded != 1 else ''} had more "
            "decimals than the instrument's precision: rounded to it"
        )
    return notes


def _precision(instrument: Instrument, *, sizes: bool = True, rounding: bool) -> Precision:
    return Precision(
        instrument.price_precision, instrument.size_precision if sizes else None, rounding
    )


def _volume(volume: float | None) -> float:
    if volume is None:
        return DEFAULT_VOLUME
    if not volume > 0:
        raise ConfigError("--volume", [ConfigIssue("volume", f"{volume} is not positive")])
    if volume > QUANTITY_MAX:
        issue = ConfigIssue(
            "volume", f"{volume} is beyond NautilusTrader's largest quantity ({QUANTITY_MAX:,.0f})"
        )
        raise ConfigError("--volume", [issue])
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


_MINUTE_NS = 60_000_000_000
_HOUR_NS = 60 * _MINUTE_NS
_UNIT_NS = {
    BarAggregation.MILLISECOND: 1_000_000,
    BarAggregation.SECOND: 1_000_000_000,
    BarAggregation.MINUTE: _MINUTE_NS,
}


def _interval(bar_type: BarType) -> BarInterval | None:
    spec = bar_type.spec
    if spec.aggregation not in _FIXED_INTERVALS:
        return None
    ns = int(spec.timedelta.value)
    # Hour, day and week bars end on a whole minute only: sessions open at :30 or :15 (UTC
    # offsets of half hours), days close at 16:00 local. Bars aligned on local time move by
    # the DST change's hour in UTC: 4-HOUR bars may be 3 hours apart there, so the closest two
    # bars may be is the interval less what an hour leaves of it; DAY and WEEK bars also close
    # early (half days), so for them it is half the interval.
    unit = _UNIT_NS.get(spec.aggregation, _MINUTE_NS)
    name = f"{spec.step}-{BarAggregation(spec.aggregation).name}"
    if spec.aggregation in {BarAggregation.DAY, BarAggregation.WEEK}:
        return BarInterval(ns, name, unit, ns // 2)
    shift = _HOUR_NS % ns if ns <= _HOUR_NS else _HOUR_NS
    return BarInterval(ns, name, unit, ns - shift)


def read_bars(
    path: Path,
    instrument: Instrument,
    bar_type: str | BarType,
    layout: Layout | None = None,
    *,
    volume: float | None = None,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ParsedData:
    """Bars of one bar type from a CSV or parquet file; a missing volume column takes
    ``volume`` (default NautilusTrader's 1,000,000). Bar times are checked against the bar
    type's interval; values with more decimals than the instrument's precision are refused
    unless ``round_to_precision``."""
    layout = layout or Layout()
    kind: DataKind = "bars"
    parsed_type = _bar_type(bar_type, instrument)
    default_volume = _volume(volume)
    precision = _precision(instrument, rounding=round_to_precision)
    parsed = _parse(path, kind, layout, limits, precision, _interval(parsed_type))
    wrangler = BarDataWrangler(parsed_type, instrument)
    columns = parsed.columns

    def build(rows: pl.DataFrame) -> list[Any]:
        bars: list[Any] = wrangler.process(_pandas(rows, columns), default_volume=default_volume)
        return bars

    notes = _notes(parsed, Path(path))
    if "volume" not in parsed.columns:
        notes.append(f"no volume column: every bar has volume {default_volume:,.0f}")
    return ParsedData(
        instrument,
        kind,
        str(parsed_type),
        (str(path),),
        parsed.frame.height,
        parsed.timestamps,
        tuple(notes),
        parsed.frame,
        build,
        rounded=parsed.rounded,
    )


def read_bid_ask_bars_as_quotes(
    bid_path: Path,
    ask_path: Path,
    instrument: Instrument,
    layout: Layout | None = None,
    *,
    bar_type: str | BarType | None = None,
    volume: float | None = None,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ParsedData:
    """Bid and ask OHLC bar files turned into quotes (four per bar, at open, high, low, close),
    as NautilusTrader's acceptance tests do. Bars present in only one file are dropped, as
    NautilusTrader's wrangler does; the result's notes count them. ``bar_type`` is needed for
    bars stamped at their open (its interval moves them to their close); given, the bars' times
    are checked against its interval. Prices with more decimals than the instrument's
    precision are refused unless ``round_to_precision``."""
    layout = layout or Layout()
    interval = _interval(_bar_type(bar_type, instrument)) if bar_type is not None else None
    default_volume = _volume(volume)
    precision = _precision(instrument, sizes=False, rounding=round_to_precision)
    bid = _parse(bid_path, "bars", layout, limits, precision, interval)
    ask = _parse(ask_path, "bars", layout, limits, precision, interval)
    prices = ("open", "high", "low", "close")
    # Matched here, as NautilusTrader's wrangler would (an inner join on time), so that batches
    # of matched bars can be built apart.
    matched = (
        bid.frame.select(TS, ROW, *[pl.col(c).alias(f"bid_{c}") for c in prices])
        .join(ask.frame.select(TS, *[pl.col(c).alias(f"ask_{c}") for c in prices]), on=TS)
        .sort(TS)
    )
    if matched.height == 0:
        raise DataError(
            f"{bid_path} and {ask_path}",
            "no bid bar has an ask bar at the same time",
            hint="the two files must cover the same times",
        )
    wrangler = QuoteTickDataWrangler(instrument)

    def build(rows: pl.DataFrame) -> list[Any]:
        sides = {
            side: _pandas(rows.rename({f"{side}_{c}": c for c in prices}), prices)
            for side in ("bid", "ask")
        }
        ticks: list[Any] = wrangler.process_bar_data(
            bid_data=sides["bid"], ask_data=sides["ask"], default_volume=default_volume
        )
        return ticks

    notes = _notes(bid, Path(bid_path)) + _notes(ask, Path(ask_path))
    for side, parsed in (("bid", bid), ("ask", ask)):
        unmatched = parsed.frame.height - matched.height
        if unmatched:
            notes.append(f"{unmatched:,} {side} bars had no bar on the other side: dropped")
    return ParsedData(
        instrument,
        "quotes",
        instrument.id.value,
        (str(bid_path), str(ask_path)),
        matched.height,
        bid.timestamps,
        tuple(notes),
        matched,
        build,
        per_row=4,
        min_gap_ns=_BAR_QUOTES_SPAN_NS,
        rounded=bid.rounded + ask.rounded,
    )


def read_quotes(
    path: Path,
    instrument: Instrument,
    layout: Layout | None = None,
    *,
    volume: float | None = None,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ParsedData:
    """Quotes (bid, ask, optional sizes) from a CSV or parquet file; missing sizes take
    ``volume`` (default NautilusTrader's 1,000,000). Values with more decimals than the
    instrument's precision are refused unless ``round_to_precision``."""
    layout = layout or Layout()
    default_volume = _volume(volume)
    precision = _precision(instrument, rounding=round_to_precision)
    parsed = _parse(path, "quotes", layout, limits, precision)
    wrangler = QuoteTickDataWrangler(instrument)
    columns = parsed.columns

    def build(rows: pl.DataFrame) -> list[Any]:
        ticks: list[Any] = wrangler.process(_pandas(rows, columns), default_volume=default_volume)
        return ticks

    return ParsedData(
        instrument,
        "quotes",
        instrument.id.value,
        (str(path),),
        parsed.frame.height,
        parsed.timestamps,
        tuple(_notes(parsed, Path(path))),
        parsed.frame,
        build,
        rounded=parsed.rounded,
    )


def read_trades(
    path: Path,
    instrument: Instrument,
    layout: Layout | None = None,
    *,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ParsedData:
    """Trades (trade id, price, quantity, optional aggressor side) from a CSV or parquet file.
    ``buyer_maker`` true means the seller was the aggressor. Values with more decimals than
    the instrument's precision are refused unless ``round_to_precision``."""
    layout = layout or Layout()
    precision = _precision(instrument, rounding=round_to_precision)
    parsed = _parse(path, "trades", layout, limits, precision)
    columns = tuple(name for name in parsed.columns if name != "buyer_maker")
    makers = "buyer_maker" in parsed.columns
    wrangler = TradeTickDataWrangler(instrument)

    def build(rows: pl.DataFrame) -> list[Any]:
        frame = _pandas(rows, columns)
        if makers:
            # The wrangler tests `x is True`, which a text "True" never is: give it sides instead.
            frame["side"] = ["SELL" if maker else "BUY" for maker in rows["buyer_maker"]]
        ticks: list[Any] = wrangler.process(frame)
        return ticks

    notes = _notes(parsed, Path(path))
    if "buyer_maker" not in parsed.columns and "side" not in parsed.columns:
        notes.append("no aggressor side column: trades have no aggressor")
    return ParsedData(
        instrument,
        "trades",
        instrument.id.value,
        (str(path),),
        parsed.frame.height,
        parsed.timestamps,
        tuple(notes),
        parsed.frame,
        build,
        rounded=parsed.rounded,
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
    start, end = parsed.span()
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


def _missing_directories(catalog: ParquetDataCatalog, directories: list[str]) -> list[str]:
    """The directories below the catalog's root that writing into ``directories`` creates,
    deepest first."""
    root = str(catalog.path).rstrip("/")
    missing: set[str] = set()
    for written in directories:
        directory = written
        while directory.startswith(root + "/") and not catalog.fs.exists(directory):
            missing.add(directory)
            directory = posixpath.dirname(directory)
    return sorted(missing, key=len, reverse=True)


def _write_failure(catalog: ParquetDataCatalog, exc: OSError) -> DataError:
    # The system's words for the errno (pyarrow wraps them in its own sentence), else the first
    # line of the error; never a traceback.
    if exc.errno:
        reason = os.strerror(exc.errno)
    else:
        text = str(exc).strip()
        reason = text.splitlines()[0][:200] if text else type(exc).__name__
    return DataError(
        str(catalog.path),
        f"cannot write to the catalog: {reason}; what this import had written was removed",
        hint="free space on its disk (or check its permissions), then import again",
    )


def write_data(
    catalog: ParquetDataCatalog, parsed: ParsedData, *, batch_rows: int = WRITE_BATCH_ROWS
) -> ImportResult:
    """Write the instrument (unless the catalog holds it already) and the data.

    Checked first, so a refusal writes nothing: the catalog's definition of the instrument
    must be the config's, and the catalog must hold no data of this stream in the file's span.
    The data is built and written ``batch_rows`` rows at a time (one catalog file each); a write
    that fails (a full disk) removes every file and directory it made and is a ``DataError``.
    """
    if parsed.frame.height == 0:
        raise DataError(", ".join(parsed.files), "the file holds no rows")
    present = _instrument_in_catalog(catalog, parsed.instrument)
    start, end = _check_free(catalog, parsed)
    # The catalog's own directory scheme, so a rollback removes exactly the files written here.
    directories = [
        catalog._make_path(_data_class(parsed), parsed.identifier),
        catalog._make_path(type(parsed.instrument), parsed.instrument.id.value),
    ]
    created = _missing_directories(catalog, directories)
    before = {directory: _files(catalog, directory) for directory in directories}
    try:
        if not present:
            catalog.write_data([parsed.instrument])
        for batch in parsed.batches(batch_rows):
            catalog.write_data(batch)
    except BaseException as exc:
        # A write that fails half way (disk full, interrupted) takes its new files with it, and
        # the directories it made, so the catalog lists as it did.
        for directory, files in before.items():
            for leftover in _files(catalog, directory) - files:
                catalog.fs.rm(leftover)
        for directory in created:
            with contextlib.suppress(OSError):  # not empty: it holds what was not ours
                catalog.fs.rmdir(directory)
        if isinstance(exc, OSError):
            raise _write_failure(catalog, exc) from None
        raise
    return ImportResult(
        parsed.instrument.id.value,
        parsed.kind,
        parsed.identifier,
        parsed.rows,
        parsed.count,
        pd.Timestamp(start, tz="UTC"),
        pd.Timestamp(end, tz="UTC"),
        parsed.timestamps,
        parsed.notes,
        parsed.rounded,
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
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ImportResult:
    """:func:`read_bars`, then :func:`write_data`."""
    parsed = read_bars(
        path,
        instrument,
        bar_type,
        layout,
        volume=volume,
        limits=limits,
        round_to_precision=round_to_precision,
    )
    return write_data(catalog, parsed)


def import_bid_ask_bars_as_quotes(
    catalog: ParquetDataCatalog,
    instrument: Instrument,
    bid_path: Path,
    ask_path: Path,
    layout: Layout | None = None,
    *,
    bar_type: str | BarType | None = None,
    volume: float | None = None,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ImportResult:
    """:func:`read_bid_ask_bars_as_quotes`, then :func:`write_data`."""
    parsed = read_bid_ask_bars_as_quotes(
        bid_path,
        ask_path,
        instrument,
        layout,
        bar_type=bar_type,
        volume=volume,
        limits=limits,
        round_to_precision=round_to_precision,
    )
    return write_data(catalog, parsed)


def import_quotes(
    catalog: ParquetDataCatalog,
    instrument: Instrument,
    path: Path,
    layout: Layout | None = None,
    *,
    volume: float | None = None,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ImportResult:
    """:func:`read_quotes`, then :func:`write_data`."""
    parsed = read_quotes(
        path,
        instrument,
        layout,
        volume=volume,
        limits=limits,
        round_to_precision=round_to_precision,
    )
    return write_data(catalog, parsed)


def import_trades(
    catalog: ParquetDataCatalog,
    instrument: Instrument,
    path: Path,
    layout: Layout | None = None,
    *,
    limits: ReadLimits | None = None,
    round_to_precision: bool = False,
) -> ImportResult:
    """:func:`read_trades`, then :func:`write_data`."""
    parsed = read_trades(
        path, instrument, layout, limits=limits, round_to_precision=round_to_precision
    )
    return write_data(catalog, parsed)
