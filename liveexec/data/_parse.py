"""A file's rows into checked, typed, time-ordered columns: the canonical frame the wranglers get.

Every refusal names the file, the row (its line in a text file) and the column. Choices made
for data NautilusTrader needs sorted:

- rows out of time order are sorted, stably (equal times keep their file order), and the
  import says so;
- bars: two bars at one time are refused (a bar type has one bar per interval);
- trades: a trade id seen twice is refused; quotes: a row repeating another whole row is
  refused. Both usually mean overlapping files were concatenated;
- bars of a fixed interval: each time must fall on a whole unit of the interval (a whole
  minute for MINUTE bars and longer), two bars closer than the interval are refused (bars
  aligned on local time move by an hour at DST changes: 4-HOUR bars may be 3 hours apart;
  DAY and WEEK bars, closing early on half days, may be half the interval apart), and
  so is a file whose bars are all a larger interval apart (the greatest common divisor of the
  gaps is larger than the bar type's interval: 5-minute bars under a 1-MINUTE bar type).
  Larger gaps (weekends, missing bars) are fine;
- prices and sizes with more decimals than the instrument's precision are refused, or, asked
  to, rounded (by NautilusTrader, as before) and counted;
- naive times in a given time zone are converted to UTC: a time the DST change skips is
  refused, a time it repeats is the earlier one until the file's times go back within that
  hour, then the later one.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import polars as pl
from nautilus_trader.model.objects import PRICE_MAX, QUANTITY_MAX

from liveexec.data._layouts import DataKind, Layout
from liveexec.data._readers import ROW, RawTable
from liveexec.errors import DataError

__all__ = ["EARLIEST_NS", "TS", "BarInterval", "Parsed", "Precision", "parse_table"]

TS = "__ts"  # epoch nanoseconds, UTC
EARLIEST_NS = 631_152_000 * 1_000_000_000  # 1990-01-01T00:00:00Z
_FUTURE_SLACK_NS = 86_400 * 1_000_000_000  # a day: clocks and time zones of the file's source
_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
_ISO_8601 = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)?"
)
_DAY_MONTH = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b.*")
_COMPACT_DATE = re.compile(r"(19|20)\d{6}(\d{4}(\d{2})?)?")
_SHOWN_CHARS = 80  # of a value quoted in a message
_MAX_COLLISIONS = 100  # of 64-bit hashes, looking for a repeated row
_MAX_ID_BYTES = 36
_ID = "NautilusTrader's trade ids are 1 to 36 ASCII characters"

Role = Literal["price", "size", "text", "flag", "side"]


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    role: Role
    required: bool
    aliases: tuple[str, ...] = ()


_FIELDS: dict[DataKind, tuple[_Field, ...]] = {
    "bars": (
        _Field("open", "price", True, ("o",)),
        _Field("high", "price", True, ("h",)),
        _Field("low", "price", True, ("l",)),
        _Field("close", "price", True, ("c",)),
        _Field("volume", "size", False, ("v", "vol")),
    ),
    "quotes": (
        _Field("bid_price", "price", True, ("bid", "best_bid_price", "bid_px")),
        _Field("ask_price", "price", True, ("ask", "best_ask_price", "ask_px")),
        _Field("bid_size", "size", False, ("bid_qty", "bid_amount", "bid_volume", "best_bid_qty")),
        _Field("ask_size", "size", False, ("ask_qty", "ask_amount", "ask_volume", "best_ask_qty")),
    ),
    "trades": (
        _Field("price", "price", True, ("px",)),
        _Field("quantity", "size", True, ("qty", "size", "amount")),
        _Field("trade_id", "text", True, ("id", "tradeid", "trade_id")),
        _Field("buyer_maker", "flag", False, ("is_buyer_maker", "buyer_is_maker")),
        _Field("side", "side", False, ("aggressor_side", "taker_side")),
    ),
}

_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})
_SIDES = {"BUY": "BUY", "B": "BUY", "BUYER": "BUY", "SELL": "SELL", "S": "SELL", "SELLER": "SELL"}


@dataclass(frozen=True, slots=True)
class BarInterval:
    """A bar type's fixed interval: ``ns`` long, named ``name`` (e.g. '1-MINUTE'); times fall on
    whole ``unit_ns``; two bars closer than ``min_gap_ns`` are refused."""

    ns: int
    name: str
    unit_ns: int
    min_gap_ns: int


@dataclass(frozen=True, slots=True)
class Precision:
    """The instrument's decimals for prices and sizes (None: not checked); ``round`` rounds
    (counting the values) instead of refusing."""

    price: int | None
    size: int | None
    round: bool = False


@dataclass(frozen=True, slots=True)
class Parsed:
    """Checked rows: ``TS`` (int64 ns), the kind's canonical columns, ``ROW``; time-ordered."""

    kind: DataKind
    frame: pl.DataFrame
    columns: tuple[str, ...]  # the canonical columns present, in wrangler order
    reordered: bool
    timestamps: str  # how the times were read, e.g. "epoch milliseconds"
    rounded: int = 0  # values with more decimals than the instrument's precision, rounded


