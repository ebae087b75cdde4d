"""What a market data file looks like: its columns, header and timestamps, and presets for the
layouts people download most."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "PRESETS",
    "BarStamp",
    "DataKind",
    "Layout",
    "Preset",
    "PresetName",
    "TimestampUnit",
    "expected_columns",
]

DataKind = Literal["bars", "quotes", "trades"]
TimestampUnit = Literal["auto", "s", "ms", "us", "ns", "iso8601"]
BarStamp = Literal["close", "open"]
PresetName = Literal["ohlcv", "binance-klines", "binance-trades"]

TIMESTAMP_UNITS: tuple[TimestampUnit, ...] = ("auto", "s", "ms", "us", "ns", "iso8601")
_UTC_OFFSET = re.compile(r"[+-](\d{2}):(\d{2})")


def _check_timezone(name: str) -> None:
    """An IANA time zone name (``America/Chicago``) or a fixed UTC offset (``+02:00``)."""
    offset = _UTC_OFFSET.fullmatch(name)
    if offset is not None:
        hours, minutes = int(offset[1]), int(offset[2])
        widest = 14 if name[0] == "+" else 12  # UTC offsets run from -12:00 to +14:00
        if hours * 60 + minutes > widest * 60 or minutes >= 60:
            raise ValueError(f"time zone {name!r}: a UTC offset runs from -12:00 to +14:00")
        return
    import zoneinfo  # noqa: PLC0415 (only when a time zone is given)

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        msg = (
            f"time zone {name!r} is neither an IANA name (e.g. 'America/Chicago') nor a UTC "
            "offset written '+HH:MM'"
        )
        raise ValueError(msg) from None


@dataclass(frozen=True, slots=True)
class Layout:
    """How to read one file. The defaults read a CSV or parquet file whose header names the
    columns, with a ``timestamp`` column in ISO 8601 or epoch numbers of any unit.

    ``columns`` names the columns in file order: for files without a header line, or to replace
    the names a header line gives. ``header`` None detects one: a first line with no number in it
    is a header. ``min_columns`` lets trailing columns be absent (presets). ``bars_stamped_at``
    says whether a bar's time is its open or its close; NautilusTrader stamps bars at the close,
    so open times are moved forward by the bar type's interval. ``timezone`` (an IANA name or
    a '+HH:MM' offset) is the zone of naive text or datetime times, converted to UTC; times
    that carry their own offset, and epoch numbers, are refused with it.
    """

    columns: tuple[str, ...] | None = None
    header: bool | None = None
    timestamp_column: str = "timestamp"
    timestamp_unit: TimestampUnit = "auto"
    timestamp_format: str | None = None
    timezone: str | None = None
    bars_stamped_at: BarStamp = "close"
    delimiter: str = ","
    min_columns: int | None = None
    preset: str | None = None

    def __post_init__(self) -> None:
        if self.timestamp_unit not in TIMESTAMP_UNITS:
            raise ValueError(
                f"timestamp unit {self.timestamp_unit!r} is not one of {TIMESTAMP_UNITS}"
            )
        if self.timestamp_format is not None and self.timestamp_unit not in ("auto", "iso8601"):
            msg = "a timestamp format parses text; it cannot go with a numeric timestamp unit"
            raise ValueError(msg)
        if self.timezone is not None:
            if self.timestamp_unit not in ("auto", "iso8601"):
                msg = "a time zone applies to text times; epoch numbers are UTC already"
                raise ValueError(msg)
            _check_timezone(self.timezone)
        if self.columns is not None and len(set(self.columns)) != len(self.columns):
            raise ValueError(f"columns {list(self.columns)} name a column twice")
        if len(self.delimiter) != 1:
            raise ValueError(f"the delimiter must be one character, not {self.delimiter!r}")

    def describe(self, kind: DataKind) -> str:
        """The layout in one line, for error messages."""
        if self.columns is not None:
            names = list(self.columns)
            if self.min_columns is not None and self.min_columns < len(names):
                optional = names[self.min_columns :]
                names = [*names[: self.min_columns], f"[{','.join(optional)}]"]
            columns = ",".join(names)
        else:
            columns = expected_columns(kind, self.timestamp_column)
        parts = [f"{kind}: {columns}"]
        if self.preset:
            parts.insert(0, f"preset {self.preset}")
        header = {None: "header line optional", True: "header line", False: "no header line"}
        parts.append(header[self.header])
        unit = (
            f"format {self.timestamp_format!r}"
            if self.timestamp_format
            else {
                "auto": "epoch s/ms/us/ns or ISO 8601",
                "iso8601": "ISO 8601",
                "s": "epoch seconds",
                "ms": "epoch milliseconds",
                "us": "epoch microseconds",
                "ns": "epoch nanoseconds",
            }[self.timestamp_unit]
        )
        zone = f" ({self.timezone} local time)" if self.timezone else ""
        parts.append(f"{self.timestamp_column} in {unit}{zone}")
        if kind == "bars":
            parts.append(f"bars stamped at their {self.bars_stamped_at}")
        return "; ".join(parts)


def expected_columns(kind: DataKind, timestamp_column: str = "timestamp") -> str:
    return {
        "bars": f"{timestamp_column},open,high,low,close[,volume]",
        "quotes": f"{timestamp_column},bid,ask[,bid_size,ask_size]",
        "trades": f"{timestamp_column},trade_id,price,quantity[,buyer_maker|side]",
    }[kind]


@dataclass(frozen=True, slots=True)
class Preset:
    name: PresetName
    kind: DataKind
    layout: Layout
    summary: str
    example: str


BINANCE_KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
)

PRESETS: dict[PresetName, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "ohlcv",
            "bars",
            Layout(
                columns=("timestamp", "open", "high", "low", "close", "volume"),
                min_columns=5,
                preset="ohlcv",
            ),
            "timestamp,open,high,low,close[,volume] in this order, header line optional; "
            "timestamps are the bars' close times (NautilusTrader's convention).",
            "2022-01-01 00:01:00,46216.9,46271.0,46200.1,46262.4,271.203",
        ),
        Preset(
            "binance-klines",
            "bars",
            Layout(
                columns=BINANCE_KLINE_COLUMNS,
                timestamp_column="open_time",
                bars_stamped_at="open",
                preset="binance-klines",
            ),
            "Binance kline files (data.binance.vision, /klines API): 12 columns, header line "
            "optional, open_time in ms (us in spot files from 2025; auto-detected). Each bar is "
            "stamped at open_time + the bar type's interval, i.e. at its close as NautilusTrader "
            "expects; close_time must agree (close_time + 1 unit).",
            "1640995200000,46216.93,46271.08,46208.37,46250.00,40.57574,1640995259999,"
            "1876367.86,1137,20.03,926476.49,0",
        ),
        Preset(
            "binance-trades",
            "trades",
            Layout(
                columns=(
                    "trade_id",
                    "price",
                    "quantity",
                    "quote_quantity",
                    "timestamp",
                    "buyer_maker",
                    "best_match",
                ),
                min_columns=6,
                preset="binance-trades",
            ),
            "Binance trade files: id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match], "
            "header line optional, time in ms (or us); a buyer maker means the seller aggressed.",
            "553287559,39432.48,0.000263,10.37,1610064000278,True,True",
        ),
    )
}
