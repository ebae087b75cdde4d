"""The risk gate's state store: the SQL store (tables of migration 0004, SQLite and PostgreSQL)
and the memory store answer the same sequences of halts, resumes, state changes and loss marks
alike, step by step; a gate, its halt watcher and its loss-mark writer run on either."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.model.identifiers import TraderId

from liveexec.db import create_db_engine, upgrade
from liveexec.risk import (
    HaltWatcher,
    InstrumentInfo,
    LossMark,
    LossMarkWriter,
    MemoryStateStore,
    OrderIntent,
    RiskGate,
    RiskLimits,
    SqlStateStore,
    StateChange,
    StateStore,
    TradingState,
)

TRADERS = ("DESK-1", "DESK-2")
MODES = ("backtest", "paper", "live")
IID = "BTCUSDT-PERP.SIM"
T0 = 19_000 * 86_400 * 1_000_000_000  # a UTC midnight, node time
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def _answer(value: object) -> object:
    """A store's answer without what the two cannot share (wall-clock halt times)."""
    if value is None or isinstance(value, (int, tuple, LossMark)):
        return value
    return (value.id, value.state, value.halted_by, value.reason)  # type: ignore[attr-defined]


def _mark(rng: random.Random) -> LossMark:
    digits = rng.choice((0, 1, 2, 12, 18, 20))  # more than the columns' 18: rounded
    drawdown = Decimal(rng.randint(0, 10**9)).scaleb(-digits)
    return LossMark(drawdown, rng.randint(19_000, 19_003), -drawdown / 3, rng.randint(0, 10**18))


def _step(rng: random.Random, step: int) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    trader, mode = rng.choice(TRADERS), rng.choice(MODES)
    kind = rng.choice(("halt", "resume", "active", "changes", "state", "mark", "read_mark"))
    if kind == "halt":
        return kind, (trader,), {"by": f"ops-{step}", "reason": f"r{step}", "reducing": step % 2}
    if kind == "resume":
        return kind, (trader,), {"by": "ops", "reason": "done"}
    if kind == "active":
        return "active_halt", (trader,), {}
    if kind == "changes":
        states = [rng.choice(list(TradingState)) for _ in range(rng.randint(0, 3))]
        changes = [StateChange(ACTIVE, state, f"c{step}.{n}", n) for n, state in enumerate(states)]
        return (
            "record_state_changes",
            (changes,),
            {"trader_id": trader, "run_id": None, "mode": mode},
        )
    if kind == "state":
        return "last_state", (trader, mode), {}
    if kind == "mark":
        run = rng.choice((None, "run-1"))
        return "record_loss_mark", (_mark(rng),), {"trader_id": trader, "mode": mode, "run_id": run}
    return "last_loss_mark", (trader, mode), {}


@pytest.mark.parametrize("seed", range(4))
def test_both_stores_answer_the_same_sequence_alike(db_url: str, seed: int) -> None:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    stores: tuple[StateStore, ...] = (SqlStateStore(engine), MemoryStateStore())
    rng = random.Random(seed)
    seen: set[str] = set()
    try:
        for step in range(60):
            name, args, kwargs = _step(rng, step)
            answers = [_answer(getattr(store, name)(*args, **kwargs)) for store in stores]
            assert answers[0] == answers[1], (step, name, args, kwargs, answers)
            if answers[0] is not None:
                seen.add(name)
            if name == "halt":
                time.sleep(0.002)  # halts ordered by their time, as on a live desk
    finally:
        engine.dispose()
    assert {"active_halt", "last_state", "last_loss_mark", "resume"} <= seen, seen


def test_marks_are_kept_as_the_money_columns_keep_them(db_url: str) -> None:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        for store in (SqlStateStore(engine), MemoryStateStore()):
            mark = LossMark(Decimal("40.0000000000000000004"), 19_000, Decimal("-1.50"), 7)
            store.record_loss_mark(mark, trader_id="DESK-1", mode="paper", run_id=None)
            found = store.last_loss_mark("DESK-1", "paper")
            assert found is not None
            # 18 decimals, then without trailing zeros: 40.000000000000000000 -> 40
            assert (str(found.drawdown), str(found.daily_loss)) == ("40", "-1.5")
            assert store.last_loss_mark("DESK-1", "live") is None
    finally:
        engine.dispose()


