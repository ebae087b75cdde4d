"""Pre-trade check cost: liveexec's risk gate against NautilusTrader's own RiskEngine, per order
and over a whole backtest, measured in the same run.

Per order: a real backtest kernel (BacktestEngine, one BTC perpetual on a MARGIN venue with a
quote). For each order, alternately: the gate's whole path with every in-memory check on
(NautilusTrader order -> Decimals -> order qty and notional, position qty and notional per
strategy and instrument, open orders, velocity, price band, gross and net exposure, drawdown and
daily loss, available margin (NautilusTrader's own ``MarginAccount.calculate_margin_init``):
``RiskGate._decide``), then NautilusTrader's ``RiskEngine._check_order`` +
``_check_orders_risk`` on the same order; then ``RiskModel.submit`` alone on Decimals. Prints
p50/p99 of the wall time of each call and the CPU time per order of each batch
(``time.thread_time``: the machine is shared, so wall percentiles include time spent
preempted), and with --repeat N the best of the N blocks for each figure and the ratios to
NautilusTrader's check measured in the same block. NautilusTrader's logging is bypassed (it
logs nothing on this path; the engine's start and stop banners are left out).

Whole backtest: the BTC example config (EMACross on real BTC perpetual 1-minute bars, recorded
into SQLite) with every in-memory check on (limits loose enough that nothing is denied, so both
runs place the same orders) against the gate off; --runs alternating pairs, medians of wall and
of process CPU time, and their ratios.

The machine is shared: use --repeat N and take the best of the N per-order blocks (lowest p50,
CPU and best window), comparing only figures taken in the same run or in alternation.

Instruments held: ``RiskModel.submit`` with gross and net exposure caps while 1 to 50
instruments are held (each order's instrument gets a new price first, as a tick between
orders would), the trader's exposure summed over every instrument per order against the sums
kept per instrument (``RiskModel._exposure_fast``, from 16 instruments held), alternating;
then with drawdown and daily loss limits instead, one position per instrument held (the PnL
valued per order: summed over every position, or from 6 positions held kept as a sum,
``PnlSums``, re-derived only for the position whose price changed). Figures per block of
orders, then the lowest and the median over the blocks (``--repeat``, at least 3).

Against an earlier model (--baseline FILE: a ``liveexec/risk/_model.py`` of another commit,
e.g. ``git show REV:liveexec/risk/_model.py > /tmp/model_before.py``, which must import nothing
from liveexec): the same figures for it, measured in the same run, alternating block by block
with this code's (the gate's order path with that model in place of this one, the model
alone, instruments held), and the ratios of the medians (this code / baseline); the whole
backtest with every check on runs with it too, alternating with this code's and the gate off.

Run: .venv/bin/python benchmarks/risk_check.py [--orders N] [--repeat N] [--runs N]
[--skip-backtest] [--tuned-gc] [--baseline FILE] [--skip-per-order]

--tuned-gc: the per-order blocks with the garbage collector as liveexec's backtests run it
(``liveexec.nodes._compat.tuned_gc``: objects before the run frozen, youngest generation every
10,000 allocations); paper and live nodes run with Python's default.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import resource
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import patch

import yaml
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import StrategyId, TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from liveexec.backtesting import backtest
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.nodes._compat import tuned_gc
from liveexec.risk import (
    InstrumentInfo,
    InstrumentLimits,
    OrderIntent,
    RiskGate,
    RiskLimits,
    StrategyLimits,
    TradingState,
)
from liveexec.risk import _gate as gate_module
from liveexec.risk import _model as risk_model

EVERY_CHECK: dict[str, Any] = {  # the risk section of the whole-backtest run: all checks on
    "instruments": {
        "BTCUSDT-PERP.SIM": {
            "max_order_qty": "10",
            "max_order_notional": "1000000",
            "max_position_qty": "10",
            "max_position_notional": "10000000",
            "price_band_bps": "500",
            "price_band_ticks": 100000,
        }
    },
    "strategies": {
        "EMACross-000": {
            "max_order_notional": "1000000",
            "max_position_qty": "10",
            "max_position_notional": "10000000",
            "max_open_orders": 100,
            "max_orders_per_second": 100,
            "max_orders_per_minute": 1000,
        }
    },
    "max_open_orders": 1000,
    "reporting_currency": "USDT",
    "max_gross_exposure": "100000000",
    "max_net_exposure": "100000000",
    "max_daily_loss": "1000000",
    "max_drawdown": "1000000",
    "max_price_age_s": 3600,
    "check_available_balance": True,
}


def best_window(samples: list[float], size: int = 1_000) -> float:
    """The lowest mean over consecutive windows of ``size`` orders: the cost when the shared
    machine left this process alone for a while."""
    means = [
        statistics.fmean(samples[start : start + size])
        for start in range(0, len(samples) - size + 1, size)
    ]
    return min(means) if means else statistics.fmean(samples)


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def calibration() -> float:
    """ns per ``dict.get`` call (loop included) here and now: compare it across runs to see
    how loaded the shared machine was while the figures were taken."""
    table = {n: n for n in range(100)}
    get = table.get
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter_ns()
        for _ in range(200_000):
            get(5)
        best = min(best, (time.perf_counter_ns() - start) / 200_000)
    return best


Figures = dict[str, tuple[float, float, float]]  # name -> (p50, p99, CPU) in µs


def load_baseline(path: Path) -> ModuleType:
    """An earlier ``_model.py`` as a module of its own (its RiskModel takes this code's
    limits and orders: the same fields)."""
    spec = importlib.util.spec_from_file_location("risk_model_baseline", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being made
    spec.loader.exec_module(module)
    return module


def per_order(orders: int, model_module: ModuleType | None = None) -> Figures:
    """One block; with ``model_module``, its RiskModel in the gate instead of this code's."""
    engine = BacktestEngine(
        BacktestEngineConfig(
            trader_id=TraderId("BENCH-001"), logging=LoggingConfig(bypass_logging=True)
        )
    )
    instrument = TestInstrumentProvider.btcusdt_perp_binance()
    engine.add_venue(
        Venue("BINANCE"),
        OmsType.NETTING,
        AccountType.MARGIN,
        [Money(1_000_000, USDT)],
        base_currency=USDT,
    )
    engine.add_instrument(instrument)
    strategy = Strategy()
    engine.add_strategy(strategy)
    iid = instrument.id.value
    sid = StrategyId("Strategy-000").value
    limits = RiskLimits(
        instruments={
            iid: InstrumentLimits(
                max_order_qty=Decimal(10),
                max_order_notional=Decimal(10**9),
                max_position_qty=Decimal(10**6),
                max_position_notional=Decimal(10**12),
                price_band_bps=Decimal(500),
                price_band_ticks=10**6,
            )
        },
        strategies={
            sid: StrategyLimits(
                max_order_notional=Decimal(10**9),
                max_position_qty=Decimal(10**6),
                max_position_notional=Decimal(10**12),
                max_open_orders=10**6,
                max_orders_per_second=10**6,
                max_orders_per_minute=10**7,
            )
        },
        max_open_orders=10**6,
        max_gross_exposure=Decimal(10**13),
        max_net_exposure=Decimal(10**13),
        max_daily_loss=Decimal(10**9),
        max_drawdown=Decimal(10**9),
        loss_action=TradingState.HALTED,
        max_price_age_ns=10**15,
    )
    gate = RiskGate(
        limits,
        reporting_currency="USDT",
        trader_id="BENCH-001",
        mode="backtest",
        check_funds=True,
    )
    if model_module is not None:
        gate.model = gate._path.model = model_module.RiskModel(limits, "USDT")
    engine.add_actor(gate)
    gate.attach(engine.kernel.risk_engine)
    engine.run()  # creates the venue account (in the cache) the margin check reads
    quote = QuoteTick(
        instrument.id,
        Price.from_str("50000.0"),
        Price.from_str("50000.1"),
        Quantity.from_str("10"),
        Quantity.from_str("10"),
        0,
        0,
    )
    engine.kernel.cache.add_quote_tick(quote)
    gate._on_quote(quote)
    gate._sync_prices()
    nautilus = engine.kernel.risk_engine
    nt_orders = [
        strategy.order_factory.limit(
            instrument.id,
            OrderSide.BUY if n % 2 else OrderSide.SELL,
            Quantity.from_str("0.001"),
            Price.from_str(f"{50000 + n % 50}.0"),
        )
        for n in range(orders)
    ]
    gate_path: list[float] = []
    no_funds: list[float] = []
    theirs: list[float] = []
    ours: list[float] = []
    gate_cpu = no_funds_cpu = theirs_cpu = ours_cpu = 0
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    step = 1_000_000  # 1 ms of node time between orders
    for n, order in enumerate(nt_orders):
        cpu_start = cpu()
        start = clock()
        reason = gate._decide(order, n * step)
        gate_path.append((clock() - start) / 1000)
        gate_cpu += cpu() - cpu_start
        assert reason is None, reason
        gate.model.on_order_closed(order.client_order_id.value)
        gate._release(order.client_order_id.value)
        cpu_start = cpu()
        start = clock()
        nautilus._check_order(instrument, order)
        nautilus._check_orders_risk(instrument, [order])
        theirs.append((clock() - start) / 1000)
        theirs_cpu += cpu() - cpu_start
        again = order.client_order_id.value
        gate._path.check_funds = False  # the same order again, without the margin check
        cpu_start = cpu()
        start = clock()
        reason = gate._decide(order, n * step)
        no_funds.append((clock() - start) / 1000)
        no_funds_cpu += cpu() - cpu_start
        gate._path.check_funds = True
        assert reason is None, reason
        gate.model.on_order_closed(again)
    intents = [
        OrderIntent(f"O-{n}", sid, iid, n % 2 == 0, Decimal("0.001"), price=Decimal("50000.0"))
        for n in range(orders)
    ]
    base = orders * step
    for n, intent in enumerate(intents):
        cpu_start = cpu()
        start = clock()
        gate.model.submit(intent, base + n * step)
        ours.append((clock() - start) / 1000)
        ours_cpu += cpu() - cpu_start
        gate.model.on_order_closed(intent.client_order_id)
    which = "this code" if model_module is None else "baseline model"
    print(
        f"per order, {orders} orders, {which} (wall µs per call; CPU µs per order of the "
        "batch; best: lowest mean wall µs of 1,000 consecutive orders)"
    )
    print(f"  calibration: dict.get {calibration():.0f} ns per call (loop included)")
    figures: Figures = {}
    for name, samples, cpu_ns in (
        (MODEL, ours, ours_cpu),
        (GATE, gate_path, gate_cpu),
        (NO_MARGIN, no_funds, no_funds_cpu),
        (NAUTILUS, theirs, theirs_cpu),
    ):
        p50, p99 = percentiles(samples)
        figures[name] = (p50, p99, cpu_ns / orders / 1000)
        print(
            f"  {name:50s} p50 {p50:6.2f}  p99 {p99:7.2f}  CPU {cpu_ns / orders / 1000:6.2f}"
            f"  best {best_window(samples):6.2f}"
        )
    (t50, t99) = percentiles(theirs)
    for name, samples, cpu_ns in (
        ("all checks", gate_path, gate_cpu),
        ("all but margin", no_funds, no_funds_cpu),
    ):
        g50, g99 = percentiles(samples)
        print(
            f"  ratio gate ({name})/NautilusTrader: p50 {g50 / t50:.2f}, p99 {g99 / t99:.2f}, "
            f"CPU {cpu_ns / theirs_cpu:.2f}"
        )
    engine.dispose()
    return figures


