"""What a run produced, read back from the database (never from engine memory)."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, Table, select
from sqlmodel import Session

from liveexec.config import resolve_database_url
from liveexec.db import (
    AccountBalance,
    OrderEvent,
    Run,
    UnifiedOrder,
    UnifiedPosition,
    create_db_engine,
    database_errors,
    require_current_schema,
)
from liveexec.runs._read import read_table

__all__ = ["RunResult", "compute_statistics", "load", "load_run"]

_ORDERS: Table = UnifiedOrder.__table__  # type: ignore[attr-defined]
_EVENTS: Table = OrderEvent.__table__  # type: ignore[attr-defined]
_POSITIONS: Table = UnifiedPosition.__table__  # type: ignore[attr-defined]
_BALANCES: Table = AccountBalance.__table__  # type: ignore[attr-defined]
TRADING_DAYS = 252  # as NautilusTrader's returns statistics


@dataclass(frozen=True, repr=False)
class RunResult:
    run_id: str
    config_id: str
    mode: str
    status: str
    error: str | None
    started_at: datetime
    ended_at: datetime | None
    orders: pl.DataFrame
    fills: pl.DataFrame
    positions: pl.DataFrame
    account: pl.DataFrame
    statistics: dict[str, float | int | None] = field(default_factory=dict)
    # NautilusTrader's log lines of the run (set by the call that ran it; None when read back).
    log_file: Path | None = None

    def __repr__(self) -> str:
        return (
            f"RunResult(run_id={self.run_id!r}, mode={self.mode!r}, status={self.status!r}, "
            f"orders={self.orders.height}, fills={self.fills.height}, "
            f"positions={self.positions.height})"
        )

    @property
    def currency(self) -> str | None:
        """The positions' settlement currency (PnL, fees), if there is exactly one."""
        currencies = self.positions.get_column("currency").unique().to_list()
        return str(currencies[0]) if len(currencies) == 1 else None

    def formatted_statistics(self) -> list[tuple[str, str]]:
        """The statistics as (label, text): money in the settlement currency with two decimals,
        rates as percentages, ratios with two decimals."""
        return [
            (label, _format_statistic(name, self.statistics.get(name), self.currency))
            for name, label in _STATISTIC_LABELS.items()
            if name in self.statistics
        ]

    def _repr_html_(self) -> str:
        """A notebook's view of the run: what it was, its statistics, its account, its orders."""
        head = [
            ("run", self.run_id),
            ("config", self.config_id),
            ("mode", self.mode),
            ("status", self.status + (f" ({self.error})" if self.error else "")),
            ("started", f"{self.started_at:%Y-%m-%d %H:%M:%S} UTC"),
            (
                "ended",
                f"{self.ended_at:%Y-%m-%d %H:%M:%S} UTC" if self.ended_at is not None else "",
            ),
            (
                "recorded",
                f"{self.orders.height:,} orders, {self.fills.height:,} fills, "
                f"{self.positions.height:,} positions",
            ),
        ]
        if self.log_file is not None:
            head.append(("log", str(self.log_file)))
        account = [
            (
                str(row["currency"]),
                _money(row["starting"]),
                _money(row["realized_pnl"]),
                _money(row["ending"]),
            )
            for row in self.account.iter_rows(named=True)
        ]
        orders = self.orders.head(_ORDER_ROWS)
        columns = [c for c in _ORDER_COLUMNS if c in orders.columns]
        order_rows = [tuple(_cell(row[c]) for c in columns) for row in orders.iter_rows(named=True)]
        more = self.orders.height - orders.height
        return (
            '<div class="liveexec-run">'
            f"<h4>liveexec {html.escape(self.mode)} run</h4>"
            + _html_table(("", ""), head)
            + f"<h5>Statistics ({html.escape(self.currency or 'several currencies')})</h5>"
            + _html_table(("statistic", "value"), self.formatted_statistics())
            + "<h5>Account</h5>"
            + _html_table(("currency", "starting", "realized PnL", "ending"), account)
            + f"<h5>Orders (first {orders.height} of {self.orders.height:,})</h5>"
            + _html_table(tuple(columns), order_rows)
            + (f"<p>{more:,} more: <code>result.orders</code></p>" if more > 0 else "")
            + "</div>"
        )

    def summary(self) -> pl.DataFrame:
        """The statistics as a two-column table (for printing)."""
        return pl.DataFrame(
            {
                "statistic": list(self.statistics),
                "value": [None if v is None else float(v) for v in self.statistics.values()],
            }
        )


