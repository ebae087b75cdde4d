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
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from liveexec.db._types import ExactDecimal, JSONDocument, UTCDateTime

__all__ = [
    "MODES",
    "ORDER_SIDES",
    "ORDER_STATUSES",
    "RISK_DECISIONS",
    "RUN_STATUSES",
    "OrderEvent",
    "Run",
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
RUN_STATUSES = ("running", "completed", "failed", "interrupted")
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


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _id(length: int = 64, **kwargs: Any) -> Any:  # noqa: ANN401 (SQLModel Field)
    return Field(sa_column=Column(String(length), **kwargs))


def _money(*, nullable: bool = True) -> Any:  # noqa: ANN401
    return Field(sa_column=Column(ExactDecimal(), nullable=nullable))


def _time(*, nullable: bool = True) -> Any:  # noqa: ANN401
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable))


def _json(*, nullable: bool = True) -> Any:  # noqa: ANN401
    return Field(sa_column=Column(JSONDocument, nullable=nullable))


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
    )

    run_id: str = _id(36, primary_key=True)
    trader_id: str = _id(nullable=False)
    mode: str = _id(16, nullable=False)
    config_id: str = _id(64, nullable=False)
    config: dict[str, Any] = _json(nullable=False)  # secrets redacted
    liveexec_version: str = _id(32, nullable=False)
    nautilus_version: str = _id(32, nullable=False)
    started_at: datetime = _time(nullable=False)
    ended_at: datetime | None = _time()
    status: str = _id(16, nullable=False)
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


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
    )

    operation_id: str = _id(36, primary_key=True)
    run_id: str = _run_fk()
    trader_id: str = _id(nullable=False)
    strategy_id: str = _id(nullable=False)
    mode: str = _id(16, nullable=False)
    instrument_id: str = _id(nullable=False)
    venue: str = _id(32, nullable=False)
    client_order_id: str = _id(nullable=False)
    venue_order_id: str | None = _id(nullable=True)
    parent_order_id: str | None = _id(nullable=True)
    exec_spawn_id: str | None = _id(nullable=True)
    exec_algorithm_id: str | None = _id(nullable=True)
    side: str = _id(8, nullable=False)
    order_type: str = _id(32, nullable=False)
    time_in_force: str = _id(16, nullable=False)
    quantity: Decimal = _money(nullable=False)
    price: Decimal | None = _money()
    trigger_price: Decimal | None = _money()
    filled_qty: Decimal = _money(nullable=False)
    avg_px: Decimal | None = _money()
    status: str = _id(32, nullable=False)
    fills: list[dict[str, Any]] = _json(nullable=False)
    commissions: dict[str, str] = _json(nullable=False)  # currency -> exact decimal text
    risk_decision: str | None = _id(16, nullable=True)
    risk_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    route: dict[str, Any] | None = _json()  # chosen venue and why (smart order router)
    tags: list[str] = _json(nullable=False)
    created_at: datetime = _time(nullable=False)
    updated_at: datetime = _time(nullable=False)
    ts_last_event: datetime = _time(nullable=False)
    last_event_ns: int = Field(sa_column=Column(BigInteger, nullable=False))


class OrderEvent(SQLModel, table=True):
    """Append-only log of every order event; ``unified_orders`` can be rebuilt from it."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "run_id", "client_order_id", "ts_event"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    event_id: str = _id(36, nullable=False, unique=True)
    run_id: str = _run_fk()
    operation_id: str = _id(36, nullable=False)
    client_order_id: str = _id(nullable=False)
    strategy_id: str = _id(nullable=False)
    instrument_id: str = _id(nullable=False)
    event_type: str = _id(48, nullable=False)
    ts_event: int = Field(sa_column=Column(BigInteger, nullable=False))  # UNIX ns
    ts_init: int = Field(sa_column=Column(BigInteger, nullable=False))  # UNIX ns
    payload: dict[str, Any] = _json(nullable=False)
    recorded_at: datetime = _time(nullable=False)


class UnifiedPosition(SQLModel, table=True):
    """A position per run, trader, strategy and instrument (one per position id when HEDGING)."""

    __tablename__ = "unified_positions"
    __table_args__ = (
        UniqueConstraint("run_id", "position_id"),
        CheckConstraint("status IN ('OPEN', 'CLOSED')", name="status"),
        Index("ix_unified_positions_trader_status", "trader_id", "status"),
        Index("ix_unified_positions_instrument_status", "instrument_id", "status"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    run_id: str = _run_fk()
    trader_id: str = _id(nullable=False)
    strategy_id: str = _id(nullable=False)
    instrument_id: str = _id(nullable=False)
    position_id: str = _id(nullable=False)
    side: str = _id(8, nullable=False)  # LONG, SHORT or FLAT
    net_qty: Decimal = _money(nullable=False)  # signed
    peak_qty: Decimal = _money(nullable=False)
    avg_px_open: Decimal = _money(nullable=False)
    avg_px_close: Decimal | None = _money()
    realized_pnl: Decimal = _money(nullable=False)
    unrealized_pnl: Decimal | None = _money()
    currency: str = _id(16, nullable=False)  # of the PnL columns
    status: str = _id(8, nullable=False)
    opened_at: datetime = _time(nullable=False)
    closed_at: datetime | None = _time()
    updated_at: datetime = _time(nullable=False)
