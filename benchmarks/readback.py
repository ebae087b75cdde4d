"""Read-back: N unified_orders rows into a typed polars DataFrame (exact Decimal(36,18) money,
UTC-aware times) with liveexec's reader, against each database's own fastest way out, measured
side by side in one run.

PostgreSQL: liveexec's ``read_table`` against PostgreSQL's own binary ``COPY (SELECT ...) TO STDOUT
(FORMAT binary)`` of the same rows into a discarding sink -- ``psql`` writing to /dev/null, and
psycopg reading the COPY and dropping it; the ratio is taken against the faster of the two.
SQLite: ``read_table`` against the ``sqlite3`` command-line shell writing the same rows to
/dev/null and a plain DB-API ``fetchall`` (untyped Python tuples). The SQLite rows are the
PostgreSQL rows, copied in the writer's storage format; the two frames are checked equal.

Each reader runs ``--repeat`` times, interleaved with the others so that load from other processes
hits all of them alike; the best time of each is reported (the usual measure on a shared machine).

    python benchmarks/readback.py --postgres URL [--rows 1000000] [--repeat 3] [--pandas]

``--postgres`` names a database the benchmark migrates and fills (run id ``bench-read``); rows
already there from an earlier run of the same size are reused.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import psycopg
from sqlalchemy import Engine, Table, text
from sqlalchemy.engine import make_url

from liveexec.db import UnifiedOrder, create_db_engine, mask_url, upgrade
from liveexec.db._types import ExactDecimal, UTCDateTime
from liveexec.runs import read_table

RUN_ID = "bench-read"
RUN = """
INSERT INTO runs (run_id, trader_id, mode, config_id, config, liveexec_version, nautilus_version,
                  started_at, status)
VALUES ('bench-read', 'TRADER-001', 'backtest', 'bench', '{}', '0', '0', NOW, 'completed')
"""
FILL = """
INSERT INTO unified_orders (
    operation_id, run_id, trader_id, strategy_id, mode, instrument_id, venue, client_order_id,
    venue_order_id, parent_order_id, exec_spawn_id, exec_algorithm_id, side, order_type,
    time_in_force, quantity, price, trigger_price, filled_qty, avg_px, status, fills, commissions,
    risk_decision, risk_reason, route, tags, created_at, updated_at, ts_last_event, last_event_ns
)
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
# One row whose money uses all 36 digits: exactness is checked on it, not assumed.
WIDE = "12345678901234567.123456789012345678"
WIDE_ROW = (
    "UPDATE unified_orders SET quantity = :wide WHERE run_id = 'bench-read' AND last_event_ns = 1"
)
SELECT = f"SELECT * FROM unified_orders WHERE run_id = '{RUN_ID}'"
TABLE: Table = UnifiedOrder.__table__  # type: ignore[attr-defined]


def fill_postgres(engine: Engine, rows: int) -> None:
    with engine.begin() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM unified_orders WHERE run_id = :r"), {"r": RUN_ID}
        ).scalar_one()
        if count != rows:
            connection.execute(text("DELETE FROM runs WHERE run_id = :r"), {"r": RUN_ID})
            connection.execute(text(RUN.replace("NOW", "now()")))
            connection.execute(text(FILL), {"rows": rows})
        connection.execute(text(WIDE_ROW), {"wide": Decimal(WIDE)})
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE unified_orders")
        )


def _sqlite_money(column: str) -> pl.Expr:
    """Decimal -> the writer's canonical text (no trailing zeros, "0" for zero)."""
    raw = pl.col(column).cast(pl.String)
    trimmed = raw.str.replace(r"\.?0+$", "")
    canonical = pl.when(raw.str.contains(".", literal=True)).then(trimmed).otherwise(raw)
    return pl.when(canonical == "-0").then(pl.lit("0")).otherwise(canonical).alias(column)


def fill_sqlite(path: Path, rows: pl.DataFrame) -> None:
    """The PostgreSQL rows, in the SQLite storage format the writer uses."""
    url = f"sqlite:///{path}"
    upgrade(url)
    stored = rows.with_columns(
        [
            _sqlite_money(c.name)
            if isinstance(c.type, ExactDecimal)
            else pl.col(c.name).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
            for c in TABLE.columns
            if isinstance(c.type, (ExactDecimal, UTCDateTime))
        ]
    )
    names = ", ".join(stored.columns)
    marks = ", ".join("?" for _ in stored.columns)
    connection = sqlite3.connect(path)
    try:
        connection.execute(RUN.replace("NOW", "'2024-01-01 00:00:00.000000'"))
        connection.executemany(
            f"INSERT INTO unified_orders ({names}) VALUES ({marks})", stored.iter_rows()
        )
        connection.commit()
    finally:
        connection.close()


