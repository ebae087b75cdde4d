"""Per-run exposure sums for the database-wide exposure check (``risk.database_exposure``).

``run_exposure``: per paper/live run and instrument, the working orders' leaves quantity per
side, the open positions' net quantity, and how many working orders and open positions there
are. On PostgreSQL, row triggers on ``unified_orders`` and ``unified_positions`` keep it in the
same transaction as the rows they change, so every snapshot sees it equal to the sum over those
rows (``tests/risk/test_run_exposure.py`` proves it after real paper runs); a row whose counts
fall to zero is deleted, so the table holds only what works or is open. The check then reads a
few rows per running run of the other traders (its primary key) instead of summing every
working order: on 2M orders with 10,000 of them counted, ~10x fewer rows to aggregate
(``benchmarks/risk_cross_trader.py``). The existing rows are summed into it here.

Backtests never count: an order row's ``mode`` is its run's; a position's run is looked up when
it opens (an open position that closes or changes finds its row, or none for a backtest). No
foreign key to ``runs``: deleting a run deletes its orders and positions, whose triggers take
their sums back out (a cascade to this table would race them).

SQLite: the table exists (one schema) and stays empty; its check sums the rows through the
partial indexes of 0007 (SQLite has no exact decimal arithmetic for a trigger to use).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

# NautilusTrader's statuses of an order that may still fill (liveexec.db.WORKING_STATUSES,
# copied: a migration must not change when the code does).
_WORKING = (
    "('INITIALIZED', 'EMULATED', 'RELEASED', 'SUBMITTED', 'ACCEPTED', 'TRIGGERED', "
    "'PENDING_UPDATE', 'PENDING_CANCEL', 'PARTIALLY_FILLED')"
)


def _sum(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.Numeric(asdecimal=True).with_variant(sa.String(80), "sqlite"), nullable=False
    )


# Adds deltas to one (run, instrument) row, creating it; deletes it when nothing is left.
_ADD = """
CREATE FUNCTION liveexec_run_exposure_add(
    p_run varchar, p_instrument varchar, p_net numeric, p_buys numeric, p_sells numeric,
    p_orders integer, p_positions integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    left_count integer;
BEGIN
    INSERT INTO run_exposure AS e (run_id, instrument_id, net_qty, working_buys, working_sells,
                                   working_orders, open_positions)
    VALUES (p_run, p_instrument, p_net, p_buys, p_sells, p_orders, p_positions)
    ON CONFLICT (run_id, instrument_id) DO UPDATE SET
        net_qty = e.net_qty + EXCLUDED.net_qty,
        working_buys = e.working_buys + EXCLUDED.working_buys,
        working_sells = e.working_sells + EXCLUDED.working_sells,
        working_orders = e.working_orders + EXCLUDED.working_orders,
        open_positions = e.open_positions + EXCLUDED.open_positions
    RETURNING e.working_orders + e.open_positions INTO left_count;
    IF left_count = 0 THEN
        DELETE FROM run_exposure WHERE run_id = p_run AND instrument_id = p_instrument;
    END IF;
END $$
"""

# Same, for a row that exists only if the run counts (an open position of a backtest has none).
_TAKE = """
CREATE FUNCTION liveexec_run_exposure_take(
    p_run varchar, p_instrument varchar, p_net numeric, p_positions integer
) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    left_count integer;
BEGIN
    UPDATE run_exposure SET net_qty = net_qty - p_net, open_positions = open_positions - p_positions
     WHERE run_id = p_run AND instrument_id = p_instrument
    RETURNING working_orders + open_positions INTO left_count;
    IF left_count = 0 THEN
        DELETE FROM run_exposure WHERE run_id = p_run AND instrument_id = p_instrument;
    END IF;
END $$
"""

_ORDERS = f"""
CREATE FUNCTION liveexec_run_exposure_orders() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    buys numeric := 0;
    sells numeric := 0;
    orders integer := 0;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.mode <> 'backtest' AND OLD.status IN {_WORKING} THEN
        IF TG_OP = 'UPDATE' AND (OLD.run_id <> NEW.run_id OR OLD.instrument_id <> NEW.instrument_id)
        THEN
            PERFORM liveexec_run_exposure_add(
                OLD.run_id, OLD.instrument_id, 0,
                CASE WHEN OLD.side = 'BUY' THEN OLD.filled_qty - OLD.quantity ELSE 0 END,
                CASE WHEN OLD.side = 'SELL' THEN OLD.filled_qty - OLD.quantity ELSE 0 END, -1, 0);
        ELSE
            IF OLD.side = 'BUY' THEN
                buys := OLD.filled_qty - OLD.quantity;
            ELSE
                sells := OLD.filled_qty - OLD.quantity;
            END IF;
            orders := -1;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.mode <> 'backtest' AND NEW.status IN {_WORKING} THEN
        IF NEW.side = 'BUY' THEN
            buys := buys + NEW.quantity - NEW.filled_qty;
        ELSE
            sells := sells + NEW.quantity - NEW.filled_qty;
        END IF;
        orders := orders + 1;
    END IF;
    IF orders <> 0 OR buys <> 0 OR sells <> 0 THEN
        IF TG_OP = 'DELETE' THEN
            PERFORM liveexec_run_exposure_add(OLD.run_id, OLD.instrument_id, 0, buys, sells,
                                              orders, 0);
        ELSE
            PERFORM liveexec_run_exposure_add(NEW.run_id, NEW.instrument_id, 0, buys, sells,
                                              orders, 0);
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

_POSITIONS = """
CREATE FUNCTION liveexec_run_exposure_positions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    was_open boolean := TG_OP <> 'INSERT' AND OLD.status = 'OPEN';
    is_open boolean := TG_OP <> 'DELETE' AND NEW.status = 'OPEN';
BEGIN
    IF was_open AND is_open AND OLD.run_id = NEW.run_id
       AND OLD.instrument_id = NEW.instrument_id THEN
        IF OLD.net_qty <> NEW.net_qty THEN
            PERFORM liveexec_run_exposure_take(OLD.run_id, OLD.instrument_id,
                                               OLD.net_qty - NEW.net_qty, 0);
        END IF;
        RETURN NULL;
    END IF;
    IF was_open THEN
        PERFORM liveexec_run_exposure_take(OLD.run_id, OLD.instrument_id, OLD.net_qty, 1);
    END IF;
    IF is_open AND EXISTS (
        SELECT 1 FROM runs WHERE run_id = NEW.run_id AND mode <> 'backtest'
    ) THEN
        PERFORM liveexec_run_exposure_add(NEW.run_id, NEW.instrument_id, NEW.net_qty, 0, 0, 0, 1);
    END IF;
    RETURN NULL;
END $$
"""

_TRIGGERS = (
    # The WHEN clauses keep backtests' orders and rows the check never counts off the function.
    "CREATE TRIGGER run_exposure_orders_insert AFTER INSERT ON unified_orders FOR EACH ROW "
    f"WHEN (NEW.mode <> 'backtest' AND NEW.status IN {_WORKING}) "
    "EXECUTE FUNCTION liveexec_run_exposure_orders()",
    "CREATE TRIGGER run_exposure_orders_update AFTER UPDATE ON unified_orders FOR EACH ROW "
    "WHEN ((OLD.mode <> 'backtest' OR NEW.mode <> 'backtest') "
    f"AND (OLD.status IN {_WORKING} OR NEW.status IN {_WORKING}) "
    "AND (OLD.status, OLD.side, OLD.quantity, OLD.filled_qty, OLD.run_id, OLD.instrument_id) "
    "IS DISTINCT FROM "
    "(NEW.status, NEW.side, NEW.quantity, NEW.filled_qty, NEW.run_id, NEW.instrument_id)) "
    "EXECUTE FUNCTION liveexec_run_exposure_orders()",
    "CREATE TRIGGER run_exposure_orders_delete AFTER DELETE ON unified_orders FOR EACH ROW "
    f"WHEN (OLD.mode <> 'backtest' AND OLD.status IN {_WORKING}) "
    "EXECUTE FUNCTION liveexec_run_exposure_orders()",
    "CREATE TRIGGER run_exposure_positions_insert AFTER INSERT ON unified_positions "
    "FOR EACH ROW WHEN (NEW.status = 'OPEN') EXECUTE FUNCTION liveexec_run_exposure_positions()",
    "CREATE TRIGGER run_exposure_positions_update AFTER UPDATE ON unified_positions "
    "FOR EACH ROW WHEN ((OLD.status = 'OPEN' OR NEW.status = 'OPEN') "
    "AND (OLD.status, OLD.net_qty, OLD.run_id, OLD.instrument_id) IS DISTINCT FROM "
    "(NEW.status, NEW.net_qty, NEW.run_id, NEW.instrument_id)) "
    "EXECUTE FUNCTION liveexec_run_exposure_positions()",
    "CREATE TRIGGER run_exposure_positions_delete AFTER DELETE ON unified_positions "
    "FOR EACH ROW WHEN (OLD.status = 'OPEN') EXECUTE FUNCTION liveexec_run_exposure_positions()",
)

# What the triggers would have written for the rows already there.
_BACKFILL = f"""
INSERT INTO run_exposure (run_id, instrument_id, net_qty, working_buys, working_sells,
                          working_orders, open_positions)
SELECT run_id, instrument_id, sum(net), sum(buys), sum(sells), sum(orders), sum(positions)
  FROM (
    SELECT run_id, instrument_id, 0 AS net,
           CASE WHEN side = 'BUY' THEN quantity - filled_qty ELSE 0 END AS buys,
           CASE WHEN side = 'SELL' THEN quantity - filled_qty ELSE 0 END AS sells,
           1 AS orders, 0 AS positions
      FROM unified_orders WHERE mode <> 'backtest' AND status IN {_WORKING}
    UNION ALL
    SELECT p.run_id, p.instrument_id, p.net_qty, 0, 0, 0, 1
      FROM unified_positions p JOIN runs r ON r.run_id = p.run_id
     WHERE p.status = 'OPEN' AND r.mode <> 'backtest'
  ) AS rows
 GROUP BY run_id, instrument_id
"""

_TRIGGER_NAMES = (
    ("run_exposure_orders_insert", "unified_orders"),
    ("run_exposure_orders_update", "unified_orders"),
    ("run_exposure_orders_delete", "unified_orders"),
    ("run_exposure_positions_insert", "unified_positions"),
    ("run_exposure_positions_update", "unified_positions"),
    ("run_exposure_positions_delete", "unified_positions"),
)
_FUNCTIONS = (
    "liveexec_run_exposure_orders()",
    "liveexec_run_exposure_positions()",
    "liveexec_run_exposure_add(varchar, varchar, numeric, numeric, numeric, integer, integer)",
    "liveexec_run_exposure_take(varchar, varchar, numeric, integer)",
)


def upgrade() -> None:
    op.create_table(
        "run_exposure",
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("instrument_id", sa.String(length=64), nullable=False),
        _sum("net_qty"),
        _sum("working_buys"),
        _sum("working_sells"),
        sa.Column("working_orders", sa.Integer(), nullable=False),
        sa.Column("open_positions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "instrument_id", name=op.f("pk_run_exposure")),
    )
    if op.get_context().dialect.name != "postgresql":
        return
    for statement in (_ADD, _TAKE, _ORDERS, _POSITIONS, *_TRIGGERS):
        op.execute(statement)
    # The planner's estimate of the running paper/live runs: status and mode are correlated
    # (nearly every running run is paper or live, nearly every ended one a backtest), which it
    # assumes they are not (~2 of 40 estimated in the benchmark: a sort instead of hashing the
    # ~2,000 rows into instruments, ~0.3 ms of the ~1.3 ms read).
    op.execute("CREATE STATISTICS st_runs_status_mode (mcv) ON status, mode FROM runs")
    op.execute("ANALYZE runs")
    # The triggers see every write from here on; the lock keeps a recorder from committing
    # rows between the sum and the triggers (they are created in this transaction).
    op.execute("LOCK TABLE unified_orders, unified_positions IN SHARE ROW EXCLUSIVE MODE")
    op.execute(_BACKFILL)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for trigger, table in _TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        for function in _FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {function}")
        op.execute("DROP STATISTICS IF EXISTS st_runs_status_mode")
    op.drop_table("run_exposure")
