"""The prices a run traded on, read back exactly from the run's own catalog.

The statistics mark open positions, convert PnL between currencies and build a buy-and-hold
benchmark from the data the run itself used: the streams of its recorded config, within its
data window, from the catalog it names (or one passed in). NautilusTrader's catalog keeps prices
as fixed-point integers (16 bytes scaled by 10^16 in this build, 8 bytes by 10^9 in the standard
one); a price is decoded exactly (``Decimal``) and only where a statistic needs it. Times are
``ts_init``: the order in which the engine saw the data.

pyarrow and fsspec load on first use only: importing ``liveexec.runs`` stays light.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]  # pyarrow ships no type information

    from liveexec.config import CatalogConfig

__all__ = ["MarketData", "PriceColumn", "PriceSeries", "read_market_data"]

# The catalog's folder per data kind, as NautilusTrader writes them.
_FOLDERS = {"quotes": "quote_tick", "trades": "trade_tick", "bars": "bar"}
_REDACTED = "**********"  # liveexec.config.REDACTED: the recorded config holds no secret


@dataclass(frozen=True)
class PriceColumn:
    """One price column of one stream: its times (sorted) and its fixed-point values."""

    times: np.ndarray  # UNIX ns (ts_init) as int64, ascending
    values: pa.Array
    precision: int  # the instrument's price precision
    scale: int  # decimal places of the fixed-point integers (16 or 9); 0 for plain numbers

    def index_at(self, ns: int) -> int | None:
        """The last row at or before ``ns``; None before the first."""
        index = int(np.searchsorted(self.times, ns, side="right")) - 1
        return index if index >= 0 else None

    def value(self, index: int) -> Decimal:
        array = self.values
        if self.scale == 0:  # a plain float or integer column (not NautilusTrader's layout)
            return Decimal(repr(array[index].as_py())).quantize(Decimal(1).scaleb(-self.precision))
        width = array.type.byte_width
        start = (array.offset + index) * width
        raw = int.from_bytes(array.buffers()[1][start : start + width], "little", signed=True)
        return Decimal(raw).scaleb(-self.scale).quantize(Decimal(1).scaleb(-self.precision))

    def floats(self) -> np.ndarray:
        """Every value as float64, for charts (exact values: :meth:`value`)."""
        array = self.values
        if self.scale == 0:
            return np.asarray(array.to_numpy(zero_copy_only=False), dtype=np.float64)
        width = array.type.byte_width
        raw = np.frombuffer(array.buffers()[1], dtype=np.uint8)
        raw = raw[array.offset * width : (array.offset + len(array)) * width]
        if width == 16:  # little-endian int128: low unsigned half, high signed half
            halves = raw.view("<u8").reshape(-1, 2)
            high = np.ascontiguousarray(halves[:, 1]).view("<i8")
            whole = high.astype(np.float64) * 2.0**64 + halves[:, 0]
        else:
            whole = raw.view("<i8").astype(np.float64)
        return np.asarray(whole / 10.0**self.scale, dtype=np.float64)

    def at(self, ns: int) -> Decimal | None:
        index = self.index_at(ns)
        return None if index is None else self.value(index)


@dataclass(frozen=True)
class PriceSeries:
    """An instrument's prices in the run's data: bid and ask (quotes, or BID and ASK bars), or a
    single price (trades, or bars of another price type) serving as both."""

    instrument_id: str
    source: str  # "quotes", "BID/ASK bars", "LAST bars", "trades", ...
    bid: PriceColumn
    ask: PriceColumn

    @property
    def has_sides(self) -> bool:
        return self.bid is not self.ask

    def bid_ask(self, ns: int) -> tuple[Decimal, Decimal] | None:
        """The last bid and ask at or before ``ns``."""
        bid, ask = self.bid.at(ns), self.ask.at(ns)
        return None if bid is None or ask is None else (bid, ask)

    def mark(self, ns: int) -> Decimal | None:
        """The mid (or the single price) at or before ``ns``."""
        sides = self.bid_ask(ns)
        return None if sides is None else (sides[0] + sides[1]) / 2

    @property
    def first_ns(self) -> int:
        return int(max(self.bid.times[0], self.ask.times[0]))

    @property
    def last_ns(self) -> int:
        return int(max(self.bid.times[-1], self.ask.times[-1]))


@dataclass(frozen=True)
class MarketData:
    """The run's prices per instrument, the span of its data, and what could not be read."""

    catalog: str | None
    series: Mapping[str, PriceSeries] = field(default_factory=dict)
    start_ns: int | None = None  # first and last data time of the run's streams
    end_ns: int | None = None
    problems: tuple[str, ...] = ()

    @property
    def start(self) -> datetime | None:
        return _to_datetime(self.start_ns)

    @property
    def end(self) -> datetime | None:
        return _to_datetime(self.end_ns)


