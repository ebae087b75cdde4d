"""Paper mode speed: replay throughput at exact parity against BacktestNode, event-to-database
latency under a sustained order-event load, node start and stop.

1. Parity and throughput: the bundled EMACross config on one day of real BTC perpetual bars
   (1,441 bars, 120 orders), run by ``BacktestNode`` (the baseline, timed in the same run) and
   by a paper node at several pacings; for each pacing, whether every order and fill equals the
   backtest's, and the replay rate in events/s (and its ratio to the backtest's).
2. Latency: a strategy that sends ``--orders-per-bar`` (2) market orders on every replayed bar
   (3 order events each: initialized, submitted, filled; the venue does not acknowledge market
   orders, as in the backtest) with the bars on a schedule (``paper.speed``) for ``--rate``
   (1,000) order events/s, for
   ``--seconds`` (default 60). The rate the node really sustained is printed beside the figures.
   For each event: the wall time from the recorder receiving it on the message bus (its
   ``recorded_at``) to the commit of the transaction that wrote it, p50/p99, on SQLite and on
   PostgreSQL, as the writer measures it (``RecorderStats.commit_latency``, 0.1 ms bins).
3. Node start to first replayed event, and stop (flush and close), from the runs above.

Run: .venv/bin/python benchmarks/paper_speed.py [--seconds 60] [--postgres URL] [--skip-parity]
(``--postgres``: a server URL; a scratch database is created there and dropped afterwards.)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class ChurnConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    orders_per_bar: int = 1


class Churn(Strategy):  # type: ignore[misc]  # NautilusTrader's Strategy is untyped Cython
    """A market order on every bar, alternately buying and selling (the position stays small)."""

    def __init__(self, config: ChurnConfig) -> None:
        super().__init__(config)
        self._buy = True
        self._instrument: Any = None

    def on_start(self) -> None:
        self._instrument = self.cache.instrument(self.config.instrument_id)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        for _ in range(self.config.orders_per_bar):
            side = OrderSide.BUY if self._buy else OrderSide.SELL
            self._buy = not self._buy
            order = self.order_factory.market(
                self.config.instrument_id, side, self._instrument.make_qty(self.config.trade_size)
            )
            self.submit_order(order)


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _raw(catalog: Path, start: str, end: str) -> dict[str, Any]:
    from liveexec.examples import EXAMPLES_DIR  # noqa: PLC0415

    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"], raw["data"]["end"] = start, end
    raw["logging"] = {"level": "ERROR", "file_level": None}
    return raw


def _sequence(result: Any) -> tuple[list[Any], list[Any]]:  # noqa: ANN401 (RunResult)
    import polars as pl  # noqa: PLC0415

    n = pl.col("client_order_id").str.extract(r"-(\d+)$").cast(pl.Int64).alias("n")
    orders = result.orders.with_columns(n).sort("n")
    fills = result.fills.with_columns(n).sort("n", "trade_id")
    return (
        orders.select("n", "side", "quantity", "status", "filled_qty", "avg_px").rows(),
        fills.select("n", "side", "last_qty", "last_px", "commission").rows(),
    )


def parity_and_throughput(catalog: Path, url: str) -> None:
    from liveexec.backtesting import backtest  # noqa: PLC0415
    from liveexec.config import parse_config  # noqa: PLC0415
    from liveexec.trading import paper  # noqa: PLC0415
    from liveexec.trading._run import LAST_STATS  # noqa: PLC0415

    raw = _raw(catalog, "2022-01-05T00:00:00Z", "2022-01-06T00:00:00Z")
    began = time.perf_counter()
    backtested = backtest(parse_config(raw), database_url=url)
    backtest_s = time.perf_counter() - began
    expected = _sequence(backtested)
    events = 1441
    base_rate = events / backtest_s
    print(
        f"BacktestNode (baseline): {backtested.orders.height} orders, {backtest_s:.2f} s for "
        f"{events} bars = {base_rate:,.0f} events/s (whole run: build, run, record, read back)"
    )
    pacings: list[tuple[str, dict[str, Any]]] = [
        ("min_gap_ms=2 (default), wait_for_node", {"min_gap_ms": 2.0}),
        ("min_gap_ms=1, wait_for_node", {"min_gap_ms": 1.0}),
        ("min_gap_ms=0, wait_for_node", {"min_gap_ms": 0.0}),
        ("min_gap_ms=0, no wait_for_node", {"min_gap_ms": 0.0, "wait_for_node": False}),
        # NautilusTrader's order rate limit counts wall time in a live node (the divergence at
        # no gap): raised, on the backtest's side too (where it never binds, same orders).
        ("min_gap_ms=0, wait_for_node, submit rate 10000/s", {"min_gap_ms": 0.0}),
    ]
    for name, pacing in pacings:
        cfg = copy.deepcopy(raw)
        cfg["mode"] = "paper"
        cfg["paper"] = pacing
        if "10000/s" in name:
            cfg["risk"] = {"max_order_submit_rate": "10000/00:00:01"}
            fast = copy.deepcopy(raw)
            fast["risk"] = cfg["risk"]
            if _sequence(backtest(parse_config(fast), database_url=url)) != expected:
                print("  (the raised rate limit changed the backtest: comparison void)")
        began = time.perf_counter()
        papered = paper(parse_config(cfg), database_url=url, subprocess=False)
        total_s = time.perf_counter() - began
        same = _sequence(papered) == expected
        replay_s = LAST_STATS.replay_s or float("nan")
        rate = LAST_STATS.events / replay_s
        print(
            f"paper {name}: parity {'EXACT' if same else 'DIVERGES'}; replay {replay_s:.2f} s = "
            f"{rate:,.0f} events/s (ratio to backtest {rate / base_rate:.2f}); whole call "
            f"{total_s:.2f} s (ratio {backtest_s / total_s:.2f}); start to first event "
            f"{LAST_STATS.start_to_first_event_s or float('nan'):.3f} s, stop "
            f"{LAST_STATS.stop_s or float('nan'):.3f} s"
        )


EVENTS_PER_ORDER = 3  # a market order: initialized, submitted, filled


@contextlib.contextmanager
def _writer_thread_instead() -> Iterator[None]:
    """The previous design, for the comparison: the writer a thread of the node's process."""
    import liveexec.trading._run as run_module  # noqa: PLC0415
    from liveexec.db import create_db_engine  # noqa: PLC0415
    from liveexec.recording import RecordBuffer  # noqa: PLC0415

    class ThreadWriter(RecordBuffer):
        def __init__(self, url: str, **bounds: Any) -> None:  # noqa: ANN401
            super().__init__(create_db_engine(url), background=True, **bounds)

        def wait_ready(self) -> None:
            return None

    original = vars(run_module)["ProcessRecordBuffer"]
    vars(run_module)["ProcessRecordBuffer"] = ThreadWriter
    try:
        yield
    finally:
        vars(run_module)["ProcessRecordBuffer"] = original


