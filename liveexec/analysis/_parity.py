"""How far one run is from another: their orders aligned by the strategy's own sequence.

Client order ids and trade ids are generated per run, so orders are matched by position: per
strategy, the n-th order run A's strategy created against the n-th order of run B's. The
sequence is the counter NautilusTrader puts at the end of each client order id
(``O-20220103-000100-001-000-7`` is the strategy's 7th order), or the creation order when an id
does not end in one. Reads only the tables, so it works for any two recorded runs.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Engine, Table, select
from sqlmodel import Session

from liveexec.config import resolve_database_url
from liveexec.db import (
    Run,
    UnifiedOrder,
    UnifiedPosition,
    create_db_engine,
    database_errors,
    require_current_schema,
)
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.runs import read_table

__all__ = ["ParityReport", "parity"]

_ORDERS: Table = UnifiedOrder.__table__  # type: ignore[attr-defined]
_POSITIONS: Table = UnifiedPosition.__table__  # type: ignore[attr-defined]
_COUNTER = re.compile(r"-(\d+)$")
MONEY = pl.Decimal(36, 18)
# The columns kept per run (suffixed _a / _b in the report).
_PER_RUN = (
    "client_order_id",
    "instrument_id",
    "side",
    "order_type",
    "quantity",
    "price",
    "status",
    "filled_qty",
    "fill_px",
    "fill_time",
    "slippage_ticks",
    "fees",
    "pnl",
)


@dataclass(frozen=True)
class ParityReport:
    """Two runs' orders side by side (:attr:`orders`) and what differs (the other fields).

    An aligned pair *matches* when both runs have the order with the same instrument, side,
    type and quantity. Fill price differences are in ticks of the instrument (B minus A), over
    matched pairs that both filled. PnL is the realized PnL of the positions each order closed.
    """

    run_a: str
    run_b: str
    orders: pl.DataFrame
    orders_a: int
    orders_b: int
    matched: int
    unmatched_a: int
    unmatched_b: int
    fills_differing: int
    mean_fill_px_diff_ticks: float | None
    max_fill_px_diff_ticks: float | None
    fees_a: Decimal
    fees_b: Decimal
    fees_differing: int
    pnl_a: Decimal
    pnl_b: Decimal

    @property
    def matched_pct(self) -> float:
        total = max(self.orders_a, self.orders_b)
        return 100.0 * self.matched / total if total else 100.0

    @property
    def pnl_diff(self) -> Decimal:
        return self.pnl_b - self.pnl_a

    @property
    def fees_diff(self) -> Decimal:
        return self.fees_b - self.fees_a

    @property
    def identical(self) -> bool:
        """Every order matched, with the same fills, fees and PnL."""
        return (
            self.matched == self.orders_a == self.orders_b
            and self.fills_differing == 0
            and self.fees_differing == 0
            and self.pnl_diff == 0
        )

    def summary(self) -> list[tuple[str, str]]:
        """The summary as (label, text) rows."""

        def ticks(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f}"

        return [
            ("run A", self.run_a),
            ("run B", self.run_b),
            ("orders A / B", f"{self.orders_a:,} / {self.orders_b:,}"),
            ("orders matched", f"{self.matched:,} ({self.matched_pct:.2f} %)"),
            ("unmatched in A / in B", f"{self.unmatched_a:,} / {self.unmatched_b:,}"),
            ("matched orders with different fills", f"{self.fills_differing:,}"),
            ("mean |fill price B - A| (ticks)", ticks(self.mean_fill_px_diff_ticks)),
            ("max |fill price B - A| (ticks)", ticks(self.max_fill_px_diff_ticks)),
            ("matched orders with different fees", f"{self.fees_differing:,}"),
            ("fees A / B", f"{_text(self.fees_a)} / {_text(self.fees_b)}"),
            ("realized PnL A / B", f"{_text(self.pnl_a)} / {_text(self.pnl_b)}"),
            ("PnL difference (B - A)", _text(self.pnl_diff)),
            ("identical", "yes" if self.identical else "no"),
        ]

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(label)}</td><td>{html.escape(value)}</td></tr>"
            for label, value in self.summary()
        )
        return f"<h5>Parity</h5><table><tbody>{rows}</tbody></table>"


def _text(value: Decimal) -> str:
    return f"{value.normalize():,f}"


def _run_config(engine: Engine, run_id: str) -> dict[str, Any]:
    with Session(engine) as session:
        run = session.exec(select(Run).where(Run.run_id == run_id)).scalars().first()  # type: ignore[call-overload,arg-type]
    if run is None:
        raise ConfigError(
            "parity",
            [ConfigIssue(run_id, "no such run in this database", "see `liveexec runs list`")],
        )
    config: dict[str, Any] = run.config
    return config


def _ticks(config: dict[str, Any]) -> dict[str, Decimal]:
    """Price increment per instrument, from the run's own (recorded) config."""
    ticks: dict[str, Decimal] = {}
    for spec in config.get("instruments", []):
        if "id" not in spec or "price_precision" not in spec:
            continue
        increment = spec.get("price_increment")
        ticks[spec["id"]] = (
            Decimal(str(increment))
            if increment is not None
            else Decimal(1).scaleb(-int(spec["price_precision"]))
        )
    return ticks


