"""What the statistics cost when a run is read back: the BTC example (4,136 orders, 2,068
positions, one month of 1-minute bars) backtested once into a fresh SQLite database (or
PostgreSQL), then ``load_run`` timed whole and in its parts:

* the tables (orders, positions, balances: what ``load_run`` read before the statistics),
* the fills' positions from the ``OrderFilled`` events,
* the run's prices from its catalog (``read_market_data``),
* ``compute_statistics`` (the replay, conversions, daily marks, every statistic).

Each part runs ``--repeat`` times, interleaved; the best time of each is reported (the usual
measure on a shared machine).

    python benchmarks/statistics_cost.py [--db URL] [--repeat 5]

``--db`` should name a database of its own: the benchmark migrates it and leaves its run there.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, Table

from liveexec.backtesting import backtest
from liveexec.config import load_config
from liveexec.db import AccountBalance, UnifiedOrder, UnifiedPosition, create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import compute_statistics, load_run, read_table
from liveexec.runs._prices import read_market_data
from liveexec.runs._results import _fill_positions, _fills


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = args.db or f"sqlite:///{Path(work) / 'liveexec.db'}"
        cfg = load_config(
            EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml",
            overrides=["logging.level=ERROR", f"data.catalog.path={Path(work) / 'catalog'}"],
        )
        prepare_demo_catalog(cfg)
        upgrade(url)
        run_id = backtest(cfg, database_url=url).run_id
        engine = create_db_engine(url, create=False)
        try:
            measure(engine, run_id, args.repeat)
        finally:
            engine.dispose()


def measure(engine: Engine, run_id: str, repeat: int) -> None:
    result = load_run(engine, run_id)
    config = dict(result.config)
    # SQLModel sets __table__ on table models; mypy does not know it.
    tables: list[Table] = [
        UnifiedOrder.__table__,  # type: ignore[attr-defined]
        UnifiedPosition.__table__,  # type: ignore[attr-defined]
        AccountBalance.__table__,  # type: ignore[attr-defined]
    ]
    parts: dict[str, Callable[[], object]] = {
        "load_run (all)": lambda: load_run(engine, run_id),
        "tables (orders, positions, balances)": lambda: [
            read_table(engine, table, run_id=run_id) for table in tables
        ],
        "fills' positions (OrderFilled events)": lambda: _fills(
            result.orders, _fill_positions(engine, run_id)
        ),
        "prices (catalog)": lambda: read_market_data(config),
    }
    market = read_market_data(config)
    parts["compute_statistics"] = lambda: compute_statistics(
        result.positions, result.fills, config, market=market
    )
    best = {name: float("inf") for name in parts}
    for _ in range(repeat):
        for name, work in parts.items():
            began = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - began)
    print(
        f"run {run_id}: {result.orders.height:,} orders, {result.fills.height:,} fills, "
        f"{result.positions.height:,} positions, {result.statistics.daily.height} days"
    )
    for name, seconds in best.items():
        print(f"  {name:40s} {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