def best(timings: dict[str, list[float]], name: str) -> float:
    return min(timings[name])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL (migrated and filled)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pandas", action="store_true", help="also time pandas.read_sql (slow)")
    args = parser.parse_args()

    upgrade(args.postgres)
    engine = create_db_engine(args.postgres)
    fill_postgres(engine, args.rows)
    libpq_url = make_url(args.postgres).set(drivername="postgresql")
    psql = shutil.which("psql")
    psql_env = {**os.environ, "PGPASSWORD": libpq_url.password or ""}
    libpq_uri = libpq_url.set(password=None).render_as_string(hide_password=False)
    copy_binary = f"COPY ({SELECT}) TO STDOUT (FORMAT binary)"
    workdir = Path(tempfile.mkdtemp(prefix="liveexec-readback-"))
    sqlite_path = workdir / "readback.db"
    sqlite_engine = create_db_engine(f"sqlite:///{sqlite_path}")
    sqlite3_cli = shutil.which("sqlite3")
    frames: dict[str, pl.DataFrame] = {}

    def psql_binary_copy() -> None:
        assert psql is not None
        subprocess.run(  # noqa: S603 (our own arguments)
            [psql, "-X", "-q", "-d", libpq_uri, "-c", copy_binary],
            stdout=subprocess.DEVNULL,
            env=psql_env,
            check=True,
        )

    def psycopg_binary_copy() -> None:
        uri = libpq_url.render_as_string(hide_password=False)
        with (
            psycopg.connect(uri) as connection,
            connection.cursor() as cursor,
            cursor.copy(copy_binary) as copy,
        ):
            for _block in copy:
                pass

    def liveexec_postgres() -> None:
        frames["postgresql"] = read_table(engine, TABLE, run_id=RUN_ID)

    def liveexec_sqlite() -> None:
        frames["sqlite"] = read_table(sqlite_engine, TABLE, run_id=RUN_ID)

    def sqlite_cli() -> None:
        assert sqlite3_cli is not None
        subprocess.run(  # noqa: S603
            [sqlite3_cli, str(sqlite_path), SELECT], stdout=subprocess.DEVNULL, check=True
        )

    def sqlite_fetchall() -> None:
        with sqlite3.connect(sqlite_path) as connection:
            rows = connection.execute(SELECT).fetchall()
        assert len(rows) == args.rows

    def pandas_read_sql() -> None:
        import pandas as pd  # noqa: PLC0415 (only with --pandas)

        with engine.connect() as connection:
            reference = pd.read_sql(text(SELECT), connection)
        assert len(reference) == args.rows

    readers: dict[str, Callable[[], None]] = {
        "PostgreSQL binary COPY, psql -> /dev/null": psql_binary_copy,
        "PostgreSQL binary COPY, psycopg, discarded": psycopg_binary_copy,
        "liveexec read_table, PostgreSQL": liveexec_postgres,
        "SQLite: sqlite3 shell -> /dev/null": sqlite_cli,
        "SQLite: DB-API fetchall (untyped tuples)": sqlite_fetchall,
        "liveexec read_table, SQLite": liveexec_sqlite,
    }
    if psql is None:
        del readers["PostgreSQL binary COPY, psql -> /dev/null"]
    if sqlite3_cli is None:
        del readers["SQLite: sqlite3 shell -> /dev/null"]
    if args.pandas:
        readers["pandas.read_sql, PostgreSQL"] = pandas_read_sql

    try:
        liveexec_postgres()
        fill_sqlite(sqlite_path, frames["postgresql"])
        timings: dict[str, list[float]] = {name: [] for name in readers}
        for _ in range(args.repeat):
            for name, reader in readers.items():
                started = time.perf_counter()
                reader()
                timings[name].append(time.perf_counter() - started)
    finally:
        engine.dispose()
        sqlite_engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)

    postgres, sqlite = frames["postgresql"], frames["sqlite"]
    assert postgres.height == args.rows
    assert postgres.schema["quantity"] == pl.Decimal(36, 18)
    assert postgres.schema["created_at"] == pl.Datetime("us", "UTC")
    wide = postgres.filter(pl.col("last_event_ns") == 1).get_column("quantity").item()
    assert wide == Decimal(WIDE), wide
    order = ["operation_id"]
    assert postgres.sort(order).equals(sqlite.sort(order)), "SQLite and PostgreSQL frames differ"

    print(
        f"{args.rows:,} unified_orders rows, {len(TABLE.columns)} columns, "
        f"{mask_url(args.postgres)}"
    )
    print(f"best of {args.repeat}, interleaved:")
    for name in readers:
        runs = " ".join(f"{t:.2f}" for t in timings[name])
        print(f"  {name:<46} {best(timings, name):6.2f} s   ({runs})")
    copies = [n for n in readers if n.startswith("PostgreSQL binary COPY")]
    copy_best = min(best(timings, n) for n in copies)
    ours = best(timings, "liveexec read_table, PostgreSQL")
    ratio = ours / copy_best
    verdict = "meets" if ratio <= 1.2 else "MISSES"
    print(f"PostgreSQL: read_table / binary COPY = {ratio:.2f}  ({verdict} the 1.2 target)")
    sqlite_ours = best(timings, "liveexec read_table, SQLite")
    for name in readers:
        if name.startswith("SQLite"):
            print(f"SQLite: read_table / {name[8:]} = {sqlite_ours / best(timings, name):.2f}")
    if args.pandas:
        pandas_best = best(timings, "pandas.read_sql, PostgreSQL")
        print(f"pandas.read_sql / read_table (PostgreSQL) = {pandas_best / ours:.1f}x")


if __name__ == "__main__":
    main()
