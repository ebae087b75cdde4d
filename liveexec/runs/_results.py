"""What a run produced, read back from the database (never from engine memory)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine, Table, select
from sqlmodel import Session

from liveexec.config import resolve_database_url
from liveexec.db import (
    AccountBalance,
    DenialStreak,
    OrderEvent,
    Run,
    UnifiedOrder,
    UnifiedPosition,
    create_db_engine,
    database_errors,
    require_current_schema,
)
from liveexec.runs import _format
from liveexec.runs._read import read_table
from liveexec.runs._statistics import (
    STATISTIC_FIELDS,
    Statistics,
    compute_statistics,
    starting_balances,
)
from liveexec.runs._warnings import LogWarnings

if TYPE_CHECKING:
    from liveexec.config import CatalogConfig

__all__ = ["RunResult", "load", "load_run"]

_ORDERS: Table = UnifiedOrder.__table__  # type: ignore[attr-defined]
_EVENTS: Table = OrderEvent.__table__  # type: ignore[attr-defined]
_POSITIONS: Table = UnifiedPosition.__table__  # type: ignore[attr-defined]
_BALANCES: Table = AccountBalance.__table__  # type: ignore[attr-defined]
_STREAKS: Table = DenialStreak.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, repr=False)
class RunResult:
    """Everything recorded for one run, read back from the database.

    ``config`` is the run's config as recorded (secrets redacted); ``fills`` has one row per
    fill with its order's instrument and strategy and the position it traded, in the order the
    fills happened; ``statistics`` is a :class:`Statistics` (see its docstring for the
    definitions), in :attr:`currency`.
    """

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
    statistics: Statistics = field(default_factory=lambda: Statistics(currency=None))
    # NautilusTrader's log lines of the run (set by the call that ran it; None when read back).
    log_file: Path | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    # The run's denial streaks (``denial_streaks``): denials counted, not all recorded as orders.
    denials: pl.DataFrame = field(default_factory=pl.DataFrame)
    # The warnings in :attr:`log_file`, counted by kind (set with it; None when read back).
    warnings: LogWarnings | None = None

    def __repr__(self) -> str:
        return (
            f"RunResult(run_id={self.run_id!r}, mode={self.mode!r}, status={self.status!r}, "
            f"orders={self.orders.height}, fills={self.fills.height}, "
            f"positions={self.positions.height})"
        )

    @property
    def currency(self) -> str | None:
        """The currency of the money statistics (PnL, fees): the account's, see
        :attr:`Statistics.currency`."""
        return self.statistics.currency

    @property
    def denied_orders(self) -> int:
        """The ``DENIED`` orders recorded (see :attr:`risk_denials` for every denial)."""
        if not self.orders.height:
            return 0
        return int((self.orders.get_column("status") == "DENIED").sum())

    @property
    def risk_denials(self) -> int:
        """Every order denied in the run: the ``DENIED`` orders recorded, and those of each
        denial streak counted past ``logging.denials_in_full``."""
        if self.denials.is_empty():
            return self.denied_orders
        counted = self.denials.select(pl.col("denials") - pl.col("recorded")).sum().item()
        return self.denied_orders + int(counted)

    @property
    def strategies(self) -> list[str]:
        """The class names of the run's strategies."""
        return [
            str(s.get("path", "")).rpartition(":")[2] for s in self.config.get("strategies", [])
        ]

    def formatted_statistics(self) -> list[tuple[str, str]]:
        """The statistics as (label, text), as people read them: money in its currency's
        precision with the currency named, fractions as percentages, ratios with two
        decimals, durations in days, hours and minutes. The data stays exact in
        :attr:`statistics`."""
        return self.statistics.formatted()

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
        if self.warnings is not None and self.warnings.total:
            head.append(("warnings", self.warnings.text()))
        stats = self.statistics
        if stats.start is not None and stats.end is not None:
            head.append(
                (
                    "data window",
                    f"{stats.start:%Y-%m-%d %H:%M:%S} to {stats.end:%Y-%m-%d %H:%M:%S} UTC "
                    f"({_format.duration(stats.end - stats.start)})",
                )
            )
        account = [
            (
                code,
                *("" if value is None else _format.money(value, code) for value in amounts),
            )
            for code, *amounts in self.account.select(
                "currency", "starting", "realized_pnl", "ending"
            ).iter_rows()
        ]
        notes = "".join(f"<li>{html.escape(note)}</li>" for note in stats.notes)
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
            + (f"<ul>{notes}</ul>" if notes else "")
            + "<h5>Account</h5>"
            + _html_table(("currency", "starting", "realized PnL", "ending"), account)
            + f"<h5>Orders (first {orders.height} of {self.orders.height:,})</h5>"
            + _html_table(tuple(columns), order_rows)
            + (f"<p>{more:,} more: <code>result.orders</code></p>" if more > 0 else "")
            + "</div>"
        )

    def summary(self) -> pl.DataFrame:
        """The statistics as a table: name, value (a number, money in :attr:`currency`,
        durations in seconds) and the text people read."""
        texts = dict(zip(STATISTIC_FIELDS, self.formatted_statistics(), strict=True))
        return pl.DataFrame(
            {
                "statistic": list(self.statistics),
                "value": [None if v is None else float(v) for v in self.statistics.values()],
                "text": [texts[f][1] for f in STATISTIC_FIELDS],
            },
            schema={"statistic": pl.String, "value": pl.Float64, "text": pl.String},
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


def _money(value: Decimal | None) -> str:
    if value is None:
        return "n/a"
    # Exact to the last significant digit, grouped: 100,000 / -4,318.83924.
    return f"{value.normalize():,f}"


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


_FILL_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "client_order_id": pl.String,
    "side": pl.String,
    "trade_id": pl.String,
    "last_qty": pl.Decimal(36, 18),
    "last_px": pl.Decimal(36, 18),
    "commission": pl.String,
    "liquidity_side": pl.String,
    "ts_event": pl.Int64,
    "instrument_id": pl.String,
    "strategy_id": pl.String,
    "position_id": pl.String,
}