def latency(
    catalog: Path,
    url: str,
    seconds: float,
    label: str,
    *,
    rate: float,
    orders_per_bar: int,
    thread_writer: bool = False,
) -> None:
    from liveexec.config import parse_config  # noqa: PLC0415
    from liveexec.db import upgrade  # noqa: PLC0415
    from liveexec.recording._buffer import percentile_ms  # noqa: PLC0415
    from liveexec.trading import paper  # noqa: PLC0415
    from liveexec.trading._run import LAST_STATS  # noqa: PLC0415

    gap_ms = 1000.0 * orders_per_bar * EVENTS_PER_ORDER / rate
    bars = int(seconds * 1000 / gap_ms)
    start = datetime(2022, 1, 1, tzinfo=UTC)
    end = start.timestamp() + bars * 60
    raw = _raw(
        catalog,
        start.isoformat().replace("+00:00", "Z"),
        datetime.fromtimestamp(end, UTC).isoformat().replace("+00:00", "Z"),
    )
    raw["mode"] = "paper"
    # On an absolute schedule (one-minute bars at a multiple of real time), so that time the
    # node spends on a bar is not added to the gap after it: the rate asked is the rate sent.
    raw["paper"] = {"speed": 60_000.0 / gap_ms, "min_gap_ms": 0.0}
    raw["strategies"] = [
        {
            "path": "paper_speed:Churn",
            "config_path": "paper_speed:ChurnConfig",
            "config": {
                "instrument_id": "BTCUSDT-PERP.SIM",
                "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.001",
                "orders_per_bar": orders_per_bar,
            },
        }
    ]
    raw["risk"] = {"max_order_submit_rate": f"{max(1000, int(rate))}/00:00:01"}
    upgrade(url)
    if thread_writer:
        with _writer_thread_instead():
            result = paper(parse_config(raw), database_url=url, subprocess=False)
    else:
        result = paper(parse_config(raw), database_url=url, subprocess=False)
    stats = LAST_STATS.recorder
    assert stats is not None
    latency, writes = stats.commit_latency, stats.write_time
    events = sum(latency.values())
    replay_s = LAST_STATS.replay_s or float("nan")
    sustained = events / replay_s
    mean = sum((key + 0.5) / 10 * n for key, n in latency.items()) / max(events, 1)

    def ms(histogram: dict[int, int], q: float) -> str:
        return f"{percentile_ms(histogram, q) or float('nan'):.1f} ms"

    print(
        f"latency {label} (paced for {rate:,.0f}/s, {orders_per_bar} orders per bar every "
        f"{gap_ms:.1f} ms): {events:,} order events in {replay_s:.1f} s = "
        f"{sustained:,.0f}/s sustained ({result.orders.height:,} orders); event to commit "
        f"p50 {ms(latency, 0.5)}, p99 {ms(latency, 0.99)}, max {ms(latency, 1.0)}, mean "
        f"{mean:.1f} ms; start to first event "
        f"{LAST_STATS.start_to_first_event_s or float('nan'):.3f} s, stop "
        f"{LAST_STATS.stop_s or float('nan'):.3f} s; {stats.batches:,} transactions, each "
        f"p50 {ms(writes, 0.5)}, p99 {ms(writes, 0.99)}"
    )


