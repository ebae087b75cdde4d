"""Indexes for the queries of the OMS, the pre-trade risk engine, the router and the analysis.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# (index name, table, columns): each with the query it serves. tests/integration/test_indexes.py
# runs EXPLAIN on each of these queries on PostgreSQL and checks the plan uses the index.
INDEXES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # OMS / risk: open orders of a strategy on an instrument
    #   WHERE trader_id = ? AND strategy_id = ? AND instrument_id = ? AND status IN (...)
    (
        "ix_unified_orders_open",
        "unified_orders",
        ("trader_id", "strategy_id", "instrument_id", "status"),
    ),
    # risk: order velocity, recent orders of a strategy
    #   WHERE strategy_id = ? AND created_at >= ?
    ("ix_unified_orders_strategy_created", "unified_orders", ("strategy_id", "created_at")),
    # risk: exposure per instrument from working orders
    #   SUM(quantity - filled_qty) WHERE instrument_id = ? AND status IN (...)
    ("ix_unified_orders_instrument_status", "unified_orders", ("instrument_id", "status")),
    # OMS reconciliation: an order by the id the venue gave it
    #   WHERE venue = ? AND venue_order_id = ?
    ("ix_unified_orders_venue_order", "unified_orders", ("venue", "venue_order_id")),
    # router / exec algorithms: the child orders of a parent (TWAP, VWAP, Iceberg slices)
    #   WHERE exec_spawn_id = ?
    ("ix_unified_orders_exec_spawn", "unified_orders", ("exec_spawn_id",)),
    # analysis: the orders of a run in time order
    #   WHERE run_id = ? ORDER BY created_at
    ("ix_unified_orders_run_created", "unified_orders", ("run_id", "created_at")),
    # audit / rebuild: the events of one order in time order
    #   WHERE run_id = ? AND client_order_id = ? ORDER BY ts_event
    ("ix_order_events_order", "order_events", ("run_id", "client_order_id", "ts_event")),
    # risk / ops: open positions of a trader
    #   WHERE trader_id = ? AND status = 'OPEN'
    ("ix_unified_positions_trader_status", "unified_positions", ("trader_id", "status")),
    # risk: exposure per instrument from open positions
    #   WHERE instrument_id = ? AND status = 'OPEN'
    ("ix_unified_positions_instrument_status", "unified_positions", ("instrument_id", "status")),
    # promotion: every run of one config (backtest -> paper -> live), newest first
    #   WHERE config_id = ? ORDER BY started_at DESC
    ("ix_runs_config_started", "runs", ("config_id", "started_at")),
    # `liveexec runs list`: the latest runs
    #   ORDER BY started_at DESC LIMIT ?
    ("ix_runs_started", "runs", ("started_at",)),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, list(columns))


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