MODEL = "liveexec RiskModel.submit (Decimals, all checks)"
GATE = "liveexec gate path (order -> decision, all checks)"
NO_MARGIN = "liveexec gate path, all but the margin check"
NAUTILUS = "NautilusTrader _check_order + _check_orders_risk"


def best_of(blocks: list[Figures], title: str = "") -> None:
    """The lowest and the median p50, p99 and CPU of each path over the blocks, and the lowest
    ratios to NautilusTrader's check within a block (a ratio compares figures taken
    together)."""
    print(f"{len(blocks)} per-order blocks{title} (µs; min / median over the blocks)")
    for name in blocks[0]:
        p50, p99, cpu = (sorted(block[name][i] for block in blocks) for i in range(3))
        print(
            f"  {name:50s} p50 {p50[0]:6.2f} / {statistics.median(p50):6.2f}  "
            f"p99 {p99[0]:7.2f} / {statistics.median(p99):7.2f}  "
            f"CPU {cpu[0]:6.2f} / {statistics.median(cpu):6.2f}"
        )
    for name in (GATE, NO_MARGIN):
        ratios = [tuple(block[name][i] / block[NAUTILUS][i] for i in range(3)) for block in blocks]
        print(
            f"  ratio {name.removeprefix('liveexec ')}/NautilusTrader, best block: p50 "
            f"{min(r[0] for r in ratios):.2f}, p99 {min(r[1] for r in ratios):.2f}, "
            f"CPU {min(r[2] for r in ratios):.2f}"
        )


