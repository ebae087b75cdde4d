"""Promotion decisions: the append-only audit trail of which config may trade live.

``promotions``: one row per decision on a ``config_id`` (approved, rejected, or a forced live
start), with the runs it was judged on, the metrics, the criteria, every failed criterion with
its value and limit, the evidence files and their sha256, who decided and when. Rows are never
updated or deleted: triggers refuse it on both databases; a later decision supersedes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from liveexec.db import UTCDateTime
from liveexec.db._types import JSONDocument

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_DECISIONS = "decision IN ('approved', 'rejected', 'forced')"
_REFUSAL = "promotions are append-only: record a new decision instead"


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("promotion_id", sa.String(length=36), nullable=False),
        sa.Column("config_id", sa.String(length=64), nullable=False),
        sa.Column("backtest_run_id", sa.String(length=36), nullable=True),
        sa.Column("paper_run_id", sa.String(length=36), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("metrics", JSONDocument, nullable=False),
        sa.Column("criteria", JSONDocument, nullable=False),
        sa.Column("failed", JSONDocument, nullable=False),
        sa.Column("evidence", JSONDocument, nullable=False),
        sa.Column("approver", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("liveexec_version", sa.String(length=32), nullable=False),
        sa.Column("decided_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(_DECISIONS, name=op.f("ck_promotions_decision")),
        sa.ForeignKeyConstraint(
            ["backtest_run_id"],
            ["runs.run_id"],
            name=op.f("fk_promotions_backtest_run_id_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["paper_run_id"], ["runs.run_id"], name=op.f("fk_promotions_paper_run_id_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        sa.UniqueConstraint("promotion_id", name=op.f("uq_promotions_promotion_id")),
    )
    # require_approved / promotions list --config-id: WHERE config_id = :c ORDER BY decided_at
    # DESC, id DESC (the newest decision on a config is the one in force).
    op.create_index("ix_promotions_config_decided", "promotions", ["config_id", "decided_at"])
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION liveexec_promotions_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER promotions_append_only BEFORE UPDATE OR DELETE ON promotions "
            "FOR EACH ROW EXECUTE FUNCTION liveexec_promotions_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER promotions_no_{action.lower()} BEFORE {action} ON promotions "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS promotions_append_only ON promotions")
        op.execute("DROP FUNCTION IF EXISTS liveexec_promotions_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS promotions_no_update")
        op.execute("DROP TRIGGER IF EXISTS promotions_no_delete")
    op.drop_index("ix_promotions_config_decided", table_name="promotions")
    op.drop_table("promotions")
