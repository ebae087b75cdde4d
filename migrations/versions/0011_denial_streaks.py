"""Denial streaks: repeated denials counted instead of recorded one order at a time.

``denial_streaks``: per run, each run of consecutive denials of one strategy's orders on one
instrument for one kind of reason, with how many there were and how many of them are recorded in
full as ``DENIED`` orders (the first ``logging.denials_in_full``). A strategy that keeps
submitting while its trader is halted wrote ~1,300 order rows in 6 s before this; it now writes
that many and a count. Rows of earlier runs are not rewritten: their denials are all orders.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveexec.db._types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "denial_streaks",
        sa.Column(
            "run_id",
            sa.String(36),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("first_seq", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("strategy_id", sa.String(64), nullable=False),
        sa.Column("instrument_id", sa.String(64), nullable=False),
        sa.Column("reason_kind", sa.Text(), nullable=False),
        sa.Column("first_reason", sa.Text(), nullable=False),
        sa.Column("last_reason", sa.Text(), nullable=False),
        sa.Column("first_client_order_id", sa.String(64), nullable=False),
        sa.Column("last_client_order_id", sa.String(64), nullable=False),
        sa.Column("first_denied_at", UTCDateTime(), nullable=False),
        sa.Column("last_denied_at", UTCDateTime(), nullable=False),
        sa.Column("denials", sa.BigInteger(), nullable=False),
        sa.Column("recorded", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("last_event_seq", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("denial_streaks")
