"""A long run leaves no per-order trail in the risk gate: the approvals the recorder reads, the
working orders and the positions the model values are bounded by what works and what is open,
while every decision still lands in ``unified_orders``; and the realized PnL the loss limits
use equals the venue account's (NautilusTrader's own accounting) after thousands of orders
that close and reopen NETTING positions under the same id."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.identifiers import Venue

from liveexec.backtesting._run import _backtest
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.risk import RiskGate
from liveexec.risk._gate import _CLOSED_KEPT, Approvals

pytestmark = pytest.mark.slow


def test_a_month_of_orders_leaves_the_gate_bounded(
    tmp_path: Path,
    sqlite_url: str,
) -> None:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(tmp_path / "catalog")
    raw["logging"] = {"level": "ERROR"}
    raw["risk"] = {  # every check on, loose enough that no order is denied
        "instruments": {"BTCUSDT-PERP.SIM": {"max_position_qty": "10", "price_band_bps": "500"}},
        "strategies": {"EMACross-000": {"max_open_orders": 100, "max_orders_per_minute": 1000}},
        "reporting_currency": "USDT",
        "max_gross_exposure": "100000000",
        "max_drawdown": "1000000",
        "check_available_balance": True,
    }
    cfg = parse_config(raw)
    upgrade(sqlite_url)
    prepare_demo_catalog(cfg)
    seen: dict[str, Any] = {}

    def inspect(engine: Any) -> None:  # NautilusTrader's BacktestEngine
        gates = [actor for actor in engine.trader.actors() if isinstance(actor, RiskGate)]
        assert len(gates) == 1
        gate = gates[0]
        account = engine.kernel.cache.account_for_venue(Venue("SIM"))
        seen.update(
            checks=gate.checks,
            denials=gate.denials,
            approvals_kept=len(gate.approved),
            approvals_working=gate.approved.working,
            tracked=gate.model.tracked(),
            realized=gate.model.realized_pnl,
            balance=account.balance_total(USDT).as_decimal(),
        )

    result = _backtest(cfg, database_url=sqlite_url, inspect=inspect)
    orders = result.orders
    assert orders.height > 4_000  # the whole month: thousands of orders through the gate
    assert seen["checks"] == orders.height and seen["denials"] == 0
    # every decision recorded, although the gate forgot each approval once the row was built
    assert orders.get_column("risk_decision").to_list() == ["approved"] * orders.height
    assert orders.get_column("risk_reason").null_count() == orders.height
    working = orders.filter(~orders.get_column("status").is_in(["FILLED", "CANCELED"])).height
    assert seen["approvals_working"] == working <= 1
    assert seen["approvals_kept"] == working  # the final flush asked about every closed one
    tracked = seen["tracked"]
    assert tracked["working_orders"] == working
    assert tracked["groups"] == 0
    assert tracked["positions"] <= 1  # one NETTING position, open or not, never one per cycle
    assert tracked["recent_orders"] <= 2 * 1000  # the last minute and second only
    # The model's realized PnL against NautilusTrader's accounting: a MARGIN account's balance
    # moves by each fill's realized PnL less commission, the same amounts the positions carry.
    start = Decimal(cfg.venues[0].starting_balances[0].split()[0])
    assert seen["realized"] == seen["balance"] - start
    assert seen["realized"] != 0


def test_approvals_answer_once_after_the_end_and_keep_a_bounded_backlog() -> None:
    approvals = Approvals()
    approvals.add("O-1")
    assert "O-1" in approvals and "O-1" in approvals  # working: asked as often as needed
    approvals.close("O-1")
    assert "O-1" in approvals  # the recorder's question after the closing event
    assert "O-1" not in approvals and len(approvals) == 0
    assert "O-2" not in approvals  # never approved
    for n in range(_CLOSED_KEPT + 10):  # ended orders nobody asks about (no recorder)
        approvals.add(f"C-{n}")
        approvals.close(f"C-{n}")
    assert len(approvals) == _CLOSED_KEPT and approvals.working == 0
    assert "C-0" not in approvals and f"C-{_CLOSED_KEPT + 9}" in approvals  # the oldest went