def test_a_mark_of_ten_billion_or_more_is_kept(db_url: str) -> None:
    """A drawdown of 12.3 billion JPY (a 28-digit default context refused its 18 decimals, so
    the mark was never written and the peak was lost on restart)."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    try:
        for store in (SqlStateStore(engine), MemoryStateStore()):
            mark = LossMark(Decimal("12345678901.25"), 19_000, Decimal("987654321098.5"), 9)
            store.record_loss_mark(mark, trader_id="DESK-2", mode="live", run_id=None)
            found = store.last_loss_mark("DESK-2", "live")
            assert found is not None
            assert (found.drawdown, found.daily_loss) == (mark.drawdown, mark.daily_loss)
    finally:
        engine.dispose()


def test_a_halt_in_a_memory_store_reaches_a_watcher_and_its_gate() -> None:
    store = MemoryStateStore()
    watcher = HaltWatcher(store, "DESK-7", interval_s=0.02)
    watcher.start()
    try:
        assert watcher.current() == (ACTIVE, "no halt in force")
        store.halt("DESK-7", by="ops", reason="runaway quoting", reducing=True)
        deadline = time.monotonic() + 1
        while watcher.current()[0] != REDUCING:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert watcher.current()[1].endswith("runaway quoting")
        assert store.resume("DESK-7", by="ops", reason="fixed") == 1
        while watcher.current()[0] != ACTIVE:
            assert time.monotonic() < deadline + 1
            time.sleep(0.005)
    finally:
        watcher.stop()


def test_a_gate_on_a_memory_store_restores_its_state_and_mark_and_writes_them() -> None:
    """As ``test_loss_restart``'s paper gate on a database: the mark and the state a previous
    node left are restored at start; changes and the last mark are written at stop."""
    store = MemoryStateStore()
    store.record_loss_mark(
        LossMark(Decimal(40), 19_000, Decimal(5), T0), trader_id="DESK-7", mode="paper", run_id=None
    )
    store.record_state_changes(
        [StateChange(ACTIVE, REDUCING, "max_drawdown earlier", T0)],
        trader_id="DESK-7",
        run_id=None,
        mode="paper",
    )
    bt = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("DESK-7")))
    try:
        gate = RiskGate(
            RiskLimits(max_drawdown=Decimal(50), loss_action=HALTED),
            reporting_currency="USDT",
            trader_id="DESK-7",
            mode="paper",
            database=store,
            kill_switch=True,
            poll_interval_s=0.05,
        )
        bt.add_actor(gate)
        gate.on_start()
        model = gate.model
        assert (model.state, model.state_reason) == (REDUCING, "max_drawdown earlier")
        model.set_instrument(IID, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
        model.on_position(
            "P-1",
            IID,
            signed_qty=Decimal(1),
            avg_px_open=Decimal(100),
            realized_pnl=Decimal(0),
            ts_ns=T0 + 1,
        )
        model.set_price(IID, Decimal(100), T0 + 2)
        model.evaluate_losses(T0 + 2)  # PnL 0 where the last node left it: peak +40
        model.set_price(IID, Decimal(90), T0 + 3)  # PnL -10: 50 below the restored peak
        order = OrderIntent("O-1", "S-1", IID, True, Decimal(1))
        reason = model.submit(order, T0 + 3)
        assert reason is not None
        assert reason.startswith("trading state HALTED: max_drawdown 50 USDT: PnL -10 is 50")
        gate.on_stop()
        assert store.last_loss_mark("DESK-7", "paper") == LossMark(
            Decimal(50), 19_000, Decimal(15), T0 + 3
        )
        assert store.last_state("DESK-7", "paper") == (HALTED, model.state_reason)
        assert [c.state for _, _, c in store.state_changes("DESK-7")] == [REDUCING, HALTED]
    finally:
        bt.dispose()


def test_the_writer_writes_only_changed_marks_to_a_memory_store() -> None:
    store = MemoryStateStore()
    marks = [LossMark(Decimal(1), 1, Decimal(0), 1)]
    writer = LossMarkWriter(
        store, lambda: marks[-1], trader_id="DESK-7", mode="live", run_id=None, interval_s=0.05
    )
    writer.write_once()
    writer.write_once()
    assert writer.writes == 1
    marks.append(LossMark(Decimal(2), 1, Decimal(0), 2))
    writer.start()
    writer.stop()
    assert writer.writes == 2 and writer.error is None
    assert store.last_loss_mark("DESK-7", "live") == marks[-1]
