"""Recording overhead: the same backtest bare (NautilusTrader's BacktestNode alone) and recorded by
liveexec into SQLite and PostgreSQL. Prints wall times and ratios to the bare run, measured in this
run (medians of --repeat alternating runs).

    python benchmarks/recording_overhead.py [--config FILE] [--postgres URL] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nautilus_trader.backtest.node import BacktestNode

from liveexec.backtesting import backtest
from liveexec.config import LiveexecConfig, load_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes import build_run_config


def bare(cfg: LiveexecConfig) -> float:
    run_config = build_run_config(cfg)
    node = BacktestNode(configs=[run_config])
    started = time.perf_counter()
    node.run()
    elapsed = time.perf_counter() - started
    node.dispose()  # type: ignore[no-untyped-call]  # NautilusTrader's, unannotated
    return elapsed


def recorded(cfg: LiveexecConfig, url: str) -> float:
    started = time.perf_counter()
    result = backtest(cfg, database_url=url)
    elapsed = time.perf_counter() - started
    assert result.orders.height > 0
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--config", type=Path, default=EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
    )
    parser.add_argument("--postgres", help="PostgreSQL URL (an empty database is migrated)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = load_config(args.config, overrides=["logging.level=ERROR"])
    prepare_demo_catalog(cfg)
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{folder}/bench.db"
        upgrade(sqlite_url)
        runs: dict[str, Callable[[], float]] = {
            "bare BacktestNode": lambda: bare(cfg),
            "recorded, SQLite": lambda: recorded(cfg, sqlite_url),
        }
        if args.postgres:
            upgrade(args.postgres)
            runs["recorded, PostgreSQL"] = lambda: recorded(cfg, args.postgres)
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeat):
            for name, run in runs.items():
                times[name].append(run())
    base = statistics.median(times["bare BacktestNode"])
    print(f"config: {args.config.name}, repeats: {args.repeat}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:24s} median {median:7.2f} s   ratio {median / base:5.2f}   runs {values}")


if __name__ == "__main__":
    main()
