"""liveexec backtest against NautilusTrader alone, whole processes side by side in one run.

Baseline: a standalone Python file (written by this script, no liveexec code in it) that builds a
``BacktestRunConfig`` by hand, equivalent to the example config, and runs NautilusTrader's
``BacktestNode`` with NautilusTrader's defaults (``run_analysis`` on, the default fill and fee
models, ...). Only the log level follows the config (WARNING): NautilusTrader's default INFO would
print every order and slow the baseline down for a reason unrelated to the engine.

Contender: ``liveexec backtest CONFIG --db URL`` as a subprocess: preflight, run, recording into
SQLite or PostgreSQL, statistics from the recorded tables and the read-back, printed.

Targets (issue 7, section 4):
1. liveexec wall time <= 0.50 x the baseline, on the example config (BTC perp 1-minute bars,
   EMA cross, NETTING), recorded into SQLite and into PostgreSQL;
2. the same liveexec run on 10x the data (the bars replicated in time) costs <= 11x its 1x time
   in HEDGING (NETTING is measured and printed too).

Results are checked: every process ends with NautilusTrader's total PnL (to the cent) and every
liveexec run records the same number of orders. Each run's wall time and CPU time (user + system,
from the child's rusage) are printed: on a machine shared with other work the CPU ratio is the
steadier figure; the target is stated on wall time.

    python benchmarks/backtest_speed.py [--quick] [--postgres URL] [--repeat N] [--scale N]

--quick: target 1 only. The full run (with 10x, HEDGING and NETTING) takes several minutes.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import nautilus_trader
import psycopg
import yaml
from nautilus_trader.model.data import Bar
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from sqlalchemy.engine import make_url

from liveexec.config import load_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import load_run

EXAMPLE = EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml"
BAR_TYPE = "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"

# The example config, written by hand with NautilusTrader's own classes. {catalog} and {oms} come
# from the command line so the same file runs every case.
BASELINE = textwrap.dedent(
    '''\
    """NautilusTrader alone: the example EMA cross as a BacktestRunConfig, its defaults."""
    import sys

    from nautilus_trader.backtest.config import (
        BacktestDataConfig,
        BacktestEngineConfig,
        BacktestRunConfig,
        BacktestVenueConfig,
    )
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.common.config import LoggingConfig
    from nautilus_trader.config import ImportableStrategyConfig, RiskEngineConfig
    from nautilus_trader.model.data import Bar

    catalog, oms_type = sys.argv[1], sys.argv[2]
    run_config = BacktestRunConfig(
        venues=[
            BacktestVenueConfig(
                name="SIM",
                oms_type=oms_type,
                account_type="MARGIN",
                base_currency="USDT",
                starting_balances=["100000 USDT"],
            )
        ],
        data=[
            BacktestDataConfig(
                catalog_path=catalog,
                data_cls=Bar,
                instrument_id="BTCUSDT-PERP.SIM",
                bar_types=["BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL"],
            )
        ],
        engine=BacktestEngineConfig(
            strategies=[
                ImportableStrategyConfig(
                    strategy_path="nautilus_trader.examples.strategies.ema_cross:EMACross",
                    config_path="nautilus_trader.examples.strategies.ema_cross:EMACrossConfig",
                    config={
                        "instrument_id": "BTCUSDT-PERP.SIM",
                        "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                        "trade_size": "0.100",
                        "fast_ema_period": 10,
                        "slow_ema_period": 20,
                        "request_bars": False,
                        "subscribe_trade_ticks": False,
                    },
                )
            ],
            logging=LoggingConfig(log_level="WARNING"),
            risk_engine=RiskEngineConfig(max_notional_per_order={"BTCUSDT-PERP.SIM": 50000}),
        ),
    )
    [result] = BacktestNode(configs=[run_config]).run()
    print(f"RESULT pnl={result.stats_pnls['USDT']['PnL (total)']!r}")
    '''
)


@dataclass(frozen=True)
class Outcome:
    seconds: float  # wall time of the whole process
    cpu: float  # its user + system CPU time: what other load on the machine does not inflate
    pnl: float
    orders: int | None = None  # None: not reported (BacktestNode disposes its cache by default)


def _run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    # The commands are this script's own: the interpreter running it and liveexec's CLI.
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return elapsed, cpu, done.stdout


def baseline(script: Path, catalog: Path, oms: str) -> Outcome:
    elapsed, cpu, out = _run([sys.executable, str(script), str(catalog), oms], dict(os.environ))
    match = re.search(r"RESULT pnl=([-\d.e]+)", out)
    if match is None:
        raise SystemExit(f"baseline printed no result:\n{out[-2000:]}")
    return Outcome(elapsed, cpu, float(match[1]))


def liveexec(config: Path, url: str) -> Outcome:
    cli = Path(sys.executable).with_name("liveexec")
    env = {**os.environ, "COLUMNS": "200"}
    elapsed, cpu, out = _run([str(cli), "backtest", str(config), "--db", url, "--no-progress"], env)
    match = re.search(r"run id: (\S+)", out)
    if match is None:
        raise SystemExit(f"liveexec printed no run id:\n{out[-2000:]}")
    engine = create_db_engine(url)
    try:
        result = load_run(engine, match[1])
    finally:
        engine.dispose()
    pnl = result.statistics.get("total_pnl")
    return Outcome(
        elapsed, cpu, float(pnl) if pnl is not None else float("nan"), result.orders.height
    )


def replicate_bars(source: Path, target: Path, copies: int) -> int:
    """``copies`` back-to-back copies of the catalog's bars, each shifted by the data's span."""
    if target.exists():
        shutil.rmtree(target)
    src, dst = ParquetDataCatalog(str(source)), ParquetDataCatalog(str(target))
    dst.write_data(src.instruments())
    bars = src.bars(bar_types=[BAR_TYPE])
    step = bars[1].ts_event - bars[0].ts_event
    span = bars[-1].ts_event - bars[0].ts_event + step
    for k in range(copies):
        shift = k * span
        dst.write_data(
            [
                Bar(
                    b.bar_type,
                    b.open,
                    b.high,
                    b.low,
                    b.close,
                    b.volume,
                    b.ts_event + shift,
                    b.ts_init + shift,
                )
                for b in bars
            ]
        )
    return len(bars) * copies


def write_config(folder: Path, catalog: Path, oms: str) -> Path:
    raw: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["venues"][0]["oms_type"] = oms
    path = folder / f"{catalog.name}-{oms.lower()}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


BENCH_DATABASE = "liveexec_backtest_speed"


def fresh_postgres(url: str) -> str:
    """A new, migrated database on the server of ``url``, just for this benchmark.

    The database named in ``url`` is only used to connect; the benchmark drops and recreates its
    own database, ``liveexec_backtest_speed``, so every run starts from the current schema.
    """
    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    bench = parsed.set(database=BENCH_DATABASE).render_as_string(hide_password=False)
    upgrade(bench)
    return bench


def _median(outcomes: list[Outcome]) -> float:
    return statistics.median(o.seconds for o in outcomes)


def _median_cpu(outcomes: list[Outcome]) -> float:
    return statistics.median(o.cpu for o in outcomes)


def _same_result(outcomes: dict[str, list[Outcome]], reference: Outcome) -> str:
    """Every run's total PnL equals NautilusTrader's; every liveexec run has as many orders."""
    counts = {o.orders for values in outcomes.values() for o in values if o.orders is not None}
    for name, values in outcomes.items():
        for outcome in values:
            if not _close(outcome.pnl, reference.pnl):
                raise SystemExit(
                    f"{name}: total PnL {outcome.pnl} differs from NautilusTrader alone's "
                    f"{reference.pnl}"
                )
    if len(counts) > 1:
        raise SystemExit(f"the liveexec runs recorded different numbers of orders: {counts}")
    return f"total PnL {reference.pnl:.4f} in every run, {counts.pop()} orders recorded"


def _close(a: float, b: float) -> bool:
    # Both are sums of the same fills' PnL; liveexec's from exact decimals, NautilusTrader's from
    # doubles: equal to the cent is equal here.
    return abs(Decimal(repr(a)) - Decimal(repr(b))) < Decimal("0.01")


def _measure(runs: dict[str, Callable[[], Outcome]], repeat: int) -> dict[str, list[Outcome]]:
    """Alternate the runs ``repeat`` times so background load hits every one alike."""
    outcomes: dict[str, list[Outcome]] = {name: [] for name in runs}
    for round_ in range(repeat):
        for name, run in runs.items():
            outcome = run()
            outcomes[name].append(outcome)
            print(
                f"  round {round_ + 1}: {name:32s} {outcome.seconds:7.2f} s wall "
                f"{outcome.cpu:7.2f} s CPU",
                flush=True,
            )
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="target 1 only (1x data)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("LIVEEXEC_BENCH_POSTGRES_URL"),
        help="PostgreSQL server URL; the benchmark (re)creates its own database "
        f"{BENCH_DATABASE} there. Default $LIVEEXEC_BENCH_POSTGRES_URL, else PostgreSQL is "
        "skipped",
    )
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the 1x runs")
    parser.add_argument("--scale", type=int, default=10, help="data multiple for target 2")
    parser.add_argument("--workdir", type=Path, help="keep catalogs and databases here")
    args = parser.parse_args()

    folder = args.workdir or Path(tempfile.mkdtemp(prefix="liveexec-speed-"))
    folder.mkdir(parents=True, exist_ok=True)
    catalog = folder / "catalog-1x"
    cfg = load_config(EXAMPLE, overrides=[f"data.catalog.path={catalog}"])
    prepare_demo_catalog(cfg)
    script = folder / "nautilus_alone.py"
    script.write_text(BASELINE)
    for stale in folder.glob("speed.db*"):  # a database from an earlier run: start afresh
        stale.unlink()
    sqlite_url = f"sqlite:///{folder}/speed.db"
    upgrade(sqlite_url)
    postgres_url = fresh_postgres(args.postgres) if args.postgres else None

    print(
        f"NautilusTrader {nautilus_trader.__version__}, Python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; work dir {folder}"
    )
    print(f"baseline script (no liveexec code): {script}")

    # -- target 1 ---------------------------------------------------------------------------------
    netting = write_config(folder, catalog, "NETTING")
    runs: dict[str, Callable[[], Outcome]] = {
        "NautilusTrader alone": lambda: baseline(script, catalog, "NETTING"),
        "liveexec backtest, SQLite": lambda: liveexec(netting, sqlite_url),
    }
    if postgres_url:
        runs["liveexec backtest, PostgreSQL"] = lambda: liveexec(netting, postgres_url)
    print(f"\n[1] whole processes, {EXAMPLE.name} (NETTING), {args.repeat} rounds")
    outcomes = _measure(runs, args.repeat)
    base = _median(outcomes["NautilusTrader alone"])
    base_cpu = _median_cpu(outcomes["NautilusTrader alone"])
    print(f"  results equal: {_same_result(outcomes, outcomes['NautilusTrader alone'][0])}")
    for name, values in outcomes.items():
        ratio, cpu_ratio = _median(values) / base, _median_cpu(values) / base_cpu
        verdict = (
            ""
            if name == "NautilusTrader alone"
            else "  target <= 0.50 (wall): " + ("met" if ratio <= 0.50 else "MISSED")
        )
        print(
            f"  {name:32s} wall median {_median(values):7.2f} s ratio {ratio:5.2f}   "
            f"CPU median {_median_cpu(values):7.2f} s ratio {cpu_ratio:5.2f}{verdict}"
        )
    if args.quick:
        return

    # -- target 2 ---------------------------------------------------------------------------------
    scaled = folder / f"catalog-{args.scale}x"
    rows = replicate_bars(catalog, scaled, args.scale)
    print(f"\n[2] scaling: {args.scale}x the data ({rows:,} bars), liveexec into SQLite")
    for oms in ("HEDGING", "NETTING"):
        one, many = write_config(folder, catalog, oms), write_config(folder, scaled, oms)
        small = [liveexec(one, sqlite_url) for _ in range(args.repeat)]
        large = liveexec(many, sqlite_url)
        t1, c1 = _median(small), _median_cpu(small)
        ratio, cpu_ratio = large.seconds / t1, large.cpu / c1
        verdict = (
            f"target <= {args.scale + 1}: " + ("met" if ratio <= args.scale + 1 else "MISSED")
            if oms == "HEDGING"
            else "no target (see docs)"
        )
        print(
            f"  {oms}: 1x median {t1:.2f} s ({len(small)} runs), "
            f"{args.scale}x {large.seconds:.2f} s "
            f"({large.orders} orders), wall ratio {ratio:.2f}; CPU 1x {c1:.2f} s, "
            f"{args.scale}x {large.cpu:.2f} s, ratio {cpu_ratio:.2f}   {verdict}",
            flush=True,
        )


if __name__ == "__main__":
    main()
