"""The data behind the run report's charts, prepared without a plotting library (so it is tested
on its own): the price line decimated for the browser, each fill as an entry or an exit, each
closed position as a link from its entry to its exit, and the monthly returns as a year x month
table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from liveexec.runs import PriceSeries

__all__ = [
    "MONTHS",
    "PriceLine",
    "break_gaps",
    "decimate",
    "fill_roles",
    "monthly_table",
    "price_line",
    "trade_links",
]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class PriceLine:
    """One instrument's prices as floats for a chart: ``times`` UNIX ns (ascending),
    ``values``, and what they are (``label``: "mid of quotes", "close of LAST bars", ...)."""

    times: np.ndarray
    values: np.ndarray
    label: str


def price_line(series: PriceSeries) -> PriceLine:
    """The mid of bid and ask where the series has both sides on one clock (quotes), else the
    bid side's (or the single) price."""
    bid = series.bid
    kind = "close of " if "bars" in series.source else ""
    if series.has_sides and np.array_equal(bid.times, series.ask.times):
        mid = (bid.floats() + series.ask.floats()) / 2
        return PriceLine(bid.times, mid, f"mid of {series.source}")
    side = "bid of " if series.has_sides else ""
    return PriceLine(bid.times, bid.floats(), f"{side}{kind}{series.source}")


def decimate(
    times: np.ndarray, values: np.ndarray, buckets: int, keep: Sequence[int] | np.ndarray = ()
) -> np.ndarray:
    """The rows of a price line to draw: in each of ``buckets`` equal spans of time, the rows
    of the lowest and the highest value (so no spike is lost), plus the first and last row and
    every row in ``keep`` (e.g. the prices at the fills). Sorted row indices; every row when
    there are no more than ``2 * buckets``."""
    count = len(times)
    if count <= 2 * buckets:
        return np.arange(count)
    first, last = int(times[0]), int(times[-1])
    width = max((last - first) // buckets + 1, 1)
    bucket = (times.astype(np.int64) - first) // width
    # Within each bucket, rows by value: the first of a bucket is its minimum, the last its
    # maximum (lexsort's last key is the primary one).
    order = np.lexsort((values, bucket))
    ordered = bucket[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], count] - 1
    kept = np.concatenate(
        (order[starts], order[ends], np.asarray([0, count - 1]), np.asarray(keep, dtype=np.int64))
    )
    return np.unique(kept)


def break_gaps(
    times: np.ndarray, values: np.ndarray, longer_than: int
) -> tuple[np.ndarray, np.ndarray]:
    """``times`` and ``values`` (float) with a NaN row inside every pause in the data longer
    than ``longer_than`` ns (a weekend, a missing day): charts break the line there instead of
    drawing a straight line across it."""
    if len(times) < 2:
        return times, values.astype(np.float64)
    after = np.flatnonzero(np.diff(times) > longer_than) + 1
    middle = times[after - 1] + (times[after] - times[after - 1]) // 2
    return (
        np.insert(times, after, middle),
        np.insert(values.astype(np.float64), after, np.nan),
    )


def fill_roles(fills: pl.DataFrame) -> pl.DataFrame:
    """One row per fill, in order: ``time`` (UTC), ``ts_event``, ``instrument_id``, ``side``,
    ``price``, ``quantity``, ``position_id`` and ``role``: "entry" when it opens or adds to its
    position, "exit" when it reduces or closes it (a fill that flips the position is an exit)."""
    held: dict[str, float] = {}
    roles: list[str] = []
    for position_id, instrument_id, strategy_id, side, quantity in fills.select(
        "position_id", "instrument_id", "strategy_id", "side", "last_qty"
    ).iter_rows():
        key = str(position_id or f"{instrument_id}-{strategy_id}")
        signed = float(quantity) * (1 if side == "BUY" else -1)
        before = held.get(key, 0.0)
        roles.append("entry" if before == 0 or (before > 0) == (signed > 0) else "exit")
        after = before + signed
        held[key] = 0.0 if abs(after) < 1e-12 else after
    return fills.select(
        pl.from_epoch(pl.col("ts_event"), time_unit="ns").dt.replace_time_zone("UTC").alias("time"),
        "ts_event",
        "instrument_id",
        "side",
        pl.col("last_px").cast(pl.Float64).alias("price"),
        pl.col("last_qty").cast(pl.Float64).alias("quantity"),
        "position_id",
        pl.Series("role", roles, pl.String),
    )


def trade_links(positions: pl.DataFrame, orders: pl.DataFrame, instrument_id: str) -> pl.DataFrame:
    """The closed positions of ``instrument_id``: ``opened_at``, ``avg_px_open``, ``closed_at``,
    ``avg_px_close`` (floats), ``direction`` (LONG when its opening order bought, else SHORT),
    ``realized_pnl`` (float) and ``currency``, for a line from entry to exit."""
    opening = orders.select(
        pl.col("client_order_id").alias("opening_order_id"),
        pl.when(pl.col("side") == "BUY")
        .then(pl.lit("LONG"))
        .otherwise(pl.lit("SHORT"))
        .alias("direction"),
    ).unique("opening_order_id")
    return (
        positions.join(opening, on="opening_order_id", how="left")
        .filter(
            (pl.col("instrument_id") == instrument_id)
            & (pl.col("status") == "CLOSED")
            & pl.col("closed_at").is_not_null()
        )
        .sort("closed_at")
        .select(
            "opened_at",
            pl.col("avg_px_open").cast(pl.Float64),
            "closed_at",
            pl.col("avg_px_close").cast(pl.Float64),
            "direction",
            pl.col("realized_pnl").cast(pl.Float64),
            "currency",
        )
    )


def monthly_table(monthly: pl.DataFrame) -> pl.DataFrame:
    """``Statistics.monthly`` (a ``month`` and its ``return`` per row) as a table of returns,
    one row per year (``year``) and a column per month (``Jan`` ... ``Dec``, null for a month
    outside the run)."""
    schema: dict[str, pl.DataType | type[pl.DataType]] = {"year": pl.Int32}
    schema.update(dict.fromkeys(MONTHS, pl.Float64))
    if monthly.is_empty():
        return pl.DataFrame(schema=schema)
    years: dict[int, dict[str, float | None]] = {}
    for month, value in monthly.select("month", "return").iter_rows():
        row = years.setdefault(month.year, dict.fromkeys(MONTHS))
        row[MONTHS[month.month - 1]] = value
    return pl.DataFrame(
        [{"year": year, **row} for year, row in sorted(years.items())], schema=schema
    )
