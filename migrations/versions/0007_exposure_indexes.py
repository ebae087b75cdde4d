"""Partial indexes for the database-wide exposure check (``risk.database_exposure``).

The check's one statement (``liveexec/risk/_exposure.py``): the running paper/live runs of the
other traders, then the working orders and open positions of each of those runs, summed per
instrument::

    SELECT o.instrument_id, o.side, sum(o.quantity - o.filled_qty) FROM runs r
      JOIN unified_orders o ON o.run_id = r.run_id
     WHERE r.status = 'running' AND r.mode IN ('paper', 'live') AND r.trader_id <> :me
       AND o.status IN (<working statuses>) GROUP BY o.instrument_id, o.side
    UNION ALL
    SELECT p.instrument_id, 'POSITION', sum(p.net_qty) FROM runs r
      JOIN unified_positions p ON p.run_id = r.run_id
     WHERE r.status = 'running' AND ... AND p.status = 'OPEN' GROUP BY p.instrument_id

Each index is partial (only running runs, working orders, open positions: finished orders and
backtests' closed positions, nearly all of the rows, are not in them) and, on PostgreSQL,
covers the summed columns (``INCLUDE``) so the sums are index-only scans. SQLite has no
``INCLUDE``: the same partial indexes find the rows. ``tests/integration/test_indexes.py``
checks the plan on PostgreSQL; ``benchmarks/risk_cross_trader.py`` times it on 2M orders.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

# NautilusTrader's statuses of an order that may still fill (liveexec.db.WORKING_STATUSES,
# copied: a migration must not change when the code does).
_WORKING = (
    "status IN ('INITIALIZED', 'EMULATED', 'RELEASED', 'SUBMITTED', 'ACCEPTED', 'TRIGGERED', "
    "'PENDING_UPDATE', 'PENDING_CANCEL', 'PARTIALLY_FILLED')"
)


def upgrade() -> None:
    op.create_index(
        "ix_runs_running",
        "runs",
        ["trader_id", "mode", "run_id"],
        postgresql_where=sa.text("status = 'running'"),
        sqlite_where=sa.text("status = 'running'"),
    )
    op.create_index(
        "ix_unified_orders_working_exposure",
        "unified_orders",
        ["run_id"],
        postgresql_include=["instrument_id", "side", "quantity", "filled_qty"],
        postgresql_where=sa.text(_WORKING),
        sqlite_where=sa.text(_WORKING),
    )
    op.create_index(
        "ix_unified_positions_open_exposure",
        "unified_positions",
        ["run_id"],
        postgresql_include=["instrument_id", "net_qty"],
        postgresql_where=sa.text("status = 'OPEN'"),
        sqlite_where=sa.text("status = 'OPEN'"),
    )


def downgrade() -> None:
    op.drop_index("ix_unified_positions_open_exposure", table_name="unified_positions")
    op.drop_index("ix_unified_orders_working_exposure", table_name="unified_orders")
    op.drop_index("ix_runs_running", table_name="runs")