def _to_datetime(ns: int | None) -> datetime | None:
    if ns is None:
        return None
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1_000
    )


def _ns(value: object) -> int | None:
    """A recorded ``data.start``/``data.end`` (ISO 8601 text) as UNIX ns."""
    if value is None:
        return None
    moment = datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _filesystem(
    recorded: Mapping[str, Any], catalog: CatalogConfig | str | Path | None
) -> tuple[Any, str]:
    """The catalog's fsspec filesystem and root, or ``ValueError`` saying why it cannot open."""
    import fsspec  # type: ignore[import-untyped]  # noqa: PLC0415 (first use only)

    options: dict[str, Any] = {}
    if catalog is None:
        spec = recorded.get("data") or {}
        location = (spec.get("catalog") or {}).get("path")
        if not location:
            raise ValueError("the run's config names no catalog")
        stored = (spec.get("catalog") or {}).get("storage_options") or {}
        if any(value == _REDACTED for value in stored.values()):
            raise ValueError(
                f"the run's catalog {location} needs credentials the run record does not keep "
                "(pass catalog=)"
            )
        path = str(location)
    elif isinstance(catalog, (str, Path)):
        path = str(catalog)
    else:
        path = catalog.path
        options = {key: value.get_secret_value() for key, value in catalog.storage_options.items()}
    if "://" in path and not path.startswith("file://"):
        fs, root = fsspec.core.url_to_fs(path, **options)
        return fs, str(root).rstrip("/")
    local = Path(path.removeprefix("file://")).expanduser()
    if not local.is_dir():
        raise ValueError(f"no catalog at {local}")
    return fsspec.filesystem("file"), str(local.resolve())


def _urisafe(identifier: str) -> str:
    # NautilusTrader's persistence.funcs.urisafe_identifier: 'USD/JPY.SIM' -> 'USDJPY.SIM'
    return identifier.replace("/", "")


@dataclass(frozen=True)
class _Catalog:
    fs: Any  # an fsspec filesystem
    root: str
    window: tuple[int | None, int | None]  # UNIX ns, inclusive; None: unbounded

    def read(
        self, kind: str, identifier: str, columns: tuple[str, ...]
    ) -> list[PriceColumn] | None:
        """The stream's price columns within the window; None when it has no rows there."""
        return _read_column(self, kind, identifier, columns)


def _read_column(
    catalog: _Catalog, kind: str, identifier: str, columns: tuple[str, ...]
) -> list[PriceColumn] | None:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # type: ignore[import-untyped]  # noqa: PLC0415
    import pyarrow.parquet as pq  # type: ignore[import-untyped]  # noqa: PLC0415

    fs, window = catalog.fs, catalog.window
    directory = f"{catalog.root}/data/{_FOLDERS[kind]}/{_urisafe(identifier)}"
    if not fs.exists(directory):
        return None
    files = sorted(str(f) for f in fs.glob(f"{directory}/*.parquet"))
    tables = [pq.read_table(f, columns=["ts_init", *columns], filesystem=fs) for f in files]
    if not tables:
        return None
    metadata = tables[0].schema.metadata or {}
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    start, end = window
    if start is not None:
        table = table.filter(
            pc.greater_equal(table.column("ts_init"), pa.scalar(start, pa.uint64()))
        )
    if end is not None:
        table = table.filter(pc.less_equal(table.column("ts_init"), pa.scalar(end, pa.uint64())))
    if table.num_rows == 0:
        return None
    times = table.column("ts_init").to_numpy().astype(np.int64)
    if np.any(np.diff(times) < 0):  # files are written in time order; several may interleave
        order = np.argsort(times, kind="stable")
        table = table.take(pa.array(order))
        times = times[order]
    precision = int(metadata.get(b"price_precision", b"8"))
    result = []
    for name in columns:
        values = table.column(name).combine_chunks()
        scale = 0
        if pa.types.is_fixed_size_binary(values.type):
            scale = 16 if values.type.byte_width == 16 else 9  # NautilusTrader's FIXED_PRECISION
        result.append(PriceColumn(times, values, precision, scale))
    return result