def whole_backtest(runs: int, baseline: ModuleType | None = None) -> None:
    """Gate off against every check on, alternating; with ``baseline``, every check on with
    its RiskModel in the gate too (the gate's module global patched for those runs)."""
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["logging"] = {"level": "ERROR", "file_level": None}
    prepare_demo_catalog(parse_config(raw))
    checked = copy.deepcopy(raw)
    checked["risk"] = EVERY_CHECK
    configs = {"gate off": parse_config(raw), "every check on": parse_config(checked)}
    if baseline is not None:
        configs["on, baseline"] = configs["every check on"]
    wall: dict[str, list[float]] = {name: [] for name in configs}
    cpu: dict[str, list[float]] = {name: [] for name in configs}
    counts: dict[str, set[tuple[int, int]]] = {name: set() for name in configs}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        upgrade(url)
        for _ in range(runs):
            for name, cfg in configs.items():
                usage = resource.getrusage(resource.RUSAGE_SELF)
                started = time.perf_counter()
                if name == "on, baseline":
                    assert baseline is not None
                    with patch.object(gate_module, "RiskModel", baseline.RiskModel):
                        result = backtest(cfg, database_url=url)
                else:
                    result = backtest(cfg, database_url=url)
                wall[name].append(time.perf_counter() - started)
                after = resource.getrusage(resource.RUSAGE_SELF)
                cpu[name].append(after.ru_utime - usage.ru_utime + after.ru_stime - usage.ru_stime)
                statuses = result.orders.get_column("status").to_list()
                counts[name].add((len(statuses), statuses.count("DENIED")))
    print(f"whole backtest, ema_cross_btc_perp_bars.yaml, {runs} alternating runs each")
    for name in configs:
        print(
            f"  {name:15s} wall median {statistics.median(wall[name]):6.2f} s  "
            f"CPU median {statistics.median(cpu[name]):6.2f} s  orders (total, denied) "
            f"{sorted(counts[name])}  wall runs {[round(w, 2) for w in wall[name]]}"
        )
    for name in configs:
        assert counts[name] == counts["gate off"], f"the checks changed the run: {name}"
    for name in configs:
        if name == "gate off":
            continue
        print(
            f"  ratio {name}/off: wall "
            f"{statistics.median(wall[name]) / statistics.median(wall['gate off']):.3f}, CPU "
            f"{statistics.median(cpu[name]) / statistics.median(cpu['gate off']):.3f}"
        )


