"""Equity, drawdown and trades of a recorded run, from its tables (a :class:`RunResult`)."""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from liveexec.runs import RunResult

__all__ = ["drawdown", "equity_curve", "trades"]


def _starting(result: RunResult, currency: str) -> Decimal:
    row = result.account.filter(pl.col("currency") == currency)
    starting = row.item(0, "starting") if row.height else None
    return starting if isinstance(starting, Decimal) else Decimal(0)


def equity_curve(result: RunResult, currency: str | None = None) -> pl.DataFrame:
    """Realized equity in ``currency``: the starting balance, then one row per closed position
    at its close time, with its PnL (net of its commissions, as NautilusTrader reports it).
    Columns ``time``, ``pnl``, ``equity``.

    By default in the statistics' currency (the account's), with PnL in other currencies
    converted as the statistics convert it (``result.statistics.positions``); another
    ``currency`` takes only the positions settled in it. The daily marked-to-market equity is
    ``result.statistics.daily``."""
    currency = currency or result.currency
    utc = pl.Datetime("us", "UTC")
    if currency is None:
        return pl.DataFrame(schema={"time": utc, "pnl": pl.Float64, "equity": pl.Float64})
    start = float(_starting(result, currency))
    if currency == result.statistics.currency and result.statistics.positions.height:
        positions = result.positions.select(
            "position_id", "opening_order_id", "status", "closed_at"
        ).join(
            result.statistics.positions.select("position_id", "opening_order_id", "pnl"),
            on=("position_id", "opening_order_id"),
            how="left",
        )
        closed = positions.filter(pl.col("status") == "CLOSED")
    else:
        closed = result.positions.filter(
            (pl.col("status") == "CLOSED") & (pl.col("currency") == currency)
        ).rename({"realized_pnl": "pnl"})
    closed = closed.sort("closed_at").select(
        pl.col("closed_at").alias("time"), pl.col("pnl").cast(pl.Float64)
    )
    # The curve starts flat where the run's first order was created.
    created = result.orders.get_column("created_at").min() if result.orders.height else None
    first = created if created is not None else result.started_at
    opening = pl.DataFrame({"time": [first], "pnl": [0.0]}, schema={"time": utc, "pnl": pl.Float64})
    curve = pl.concat([opening, closed.cast({"time": utc})])
    return curve.with_columns((start + pl.col("pnl").cum_sum()).alias("equity"))


def drawdown(equity: pl.DataFrame) -> pl.DataFrame:
    """``equity`` with ``peak`` and ``drawdown`` (equity / peak - 1, 0 or negative)."""
    return equity.with_columns(pl.col("equity").cum_max().alias("peak")).with_columns(
        (pl.col("equity") / pl.col("peak") - 1).alias("drawdown")
    )


def trades(result: RunResult, instrument_id: str | None = None) -> pl.DataFrame:
    """One row per fill: ``time``, ``instrument_id``, ``side``, ``price``, ``quantity``,
    ``client_order_id`` (for charts of trades on the price)."""
    fills = result.fills
    if "instrument_id" not in fills.columns:  # a RunResult made before fills carried it
        orders = result.orders.select("client_order_id", "instrument_id")
        fills = fills.join(orders, on="client_order_id", how="left")
    if instrument_id is not None:
        fills = fills.filter(pl.col("instrument_id") == instrument_id)
    return fills.select(
        pl.from_epoch(pl.col("ts_event"), time_unit="ns").dt.replace_time_zone("UTC").alias("time"),
        "instrument_id",
        "side",
        pl.col("last_px").cast(pl.Float64).alias("price"),
        pl.col("last_qty").cast(pl.Float64).alias("quantity"),
        "client_order_id",
    ).sort("time")
