"""The drawdown peak and the daily loss survive a restart: a paper or live gate records how far
its PnL stands below the peak (and below the UTC day's start) in ``risk_loss_marks``, and a
restarted gate goes on from there, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.model.identifiers import TraderId

from liveexec.db import create_db_engine, upgrade
from liveexec.risk import (
    InstrumentInfo,
    LossMark,
    LossMarkWriter,
    OrderIntent,
    RiskGate,
    RiskLimits,
    RiskModel,
    TradingState,
    last_loss_mark,
    record_loss_mark,
)

IID = "X.SIM"
DAY = 86_400 * 1_000_000_000
T0 = 19_000 * DAY  # a UTC midnight


def model_holding(limits: RiskLimits, avg_px: str = "100") -> RiskModel:
    """A model holding 2 X bought at ``avg_px`` (a restarted node sees its open position)."""
    model = RiskModel(limits, "USDT")
    model.set_instrument(IID, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
    model.on_position(
        "P-1",
        IID,
        signed_qty=Decimal(2),
        avg_px_open=Decimal(avg_px),
        realized_pnl=Decimal(0),
        ts_ns=T0,
    )
    return model


def buy(model: RiskModel, n: int, ts: int) -> str | None:
    reason = model.submit(OrderIntent(f"O-{n}", "A-000", IID, True, Decimal(1), is_market=True), ts)
    model.on_order_closed(f"O-{n}")
    return reason


def test_a_restarted_model_keeps_its_drawdown_peak(db_url: str) -> None:
    upgrade(db_url)
    engine = create_db_engine(db_url)
    limits = RiskLimits(max_drawdown=Decimal(50), max_daily_loss=Decimal(1000))
    try:
        first = model_holding(limits)
        first.set_price(IID, Decimal(120), T0 + 1)  # PnL +40: the peak
        assert buy(first, 1, T0 + 2) is None
        first.set_price(IID, Decimal(100), T0 + 3)  # PnL 0: 40 below the peak
        assert buy(first, 2, T0 + 4) is None
        mark = first.loss_mark()
        assert mark == LossMark(Decimal(40), 19_000, Decimal(40), T0 + 4)  # day began at +40
        record_loss_mark(engine, mark, trader_id="DESK-7", mode="paper", run_id=None)
        assert last_loss_mark(engine, "DESK-7", "paper") == mark
        assert last_loss_mark(engine, "DESK-7", "live") is None  # per mode

        # The node restarts; its PnL now counts from the position it holds (bought at 100).
        restarted = model_holding(limits)
        found = last_loss_mark(engine, "DESK-7", "paper")
        assert found is not None
        restarted.restore_loss_mark(found)
        forgetful = model_holding(limits)  # what the first pass did: a fresh peak
        for model in (restarted, forgetful):
            model.set_price(IID, Decimal(100), T0 + 10)
            assert buy(model, 3, T0 + 11) is None
            model.set_price(IID, Decimal(95), T0 + 12)  # PnL -10
        reason = buy(restarted, 4, T0 + 13)  # 40 + 10 = 50 below the peak before the restart
        assert reason is not None and reason.startswith(
            "trading state REDUCING (max_drawdown 50 USDT: PnL -10 is 50 below its peak 40)"
        )
        assert [(c.previous, c.state) for c in restarted.changes] == [
            (TradingState.ACTIVE, TradingState.REDUCING)
        ]
        assert buy(forgetful, 4, T0 + 13) is None  # only 10 below its own peak of 0
    finally:
        engine.dispose()


def test_the_daily_loss_goes_on_within_the_day_and_resets_the_next(sqlite_url: str) -> None:
    limits = RiskLimits(max_daily_loss=Decimal(30))
    mark = LossMark(drawdown=Decimal(20), day=19_000, daily_loss=Decimal(20), ts_ns=T0 + 5)
    same_day = model_holding(limits)
    same_day.restore_loss_mark(mark)
    same_day.set_price(IID, Decimal(100), T0 + 10)
    assert buy(same_day, 1, T0 + 11) is None  # 20 lost today before the restart
    same_day.set_price(IID, Decimal(95), T0 + 12)  # 10 more
    reason = buy(same_day, 2, T0 + 13)
    assert reason is not None and "max_daily_loss 30 USDT: lost 30 since the UTC day began" in (
        reason
    )
    next_day = model_holding(limits)
    next_day.restore_loss_mark(mark)
    next_day.set_price(IID, Decimal(100), T0 + DAY + 10)
    next_day.set_price(IID, Decimal(95), T0 + DAY + 12)
    assert buy(next_day, 1, T0 + DAY + 13) is None  # a new day: 10 lost, below 30


def test_a_paper_gate_restores_the_mark_at_start_and_writes_it_at_stop(db_url: str) -> None:
    upgrade(db_url)
    database = create_db_engine(db_url)
    bt = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("DESK-7")))
    try:
        before = LossMark(Decimal(40), 19_000, Decimal(5), T0)
        record_loss_mark(database, before, trader_id="DESK-7", mode="paper", run_id=None)
        gate = RiskGate(
            RiskLimits(max_drawdown=Decimal(50)),
            reporting_currency="USDT",
            trader_id="DESK-7",
            mode="paper",  # the constructor does not depend on the node kind
            database=database,
        )
        bt.add_actor(gate)
        gate.on_start()
        model = gate.model
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
        assert buy(model, 1, T0 + 2) is None  # PnL 0 where the last node left it: peak +40
        model.set_price(IID, Decimal(90), T0 + 3)
        reason = buy(model, 2, T0 + 3)  # PnL -10: 50 below the restored peak of +40
        assert reason is not None and "max_drawdown 50 USDT: PnL -10 is 50 below its peak 40" in (
            reason
        )
        gate.on_stop()
        after = last_loss_mark(database, "DESK-7", "paper")
        assert after == LossMark(Decimal(50), 19_000, Decimal(15), T0 + 3)
    finally:
        bt.dispose()
        database.dispose()


def test_the_writer_thread_writes_only_changed_marks(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    database = create_db_engine(sqlite_url)
    marks = [LossMark(Decimal(1), 1, Decimal(0), 1)]
    writer = LossMarkWriter(
        database, lambda: marks[-1], trader_id="DESK-7", mode="live", run_id=None, interval_s=0.05
    )
    try:
        writer.write_once()
        writer.write_once()
        assert writer.writes == 1
        marks.append(LossMark(Decimal(2), 1, Decimal(0), 2))
        writer.start()
        writer.stop()
        assert writer.writes == 2 and writer.error is None
        assert last_loss_mark(database, "DESK-7", "live") == marks[-1]
    finally:
        database.dispose()
