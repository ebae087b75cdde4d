"""Read-back: N unified_orders rows from PostgreSQL into a typed polars DataFrame with liveexec's
reader (COPY ... TO STDOUT, exact Decimal money, UTC-aware times), against pandas.read_sql of the
same query in the same run.

    python benchmarks/readback.py --postgres URL [--rows 1000000]
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import pandas as pd
import polars as pl
from sqlalchemy import text

from liveexec.db import UnifiedOrder, create_db_engine, upgrade
from liveexec.runs import read_table

FILL = """
INSERT INTO runs (run_id, trader_id, mode, config_id, config, liveexec_version, nautilus_version,
                  started_at, status)
VALUES ('bench-read', 'TRADER-001', 'backtest', 'bench', '{}', '0', '0', now(), 'completed')
ON CONFLICT DO NOTHING;
INSERT INTO unified_orders
SELECT md5(n::text)::uuid::text, 'bench-read', 'TRADER-001', 'S-' || (n % 40), 'backtest',
       'BTCUSDT.BINANCE', 'BINANCE', 'O-' || n, 'V-' || n, NULL, NULL, NULL,
       CASE WHEN n % 2 = 0 THEN 'BUY' ELSE 'SELL' END, 'LIMIT', 'GTC',
       1.123456789012345678, 42000.1 + n / 1000.0, NULL, 1.123456789012345678, 42000.1 + n / 1000.0,
       'FILLED', '[{"trade_id": "T-1", "last_qty": "1.1"}]'::jsonb, '{"USDT": "0.042"}'::jsonb,
       NULL, NULL, NULL, '[]'::jsonb,
       timestamptz '2024-01-01' + n * interval '1 millisecond',
       timestamptz '2024-01-01' + n * interval '1 millisecond',
       timestamptz '2024-01-01' + n * interval '1 millisecond', n
FROM generate_series(1, :rows) AS n
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL (migrated here)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    upgrade(args.postgres)
    engine = create_db_engine(args.postgres)
    table = UnifiedOrder.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM unified_orders WHERE run_id = 'bench-read'"))
        for statement in FILL.split(";"):
            connection.execute(text(statement), {"rows": args.rows})
    started = time.perf_counter()
    frame = read_table(engine, table, run_id="bench-read")
    ours = time.perf_counter() - started
    assert frame.height == args.rows
    assert frame.schema["quantity"] == pl.Decimal(36, 18)
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert frame.get_column("quantity")[0] == Decimal("1.123456789012345678")
    started = time.perf_counter()
    with engine.connect() as connection:
        reference = pd.read_sql(
            text("SELECT * FROM unified_orders WHERE run_id = 'bench-read'"), connection
        )
    theirs = time.perf_counter() - started
    assert len(reference) == args.rows
    engine.dispose()
    print(f"{args.rows:,} unified_orders rows from PostgreSQL into a DataFrame:")
    print(f"liveexec read_table (polars, Decimal(36,18), UTC) {ours:6.2f} s")
    money = reference["quantity"].dtype
    print(f"pandas.read_sql                                  {theirs:6.2f} s   ({money} money)")
    print(f"speed-up {theirs / ours:5.1f}x")


if __name__ == "__main__":
    main()
