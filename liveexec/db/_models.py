"""The tables the OMS, the pre-trade risk engine and the smart order router share.

The schema itself changes only through Alembic migrations (``migrations/``); a test proves these
models and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from liveexec.db._types import ExactDecimal, JSONDocument, UTCDateTime

__all__ = [
    "MODES",
    "ORDER_SIDES",
    "ORDER_STATUSES",
    "PROMOTION_DECISIONS",
    "RISK_DECISIONS",
    "RUN_STATUSES",
    "TRADING_STATES",
    "WORKING_STATUSES",
    "AccountBalance",
    "LiveLease",
    "OrderEvent",
    "Promotion",
    "RiskHalt",
    "RiskLossMark",
    "RiskStateChange",
    "Run",
    "RunExposure",
    "UnifiedOrder",
    "UnifiedPosition",
    "metadata",
]

# Constraint names follow one convention so migrations can drop them on every database.
metadata: MetaData = SQLModel.metadata
metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MODES = ("backtest", "paper", "live")
RUN_STATUSES = ("running", "completed", "failed", "interrupted", "abandoned")
ORDER_SIDES = ("BUY", "SELL")
RISK_DECISIONS = ("approved", "denied")
# NautilusTrader's OrderStatus names.
ORDER_STATUSES = (
    "INITIALIZED",
    "DENIED",
    "EMULATED",
    "RELEASED",
    "SUBMITTED",
    "ACCEPTED",
    "REJECTED",
    "CANCELED",
    "EXPIRED",
    "TRIGGERED",
    "PENDING_UPDATE",
    "PENDING_CANCEL",
    "PARTIALLY_FILLED",
    "FILLED",
)

# The statuses of an order that may still fill (the database-wide exposure check counts them).
WORKING_STATUSES = (
    "INITIALIZED",
    "EMULATED",
    "RELEASED",
    "SUBMITTED",
    "ACCEPTED",
    "TRIGGERED",
    "PENDING_UPDATE",
    "PENDING_CANCEL",
    "PARTIALLY_FILLED",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _optional(nullable: bool) -> dict[str, Any]:
    return {"default": None} if nullable else {}


def _id(length: int = 64, *, nullable: bool = False, **kwargs: Any) -> Any:  # noqa: ANN401 (SQLModel Field)
    return Field(
        sa_column=Column(String(length), nullable=nullable, **kwargs), **_optional(nullable)
    )


def _money(*, nullable: bool = False) -> Any:  # noqa: ANN401
    return Field(sa_column=Column(ExactDecimal(), nullable=nullable), **_optional(nullable))


def _time(*, nullable: bool = False) -> Any:  # noqa: ANN401
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable), **_optional(nullable))


def _json(*, nullable: bool = False) -> Any:  # noqa: ANN401
    return Field(sa_column=Column(JSONDocument, nullable=nullable), **_optional(nullable))


def _sequence() -> Any:  # noqa: ANN401
    """An event's position in its run; 0 for rows written before revision 0003."""
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


def _run_fk() -> Any:  # noqa: ANN401
    return Field(
        sa_column=Column(String(36), ForeignKey("runs.run_id", ondelete="CASCADE"), nullable=False)
    )


