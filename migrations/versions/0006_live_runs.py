"""Paper and live runs: ownership leases and stop requests.

``live_leases``: one row per trader id while a paper or live node runs against this database:
its owner (host, pid, process start time, run id), a heartbeat, and the stop request an
operator left for it (``liveexec stop TRADER_ID``). A second node for the same trader id is
refused while the owner lives; a dead owner's row is taken over.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveexec.db import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Every query is by trader id (acquire, heartbeat, stop request, release): the primary key
    # serves them all, so there is no other index.
    op.create_table(
        "live_leases",
        sa.Column("trader_id", sa.String(length=64), nullable=False),
        sa.Column("lease_id", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=True),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("owner_host", sa.String(length=255), nullable=False),
        sa.Column("owner_pid", sa.Integer(), nullable=False),
        sa.Column("owner_start", sa.BigInteger(), nullable=True),
        sa.Column("acquired_at", UTCDateTime(), nullable=False),
        sa.Column("heartbeat_at", UTCDateTime(), nullable=False),
        sa.Column("stop_requested_at", UTCDateTime(), nullable=True),
        sa.Column("stop_requested_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "mode IN ('backtest', 'paper', 'live')", name=op.f("ck_live_leases_mode")
        ),
        sa.PrimaryKeyConstraint("trader_id", name=op.f("pk_live_leases")),
    )


def downgrade() -> None:
    op.drop_table("live_leases")