def _price_type(bar_type: str) -> str:
    # BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL: the price type is the second last part.
    return bar_type.rsplit("-", 2)[-2]


def _series_for(
    catalog: _Catalog, instrument_id: str, streams: list[Mapping[str, Any]]
) -> PriceSeries | None:
    """Quotes, else BID and ASK bars, else other bars, else trades (NautilusTrader's exchange
    rates come from quotes, else from BID and ASK bars)."""
    kinds = {stream["kind"] for stream in streams}
    if "quotes" in kinds:
        read = catalog.read("quotes", instrument_id, ("bid_price", "ask_price"))
        if read is not None:
            return PriceSeries(instrument_id, "quotes", read[0], read[1])
    bars = {_price_type(str(s["bar_type"])): str(s["bar_type"]) for s in streams if s["bar_type"]}
    if "BID" in bars and "ASK" in bars:
        bid = catalog.read("bars", bars["BID"], ("close",))
        ask = catalog.read("bars", bars["ASK"], ("close",))
        if bid is not None and ask is not None:
            return PriceSeries(instrument_id, "BID/ASK bars", bid[0], ask[0])
    for price_type in ("MID", "LAST", "BID", "ASK"):
        if price_type in bars:
            read = catalog.read("bars", bars[price_type], ("close",))
            if read is not None:
                return PriceSeries(instrument_id, f"{price_type} bars", read[0], read[0])
    if "trades" in kinds:
        read = catalog.read("trades", instrument_id, ("price",))
        if read is not None:
            return PriceSeries(instrument_id, "trades", read[0], read[0])
    return None


def read_market_data(
    config: Mapping[str, Any], catalog: CatalogConfig | str | Path | None = None
) -> MarketData:
    """The prices of every instrument streamed by the run's config (``config`` is the recorded
    document), within its data window. Never raises for a catalog that is gone or unreadable:
    the reason is in ``problems`` and the statistics that need prices say n/a."""
    data = config.get("data") or {}
    streams: list[Mapping[str, Any]] = list(data.get("streams") or [])
    if not streams:
        return MarketData(None, problems=("the run's config streams no market data",))
    try:
        fs, root = _filesystem(config, catalog)
    except ValueError as exc:
        return MarketData(None, problems=(str(exc),))
    except Exception as exc:  # an fsspec backend that cannot start: prices are optional here
        return MarketData(None, problems=(f"cannot open the catalog: {exc}",))
    window = (_ns(data.get("start")), _ns(data.get("end")))
    by_instrument: dict[str, list[Mapping[str, Any]]] = {}
    for stream in streams:
        by_instrument.setdefault(str(stream["instrument_id"]), []).append(stream)
    series: dict[str, PriceSeries] = {}
    problems: list[str] = []
    for instrument_id, own in sorted(by_instrument.items()):
        try:
            found = _series_for(_Catalog(fs, root, window), instrument_id, own)
        except Exception as exc:  # a damaged file: the statistics without prices still hold
            problems.append(f"cannot read {instrument_id} from {root}: {exc}")
            continue
        if found is None:
            problems.append(f"no {instrument_id} prices in {root} within the run's data window")
        else:
            series[instrument_id] = found
    starts = [s.first_ns for s in series.values()]
    ends = [s.last_ns for s in series.values()]
    return MarketData(
        root,
        series,
        start_ns=min(starts) if starts else None,
        end_ns=max(ends) if ends else None,
        problems=tuple(problems),
    )