def _scratch_postgres(server: str) -> tuple[str, Callable[[], None]]:
    import psycopg  # noqa: PLC0415

    name = f"liveexec_bench_{os.getpid()}"
    admin = server.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    base, _, _ = admin.rpartition("/")

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return f"{base}/{name}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="sustained load duration")
    parser.add_argument("--postgres", default=os.environ.get("LIVEEXEC_TEST_POSTGRES_URL"))
    parser.add_argument("--skip-parity", action="store_true")
    parser.add_argument("--rate", type=float, default=1000.0, help="order events/s to pace for")
    parser.add_argument("--orders-per-bar", type=int, default=2)
    parser.add_argument(
        "--compare-thread",
        action="store_true",
        help="also measure the previous design (the writer a thread of the node's process)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval for the run (default: the paper run's own setting)",
    )
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # Churn, importable by name
    from liveexec.config import parse_config  # noqa: PLC0415
    from liveexec.db import upgrade  # noqa: PLC0415
    from liveexec.demo import prepare_demo_catalog  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="liveexec-paper-speed-") as work:
        catalog = Path(work) / "catalog"
        prepare_demo_catalog(
            parse_config(_raw(catalog, "2022-01-05T00:00:00Z", "2022-01-06T00:00:00Z"))
        )
        sqlite = f"sqlite:///{work}/runs.db"
        upgrade(sqlite)
        if not args.skip_parity:
            parity_and_throughput(catalog, sqlite)
        load: dict[str, Any] = {"rate": args.rate, "orders_per_bar": args.orders_per_bar}
        latency(catalog, f"sqlite:///{work}/latency.db", args.seconds, "SQLite", **load)
        if args.compare_thread:
            latency(
                catalog,
                f"sqlite:///{work}/latency-thread.db",
                args.seconds,
                "SQLite, writer thread (previous design)",
                thread_writer=True,
                **load,
            )
        if args.postgres:
            url, drop = _scratch_postgres(args.postgres)
            try:
                latency(catalog, url, args.seconds, "PostgreSQL", **load)
            finally:
                drop()
            if args.compare_thread:
                url, drop = _scratch_postgres(args.postgres)
                try:
                    label = "PostgreSQL, writer thread (previous design)"
                    latency(catalog, url, args.seconds, label, thread_writer=True, **load)
                finally:
                    drop()


if __name__ == "__main__":
    main()