_ORDER_ROWS = 10
_ORDER_COLUMNS = (
    "created_at",
    "client_order_id",
    "instrument_id",
    "side",
    "order_type",
    "quantity",
    "price",
    "avg_px",
    "filled_qty",
    "status",
)
_STATISTIC_LABELS = {
    "trades": "trades (closed positions)",
    "total_pnl": "total PnL",
    "fees": "fees",
    "total_return": "total return",
    "max_drawdown": "max drawdown",
    "sharpe": "Sharpe (annualised)",
    "sortino": "Sortino (annualised)",
    "win_rate": "win rate",
    "profit_factor": "profit factor",
}
_MONEY_STATISTICS = frozenset({"total_pnl", "fees"})
_RATE_STATISTICS = frozenset({"total_return", "max_drawdown", "win_rate"})


def _format_statistic(name: str, value: float | int | None, currency: str | None) -> str:
    if value is None:
        return "n/a"
    if name == "trades":
        return f"{int(value):,}"
    if name in _MONEY_STATISTICS:
        return f"{value:,.2f} {currency}" if currency else f"{value:,.2f}"
    if name in _RATE_STATISTICS:
        return f"{value * 100:.2f} %"
    return f"{value:.2f}"


def _money(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    # Exact to the last significant digit, grouped: 100,000 / -4,318.83924.
    text = f"{value.normalize():,f}"
    return text


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return _money(value)
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M:%S}"
    return str(value)


def _html_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fills(orders: pl.DataFrame) -> pl.DataFrame:
    """One row per fill, from the orders' ``fills`` JSON."""
    schema = pl.List(
        pl.Struct(
            {
                "trade_id": pl.String,
                "last_qty": pl.String,
                "last_px": pl.String,
                "commission": pl.String,
                "liquidity_side": pl.String,
                "ts_event": pl.Int64,
            }
        )
    )
    if orders.is_empty():
        return pl.DataFrame(
            schema={
                "client_order_id": pl.String,
                "side": pl.String,
                "trade_id": pl.String,
                "last_qty": pl.Decimal(36, 18),
                "last_px": pl.Decimal(36, 18),
                "commission": pl.String,
                "liquidity_side": pl.String,
                "ts_event": pl.Int64,
            }
        )
    return (
        orders.select("client_order_id", "side", pl.col("fills").str.json_decode(schema))
        .explode("fills")
        .drop_nulls("fills")
        .unnest("fills")
        .with_columns(
            pl.col("last_qty").cast(pl.Decimal(36, 18)), pl.col("last_px").cast(pl.Decimal(36, 18))
        )
    )


def _starting_balances(config: dict[str, Any]) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = {}
    for venue in config.get("venues", []):
        for text in venue.get("starting_balances", []):
            amount, currency = text.split()
            balances[currency] = balances.get(currency, Decimal(0)) + Decimal(amount)
    return balances


def _account(
    config: dict[str, Any], positions: pl.DataFrame, balances: pl.DataFrame
) -> pl.DataFrame:
    """Per currency: starting balance (config), realized PnL of the positions (net of
    commissions, in the positions' currency) and the ending balance the venue reported (its last
    ``AccountState``; null for a currency the venue never reported). PnL in a currency the
    account does not hold (JPY PnL on a USD account) is converted by the venue, so ``ending`` is
    not always ``starting + realized_pnl``."""
    start = _starting_balances(config)
    pnl: dict[str, Decimal] = {}
    for currency, amount in positions.select("currency", "realized_pnl").iter_rows():
        pnl[currency] = pnl.get(currency, Decimal(0)) + amount
    ending: dict[str, Decimal] = {}
    for currency, total in balances.select("currency", "total").iter_rows():
        ending[currency] = ending.get(currency, Decimal(0)) + total
    currencies = sorted(set(start) | set(pnl) | set(ending))
    return pl.DataFrame(
        {
            "currency": currencies,
            "starting": [start.get(c, Decimal(0)) for c in currencies],
            "realized_pnl": [pnl.get(c, Decimal(0)) for c in currencies],
            "ending": [ending.get(c) for c in currencies],
        },
        schema={
            "currency": pl.String,
            "starting": pl.Decimal(36, 18),
            "realized_pnl": pl.Decimal(36, 18),
            "ending": pl.Decimal(36, 18),
        },
    )