def _fees(commissions: str) -> Decimal:
    return sum((Decimal(v) for v in json.loads(commissions).values()), Decimal(0))


def _first_fill_ns(fills: str) -> int | None:
    entries = json.loads(fills)
    return min(int(f["ts_event"]) for f in entries) if entries else None


def _run_orders(engine: Engine, run_id: str) -> pl.DataFrame:
    ticks = _ticks(_run_config(engine, run_id))
    orders = read_table(engine, _ORDERS, run_id=run_id, order_by="created_at")
    positions = read_table(engine, _POSITIONS, run_id=run_id)
    pnl = (
        positions.filter(pl.col("closing_order_id").is_not_null())
        .group_by("closing_order_id")
        .agg(pl.col("realized_pnl").sum().alias("pnl"))
        .rename({"closing_order_id": "client_order_id"})
    )
    counters = [_COUNTER.search(c) for c in orders.get_column("client_order_id").to_list()]
    frame = orders.with_columns(
        pl.Series("counter", [int(m.group(1)) if m else None for m in counters], pl.Int64),
        pl.Series("fees", [_fees(c) for c in orders.get_column("commissions")], MONEY),
        pl.Series("fill_ns", [_first_fill_ns(f) for f in orders.get_column("fills")], pl.Int64),
        pl.col("instrument_id")
        .replace_strict(
            {k: float(v) for k, v in ticks.items()}, default=None, return_dtype=pl.Float64
        )
        .alias("tick"),
        pl.int_range(pl.len()).alias("created_rank"),
    )
    # The strategy's counter when every id of the strategy has one, else creation order.
    frame = frame.with_columns(
        pl.when(pl.col("counter").null_count().over("strategy_id") == 0)
        .then(pl.col("counter").rank("ordinal").over("strategy_id"))
        .otherwise(pl.col("created_rank").rank("ordinal").over("strategy_id"))
        .cast(pl.Int64)
        .alias("sequence")
    )
    direction = pl.when(pl.col("side") == "BUY").then(1.0).otherwise(-1.0)
    return frame.join(pnl, on="client_order_id", how="left").select(
        "strategy_id",
        "sequence",
        "client_order_id",
        "instrument_id",
        "side",
        "order_type",
        "quantity",
        "price",
        "status",
        "filled_qty",
        pl.col("avg_px").alias("fill_px"),
        pl.from_epoch("fill_ns", time_unit="ns").dt.replace_time_zone("UTC").alias("fill_time"),
        # Positive: filled worse than the order's own price (limit and stop-limit orders).
        (
            (pl.col("avg_px").cast(pl.Float64) - pl.col("price").cast(pl.Float64))
            * direction
            / pl.col("tick")
        )
        .round(6)
        .alias("slippage_ticks"),
        "fees",
        pl.col("pnl").fill_null(Decimal(0)).cast(MONEY),
        "tick",
    )