def compare(current: list[Figures], baseline: list[Figures]) -> None:
    """This code against the baseline model, blocks measured in alternation: the ratios of
    the medians over the blocks (below 1: this code is faster)."""
    print("this code / baseline model, ratio of the medians over the blocks")
    for name in (MODEL, GATE, NO_MARGIN):
        ratios = [
            statistics.median(block[name][i] for block in current)
            / statistics.median(block[name][i] for block in baseline)
            for i in range(3)
        ]
        print(f"  {name:50s} p50 {ratios[0]:.3f}  p99 {ratios[1]:.3f}  CPU {ratios[2]:.3f}")


def _held(
    instruments: int,
    kept: bool,
    orders: int,
    *,
    losses: bool = False,
    module: ModuleType = risk_model,
) -> list[float]:
    """Wall µs of ``RiskModel.submit`` (``module``'s) per order with ``instruments`` held:
    with gross and net exposure caps, or (``losses``) with drawdown and daily loss limits
    instead."""
    with patch.object(module, "_FAST_EXPOSURE_FROM", 0 if kept else 10**9):
        ids = [f"I-{n}.SIM" for n in range(instruments)]
        caps = Decimal(10**12)
        limits = (
            RiskLimits(max_drawdown=caps, max_daily_loss=caps)
            if losses
            else RiskLimits(max_gross_exposure=caps, max_net_exposure=caps)
        )
        model = module.RiskModel(limits, "USDT")
        for n, iid in enumerate(ids):
            model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
            model.set_price(iid, Decimal(100 + n), 0)
            assert model.submit(OrderIntent(f"P-{n}", "S-1", iid, True, Decimal(3)), 0) is None
            model.on_fill(f"P-{n}", Decimal(3))
            model.on_position(
                f"POS-{n}",
                iid,
                signed_qty=Decimal(3),
                avg_px_open=Decimal(100),
                realized_pnl=Decimal(0),
                ts_ns=0,
            )
        times = []
        for j in range(orders):
            iid = ids[j % instruments]
            model.set_price(iid, Decimal(100 + j % 7), j)
            order = OrderIntent(f"O-{j}", "S-1", iid, j % 2 == 0, Decimal(1), price=Decimal(100))
            start = time.perf_counter()
            model.submit(order, j)
            times.append((time.perf_counter() - start) * 1e6)
            model.on_order_closed(order.client_order_id)
        return times


