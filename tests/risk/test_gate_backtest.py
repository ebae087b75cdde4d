"""liveexec's risk gate governs the unmodified bundled EMACross in real backtests on real BTC
perpetual bars: denials are NautilusTrader ``OrderDenied`` events recorded with the reason,
approved orders carry the decision, loss limits and the kill switch change the run."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest
import yaml
from sqlalchemy import text

from liveexec.backtesting._run import _backtest
from liveexec.config import parse_config
from liveexec.db import create_db_engine, upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.risk import halt, resume
from liveexec.risk._model import RiskModel
from liveexec.runs import RunResult

pytestmark = pytest.mark.slow

IID = "BTCUSDT-PERP.SIM"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    catalog = tmp_path_factory.mktemp("risk") / "catalog"
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-05T00:00:00Z"
    raw["logging"] = {"level": "ERROR"}
    prepare_demo_catalog(parse_config(raw))
    return raw


def run(base: dict[str, Any], url: str, risk: dict[str, Any], inspect: Any = None) -> RunResult:
    raw = copy.deepcopy(base)
    raw["risk"] = risk
    return _backtest(parse_config(raw), database_url=url, inspect=inspect)


def decisions(result: RunResult) -> list[tuple[str, str | None, str | None]]:
    orders = result.orders.sort("created_at", "client_order_id")
    return list(
        zip(
            orders.get_column("status").to_list(),
            orders.get_column("risk_decision").to_list(),
            orders.get_column("risk_reason").to_list(),
            strict=True,
        )
    )


def test_velocity_limit_denies_with_order_denied_and_records_each_decision(
    base: dict[str, Any], sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    free = decisions(run(base, sqlite_url, {}))
    assert free and all(status == "FILLED" and decision is None for status, decision, _ in free)
    denied_in_engine: list[str] = []

    def inspect(engine: Any) -> None:
        for order in engine.cache.orders():
            if order.status_string() == "DENIED":
                denied_in_engine.append(order.last_event.reason)

    limited = run(
        base,
        sqlite_url,
        {"strategies": {"EMACross-000": {"max_orders_per_minute": 1}}},
        inspect=inspect,
    )
    rows = decisions(limited)
    denied = [reason for status, _, reason in rows if status == "DENIED"]
    approved = [row for row in rows if row[1] == "approved"]
    assert denied and approved
    # EMACross closes and re-enters in the same minute: the entry is denied, never the close
    assert all(
        reason == "max_orders_per_minute 1 (strategy EMACross-000): 1 orders in the last "
        "minute + this order"
        for reason in denied
    )
    assert all(decision == "denied" for status, decision, _ in rows if status == "DENIED")
    assert all(status == "FILLED" for status, decision, _ in approved)
    assert sorted(denied_in_engine) == sorted(r or "" for r in denied)  # NautilusTrader: DENIED
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            events = conn.execute(
                text(
                    "SELECT count(*) FROM order_events WHERE run_id = :r AND "
                    "event_type = 'OrderDenied'"
                ),
                {"r": limited.run_id},
            ).scalar_one()
    finally:
        engine.dispose()
    assert events == len(denied)
    assert len(rows) < len(free) + len(denied) + 1


def test_position_limit_denies_every_entry_above_it(base: dict[str, Any], sqlite_url: str) -> None:
    upgrade(sqlite_url)
    rows = decisions(run(base, sqlite_url, {"instruments": {IID: {"max_position_qty": "0.05"}}}))
    filled = [row for row in rows if row[0] == "FILLED"]
    assert not filled  # every entry of 0.1 is above 0.05: nothing ever opens
    assert rows[0][2] == (
        f"max_position_qty 0.05 (instrument {IID}): position 0 + working 0 + order 0.1 = 0.1"
    ) or rows[0][2] == (
        f"max_position_qty 0.05 (instrument {IID}): position 0 - working 0 - order 0.1 = -0.1"
    )


def test_drawdown_moves_the_trader_to_reducing_with_a_state_row(
    base: dict[str, Any], sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    result = run(
        base,
        sqlite_url,
        {"reporting_currency": "USDT", "max_drawdown": "20", "loss_action": "REDUCING"},
    )
    rows = decisions(result)
    reducing = [reason for status, _, reason in rows if status == "DENIED"]
    assert reducing and all(
        (reason or "").startswith("trading state REDUCING (max_drawdown 20 USDT")
        for reason in reducing
    )
    # the close whose loss reached the limit went through; the entry after it is denied
    first = next(index for index, row in enumerate(rows) if row[0] == "DENIED")
    assert rows[first - 1][:2] == ("FILLED", "approved")
    engine = create_db_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            changes = conn.execute(
                text(
                    "SELECT previous_state, state, reason FROM risk_state_changes "
                    "WHERE run_id = :r ORDER BY id"
                ),
                {"r": result.run_id},
            ).all()
    finally:
        engine.dispose()
    assert [(row[0], row[1]) for row in changes] == [("ACTIVE", "REDUCING")]
    assert changes[0][2].startswith("max_drawdown 20 USDT: PnL")


def test_kill_switch_halts_a_backtest_only_when_asked(
    base: dict[str, Any], sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    engine = create_db_engine(sqlite_url)
    try:
        halt(engine, "TRADER-001", by="tester@host", reason="fat finger on desk 2")
        ignored = decisions(run(base, sqlite_url, {}))
        assert all(status == "FILLED" for status, _, _ in ignored)
        halted = decisions(run(base, sqlite_url, {"kill_switch": {"in_backtest": True}}))
        assert halted and all(status == "DENIED" for status, _, _ in halted)
        assert all(
            reason is not None
            and reason.startswith("trading state HALTED: kill switch: halted by tester@host at ")
            and reason.endswith(": fat finger on desk 2")
            for _, _, reason in halted
        )
        assert resume(engine, "TRADER-001", by="tester@host", reason="fixed") == 1
        resumed = decisions(run(base, sqlite_url, {"kill_switch": {"in_backtest": True}}))
        assert [row[:2] for row in resumed] == [("FILLED", "approved")] * len(ignored)
    finally:
        engine.dispose()


def test_available_balance_denies_entries_the_margin_account_cannot_afford(
    base: dict[str, Any], sqlite_url: str
) -> None:
    """EMACross with 300 USDT on the MARGIN venue: an entry of 0.1 BTC needs ~236 USDT of
    initial margin (NautilusTrader's MarginAccount.calculate_margin_init). NautilusTrader's
    own risk engine does not check margin accounts; with check_available_balance the gate
    denies each entry above the free balance, and never a close."""
    upgrade(sqlite_url)
    poor = copy.deepcopy(base)
    poor["venues"][0]["starting_balances"] = ["300 USDT"]
    unchecked = decisions(run(poor, sqlite_url, {}))
    assert unchecked and all(status == "FILLED" for status, _, _ in unchecked)
    result = run(poor, sqlite_url, {"check_available_balance": True})
    rows = decisions(result)
    denied = [reason for status, _, reason in rows if status == "DENIED"]
    filled = [row for row in rows if row[0] == "FILLED"]
    assert denied and filled and all(decision == "approved" for _, decision, _ in filled)
    pattern = re.compile(
        r"available balance: initial margin (?P<need>[\d.]+) USDT for 0\.100 @ [\d.]+ > "
        r"free (?P<free>-?[\d.]+) USDT$"
    )
    for reason in denied:
        found = pattern.match(reason or "")
        assert found, reason
        assert Decimal(found["need"]) > Decimal(found["free"])
        assert Decimal("200") < Decimal(found["need"]) < Decimal("260")  # 5% of ~4,700 USDT
    # a denied entry leaves the strategy flat: each order after a denial that is approved
    # opens a position, never closes one the gate let grow
    orders = result.orders.sort("created_at", "client_order_id")
    sides = orders.get_column("side").to_list()
    statuses = orders.get_column("status").to_list()
    position = Decimal(0)
    for side, status in zip(sides, statuses, strict=True):
        if status == "FILLED":
            position += Decimal("0.1") if side == "BUY" else Decimal("-0.1")
        assert abs(position) <= Decimal("0.1")
    with_money = decisions(run(base, sqlite_url, {"check_available_balance": True}))
    assert all(status == "FILLED" for status, _, _ in with_money)  # 100,000 USDT: all pass


def test_a_check_that_raises_denies_the_order_and_the_run_goes_on(
    base: dict[str, Any], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injected into the limits model of a real backtest: the third order's check raises.
    That order is denied (NautilusTrader's OrderDenied, recorded with the error as the reason),
    the strategy goes on, and the orders after it are checked and approved as before."""
    upgrade(sqlite_url)
    limits = {"strategies": {"EMACross-000": {"max_open_orders": 10}}}
    clean = decisions(run(base, sqlite_url, limits))
    real_check = RiskModel.check
    calls = 0

    def failing_third(self: RiskModel, intent: Any, now: int) -> str | None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ArithmeticError("injected fault")
        return real_check(self, intent, now)

    monkeypatch.setattr(RiskModel, "check", failing_third)
    faulty = decisions(run(base, sqlite_url, limits))
    assert all(decision == "approved" for _, decision, _ in clean)
    assert faulty[:2] == clean[:2]
    status, decision, reason = faulty[2]
    assert (status, decision) == ("DENIED", "denied")
    assert reason == (
        "the risk gate could not evaluate the order (ArithmeticError: injected fault): "
        "denied (fail closed)"
    )
    others = faulty[:2] + faulty[3:]
    assert others and all(decision == "approved" for _, decision, _ in others)


def test_a_modify_whose_check_raises_is_rejected_and_the_order_keeps_its_quantity(
    base: dict[str, Any], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injected into the check of a modify: NautilusTrader's OrderModifyRejected with the
    error as the reason, the resting order keeps its quantity, the run completes."""
    upgrade(sqlite_url)

    def failing(self: RiskModel, intent: Any, now: int) -> str | None:
        raise ArithmeticError("injected fault")

    monkeypatch.setattr(RiskModel, "check_increase", failing)
    raw = copy.deepcopy(base)
    raw["strategies"] = [
        {
            "path": "tests.risk.modify_strategy:RaiseQuantity",
            "config_path": "tests.risk.modify_strategy:RaiseQuantityConfig",
            "config": {
                "instrument_id": IID,
                "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.100",
                "raised_size": "0.500",
            },
        }
    ]
    raw["risk"] = {"strategies": {"RaiseQuantity-000": {"max_open_orders": 10}}}
    rejections: list[str] = []

    def inspect(engine: Any) -> None:
        for strategy in engine.trader.strategies():
            rejections.extend(strategy.rejections)

    result = _backtest(parse_config(raw), database_url=sqlite_url, inspect=inspect)
    (order,) = result.orders.to_dicts()
    assert (order["status"], order["risk_decision"]) == ("ACCEPTED", "approved")
    assert Decimal(order["quantity"]) == Decimal("0.100")
    assert rejections == [
        "the risk gate could not evaluate the modify (ArithmeticError: injected fault): "
        "rejected (fail closed)"
    ]


def test_a_halted_strategy_is_counted_not_copied(base: dict[str, Any], db_url: str) -> None:
    """Issue 18 §5: a strategy that keeps submitting while halted wrote one DENIED order (and two
    event rows) per attempt. The first ``logging.denials_in_full`` of a streak are recorded as
    orders; the rest are counted in ``denial_streaks``; every denial still counts for the
    promotion gate, on SQLite and PostgreSQL alike."""
    upgrade(db_url)
    engine = create_db_engine(db_url)
    denied_in_engine: list[str] = []

    def inspect(node_engine: Any) -> None:
        denied_in_engine.extend(
            o.client_order_id.value
            for o in node_engine.cache.orders()
            if o.status_string() == "DENIED"
        )

    try:
        halt(engine, "TRADER-001", by="tester@host", reason="desk closed")
        risk = {"kill_switch": {"in_backtest": True}}
        bounded = copy.deepcopy(base)
        bounded["logging"] = {"level": "ERROR", "denials_in_full": 5}
        result = run(bounded, db_url, risk, inspect=inspect)
        every = len(denied_in_engine)
        assert every > 5  # EMACross enters on every cross: the halt denies each entry
        # the first five are orders, in full; nothing else of the others is written
        assert result.orders.height == 5
        assert set(result.orders.get_column("status")) == {"DENIED"}
        assert sorted(result.orders.get_column("client_order_id")) == sorted(denied_in_engine)[:5]
        with engine.connect() as conn:
            events = conn.execute(
                text("SELECT count(*) FROM order_events WHERE run_id = :r"), {"r": result.run_id}
            ).scalar_one()
        assert events == 2 * 5  # OrderInitialized and OrderDenied of each recorded order
        [streak] = result.denials.to_dicts()
        assert (streak["denials"], streak["recorded"], streak["open"]) == (every, 5, True)
        assert streak["strategy_id"] == "EMACross-000" and streak["instrument_id"] == IID
        assert streak["first_reason"].startswith("trading state HALTED: kill switch: halted by ")
        assert streak["first_client_order_id"] == min(denied_in_engine)
        assert streak["last_client_order_id"] == max(denied_in_engine, key=_order_number)
        assert result.risk_denials == every

        # every denial in full when asked: the same count, all of them orders
        denied_in_engine.clear()
        unbounded = copy.deepcopy(base)
        unbounded["logging"] = {"level": "ERROR", "denials_in_full": 1_000_000}
        full = run(unbounded, db_url, risk, inspect=inspect)
        assert full.orders.height == every == len(denied_in_engine)
        assert full.risk_denials == every
        assert full.denials.select("denials", "recorded").row(0) == (every, every)
    finally:
        engine.dispose()


def test_a_streak_ends_when_an_order_passes(base: dict[str, Any], sqlite_url: str) -> None:
    """Denials between approved orders are separate streaks, each recorded in full: the velocity
    limit's denials (one per cross) stay orders however low ``denials_in_full`` is."""
    upgrade(sqlite_url)
    limited = copy.deepcopy(base)
    limited["logging"] = {"level": "ERROR", "denials_in_full": 1}
    result = run(
        limited, sqlite_url, {"strategies": {"EMACross-000": {"max_orders_per_minute": 1}}}
    )
    denied = result.orders.filter(result.orders.get_column("status") == "DENIED")
    assert denied.height > 1
    streaks = result.denials
    assert streaks.height == denied.height
    assert streaks.get_column("denials").to_list() == [1] * denied.height
    assert not any(streaks.get_column("open").to_list()[:-1])  # each ended by the next entry
    assert result.risk_denials == denied.height


def _order_number(client_order_id: str) -> int:
    return int(client_order_id.rsplit("-", 1)[1])
