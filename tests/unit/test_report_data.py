"""The data behind the run report's charts: the decimated price line keeps each bucket's lowest
and highest price and every price asked for (the fills'), fills are entries or exits as their
position says, the monthly table holds the months' returns as an independent computation
gives them, and fixed-point catalog prices decode to the exact values as floats."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

from liveexec.analysis._report_data import (
    MONTHS,
    break_gaps,
    decimate,
    fill_roles,
    monthly_table,
)
from liveexec.runs._prices import PriceColumn
from liveexec.runs._statistics import _DAILY_SCHEMA, _monthly
from tests.analysis import independent


def _walk(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # Irregular spacing (gaps included), as market data has.
    steps = rng.choice([1, 1, 1, 2, 60], size=count) * 1_000_000_000
    times = np.cumsum(steps).astype(np.int64) + 1_640_995_200_000_000_000
    values = 40_000 + np.cumsum(rng.normal(0, 5, size=count))
    return times, values


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_decimate_keeps_every_buckets_low_and_high_and_every_fill(seed: int) -> None:
    times, values = _walk(50_000, seed)
    rng = np.random.default_rng(seed + 100)
    fills = np.sort(rng.choice(len(times), size=700, replace=False))
    buckets = 300
    kept = decimate(times, values, buckets, fills)
    assert np.all(np.diff(kept) > 0)  # sorted, no row twice
    assert len(kept) <= 2 * buckets + 2 + len(fills) < len(times)
    assert {0, len(times) - 1} <= set(kept.tolist())
    assert set(fills.tolist()) <= set(kept.tolist())
    # Independently: the buckets by a plain loop over equal spans of time.
    first, last = int(times[0]), int(times[-1])
    width = (last - first) // buckets + 1
    members: dict[int, list[int]] = {}
    for row, ns in enumerate(times.tolist()):
        members.setdefault((ns - first) // width, []).append(row)
    kept_set = set(kept.tolist())
    for rows in members.values():
        shown = [values[r] for r in rows if r in kept_set]
        assert min(values[r] for r in rows) in shown
        assert max(values[r] for r in rows) in shown


def test_decimate_draws_a_short_line_whole() -> None:
    times, values = _walk(500, 7)
    assert decimate(times, values, 250).tolist() == list(range(500))


def test_break_gaps_cuts_the_line_at_pauses_only() -> None:
    minute = 60_000_000_000
    times = np.asarray([0, 1, 2, 3, 2 * 24 * 60, 2 * 24 * 60 + 1, 2 * 24 * 60 + 30], np.int64)
    values = np.arange(len(times), dtype=np.float64)
    broken_times, broken = break_gaps(times * minute, values, 20 * minute)
    # A NaN inside the weekend-like pause and inside the 29-minute one; none elsewhere.
    assert np.flatnonzero(np.isnan(broken)).tolist() == [4, 7]
    assert broken_times[4] == (3 + 2 * 24 * 60) * minute // 2
    assert np.all(np.diff(broken_times) > 0)
    assert broken[~np.isnan(broken)].tolist() == values.tolist()


def _fills(rows: list[tuple[str, str, str]]) -> pl.DataFrame:
    """(position_id, side, quantity) per fill, one instrument and strategy."""
    return pl.DataFrame(
        {
            "position_id": [r[0] for r in rows],
            "instrument_id": ["BTCUSDT-PERP.SIM"] * len(rows),
            "strategy_id": ["S-001"] * len(rows),
            "side": [r[1] for r in rows],
            "last_qty": [Decimal(r[2]) for r in rows],
            "last_px": [Decimal("100.5")] * len(rows),
            "ts_event": list(range(len(rows))),
        },
        schema_overrides={"last_qty": pl.Decimal(36, 18), "last_px": pl.Decimal(36, 18)},
    )


def test_fill_roles_follow_each_position() -> None:
    fills = _fills(
        [
            ("P-1", "BUY", "1"),  # opens long
            ("P-1", "BUY", "0.5"),  # adds
            ("P-2", "SELL", "2"),  # another position opens short
            ("P-1", "SELL", "1.5"),  # closes P-1
            ("P-2", "BUY", "3"),  # flips P-2: an exit
            ("P-2", "SELL", "1"),  # closes the flipped remainder
            ("P-1", "SELL", "0.1"),  # P-1 again, short this time
        ]
    )
    roles = fill_roles(fills)
    assert roles.get_column("role").to_list() == [
        "entry",
        "entry",
        "entry",
        "exit",
        "exit",
        "exit",
        "entry",
    ]
    assert roles.height == fills.height
    assert roles.get_column("price").to_list() == [100.5] * fills.height
    assert str(roles.schema["time"]) == "Datetime(time_unit='ns', time_zone='UTC')"


def test_monthly_table_is_the_months_returns() -> None:
    """Fourteen months of daily equity across a year end: the table (from the statistics'
    monthly frame) against the independent computation used by the statistics' tests."""
    rng = np.random.default_rng(11)
    start = Decimal(100_000)
    days = [date(2023, 11, 17) + timedelta(days=i) for i in range(420)]
    equity = [
        (start + Decimal(int(x * 100)) / 100).quantize(Decimal("0.01"))
        for x in np.cumsum(rng.normal(0, 300, len(days)))
    ]
    daily = pl.DataFrame(
        {
            "date": days,
            "realized": equity,
            "unrealized": [Decimal(0)] * len(days),
            "equity": equity,
            "return": [0.0] * len(days),
        },
        schema=_DAILY_SCHEMA,
    )
    table = monthly_table(_monthly(daily, start))
    expected = independent.monthly(days, equity, start)
    assert table.get_column("year").to_list() == [2023, 2024, 2025]
    seen = {}
    for row in table.iter_rows(named=True):
        for index, name in enumerate(MONTHS, start=1):
            if row[name] is not None:
                seen[f"{row['year']}-{index:02d}"] = row[name]
    assert seen.keys() == expected.keys()
    for month, value in expected.items():
        assert seen[month] == pytest.approx(value, rel=1e-12, abs=1e-15), month
    assert table.row(0, named=True)["Jan"] is None  # before the run: empty, not 0


def _fixed(raw: list[int], width: int) -> pa.Array:
    data = b"".join(value.to_bytes(width, "little", signed=True) for value in raw)
    return pa.Array.from_buffers(pa.binary(width), len(raw), [None, pa.py_buffer(data)])


@pytest.mark.parametrize(("width", "scale"), [(16, 16), (8, 9)])
def test_fixed_point_prices_decode_as_floats(width: int, scale: int) -> None:
    prices = ["47123.5", "-0.25", "0.000001", "123456789.123"]
    raw = [int(Decimal(p).scaleb(scale)) for p in prices]
    array = _fixed(raw, width)
    for values in (array, array.slice(1)):  # an offset into the buffer, as slices have
        column = PriceColumn(np.arange(len(values), dtype=np.int64), values, 6, scale)
        exact = [float(column.value(i)) for i in range(len(values))]
        assert column.floats().tolist() == pytest.approx(exact, rel=1e-15)
    assert column.floats()[0] == pytest.approx(-0.25)