def _report(run_a: str, run_b: str, a: pl.DataFrame, b: pl.DataFrame) -> ParityReport:
    tick = pl.coalesce("tick_a", "tick_b")
    joined = a.rename({c: f"{c}_a" for c in (*_PER_RUN, "tick")}).join(
        b.rename({c: f"{c}_b" for c in (*_PER_RUN, "tick")}),
        on=("strategy_id", "sequence"),
        how="full",
        coalesce=True,
    )
    same = (
        (pl.col("instrument_id_a") == pl.col("instrument_id_b"))
        & (pl.col("side_a") == pl.col("side_b"))
        & (pl.col("order_type_a") == pl.col("order_type_b"))
        & (pl.col("quantity_a") == pl.col("quantity_b"))
    ).fill_null(False)
    orders = (
        joined.with_columns(same.alias("matched"))
        .with_columns(
            pl.when(pl.col("matched"))
            .then(
                (
                    (pl.col("fill_px_b").cast(pl.Float64) - pl.col("fill_px_a").cast(pl.Float64))
                    / tick
                ).round(6)
            )
            .alias("fill_px_diff_ticks"),
            pl.when(pl.col("matched"))
            .then(pl.col("fill_time_b") - pl.col("fill_time_a"))
            .alias("fill_time_diff"),
            pl.when(pl.col("matched")).then(pl.col("fees_b") - pl.col("fees_a")).alias("fees_diff"),
            pl.when(pl.col("matched")).then(pl.col("pnl_b") - pl.col("pnl_a")).alias("pnl_diff"),
        )
        .drop("tick_a", "tick_b")
        .sort("strategy_id", "sequence")
    )
    matched = orders.filter(pl.col("matched"))
    fill_changed = (
        (pl.col("fill_px_a").ne_missing(pl.col("fill_px_b")))
        | (pl.col("filled_qty_a") != pl.col("filled_qty_b"))
        | (pl.col("fill_time_a").ne_missing(pl.col("fill_time_b")))
    )
    diffs = matched.get_column("fill_px_diff_ticks").drop_nulls().abs()
    mean_diff = diffs.mean() if diffs.len() else None
    max_diff = diffs.max() if diffs.len() else None
    return ParityReport(
        run_a=run_a,
        run_b=run_b,
        orders=orders,
        orders_a=a.height,
        orders_b=b.height,
        matched=matched.height,
        unmatched_a=a.height - matched.height,
        unmatched_b=b.height - matched.height,
        fills_differing=matched.filter(fill_changed).height,
        mean_fill_px_diff_ticks=float(mean_diff) if isinstance(mean_diff, (int, float)) else None,
        max_fill_px_diff_ticks=float(max_diff) if isinstance(max_diff, (int, float)) else None,
        fees_a=sum(a.get_column("fees").to_list(), Decimal(0)),
        fees_b=sum(b.get_column("fees").to_list(), Decimal(0)),
        fees_differing=matched.filter(pl.col("fees_diff") != 0).height,
        pnl_a=sum(a.get_column("pnl").to_list(), Decimal(0)),
        pnl_b=sum(b.get_column("pnl").to_list(), Decimal(0)),
    )


def parity(engine_or_url: Engine | str | None, run_a: str, run_b: str) -> ParityReport:
    """Align the orders of two recorded runs (see the module's doc). ``engine_or_url`` None
    reads the default database. An unknown run id is a ``ConfigError`` naming it."""
    if isinstance(engine_or_url, Engine):
        return _parity(engine_or_url, run_a, run_b)
    engine = create_db_engine(resolve_database_url(override=engine_or_url), create=False)
    try:
        with database_errors(engine, "reading the runs"):
            require_current_schema(engine)
            return _parity(engine, run_a, run_b)
    finally:
        engine.dispose()


def _parity(engine: Engine, run_a: str, run_b: str) -> ParityReport:
    return _report(run_a, run_b, _run_orders(engine, run_a), _run_orders(engine, run_b))