def _fills(orders: pl.DataFrame, positions_of: pl.DataFrame) -> pl.DataFrame:
    """One row per fill, from the orders' ``fills`` JSON, with the order's instrument and
    strategy and the position the fill traded (from its ``OrderFilled`` event), in the order
    the fills happened (time, then the event log's order)."""
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
        return pl.DataFrame(schema=_FILL_SCHEMA)
    fills = (
        orders.select(
            "client_order_id",
            "side",
            "instrument_id",
            "strategy_id",
            pl.col("fills").str.json_decode(schema),
        )
        .explode("fills")
        .drop_nulls("fills")
        .unnest("fills")
        .with_columns(
            pl.col("last_qty").cast(pl.Decimal(36, 18)), pl.col("last_px").cast(pl.Decimal(36, 18))
        )
    )
    return (
        fills.join(positions_of, on=("client_order_id", "trade_id"), how="left")
        .sort("ts_event", "sequence", nulls_last=True, maintain_order=True)
        .select(*_FILL_SCHEMA)
    )


def _fill_positions(engine: Engine, run_id: str) -> pl.DataFrame:
    """Per fill (client order id, trade id): the position it traded and its place in the event
    log, from the ``OrderFilled`` events."""
    # The two fields extracted by the database (json_extract, ->>): parsing every payload in
    # Python took most of the time.
    payload = _EVENTS.c.payload
    query = (
        select(
            _EVENTS.c.id,
            _EVENTS.c.client_order_id,
            payload["trade_id"].as_string(),
            payload["position_id"].as_string(),
        )
        .where(_EVENTS.c.run_id == run_id, _EVENTS.c.event_type == "OrderFilled")
        .order_by(_EVENTS.c.id)
    )
    rows: dict[tuple[str, str], tuple[str | None, int]] = {}
    with engine.connect() as connection:
        for sequence, client_order_id, trade_id, position_id in connection.execute(query):
            rows.setdefault((client_order_id, str(trade_id)), (position_id, sequence))
    return pl.DataFrame(
        {
            "client_order_id": [k[0] for k in rows],
            "trade_id": [k[1] for k in rows],
            "position_id": [v[0] for v in rows.values()],
            "sequence": [v[1] for v in rows.values()],
        },
        schema={
            "client_order_id": pl.String,
            "trade_id": pl.String,
            "position_id": pl.String,
            "sequence": pl.Int64,
        },
    )