class _Context:
    """What a refusal names, and how a time column is read: decided on the file's first batch and
    kept for the others, as if the file had been read whole."""

    def __init__(
        self, raw: RawTable, kind: DataKind, layout: Layout, precision: Precision | None = None
    ) -> None:
        self.raw = raw
        self.precision = precision
        self.rounded = 0
        # Naive local times a DST change repeats: by day, the latest seen and whether the
        # times went back (the clock's second pass through the hour).
        self.repeated: dict[int, tuple[int, bool]] = {}
        self.kind = kind
        self.layout = layout
        self.text_times: Literal["epoch", "iso"] | None = None
        self.unit: str | None = None  # the epoch unit, once known
        self.inferred = False  # the unit was detected from the first time
        self.first_time: str | None = None  # the first ISO 8601 text: its format is the column's
        self.close: _Context | None = None  # the close_time column's own reading

    def error(
        self,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> DataError:
        return DataError(
            str(self.raw.path),
            message,
            row=row,
            row_label=self.raw.row_label,
            column=column,
            expected=self.layout.describe(self.kind),
            hint=hint,
        )

    def first(self, frame: pl.DataFrame, mask: pl.Series | pl.Expr) -> dict[str, object] | None:
        hits = frame.filter(mask)
        return hits.row(0, named=True) if hits.height else None


def parse_table(
    raw: RawTable,
    kind: DataKind,
    layout: Layout,
    *,
    interval: BarInterval | None,
    precision: Precision | None = None,
) -> Parsed:
    """Checked canonical columns of ``raw``, read batch by batch: only the checked columns are
    kept (about 50 bytes a row), not the file's text. ``interval`` is the bar type's fixed
    interval: bars stamped at their open move by it, and the bars' times are checked against
    it. ``precision`` is the instrument's, checked on every price and size."""
    interval_ns = interval.ns if interval is not None else None
    ctx = _Context(raw, kind, layout, precision)
    ts_column = _timestamp_column(ctx, raw.columns)
    sources = _resolve(ctx, raw.columns, ts_column)
    if "buyer_maker" in sources and "side" in sources:
        raise ctx.error(
            f"both {sources['buyer_maker']!r} and {sources['side']!r} give the aggressor side",
            column=sources["side"],
            hint="keep one of them (rename the other)",
        )
    close_column: str | None = None
    if kind == "bars" and layout.bars_stamped_at == "open":
        if interval_ns is None:
            raise ctx.error(
                "bars stamped at their open are moved to their close by the bar type's interval",
                column=ts_column,
                hint="give --bar-type with a fixed interval (MILLISECOND, SECOND, MINUTE, HOUR, "
                "DAY or WEEK), or --bars-stamped-at close if the times are closes",
            )
        close_column = next((c for c in raw.columns if _norm(c) == "close_time"), None)
    wanted = [ts_column, *sources.values(), *([close_column] if close_column else [])]
    parts: list[pl.DataFrame] = []
    unit = ""
    for frame in raw.batches(wanted):
        if frame.height == 0:
            continue
        columns: dict[str, pl.Series] = {ROW: frame[ROW]}
        for field in _FIELDS[kind]:
            source = sources.get(field.name)
            if source is not None:
                columns[field.name] = _convert(ctx, frame, field, source)
        ts, read_as = _timestamps(ctx, frame, ts_column)
        unit = unit or read_as
        columns[TS] = ts
        part = pl.DataFrame(columns)
        if interval_ns is not None and kind == "bars" and layout.bars_stamped_at == "open":
            part = _stamp_at_close(
                ctx,
                frame,
                part,
                ts_column=ts_column,
                close_column=close_column,
                interval_ns=interval_ns,
            )
        _check_values(ctx, part, sources)
        parts.append(part)
    if not parts:  # the readers refuse a file without rows; kept for any other table
        raise ctx.error("the file holds no rows")
    out = pl.concat(parts, rechunk=False)
    del parts
    reordered = not out[TS].is_sorted()
    if reordered:
        out = out.sort(TS, maintain_order=True)
    _check_duplicates(ctx, out, sources)
    if kind == "bars" and interval is not None:
        _check_interval(ctx, out, interval, ts_column)
    present = tuple(field.name for field in _FIELDS[kind] if field.name in out.columns)
    return Parsed(kind, out, present, reordered, unit, ctx.rounded)


# --- columns --------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return name.strip().lower()


def _timestamp_column(ctx: _Context, names: tuple[str, ...]) -> str:
    wanted = _norm(ctx.layout.timestamp_column)
    for name in names:
        if _norm(name) == wanted:
            return name
    columns = list(names)
    raise ctx.error(
        f"no timestamp column {ctx.layout.timestamp_column!r} (the columns are {columns})",
        hint="name it with --timestamp-column, or name the columns with --columns",
    )


def _resolve(ctx: _Context, names: tuple[str, ...], ts_column: str) -> dict[str, str]:
    """Canonical name -> the file's column, by name or alias (case-insensitive)."""
    found: dict[str, str] = {}
    available = [name for name in names if name != ts_column]
    for field in _FIELDS[ctx.kind]:
        accepted = {field.name, *field.aliases}
        matches = [name for name in available if _norm(name) in accepted]
        if len(matches) > 1:
            raise ctx.error(
                f"columns {matches} all look like {field.name!r}",
                hint="rename or drop all but one",
            )
        if matches:
            found[field.name] = matches[0]
        elif field.required:
            aliases = f" (or {', '.join(field.aliases)})" if field.aliases else ""
            raise ctx.error(
                f"no {field.name!r} column{aliases}; the columns are {[*available, ts_column]}",
                hint="name the columns with --columns, or pick a --preset",
            )
    return found


def _bad_row(  # noqa: PLR0917 (the arguments read as a sentence at every call)
    ctx: _Context,
    frame: pl.DataFrame,
    mask: pl.Series,
    source: str,
    message: str,
    hint: str | None = None,
) -> DataError | None:
    hit = ctx.first(frame.with_columns(__mask=mask), pl.col("__mask"))
    if hit is None:
        return None
    row = hit[ROW]
    assert isinstance(row, int)
    value = hit[source]
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        value = value[:_SHOWN_CHARS] + "..."  # a line may be a megabyte long
    return ctx.error(message.format(value=value), row=row, column=source, hint=hint)


def _convert(ctx: _Context, frame: pl.DataFrame, field: _Field, source: str) -> pl.Series:
    raw = frame[source]
    missing = _bad_row(ctx, frame, raw.is_null(), source, "no value")
    if missing is not None:
        raise missing
    if field.role in ("price", "size"):
        return _number(ctx, frame, raw, source, field.role)
    if field.role == "text":
        text = raw.cast(pl.String).str.strip_chars()
        for mask, message, hint in (
            (text == "", "empty value", None),
            # NautilusTrader's ids are 1 to 36 ASCII characters; past that its Rust core aborts
            # the process rather than raise.
            (text.str.len_bytes() > _MAX_ID_BYTES, "{value!r} is longer than 36 characters", _ID),
            (text.str.contains(r"[^\x20-\x7E]"), "{value!r} holds characters not ASCII", _ID),
        ):
            bad = _bad_row(ctx, frame, mask, source, message, hint)
            if bad is not None:
                raise bad
        return text
    if field.role == "flag":
        if raw.dtype == pl.Boolean:
            return raw
        text = raw.cast(pl.String).str.strip_chars().str.to_lowercase()
        known = text.is_in(list(_TRUE | _FALSE))
        bad = _bad_row(ctx, frame, ~known, source, "{value!r} is not true or false")
        if bad is not None:
            raise bad
        return text.is_in(list(_TRUE))
    text = raw.cast(pl.String).str.strip_chars().str.to_uppercase()
    bad = _bad_row(ctx, frame, ~text.is_in(list(_SIDES)), source, "{value!r} is not BUY or SELL")
    if bad is not None:
        raise bad
    return text.replace_strict(_SIDES, return_dtype=pl.String)


def _number(
    ctx: _Context, frame: pl.DataFrame, raw: pl.Series, source: str, role: Role
) -> pl.Series:
    if raw.dtype == pl.String:
        values = raw.str.strip_chars().cast(pl.Float64, strict=False)
    elif raw.dtype.is_numeric():
        values = raw.cast(pl.Float64)
    else:
        raise ctx.error(f"holds {raw.dtype} values, not numbers", column=source)
    for mask, message in (
        (values.is_null(), "{value!r} is not a number"),
        (values.is_nan(), "{value!r}: not a number (NaN)"),
        (values.is_infinite(), "{value!r} is infinite"),
    ):
        bad = _bad_row(ctx, frame, mask, source, message)
        if bad is not None:
            raise bad
    # NautilusTrader refuses (with a ValueError deep in its wrangler) what its fixed-point values
    # cannot hold: refused here instead, at the row.
    if role == "price":
        outside, what, bound = values.abs() > PRICE_MAX, "price", PRICE_MAX
    else:
        outside, what, bound = values > QUANTITY_MAX, "quantity", QUANTITY_MAX
    bad = _bad_row(
        ctx,
        frame,
        outside,
        source,
        f"{{value!r}} is beyond NautilusTrader's largest {what} ({bound:,.0f})",
        "check the column (and its scale)",
    )
    if bad is not None:
        raise bad
    _check_precision(ctx, frame, values, source, role)
    return values


def _check_precision(
    ctx: _Context, frame: pl.DataFrame, values: pl.Series, source: str, role: Role
) -> None:
    """Values with more decimals than the instrument's precision: refused, or counted. A value
    within a millionth of its last kept decimal is exact (float noise such as
    0.031035000000000004, as pandas writes 0.031035 computed, is no extra decimal)."""
    precision = ctx.precision
    if precision is None:
        return
    places = precision.price if role == "price" else precision.size
    if places is None:
        return
    scaled = values * float(10**places)
    excess = (scaled - scaled.round(0)).abs() > 1e-6 + scaled.abs() * 1e-12
    if precision.round:
        ctx.rounded += int(excess.sum())
        return
    what = "price" if role == "price" else "size"
    bad = _bad_row(
        ctx,
        frame,
        excess,
        source,
        f"{{value!r}} has more decimals than the instrument's {what} precision ({places}): "
        "NautilusTrader would round it",
        f"check the instrument's {what}_precision, or round on purpose with "
        "--round-to-precision (round_to_precision=True)",
    )
    if bad is not None:
        raise bad


# --- timestamps -------------------------------------------------------------------------------


def _latest_ns() -> int:
    return time.time_ns() + _FUTURE_SLACK_NS


def _iso(ns: float) -> str:
    try:
        moment = datetime.fromtimestamp(ns / 1e9, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return "beyond the year 9999" if ns > 0 else "before the year 1"
    return moment.isoformat().replace("+00:00", "Z")


def _fitting_units(value: float) -> list[str]:
    latest = _latest_ns()
    return [unit for unit, factor in _NS.items() if EARLIEST_NS <= value * factor <= latest]


def _timestamps(ctx: _Context, frame: pl.DataFrame, column: str) -> tuple[pl.Series, str]:
    layout = ctx.layout
    raw = frame[column]
    missing = _bad_row(ctx, frame, raw.is_null(), column, "no time")
    if missing is not None:
        raise missing
    if raw.dtype == pl.Date:
        raw = raw.cast(pl.Datetime("ns"))
    if isinstance(raw.dtype, pl.Datetime):
        if layout.timestamp_unit not in ("auto", "iso8601") or layout.timestamp_format:
            raise ctx.error(
                f"holds {raw.dtype} values already; --timestamp-unit and --timestamp-format "
                "apply to numbers and text",
                column=column,
                hint="leave them out for this file",
            )
        return _in_range(ctx, frame, _localize(ctx, frame, raw, column), column), "datetimes"
    if raw.dtype.is_numeric():
        if layout.timestamp_format is not None:
            raw = raw.cast(pl.String)
        else:
            return _epoch(ctx, frame, raw, column)
    if raw.dtype != pl.String:
        raise ctx.error(f"holds {raw.dtype} values, not times", column=column)
    text = raw.str.strip_chars()
    if layout.timestamp_format is not None:
        return _formatted(ctx, frame, text, column), f"format {layout.timestamp_format!r}"
    if layout.timestamp_unit == "iso8601":
        return _iso_text(ctx, frame, text, column), "ISO 8601"
    if ctx.text_times != "iso":
        integers = text.cast(pl.Int64, strict=False)
        numbers = integers if integers.null_count() == 0 else text.cast(pl.Float64, strict=False)
        if numbers.null_count() == 0:
            ctx.text_times = "epoch"
            return _epoch(ctx, frame, numbers, column)
        if ctx.text_times == "epoch" or layout.timestamp_unit != "auto" or numbers[0] is not None:
            hint = (
                "the column holds text times: use --timestamp-unit iso8601 or auto, or "
                "--timestamp-format"
                if layout.timestamp_unit != "auto"
                else "every time of a column must be written the same way"
            )
            bad = _bad_row(
                ctx, frame, numbers.is_null(), column, "{value!r} is not an epoch number", hint
            )
            assert bad is not None
            raise bad
    ctx.text_times = "iso"
    return _iso_text(ctx, frame, text, column), "ISO 8601"


def _epoch(
    ctx: _Context, frame: pl.DataFrame, numbers: pl.Series, column: str
) -> tuple[pl.Series, str]:
    if ctx.layout.timezone is not None:
        raise ctx.error(
            f"{numbers[0]!r} is an epoch number, UTC already: --timezone is for text times",
            row=frame[ROW][0],
            column=column,
            hint="leave out --timezone",
        )
    if numbers.dtype.is_float():
        not_finite = numbers.is_nan() | numbers.is_infinite()
        bad = _bad_row(ctx, frame, not_finite, column, "{value!r} is not a time")
        if bad is not None:
            raise bad
    unit: str = ctx.unit or ctx.layout.timestamp_unit
    inferred = ctx.inferred or unit == "auto"
    first = numbers[0]
    if unit == "auto":
        fits = _fitting_units(float(first))
        if not fits:
            compact = _COMPACT_DATE.fullmatch(str(first))
            hint = (
                "if it is a date written as digits, give --timestamp-format, e.g. '%Y%m%d'"
                if compact
                else "give --timestamp-unit, or --timestamp-format for dates written as digits"
            )
            row = frame[ROW][0]
            raise ctx.error(
                f"{first!r} is not a time between 1990 and now in seconds, milliseconds, "
                "microseconds or nanoseconds since 1970",
                row=row,
                column=column,
                hint=hint,
            )
        if len(fits) > 1:  # unreachable with today's bounds; kept so a wider window cannot guess
            raise ctx.error(
                f"{first!r} reads as a plausible time in {', '.join(fits)}: ambiguous",
                row=frame[ROW][0],
                column=column,
                hint="give --timestamp-unit",
            )
        unit = fits[0]
    ctx.unit, ctx.inferred = unit, inferred
    factor = _NS[unit]
    approx = numbers.cast(pl.Float64) * factor
    latest = _latest_ns()
    outside = (approx < EARLIEST_NS) | (approx > latest)
    hit = ctx.first(frame.with_columns(__approx=approx, __out=outside), pl.col("__out"))
    if hit is not None:
        value = hit[column]
        approx_ns = hit["__approx"]
        assert isinstance(approx_ns, float)
        row = hit[ROW]
        assert isinstance(row, int)
        when = "before 1990" if approx_ns < EARLIEST_NS else "in the future"
        fits = [u for u in _fitting_units(approx_ns / factor) if u != unit]
        if fits:
            hint = f"looks like {_UNIT_NAMES[fits[0]]}: use --timestamp-unit {fits[0]}"
            if inferred:
                hint += (
                    f" (the first row read as {_UNIT_NAMES[unit]}: the column mixes units;"
                    " import such files separately)"
                )
        else:
            hint = "check the column and its unit"
        raise ctx.error(
            f"{value!r} read as {_UNIT_NAMES[unit]} is {_iso(approx_ns)}, {when}",
            row=row,
            column=column,
            hint=hint,
        )
    if numbers.dtype.is_integer():
        ns = numbers.cast(pl.Int64) * factor
    else:
        ns = (numbers.cast(pl.Float64) * factor).round(0).cast(pl.Int64)
    return ns.alias(TS), f"epoch {_UNIT_NAMES[unit]}{' (detected)' if inferred else ''}"


def _iso_text(ctx: _Context, frame: pl.DataFrame, text: pl.Series, column: str) -> pl.Series:
    if ctx.first_time is None:
        ctx.first_time = str(text[0])
    shaped = text.str.contains(f"^(?:{_ISO_8601.pattern})$")
    hit = ctx.first(frame.with_columns(__ok=shaped), ~pl.col("__ok"))
    if hit is not None:
        value = str(hit[column]).strip()
        if _DAY_MONTH.fullmatch(value):
            hint = (
                "day/month order is ambiguous: give --timestamp-format, "
                "e.g. '%d/%m/%Y %H:%M:%S' or '%m/%d/%Y %H:%M:%S'"
            )
        else:
            hint = "give --timestamp-format (strftime codes) or --timestamp-unit for epoch numbers"
        row = hit[ROW]
        assert isinstance(row, int)
        raise ctx.error(f"{value!r} is not an ISO 8601 time", row=row, column=column, hint=hint)
    try:
        # polars takes the format from the first time: the file's first, in every batch.
        first = pl.Series(text.name, [ctx.first_time], dtype=pl.String)
        parsed = first.append(text).str.to_datetime(time_unit="ns", strict=False).slice(1)
    except pl.exceptions.PolarsError as exc:
        raise ctx.error(f"cannot read the times: {exc}", column=column) from None
    bad = _bad_row(
        ctx,
        frame,
        parsed.is_null(),
        column,
        "{value!r} is not written like the first time of the column (date, time, offset)",
    )
    if bad is not None:
        raise bad
    return _in_range(ctx, frame, _localize(ctx, frame, parsed, column), column)


def _formatted(ctx: _Context, frame: pl.DataFrame, text: pl.Series, column: str) -> pl.Series:
    fmt = ctx.layout.timestamp_format
    assert fmt is not None
    # polars parses with chrono, where Python's '.%f' reads the fraction as whole nanoseconds
    # and drops it ('05.123' -> 5 s): give chrono its spelling of a decimal fraction instead.
    chrono = fmt.replace(".%f", "%.f")
    if re.search(r"(?<!%\.)(?<!%)%f", chrono.replace("%%", "")):
        raise ctx.error(
            f"format {fmt!r}: '%f' is only understood after a dot ('%S.%f')", column=column
        )
    try:
        parsed = text.str.strptime(pl.Datetime("ns"), chrono, strict=False)
    except pl.exceptions.PolarsError as exc:
        raise ctx.error(
            f"cannot read the times with format {fmt!r}: {exc}", column=column
        ) from None
    bad = _bad_row(
        ctx, frame, parsed.is_null(), column, f"{{value!r}} does not match the format {fmt!r}"
    )
    if bad is not None:
        raise bad
    return _in_range(ctx, frame, _localize(ctx, frame, parsed, column), column)


_DAY_NS = 86_400 * 1_000_000_000


def _localize(ctx: _Context, frame: pl.DataFrame, parsed: pl.Series, column: str) -> pl.Series:
    """Epoch nanoseconds (UTC) of datetimes: naive ones are UTC, or in ``--timezone``."""
    zone = ctx.layout.timezone
    dtype = parsed.dtype
    assert isinstance(dtype, pl.Datetime)
    if zone is None:
        return parsed.dt.epoch("ns")
    if dtype.time_zone is not None:
        raise ctx.error(
            f"{frame[column][0]!s} carries its own UTC offset: --timezone is for times without one",
            row=frame[ROW][0],
            column=column,
            hint="leave out --timezone",
        )
    naive = parsed.cast(pl.Datetime("ns"))
    earliest = naive.dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
    bad = _bad_row(
        ctx,
        frame,
        earliest.is_null(),
        column,
        f"{{value!r}} does not exist in {zone}: the clocks skip it (a DST change)",
        "check --timezone, and whether the file's times are local times",
    )
    if bad is not None:
        raise bad
    ns = earliest.dt.epoch("ns")
    later = naive.dt.replace_time_zone(zone, ambiguous="latest", non_existent="null").dt.epoch("ns")
    repeated = (ns != later).arg_true()
    if repeated.is_empty():
        return ns
    # A time the clocks repeat: the first pass until the times go back, then the second.
    local = naive.dt.epoch("ns")
    second: list[int] = []
    for index in repeated.to_list():
        moment = int(local[index])
        day = moment // _DAY_NS
        latest, back = ctx.repeated.get(day, (moment, False))
        back = back or moment < latest
        ctx.repeated[day] = (max(latest, moment), back)
        if back:
            second.append(index)
    if not second:
        return ns
    picked = pl.Series(second, dtype=pl.UInt32)
    return ns.scatter(picked, later.gather(picked))


def _in_range(ctx: _Context, frame: pl.DataFrame, ns: pl.Series, column: str) -> pl.Series:
    ns = ns.cast(pl.Int64).alias(TS)
    outside = (ns < EARLIEST_NS) | (ns > _latest_ns())
    hit = ctx.first(frame.with_columns(__ns=ns, __out=outside), pl.col("__out"))
    if hit is not None:
        value_ns = hit["__ns"]
        assert isinstance(value_ns, int)
        when = "before 1990" if value_ns < EARLIEST_NS else "in the future"
        row = hit[ROW]
        assert isinstance(row, int)
        raise ctx.error(
            f"{hit[column]!s} is {when}", row=row, column=column, hint="check the column's times"
        )
    return ns


def _stamp_at_close(
    ctx: _Context,
    frame: pl.DataFrame,
    out: pl.DataFrame,
    *,
    ts_column: str,
    close_column: str | None,
    interval_ns: int,
) -> pl.DataFrame:
    """Bars stamped at their open move to their close; a ``close_time`` column must agree."""
    out = out.with_columns(pl.col(TS) + interval_ns)
    if close_column is None:
        return out
    if ctx.close is None:
        ctx.close = _Context(ctx.raw, ctx.kind, ctx.layout)
    close_ns, _ = _timestamps(ctx.close, frame, close_column)
    # Binance's close_time is the last instant inside the bar: the next open minus one unit.
    gap = out[TS] - close_ns
    wrong = (gap <= 0) | (gap > 1_000_000)
    hit = ctx.first(frame.with_columns(__wrong=wrong), pl.col("__wrong"))
    if hit is not None:
        row = hit[ROW]
        assert isinstance(row, int)
        raise ctx.error(
            f"{hit[close_column]!r} is not {ts_column} plus the bar type's interval "
            f"({interval_ns // 1_000_000_000} s): the file holds bars of another interval",
            row=row,
            column=close_column,
            hint="give the --bar-type whose interval the file holds",
        )
    return out


# --- values --------------------------------------------------------------------------------


def _check_values(ctx: _Context, out: pl.DataFrame, sources: dict[str, str]) -> None:
    checks: list[tuple[pl.Expr, str, str]] = []
    if ctx.kind == "bars":
        checks += [
            (pl.col("high") < pl.col("low"), "high", "high {high} is below low {low}"),
            (
                (pl.col("open") < pl.col("low")) | (pl.col("open") > pl.col("high")),
                "open",
                "open {open} is outside low..high ({low}..{high})",
            ),
            (
                (pl.col("close") < pl.col("low")) | (pl.col("close") > pl.col("high")),
                "close",
                "close {close} is outside low..high ({low}..{high})",
            ),
        ]
        if "volume" in out.columns:
            checks.append((pl.col("volume") < 0, "volume", "volume {volume} is negative"))
    elif ctx.kind == "quotes":
        checks.append(
            (
                pl.col("bid_price") > pl.col("ask_price"),
                "bid_price",
                "bid {bid_price} is above ask {ask_price} (a crossed quote, or bid and ask "
                "swapped)",
            )
        )
        for size in ("bid_size", "ask_size"):
            if size in out.columns:
                checks.append((pl.col(size) < 0, size, f"{{{size}}} is negative"))
    else:
        checks.append((pl.col("quantity") <= 0, "quantity", "quantity {quantity} is not positive"))
    for mask, field, message in checks:
        hit = ctx.first(out, mask)
        if hit is not None:
            row = hit[ROW]
            assert isinstance(row, int)
            raise ctx.error(message.format(**hit), row=row, column=sources[field])


_DURATIONS = (
    (7 * _DAY_NS, "week"),
    (_DAY_NS, "day"),
    (3_600_000_000_000, "hour"),
    (60_000_000_000, "minute"),
    (1_000_000_000, "second"),
    (1_000_000, "millisecond"),
    (1_000, "microsecond"),
    (1, "nanosecond"),
)


def _duration(ns: int) -> str:
    """``ns`` in the largest unit that holds it whole: '5 minutes', '90 seconds'."""
    for size, name in _DURATIONS:
        if ns % size == 0:
            count = ns // size
            return f"{count:,} {name}{'s' if count != 1 else ''}"
    return f"{ns} nanoseconds"  # unreachable: every duration is whole nanoseconds


def _check_interval(
    ctx: _Context, out: pl.DataFrame, interval: BarInterval, ts_column: str
) -> None:
    """Bar times against the bar type's interval (``out`` is in time order, no time twice)."""
    label = ctx.raw.row_label
    ts = out[TS]
    unit = _duration(interval.unit_ns).removeprefix("1 ")
    hit = ctx.first(out, ts % interval.unit_ns != 0)
    if hit is not None:
        row = hit[ROW]
        assert isinstance(row, int)
        when = hit[TS]
        assert isinstance(when, int)
        raise ctx.error(
            f"the bar's time {_iso(when)} is not on a whole {unit}: bars of "
            f"{interval.name} end on one",
            row=row,
            column=ts_column,
            hint="NautilusTrader stamps a bar at its close: are the times the last instant "
            "inside each bar (…:59.999), or of trades rather than bars?",
        )
    if out.height < 2:  # a gap needs two bars
        return
    gaps = ts.diff().slice(1)
    rows = out[ROW]
    close = (gaps < interval.min_gap_ns).arg_true()
    if not close.is_empty():
        index = int(close[0])
        earlier, later = int(rows[index]), int(rows[index + 1])
        raise ctx.error(
            f"{label} {later} is {_duration(int(gaps[index]))} after {label} {earlier}, "
            f"closer than the bar type's interval ({interval.name}): two bars inside one "
            "interval",
            row=later,
            column=ts_column,
            hint="give the --bar-type whose interval the file holds, or remove the extra bars",
        )
    # Gaps larger than the interval are fine (weekends, missing bars), but when every gap is
    # a multiple of a larger interval, the file holds bars of that interval.
    grid = int(np.gcd.reduce(gaps.to_numpy()))
    if grid <= interval.ns:
        return
    index = int(gaps.arg_min() or 0)
    smallest = int(gaps[index])
    earlier, later = int(rows[index]), int(rows[index + 1])
    apart = (
        f"{_duration(grid)} apart"
        if grid == smallest
        else f"{_duration(grid)} apart or a multiple of it (the smallest gap is "
        f"{_duration(smallest)})"
    )
    raise ctx.error(
        f"bars are {apart}: the smallest gap is between {label}s {earlier} and {later}; "
        f"the bar type says {interval.name}",
        column=ts_column,
        hint="give the --bar-type whose interval the file holds",
    )


def _check_duplicates(ctx: _Context, out: pl.DataFrame, sources: dict[str, str]) -> None:
    if ctx.kind == "bars":
        keys, what, column = [TS], "the same time as", None
    elif ctx.kind == "trades":
        keys, what, column = ["trade_id"], "the same trade id as", sources["trade_id"]
    else:
        keys = [name for name in out.columns if name != ROW]
        what, column = "the same values as", None
    if ctx.kind == "bars":
        # In time order, two bars at one time are neighbours.
        candidates = out.select((pl.col(TS) == pl.col(TS).shift(1)).fill_null(False)).to_series()
    else:
        # Keys are compared by a 64-bit hash, sorted: a few times 8 bytes a row, where a hash
        # table of the rows (is_duplicated on their struct) took ~180 bytes a row of quotes.
        # Column by column, so that one column's hashes at a time are alive. Equal hashes are
        # checked exactly below.
        hashes = out[keys[0]].hash(seed=1)
        for seed, key in enumerate(keys[1:], start=2):
            hashes = hashes ^ out[key].hash(seed=seed)
        ordered = hashes.sort()
        twice = ordered.filter(ordered == ordered.shift(1)).unique()
        del ordered
        if twice.is_empty():
            return
        candidates = hashes.is_in(twice)
    # Only the first repeated value's two earliest rows are named (a file of one row repeated
    # millions of times must not become millions of Python ints). A candidate that repeats no
    # other row is a hash collision: the next one is tried.
    for index in candidates.arg_true().head(_MAX_COLLISIONS).to_list():
        first = out.row(index, named=True)
        same = pl.all_horizontal([pl.col(key) == first[key] for key in keys])
        earliest = out.select(pl.col(ROW).filter(same).bottom_k(2).sort()).to_series()
        rows = [int(row) for row in earliest.to_list()]
        if len(rows) == 2:
            break
    else:
        return
    label = ctx.raw.row_label
    raise ctx.error(
        f"{label} {rows[1]} has {what} {label} {rows[0]} ({_iso(float(first[TS]))})",
        row=rows[1],
        column=column,
        hint="overlapping files concatenated? remove the repeated rows",
    )
