"""Pre-trade risk engine state: trading states and halts.

``risk_halts``: manual halts of a trader (``liveexec halt`` / ``liveexec resume``), with who
halted, why, when, and who resumed. ``risk_state_changes``: each change of a trader's trading
state (ACTIVE, REDUCING, HALTED) with its reason, as the risk gate of a run saw it.
``risk_loss_marks``: per trader and mode, how far its PnL last stood below its peak and below
the UTC day's start, so that a restarted node keeps its drawdown and daily loss.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveexec.db import ExactDecimal, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_STATES = "'ACTIVE', 'REDUCING', 'HALTED'"


def _id_column() -> sa.Column[int]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "risk_halts",
        _id_column(),
        sa.Column("trader_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("halted_by", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("halted_at", UTCDateTime(), nullable=False),
        sa.Column("resumed_by", sa.String(length=255), nullable=True),
        sa.Column("resume_reason", sa.Text(), nullable=True),
        sa.Column("resumed_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("state IN ('REDUCING', 'HALTED')", name=op.f("ck_risk_halts_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_halts")),
    )
    # The gate's poll (every <= 1 s per running node): WHERE trader_id = :t AND resumed_at IS
    # NULL ORDER BY halted_at DESC LIMIT 1; and resume's UPDATE of the same rows.
    op.create_index(
        "ix_risk_halts_trader_resumed_halted",
        "risk_halts",
        ["trader_id", "resumed_at", "halted_at"],
    )
    op.create_table(
        "risk_state_changes",
        _id_column(),
        sa.Column("trader_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("previous_state", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(f"state IN ({_STATES})", name=op.f("ck_risk_state_changes_state")),
        sa.CheckConstraint(
            f"previous_state IN ({_STATES})", name=op.f("ck_risk_state_changes_previous_state")
        ),
        sa.CheckConstraint(
            "mode IN ('backtest', 'paper', 'live')", name=op.f("ck_risk_state_changes_mode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_state_changes")),
    )
    # The rebuild when a paper or live node starts: WHERE trader_id = :t AND mode = :m
    # ORDER BY id DESC LIMIT 1.
    op.create_index(
        "ix_risk_state_changes_trader_mode_id",
        "risk_state_changes",
        ["trader_id", "mode", "id"],
    )
    # A run's state changes: WHERE run_id = :r ORDER BY id.
    op.create_index("ix_risk_state_changes_run", "risk_state_changes", ["run_id", "id"])
    op.create_table(
        "risk_loss_marks",
        sa.Column("trader_id", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("drawdown", ExactDecimal(), nullable=False),
        sa.Column("daily_loss", ExactDecimal(), nullable=False),
        sa.Column("day", sa.BigInteger(), nullable=False),
        sa.Column("ts_event", sa.BigInteger(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "mode IN ('backtest', 'paper', 'live')", name=op.f("ck_risk_loss_marks_mode")
        ),
        # Serves the rebuild at start (WHERE trader_id = :t AND mode = :m) and the upsert.
        sa.PrimaryKeyConstraint("trader_id", "mode", name=op.f("pk_risk_loss_marks")),
    )


def downgrade() -> None:
    op.drop_table("risk_loss_marks")
    op.drop_index("ix_risk_state_changes_run", table_name="risk_state_changes")
    op.drop_index("ix_risk_state_changes_trader_mode_id", table_name="risk_state_changes")
    op.drop_table("risk_state_changes")
    op.drop_index("ix_risk_halts_trader_resumed_halted", table_name="risk_halts")
    op.drop_table("risk_halts")