def _account(
    config: Mapping[str, Any], positions: pl.DataFrame, balances: pl.DataFrame
) -> pl.DataFrame:
    """Per currency: starting balance (the config's; null when it gives none in that
    currency), realized PnL of the positions settled in it (net of their commissions; null when
    none settle in it) and the ending balance the venue reported (its last ``AccountState``;
    null for a currency the venue never reported). PnL in a currency the account does not hold
    (JPY PnL on a USD account) is converted by the venue: :attr:`RunResult.statistics` gives
    it in the account's currency."""
    start = starting_balances(config)
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
            "starting": [start.get(c) for c in currencies],
            "realized_pnl": [pnl.get(c) for c in currencies],
            "ending": [ending.get(c) for c in currencies],
        },
        schema={
            "currency": pl.String,
            "starting": pl.Decimal(36, 18),
            "realized_pnl": pl.Decimal(36, 18),
            "ending": pl.Decimal(36, 18),
        },
    )


def _window(
    run: Run, orders: pl.DataFrame, fills: pl.DataFrame
) -> tuple[datetime, datetime] | None:
    """The market time the run covered when its catalog does not say: a paper or live run's
    wall-clock span, else its first order to its last fill."""
    if run.mode != "backtest":
        return (run.started_at, run.ended_at or datetime.now(UTC))
    if orders.is_empty() or fills.is_empty():
        return None
    first = orders.get_column("created_at").min()
    last_ns = fills.get_column("ts_event").max()
    if not isinstance(first, datetime) or not isinstance(last_ns, int):
        return None
    last = datetime.fromtimestamp(last_ns // 1_000_000_000, tz=UTC)
    return (first, max(first, last))


def load_run(
    engine: Engine,
    run_id: str,
    *,
    catalog: CatalogConfig | str | Path | None = None,
    currency: str | None = None,
) -> RunResult:
    """Everything recorded for ``run_id``, and its statistics.

    Prices (for marks, exchange rates and the benchmark) come from the catalog the run's config
    names, or ``catalog``; without them the statistics that need prices are None and
    :attr:`Statistics.notes` says why. ``currency`` reports money in another currency than the
    account's (converted at the run's own prices).
    """
    from liveexec.runs._prices import read_market_data  # noqa: PLC0415 (pyarrow on first use)

    with Session(engine) as session:
        run = session.exec(select(Run).where(Run.run_id == run_id)).scalars().first()  # type: ignore[call-overload,arg-type]
    if run is None:
        raise KeyError(f"no run {run_id!r} in this database")
    orders = read_table(engine, _ORDERS, run_id=run_id, order_by="created_at")
    positions = read_table(engine, _POSITIONS, run_id=run_id, order_by="opened_at")
    balances = read_table(engine, _BALANCES, run_id=run_id)
    fills = _fills(orders, _fill_positions(engine, run_id))
    config: dict[str, Any] = run.config
    statistics = compute_statistics(
        positions,
        fills,
        config,
        mode=run.mode,
        market=read_market_data(config, catalog),
        currency=currency,
        window=_window(run, orders, fills),
    )
    return RunResult(
        run_id=run.run_id,
        config_id=run.config_id,
        mode=run.mode,
        status=run.status,
        error=run.error,
        started_at=run.started_at,
        ended_at=run.ended_at,
        orders=orders,
        fills=fills,
        positions=positions,
        account=_account(config, positions, balances),
        statistics=statistics,
        config=config,
        denials=read_table(engine, _STREAKS, run_id=run_id, order_by="first_seq"),
    )


def load(
    run_id: str,
    *,
    database_url: str | None = None,
    catalog: CatalogConfig | str | Path | None = None,
    currency: str | None = None,
) -> RunResult:
    """Everything recorded for ``run_id`` in the database (default: the resolved default URL);
    ``catalog`` and ``currency`` as for :func:`load_run`."""
    engine = create_db_engine(resolve_database_url(override=database_url), create=False)
    try:
        with database_errors(engine, "reading the run"):
            require_current_schema(engine)
            return load_run(engine, run_id, catalog=catalog, currency=currency)
    finally:
        engine.dispose()
