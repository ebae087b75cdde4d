"""Exposure and loss limits in a reporting currency for instruments that settle in another one:
the gate converts at NautilusTrader's own exchange rate (``Cache.get_xrate``, mid of the latest
quotes at the venue) and fails closed without one. On the real FXCM USD/JPY quotes (JPY-settled)
with USD as the reporting currency: a USD/JPY position's USD value is its base quantity, and the
realized PnL the loss limits count moves as the USD account's balance does."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from nautilus_trader.model.currencies import USD
from nautilus_trader.model.identifiers import Venue

from liveexec.backtesting._run import _backtest
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.errors import ConfigError
from liveexec.examples import EXAMPLES_DIR
from liveexec.risk import (
    InstrumentInfo,
    OrderIntent,
    RiskGate,
    RiskLimits,
    RiskModel,
)

IID = "USD/JPY.SIM"
SIZE = Decimal(1_000_000)  # the example's trade size, in USD (the pair's base currency)


def _raw(catalog: Path, risk: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load((EXAMPLES_DIR / "ema_cross_usdjpy_fx.yaml").read_text())
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2013-02-04T00:00:00Z"
    raw["data"]["end"] = "2013-02-11T00:00:00Z"
    raw["logging"] = {"level": "ERROR"}
    raw["risk"] = risk
    return raw


def test_the_config_needs_a_path_to_the_reporting_currency(tmp_path: Path) -> None:
    usd = parse_config(_raw(tmp_path, {"reporting_currency": "USD", "max_drawdown": "1000"}))
    assert usd.risk.reporting_currency == "USD"  # JPY -> USD through USD/JPY itself
    with pytest.raises(ConfigError) as exc:
        parse_config(_raw(tmp_path, {"reporting_currency": "EUR", "max_drawdown": "1000"}))
    [issue] = [i for i in exc.value.issues if i.location == "risk.reporting_currency"]
    assert "valued in JPY" in issue.message and "leads from JPY to EUR" in issue.message
    inverse: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    inverse["instruments"][0]["is_inverse"] = True
    inverse["risk"] = {"reporting_currency": "USDT", "max_gross_exposure": "1000"}
    with pytest.raises(ConfigError) as exc:
        parse_config(inverse)
    assert any(
        i.location == "risk.reporting_currency" and "inverse" in i.message for i in exc.value.issues
    )


def test_the_model_converts_at_the_rate_and_fails_closed_without_one() -> None:
    model = RiskModel(
        RiskLimits(max_gross_exposure=Decimal(1_500_000), max_drawdown=Decimal(10_000)), "USD"
    )
    model.set_instrument(IID, InstrumentInfo(Decimal(1), Decimal("0.001"), "JPY"))
    model.set_price(IID, Decimal("87.000"), 1)

    def buy(n: int, qty: Decimal) -> str | None:
        return model.check(OrderIntent(f"O-{n}", "S-1", IID, True, qty, price=Decimal(87)), 2)

    assert buy(1, SIZE) == f"exposure: {IID} is valued in JPY: no conversion to USD (fail closed)"
    model.set_rate(IID, Decimal(1) / Decimal(87))
    assert buy(2, SIZE) is None
    reason = buy(3, 2 * SIZE) or ""
    assert reason.startswith("max_gross_exposure 1500000 USD (trader): worst-case gross exposure ")
    assert abs(Decimal(reason.split()[-2]) - 2 * SIZE) < Decimal("0.000001")
    # a JPY position: PnL converted at the rate; no rate, and the loss limits cannot be valued
    model.on_position(
        "P-1",
        IID,
        signed_qty=SIZE,
        avg_px_open=Decimal("86.000"),
        realized_pnl=Decimal(-870),  # JPY, converted at 1/87 when realized: -10 USD
        ts_ns=3,
    )
    # unrealized 1,000,000 * (87 - 86) JPY at 1/87 USD per JPY
    assert abs(model.total_pnl() - (Decimal(1_000_000) - 870) / 87) < Decimal("0.000001")
    model.set_rate(IID, None)
    assert model.total_pnl() == f"{IID} is valued in JPY: no conversion to USD (fail closed)"
    assert buy(4, Decimal(1000)) == (
        f"loss limits: {IID} is valued in JPY: no conversion to USD (fail closed)"
    )


@pytest.mark.slow
def test_usd_limits_on_a_jpy_settled_pair_in_a_real_backtest(
    tmp_path: Path, sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    risk: dict[str, Any] = {
        "reporting_currency": "USD",
        "max_gross_exposure": "1500000",
        "max_drawdown": "1000000",
    }
    loose = parse_config(_raw(tmp_path / "catalog", risk))
    prepare_demo_catalog(loose)
    seen: dict[str, Any] = {}

    def inspect(engine: Any) -> None:  # NautilusTrader's BacktestEngine
        [gate] = [actor for actor in engine.trader.actors() if isinstance(actor, RiskGate)]
        cache = engine.kernel.cache
        account = cache.account_for_venue(Venue("SIM"))
        seen.update(
            exposures=gate.model.exposures(),
            realized=gate.model.realized_pnl,
            balance=account.balance_total(USD).as_decimal(),
            open_qty=sum(p.quantity.as_decimal() for p in cache.positions_open()),
            realized_jpy=[p.realized_pnl.as_decimal() for p in cache.positions()],
        )

    result = _backtest(loose, database_url=sqlite_url, inspect=inspect)
    statuses = result.orders.get_column("status").to_list()
    assert len(statuses) > 10 and "DENIED" not in statuses
    # a USD/JPY position's value in USD is its quantity of USD: qty * JPY price * (USD per JPY)
    gross = seen["exposures"][0]
    assert abs(gross - seen["open_qty"]) <= seen["open_qty"] * Decimal("1e-12")
    # realized PnL (JPY) converted when realized, against the USD account's balance:
    # NautilusTrader converts each fill's PnL at the bid or ask rate, the gate at the mid of
    # the same quotes; they differ by half a spread (< 1e-4 of the rate in this data)
    moved = seen["balance"] - Decimal(1_000_000)
    bound = sum(abs(pnl) for pnl in seen["realized_jpy"]) / 80 * Decimal("1e-4")
    assert moved != 0 and abs(seen["realized"] - moved) <= bound, (seen["realized"], moved)

    tight = parse_config(_raw(tmp_path / "catalog", {**risk, "max_gross_exposure": "900000"}))
    orders = _backtest(tight, database_url=sqlite_url).orders
    rows = orders.filter(orders.get_column("status") == "DENIED")
    assert rows.height > 0
    for reason in rows.get_column("risk_reason").to_list():
        assert reason.startswith("max_gross_exposure 900000 USD (trader): worst-case gross ")
        # 1,000,000 USD (unconverted, ~93,000,000 JPY), valued at the gate's last price (here
        # the strategy's 15-minute BID bar close) at the rate of the latest quote's mid: within
        # a spread of it (the exact conversion: the open position's value above)
        figure = Decimal(reason.split()[-2])
        assert abs(figure - SIZE) <= SIZE * Decimal("1e-3"), reason


@pytest.mark.slow
def test_a_held_jpy_position_is_valued_in_usd_at_the_node_rate(
    tmp_path: Path, sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    raw = _raw(
        tmp_path / "catalog",
        {"reporting_currency": "USD", "max_gross_exposure": "1500000", "max_drawdown": "100000"},
    )
    raw["strategies"] = [
        {
            "path": "tests.risk.fx_hold_strategy:Hold",
            "config_path": "tests.risk.fx_hold_strategy:HoldConfig",
            "config": {"instrument_id": IID, "trade_size": "1000000"},
        }
    ]
    cfg = parse_config(raw)
    prepare_demo_catalog(cfg)
    seen: dict[str, Any] = {}

    def inspect(engine: Any) -> None:  # NautilusTrader's BacktestEngine
        [gate] = [actor for actor in engine.trader.actors() if isinstance(actor, RiskGate)]
        cache = engine.kernel.cache
        [position] = cache.positions_open()
        quote = cache.quote_tick(position.instrument_id)
        mid = (quote.bid_price.as_decimal() + quote.ask_price.as_decimal()) / 2
        rate = cache.get_xrate(Venue("SIM"), position.quote_currency, USD)
        avg_px = Decimal(repr(position.avg_px_open))
        gate._sync_prices()  # the prices (and rates) since its last order, as the next order does
        seen.update(
            exposures=gate.model.exposures(),
            pnl=gate.model.total_pnl(),
            qty=position.quantity.as_decimal(),
            # NautilusTrader's position and cache, valued independently of the gate
            unrealized_jpy=position.quantity.as_decimal() * (mid - avg_px),
            realized_jpy=position.realized_pnl.as_decimal(),
            rate=Decimal(repr(rate)),
        )

    result = _backtest(cfg, database_url=sqlite_url, inspect=inspect)
    assert result.orders.get_column("risk_decision").to_list() == ["approved"]
    gross, long_net, _ = seen["exposures"]
    assert seen["qty"] == SIZE
    # 1,000,000 USD of USD/JPY is worth 1,000,000 USD: qty * mid (JPY) * (USD per JPY)
    assert abs(gross - SIZE) <= SIZE * Decimal("1e-12") and long_net == gross
    # PnL in USD: the unrealized JPY at the rate now, the realized (the commission, JPY) at the
    # rate when it was paid (the week's rates differ by less than 5 %)
    expected = (seen["unrealized_jpy"] + seen["realized_jpy"]) * seen["rate"]
    assert seen["realized_jpy"] < 0
    assert abs(seen["pnl"] - expected) <= abs(seen["realized_jpy"]) * seen["rate"] / 20