def compute_statistics(
    positions: pl.DataFrame, orders: pl.DataFrame, starting_balance: Decimal | None
) -> dict[str, float | int | None]:
    """Performance statistics of closed positions, computed with polars.

    PnL and fees are in the positions' settlement currency. Returns are daily, from the equity
    curve of realized PnL (positions grouped by close day) on ``starting_balance`` in that same
    currency; Sharpe and Sortino are annualised with 252 days, as NautilusTrader's analyzer does.
    Without a starting balance in that currency (e.g. JPY PnL on a USD account) the return-based
    statistics are None rather than converted at a guessed rate. Profit factor is gross profit over
    gross loss of closed positions (NautilusTrader's analyzer computes its own on daily returns).
    Total PnL, total return and win rate equal NautilusTrader's analyzer (acceptance tests).
    """
    closed = positions.filter(pl.col("status") == "CLOSED").sort("closed_at")
    pnl = closed.get_column("realized_pnl").cast(pl.Float64)
    wins = pnl.filter(pnl > 0)
    losses = pnl.filter(pnl < 0)
    currencies = closed.get_column("currency").unique().to_list()
    fees = _fees(orders, currencies[0]) if len(currencies) == 1 else None
    stats: dict[str, float | int | None] = {
        "trades": closed.height,
        "total_pnl": float(pnl.sum()),
        "win_rate": wins.len() / closed.height if closed.height else None,
        "profit_factor": float(wins.sum()) / -float(losses.sum()) if losses.len() else None,
        "fees": fees,
        "total_return": None,
        "sharpe": None,
        "sortino": None,
        "max_drawdown": None,
    }
    if not starting_balance or starting_balance <= 0:
        return stats
    start = float(starting_balance)
    stats["total_return"] = float(pnl.sum()) / start
    daily = (
        closed.group_by(pl.col("closed_at").dt.date().alias("day"))
        .agg(pl.col("realized_pnl").cast(pl.Float64).sum().alias("pnl"))
        .sort("day")
    )
    equity = start + daily.get_column("pnl").cum_sum()
    previous = pl.concat([pl.Series([start]), equity.head(-1)]) if daily.height else equity
    returns = (equity - previous) / previous if daily.height else equity
    stats["sharpe"] = _ratio(returns, returns.std())
    downside = returns.filter(returns < 0)
    stats["sortino"] = _ratio(
        returns, math.sqrt(float((downside**2).sum()) / returns.len()) if returns.len() else None
    )
    curve = pl.concat([pl.Series([start]), equity])
    drawdown = (curve / curve.cum_max() - 1).min()
    stats["max_drawdown"] = float(drawdown) if isinstance(drawdown, (int, float)) else None
    return stats


def _ratio(returns: pl.Series, deviation: Any) -> float | None:  # noqa: ANN401
    if returns.len() < 2 or deviation is None or not deviation or math.isnan(deviation):
        return None
    mean = returns.mean()
    assert isinstance(mean, float)
    return mean / float(deviation) * math.sqrt(TRADING_DAYS)


def _fees(orders: pl.DataFrame, currency: str) -> float:
    total = Decimal(0)
    for text in orders.get_column("commissions").to_list() if orders.height else []:
        total += Decimal(json.loads(text).get(currency, "0"))
    return float(total)


def load_run(engine: Engine, run_id: str) -> RunResult:
    """Everything recorded for ``run_id``."""
    with Session(engine) as session:
        run = session.exec(select(Run).where(Run.run_id == run_id)).scalars().first()  # type: ignore[call-overload,arg-type]
    if run is None:
        raise KeyError(f"no run {run_id!r} in this database")
    orders = read_table(engine, _ORDERS, run_id=run_id, order_by="created_at")
    positions = read_table(engine, _POSITIONS, run_id=run_id, order_by="opened_at")
    balances = read_table(engine, _BALANCES, run_id=run_id)
    account = _account(run.config, positions, balances)
    currencies = positions.get_column("currency").unique().to_list()
    start = _starting_balances(run.config)
    base = start.get(currencies[0]) if len(currencies) == 1 else None
    return RunResult(
        run_id=run.run_id,
        config_id=run.config_id,
        mode=run.mode,
        status=run.status,
        error=run.error,
        started_at=run.started_at,
        ended_at=run.ended_at,
        orders=orders,
        fills=_fills(orders),
        positions=positions,
        account=account,
        statistics=compute_statistics(positions, orders, base),
    )


def load(run_id: str, *, database_url: str | None = None) -> RunResult:
    """Everything recorded for ``run_id`` in the database (default: the resolved default URL)."""
    engine = create_db_engine(resolve_database_url(override=database_url), create=False)
    try:
        with database_errors(engine, "reading the run"):
            require_current_schema(engine)
            return load_run(engine, run_id)
    finally:
        engine.dispose()
