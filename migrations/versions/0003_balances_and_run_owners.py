"""Account balances, who owns a run, and the order that closed a position.

``account_balances``: each simulated or real account's balance per currency, newest state.
``runs`` gains its owner (host, pid, process start) and a heartbeat, and the status
``abandoned`` for a run whose owner died without closing it. ``unified_positions`` gains
``closing_order_id``. Orders, positions and balances gain the sequence of their newest event
within the run, so that a replayed write never overwrites a newer state (newest wins by event
time, then sequence: never by the order in which writes arrive).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveexec.db import ExactDecimal, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


_OLD_STATUSES = "status IN ('running', 'completed', 'failed', 'interrupted')"
_NEW_STATUSES = "status IN ('running', 'completed', 'failed', 'interrupted', 'abandoned')"


def _sequence(name: str) -> sa.Column[int]:
    # Rows written before this revision count as older than any new write.
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def upgrade() -> None:
    with op.batch_alter_table("unified_positions") as batch:
        batch.add_column(sa.Column("closing_order_id", sa.String(length=64), nullable=True))
        batch.add_column(_sequence("last_event_ns"))
        batch.add_column(_sequence("last_event_seq"))
    with op.batch_alter_table("unified_orders") as batch:
        batch.add_column(_sequence("last_event_seq"))
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("owner_host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("owner_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("owner_start", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", UTCDateTime(), nullable=True))
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_status"), _NEW_STATUSES)
    op.create_table(
        "account_balances",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("base_currency", sa.String(length=16), nullable=True),
        sa.Column("currency", sa.String(length=16), nullable=False),
        sa.Column("total", ExactDecimal(), nullable=False),
        sa.Column("locked", ExactDecimal(), nullable=False),
        sa.Column("free", ExactDecimal(), nullable=False),
        sa.Column("last_event_ns", sa.BigInteger(), nullable=False),
        sa.Column("last_event_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
            name=op.f("fk_account_balances_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_balances")),
        sa.UniqueConstraint(
            "run_id",
            "account_id",
            "currency",
            name=op.f("uq_account_balances_run_id_account_id_currency"),
        ),
    )


def downgrade() -> None:
    op.drop_table("account_balances")
    op.execute("UPDATE runs SET status = 'failed' WHERE status = 'abandoned'")
    with op.batch_alter_table("runs") as batch:
        batch.drop_constraint(op.f("ck_runs_status"), type_="check")
        batch.create_check_constraint(op.f("ck_runs_status"), _OLD_STATUSES)
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner_start")
        batch.drop_column("owner_pid")
        batch.drop_column("owner_host")
    with op.batch_alter_table("unified_orders") as batch:
        batch.drop_column("last_event_seq")
    with op.batch_alter_table("unified_positions") as batch:
        batch.drop_column("last_event_seq")
        batch.drop_column("last_event_ns")
        batch.drop_column("closing_order_id")
