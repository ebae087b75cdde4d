"""Paper runs resumed after a crash: the replay checkpoint and a resume count on ``runs``.

``replay_position`` (events replayed whose consequences are committed) and ``replay_ts_ns``
(the data time of the last of them) are written by the recorder in the same transaction as the
rows those events led to; ``resumes`` counts how many times the run was resumed.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("replay_position", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("replay_ts_ns", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("resumes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("resumes")
        batch.drop_column("replay_ts_ns")
        batch.drop_column("replay_position")
