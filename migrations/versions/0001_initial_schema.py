"""Initial schema: runs, unified_orders, order_events, unified_positions.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveexec.db import ExactDecimal, UTCDateTime
from liveexec.db._types import JSONDocument

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_MODES = "mode IN ('backtest', 'paper', 'live')"
_ORDER_STATUSES = (
    "status IN ('INITIALIZED', 'DENIED', 'EMULATED', 'RELEASED', 'SUBMITTED', 'ACCEPTED', "
    "'REJECTED', 'CANCELED', 'EXPIRED', 'TRIGGERED', 'PENDING_UPDATE', 'PENDING_CANCEL', "
    "'PARTIALLY_FILLED', 'FILLED')"
)


def _id(name: str, length: int = 64, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _money(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, ExactDecimal(), nullable=nullable)


def _time(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, UTCDateTime(), nullable=nullable)


def _json(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, JSONDocument, nullable=nullable)


def _serial() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"], ["runs.run_id"], name=op.f(f"fk_{table}_run_id_runs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        _id("run_id", 36),
        _id("trader_id"),
        _id("mode", 16),
        _id("config_id"),
        _json("config"),
        _id("liveexec_version", 32),
        _id("nautilus_version", 32),
        _time("started_at"),
        _time("ended_at", nullable=True),
        _id("status", 16),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(_MODES, name=op.f("ck_runs_mode")),
        sa.CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'interrupted')",
            name=op.f("ck_runs_status"),
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
    )
    op.create_table(
        "order_events",
        _serial(),
        _id("event_id", 36),
        _id("run_id", 36),
        _id("operation_id", 36),
        _id("client_order_id"),
        _id("strategy_id"),
        _id("instrument_id"),
        _id("event_type", 48),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("ts_init", sa.BigInteger(), nullable=False),
        _json("payload"),
        _time("recorded_at"),
        _run_fk("order_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_order_events_event_id")),
    )
    op.create_table(
        "unified_orders",
        _id("operation_id", 36),
        _id("run_id", 36),
        _id("trader_id"),
        _id("strategy_id"),
        _id("mode", 16),
        _id("instrument_id"),
        _id("venue", 32),
        _id("client_order_id"),
        _id("venue_order_id", nullable=True),
        _id("parent_order_id", nullable=True),
        _id("exec_spawn_id", nullable=True),
        _id("exec_algorithm_id", nullable=True),
        _id("side", 8),
        _id("order_type", 32),
        _id("time_in_force", 16),
        _money("quantity"),
        _money("price", nullable=True),
        _money("trigger_price", nullable=True),
        _money("filled_qty"),
        _money("avg_px", nullable=True),
        _id("status", 32),
        _json("fills"),
        _json("commissions"),
        _id("risk_decision", 16, nullable=True),
        sa.Column("risk_reason", sa.Text(), nullable=True),
        _json("route", nullable=True),
        _json("tags"),
        _time("created_at"),
        _time("updated_at"),
        _time("ts_last_event"),
        sa.Column("last_event_ns", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(_MODES, name=op.f("ck_unified_orders_mode")),
        sa.CheckConstraint(
            "risk_decision IS NULL OR risk_decision IN ('approved', 'denied')",
            name=op.f("ck_unified_orders_risk_decision"),
        ),
        sa.CheckConstraint("side IN ('BUY', 'SELL')", name=op.f("ck_unified_orders_side")),
        sa.CheckConstraint(_ORDER_STATUSES, name=op.f("ck_unified_orders_status")),
        _run_fk("unified_orders"),
        sa.PrimaryKeyConstraint("operation_id", name=op.f("pk_unified_orders")),
        sa.UniqueConstraint(
            "run_id", "client_order_id", name=op.f("uq_unified_orders_run_id_client_order_id")
        ),
    )
    op.create_table(
        "unified_positions",
        _serial(),
        _id("run_id", 36),
        _id("trader_id"),
        _id("strategy_id"),
        _id("instrument_id"),
        _id("position_id"),
        _id("opening_order_id"),
        _id("side", 8),
        _money("net_qty"),
        _money("peak_qty"),
        _money("avg_px_open"),
        _money("avg_px_close", nullable=True),
        _money("realized_pnl"),
        _money("unrealized_pnl", nullable=True),
        _id("currency", 16),
        _id("status", 8),
        _time("opened_at"),
        _time("closed_at", nullable=True),
        _time("updated_at"),
        sa.CheckConstraint(
            "status IN ('OPEN', 'CLOSED')", name=op.f("ck_unified_positions_status")
        ),
        _run_fk("unified_positions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unified_positions")),
        sa.UniqueConstraint(
            "run_id",
            "position_id",
            "opening_order_id",
            name=op.f("uq_unified_positions_run_id_position_id_opening_order_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("unified_positions")
    op.drop_table("unified_orders")
    op.drop_table("order_events")
    op.drop_table("runs")