def _line(label: str, blocks: list[tuple[float, float]]) -> str:
    p50 = sorted(block[0] for block in blocks)
    p99 = sorted(block[1] for block in blocks)
    return (
        f"{label + ' ' if label else ''}p50 {p50[0]:6.2f} / {statistics.median(p50):6.2f}  "
        f"p99 {p99[0]:6.2f} / {statistics.median(p99):6.2f}"
    )


def instruments_held(orders: int, repeat: int, baseline: ModuleType | None) -> None:
    """``RiskModel.submit`` by instruments held, ``repeat`` alternating blocks of each variant
    (this code's, then the baseline's, in turn first); p50 and p99 of each block, min / median
    over the blocks."""
    blocks = max(repeat, 3)
    modules = [("", risk_model)] + ([("baseline ", baseline)] if baseline is not None else [])
    print(
        "RiskModel.submit with gross and net exposure caps, by instruments held (wall µs; "
        f"min / median over {blocks} blocks of {orders // blocks} orders)"
    )
    for instruments in (1, 16, 50):
        figures: dict[tuple[str, bool], list[tuple[float, float]]] = {}
        for block in range(blocks):
            order = modules if block % 2 == 0 else modules[::-1]
            for label, module in order:
                for kept in (False, True):
                    times = _held(instruments, kept, orders // blocks, module=module)
                    figures.setdefault((label, kept), []).append(percentiles(times))
        for label, _ in modules:
            print(
                f"  {label}{instruments:2d} held: "
                + _line("summed per order", figures[(label, False)])
                + " | "
                + _line("kept sums", figures[(label, True)])
            )
    print(
        "RiskModel.submit with drawdown and daily loss limits, by positions held (the PnL "
        "valued per order; kept as a sum from 6 positions)"
    )
    for instruments in (1, 16, 50):
        losses: dict[str, list[tuple[float, float]]] = {}
        for block in range(blocks):
            order = modules if block % 2 == 0 else modules[::-1]
            for label, module in order:
                times = _held(instruments, False, orders // blocks, losses=True, module=module)
                losses.setdefault(label, []).append(percentiles(times))
        for label, _ in modules:
            print(f"  {label}{instruments:2d} positions: " + _line("", losses[label]))
        if baseline is not None:
            ratio = [
                statistics.median(f[i] for f in losses[""])
                / statistics.median(f[i] for f in losses["baseline "])
                for i in range(2)
            ]
            print(f"     this code / baseline, medians: p50 {ratio[0]:.3f}  p99 {ratio[1]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="alternating backtest pairs")
    parser.add_argument("--repeat", type=int, default=1, help="per-order blocks (take the best)")
    parser.add_argument("--skip-backtest", action="store_true")
    parser.add_argument("--tuned-gc", action="store_true", help="the GC as backtests run it")
    parser.add_argument("--baseline", type=Path, help="an earlier _model.py to compare with")
    parser.add_argument("--skip-per-order", action="store_true", help="no gate blocks")
    args = parser.parse_args()
    baseline = load_baseline(args.baseline) if args.baseline is not None else None
    blocks: list[Figures] = []
    baseline_blocks: list[Figures] = []
    for block in range(0 if args.skip_per_order else args.repeat):
        runs: list[tuple[list[Figures], ModuleType | None]] = [(blocks, None)]
        if baseline is not None:  # alternating, each in turn first
            runs = [*runs, (baseline_blocks, baseline)][:: 1 if block % 2 == 0 else -1]
        for into, module in runs:
            if args.tuned_gc:
                with tuned_gc():
                    into.append(per_order(args.orders, module))
            else:
                into.append(per_order(args.orders, module))
    if blocks and (args.repeat > 1 or baseline is not None):
        best_of(blocks, ", this code")
        if baseline_blocks:
            best_of(baseline_blocks, ", baseline model")
            compare(blocks, baseline_blocks)
    instruments_held(args.orders // 2, args.repeat, baseline)
    if not args.skip_backtest:
        whole_backtest(args.runs, baseline)


if __name__ == "__main__":
    main()