class Run(SQLModel, table=True):
    """One backtest, paper or live run of one config."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("mode", MODES), name="mode"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        # Indexes: see migrations/versions/0002_query_indexes.py for the query each one serves.
        Index("ix_runs_config_started", "config_id", "started_at"),
        Index("ix_runs_started", "started_at"),
        # The database-wide exposure check's runs (0007): the running ones, partial.
        Index(
            "ix_runs_running",
            "trader_id",
            "mode",
            "run_id",
            postgresql_where=text("status = 'running'"),
            sqlite_where=text("status = 'running'"),
        ),
    )

    run_id: str = _id(36, primary_key=True)
    trader_id: str = _id()
    mode: str = _id(16)
    config_id: str = _id(64)
    config: dict[str, Any] = _json()  # secrets redacted
    liveexec_version: str = _id(32)
    nautilus_version: str = _id(32)
    started_at: datetime = _time()
    ended_at: datetime | None = _time(nullable=True)
    status: str = _id(16)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Who runs it: a 'running' row whose owner is gone is abandoned (liveexec.runs.reap).
    owner_host: str | None = _id(255, nullable=True)
    owner_pid: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    owner_start: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    heartbeat_at: datetime | None = _time(nullable=True)
    # Paper runs: how many replayed events (and the data time of the last) have their
    # consequences committed; written in the same transaction as the recorder's rows, so a run
    # resumed after a crash replays from exactly there (liveexec.trading._resume).
    replay_position: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    replay_ts_ns: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # How many times the run was resumed after its process died.
    resumes: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))


class UnifiedOrder(SQLModel, table=True):
    """The current state of one order, whichever component created, checked or routed it."""

    __tablename__ = "unified_orders"
    __table_args__ = (
        UniqueConstraint("run_id", "client_order_id"),
        CheckConstraint(_in("mode", MODES), name="mode"),
        CheckConstraint(_in("side", ORDER_SIDES), name="side"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint(
            f"risk_decision IS NULL OR {_in('risk_decision', RISK_DECISIONS)}", name="risk_decision"
        ),
        Index("ix_unified_orders_open", "trader_id", "strategy_id", "instrument_id", "status"),
        Index("ix_unified_orders_strategy_created", "strategy_id", "created_at"),
        Index("ix_unified_orders_instrument_status", "instrument_id", "status"),
        Index("ix_unified_orders_venue_order", "venue", "venue_order_id"),
        Index("ix_unified_orders_exec_spawn", "exec_spawn_id"),
        Index("ix_unified_orders_run_created", "run_id", "created_at"),
        # The database-wide exposure check (0007): the working orders of a run, covering the
        # summed columns on PostgreSQL (index-only scan), partial on both databases.
        Index(
            "ix_unified_orders_working_exposure",
            "run_id",
            postgresql_include=["instrument_id", "side", "quantity", "filled_qty"],
            postgresql_where=text(_in("status", WORKING_STATUSES)),
            sqlite_where=text(_in("status", WORKING_STATUSES)),
        ),
    )

    operation_id: str = _id(36, primary_key=True)
    run_id: str = _run_fk()
    trader_id: str = _id()
    strategy_id: str = _id()
    mode: str = _id(16)
    instrument_id: str = _id()
    venue: str = _id(32)
    client_order_id: str = _id()
    venue_order_id: str | None = _id(nullable=True)
    parent_order_id: str | None = _id(nullable=True)
    exec_spawn_id: str | None = _id(nullable=True)
    exec_algorithm_id: str | None = _id(nullable=True)
    side: str = _id(8)
    order_type: str = _id(32)
    time_in_force: str = _id(16)
    quantity: Decimal = _money()
    price: Decimal | None = _money(nullable=True)
    trigger_price: Decimal | None = _money(nullable=True)
    filled_qty: Decimal = _money()
    avg_px: Decimal | None = _money(nullable=True)
    status: str = _id(32)
    fills: list[dict[str, Any]] = _json()
    commissions: dict[str, str] = _json()  # currency -> exact decimal text
    risk_decision: str | None = _id(16, nullable=True)
    risk_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    route: dict[str, Any] | None = _json(nullable=True)  # chosen venue and why (smart order router)
    tags: list[str] = _json()
    created_at: datetime = _time()
    updated_at: datetime = _time()
    ts_last_event: datetime = _time()
    last_event_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    # With last_event_ns, the total order "newest wins" uses: never the arrival of a write.
    last_event_seq: int = _sequence()


class OrderEvent(SQLModel, table=True):
    """Append-only log of every order event; ``unified_orders`` can be rebuilt from it."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "run_id", "client_order_id", "ts_event"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    event_id: str = _id(36, unique=True)
    run_id: str = _run_fk()
    operation_id: str = _id(36)
    client_order_id: str = _id()
    strategy_id: str = _id()
    instrument_id: str = _id()
    event_type: str = _id(48)
    ts_event: int = Field(sa_column=Column(BigInteger, nullable=False))  # UNIX ns
    ts_init: int = Field(sa_column=Column(BigInteger, nullable=False))  # UNIX ns
    payload: dict[str, Any] = _json()
    recorded_at: datetime = _time()


class UnifiedPosition(SQLModel, table=True):
    """One position cycle (open to flat) per run, trader, strategy and instrument."""

    __tablename__ = "unified_positions"
    __table_args__ = (
        # A NETTING position id is reused by every open/close cycle: the opening order tells
        # the cycles apart.
        UniqueConstraint("run_id", "position_id", "opening_order_id"),
        CheckConstraint("status IN ('OPEN', 'CLOSED')", name="status"),
        Index("ix_unified_positions_trader_status", "trader_id", "status"),
        Index("ix_unified_positions_instrument_status", "instrument_id", "status"),
        # The database-wide exposure check (0007): the open positions of a run.
        Index(
            "ix_unified_positions_open_exposure",
            "run_id",
            postgresql_include=["instrument_id", "net_qty"],
            postgresql_where=text("status = 'OPEN'"),
            sqlite_where=text("status = 'OPEN'"),
        ),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    run_id: str = _run_fk()
    trader_id: str = _id()
    strategy_id: str = _id()
    instrument_id: str = _id()
    position_id: str = _id()
    opening_order_id: str = _id()
    side: str = _id(8)  # LONG, SHORT or FLAT
    net_qty: Decimal = _money()  # signed
    peak_qty: Decimal = _money()
    avg_px_open: Decimal = _money()
    avg_px_close: Decimal | None = _money(nullable=True)
    realized_pnl: Decimal = _money()
    unrealized_pnl: Decimal | None = _money(nullable=True)
    currency: str = _id(16)  # of the PnL columns
    status: str = _id(8)
    opened_at: datetime = _time()
    closed_at: datetime | None = _time(nullable=True)
    updated_at: datetime = _time()
    closing_order_id: str | None = _id(nullable=True)
    last_event_ns: int = _sequence()
    last_event_seq: int = _sequence()


class AccountBalance(SQLModel, table=True):
    """An account's balance in one currency at the end of its newest ``AccountState`` event.

    What the venue (simulated or real) says the account holds, not a sum of PnL: FX PnL in the
    quote currency converted into a single-currency account's base currency shows here as it
    does in NautilusTrader.
    """

    __tablename__ = "account_balances"
    __table_args__ = (UniqueConstraint("run_id", "account_id", "currency"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    run_id: str = _run_fk()
    account_id: str = _id()
    account_type: str = _id(16)  # CASH, MARGIN or BETTING
    base_currency: str | None = _id(16, nullable=True)  # single-currency accounts
    currency: str = _id(16)
    total: Decimal = _money()
    locked: Decimal = _money()
    free: Decimal = _money()
    # Newest wins by (event time in UNIX ns, the event's sequence in the run), as for orders.
    last_event_ns: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_event_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _time()


class DenialStreak(SQLModel, table=True):
    """Consecutive denials of one strategy's orders on one instrument for one kind of reason
    (migration 0011): how many, when, and how many of them ``unified_orders`` holds in full.

    Written by the recorder with the orders: the first ``logging.denials_in_full`` denials of a
    streak are recorded as orders (``DENIED``, with their reason); the rest are only counted
    here, so a strategy that keeps submitting while halted cannot flood the tables. A streak
    ends when an order of that strategy and instrument passes the risk checks (is submitted or
    emulated) or is denied for another kind of reason (the reason with its numbers taken out).
    Counted by the event order of the run, so a backtest and its paper replay record the same.
    """

    __tablename__ = "denial_streaks"

    run_id: str = Field(
        sa_column=Column(
            String(36),
            ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    # The run's sequence number of the streak's first denial (liveexec.recording numbers every
    # event of a run as it arrives).
    first_seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    strategy_id: str = _id()
    instrument_id: str = _id()
    reason_kind: str = Field(sa_column=Column(Text, nullable=False))
    first_reason: str = Field(sa_column=Column(Text, nullable=False))
    last_reason: str = Field(sa_column=Column(Text, nullable=False))
    first_client_order_id: str = _id()
    last_client_order_id: str = _id()
    first_denied_at: datetime = _time()
    last_denied_at: datetime = _time()
    denials: int = Field(sa_column=Column(BigInteger, nullable=False))
    recorded: int = Field(sa_column=Column(BigInteger, nullable=False))  # rows in unified_orders
    open: bool = Field(sa_column=Column(Boolean, nullable=False))
    # The sequence of the streak's latest change: newest wins, as for orders.
    last_event_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")


class RiskHalt(SQLModel, table=True):
    """A manual halt of a trader (``liveexec halt``), in force until ``resumed_at`` is set."""

    __tablename__ = "risk_halts"
    __table_args__ = (
        CheckConstraint("state IN ('REDUCING', 'HALTED')", name="state"),
        # Serves the gate's poll: SELECT ... FROM risk_halts WHERE trader_id = :t AND
        # resumed_at IS NULL ORDER BY halted_at DESC LIMIT 1 (and resume's UPDATE).
        Index("ix_risk_halts_trader_resumed_halted", "trader_id", "resumed_at", "halted_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    trader_id: str = _id()
    state: str = _id(16)  # HALTED, or REDUCING (only reducing orders pass)
    halted_by: str = _id(255)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    halted_at: datetime = _time()
    resumed_by: str | None = _id(255, nullable=True)
    resume_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    resumed_at: datetime | None = _time(nullable=True)


class RiskStateChange(SQLModel, table=True):
    """A change of a trader's trading state (ACTIVE, REDUCING, HALTED) seen by a risk gate."""

    __tablename__ = "risk_state_changes"
    __table_args__ = (
        CheckConstraint(_in("state", TRADING_STATES), name="state"),
        CheckConstraint(_in("previous_state", TRADING_STATES), name="previous_state"),
        CheckConstraint(_in("mode", MODES), name="mode"),
        # Serves the rebuild at start: SELECT ... FROM risk_state_changes WHERE trader_id = :t
        # AND mode = :m ORDER BY id DESC LIMIT 1.
        Index("ix_risk_state_changes_trader_mode_id", "trader_id", "mode", "id"),
        # Serves reading a run's changes: WHERE run_id = :r ORDER BY id.
        Index("ix_risk_state_changes_run", "run_id", "id"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    trader_id: str = _id()
    run_id: str | None = _id(36, nullable=True)
    mode: str = _id(16)
    previous_state: str = _id(16)
    state: str = _id(16)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    ts_event: int = Field(sa_column=Column(BigInteger, nullable=False))  # node clock, UNIX ns
    recorded_at: datetime = _time()


class RiskLossMark(SQLModel, table=True):
    """Where a trader's PnL stood against its loss limits when a risk gate last recorded it:
    how far below its peak (drawdown) and below the UTC day's start (daily loss). Differences,
    not levels, so that they hold whatever PnL the restarted node counts from."""

    __tablename__ = "risk_loss_marks"
    __table_args__ = (CheckConstraint(_in("mode", MODES), name="mode"),)

    # The primary key serves the rebuild at start: SELECT ... FROM risk_loss_marks WHERE
    # trader_id = :t AND mode = :m; and the gate's upsert of the same row.
    trader_id: str = Field(sa_column=Column(String(64), primary_key=True))
    mode: str = Field(sa_column=Column(String(16), primary_key=True))
    run_id: str | None = _id(36, nullable=True)
    drawdown: Decimal = _money()
    daily_loss: Decimal = _money()
    day: int = Field(sa_column=Column(BigInteger, nullable=False))  # UTC days since 1970
    ts_event: int = Field(sa_column=Column(BigInteger, nullable=False))  # node clock, UNIX ns
    recorded_at: datetime = _time()


def _sum() -> Any:  # noqa: ANN401 (SQLModel Field)
    # Unbounded numeric: a sum of NUMERIC(36,18) values is exact and never overflows a column.
    return Field(
        sa_column=Column(Numeric(asdecimal=True).with_variant(String(80), "sqlite"), nullable=False)
    )


class RunExposure(SQLModel, table=True):
    """Per paper/live run and instrument: the sums the database-wide exposure check reads
    (migration 0009). PostgreSQL only: triggers on ``unified_orders`` and ``unified_positions``
    keep it in the same transaction as the rows, so at every commit it equals the sum over them
    (working orders' leaves quantity per side, open positions' net quantity, and how many of
    each: a row with none is deleted). Never written by liveexec itself; empty on SQLite,
    whose check sums the rows (it has no exact decimal arithmetic for a trigger)."""

    __tablename__ = "run_exposure"

    # The primary key serves the check: per running run of the others, its instruments' rows.
    run_id: str = Field(sa_column=Column(String(36), primary_key=True))
    instrument_id: str = Field(sa_column=Column(String(64), primary_key=True))
    net_qty: Decimal = _sum()
    working_buys: Decimal = _sum()
    working_sells: Decimal = _sum()
    working_orders: int = Field(sa_column=Column(Integer, nullable=False))
    open_positions: int = Field(sa_column=Column(Integer, nullable=False))


PROMOTION_DECISIONS = ("approved", "rejected", "forced")


class Promotion(SQLModel, table=True):
    """One decision on whether a config may trade live. Append-only and hash-chained (migration
    0010, liveexec.db._chain): rows are ordered by ``seq``, each holds the hash of the row
    before it, triggers refuse UPDATE, DELETE, TRUNCATE and an INSERT that does not extend the
    chain; an approval counts only when signed by a trusted approver's key (liveexec.promotion).
    The newest decision on a ``config_id`` in chain order is the one in force."""

    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint(_in("decision", PROMOTION_DECISIONS), name="decision"),
        # One successor per row, one row per place: the chain cannot fork.
        UniqueConstraint("seq"),
        UniqueConstraint("prev_hash"),
        UniqueConstraint("row_hash"),
        # Serves the decision in force and `promotions list --config-id`: WHERE config_id = :c
        # ORDER BY seq DESC.
        Index("ix_promotions_config_seq", "config_id", "seq"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    format: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    prev_hash: str = _id(64)
    row_hash: str = _id(64)
    promotion_id: str = _id(36, unique=True)
    config_id: str = _id(64)
    backtest_run_id: str | None = Field(
        default=None, sa_column=Column(String(36), ForeignKey("runs.run_id"), nullable=True)
    )
    paper_run_id: str | None = Field(
        default=None, sa_column=Column(String(36), ForeignKey("runs.run_id"), nullable=True)
    )
    decision: str = _id(16)
    # What the decision binds: config_id, the components' source hashes, versions, the risk
    # section (liveexec.promotion._binding), and the runs' content hashes.
    binding: dict[str, Any] = _json()
    metrics: dict[str, Any] = _json()
    criteria: dict[str, Any] = _json()
    failed: list[dict[str, Any]] = _json()  # [{criterion, value, limit}]
    evidence: list[dict[str, Any]] = _json()  # [{path, sha256, bytes}]
    approver: str = _id(255)
    # The approver's Ed25519 public key (base64 of its 32 bytes) and signature over the row's
    # hash (base64 of 64 bytes); null for an unsigned decision, which approves nothing.
    approver_key: str | None = _id(44, nullable=True)
    signature: str | None = _id(88, nullable=True)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    liveexec_version: str = _id(32)
    decided_at: datetime = _time()


class LiveLease(SQLModel, table=True):
    """Who runs a paper or live node for a trader id against this database (one at a time), and
    the stop request an operator left for it (``liveexec stop TRADER_ID``).

    The row exists while a node runs; the node refreshes ``heartbeat_at`` and polls
    ``stop_requested_at``. A row whose owner died (its process gone on this host, or its
    heartbeat stale) is taken over by the next node (liveexec.runs._lease).
    """

    __tablename__ = "live_leases"
    __table_args__ = (CheckConstraint(_in("mode", MODES), name="mode"),)
    # Every query is by trader id (acquire, heartbeat, stop request, release): the primary key.

    trader_id: str = _id(64, primary_key=True)
    lease_id: str = _id(36)  # a new one per holder: heartbeats and takeovers compare it
    run_id: str | None = _id(36, nullable=True)
    mode: str = _id(16)
    owner_host: str = _id(255)
    owner_pid: int = Field(sa_column=Column(Integer, nullable=False))
    owner_start: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    acquired_at: datetime = _time()
    heartbeat_at: datetime = _time()
    stop_requested_at: datetime | None = _time(nullable=True)
    stop_requested_by: str | None = _id(255, nullable=True)
