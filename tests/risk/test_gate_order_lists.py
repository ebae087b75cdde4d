"""An order list (a bracket) passes the risk gate whole or not at all, in a real backtest on
real BTC perpetual bars: a bracket whose take-profit breaks the price band is denied member by
member (each gets ``OrderDenied`` and a ``DENIED`` row with the list's reason), and the members
checked before it leave no trace: a second bracket submitted at the same instant fits in
``max_orders_per_second`` = 3 only if the denied bracket's entry and stop-loss were withdrawn
from the velocity count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from liveexec.backtesting._run import _backtest
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR

pytestmark = pytest.mark.slow

IID = "BTCUSDT-PERP.SIM"


def _config(catalog: Path, risk: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-03T00:30:00Z"
    raw["logging"] = {"level": "ERROR"}
    raw["strategies"] = [
        {
            "path": "tests.risk.bracket_strategy:Brackets",
            "config_path": "tests.risk.bracket_strategy:BracketsConfig",
            "config": {
                "instrument_id": IID,
                "bar_type": f"{IID}-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.01",
                "far_tp_bps": "500",  # 5 %: outside a 1 % band
                "near_bps": "50",
            },
        }
    ]
    raw["risk"] = risk
    return raw


def _rows(config: dict[str, Any], url: str) -> list[tuple[str, str, str | None, str | None]]:
    parsed = parse_config(config)
    prepare_demo_catalog(parsed)
    orders = _backtest(parsed, database_url=url).orders.sort("client_order_id")
    return list(
        zip(
            orders.get_column("order_type").to_list(),
            orders.get_column("status").to_list(),
            orders.get_column("risk_decision").to_list(),
            orders.get_column("risk_reason").to_list(),
            strict=True,
        )
    )


def test_a_bracket_is_denied_whole_and_its_checked_members_are_withdrawn(
    tmp_path: Path, sqlite_url: str
) -> None:
    upgrade(sqlite_url)
    risk = {
        "instruments": {IID: {"price_band_bps": "100"}},
        "strategies": {"Brackets-000": {"max_orders_per_second": 3}},
    }
    rows = _rows(_config(tmp_path / "catalog", risk), sqlite_url)
    assert len(rows) == 6, rows
    first, second = rows[:3], rows[3:]
    # the first bracket: every member denied with the list's reason, naming the take-profit
    assert {status for _, status, _, _ in first} == {"DENIED"}, first
    assert {decision for _, _, decision, _ in first} == {"denied"}, first
    reasons = {reason for _, _, _, reason in first}
    assert len(reasons) == 1, reasons
    (reason,) = reasons
    assert reason is not None and reason.startswith("order list "), reason
    assert f"price_band_bps 100 ({IID}): price " in reason, reason
    # the second: approved whole (3 orders in the second, the first's left no velocity entry);
    # its entry filled at the market, its exits rest
    assert {decision for _, _, decision, _ in second} == {"approved"}, second
    assert sorted((kind, status) for kind, status, _, _ in second) == [
        ("LIMIT", "ACCEPTED"),
        ("MARKET", "FILLED"),
        ("STOP_MARKET", "ACCEPTED"),
    ], second


def test_without_the_band_both_brackets_count_against_the_velocity_limit(
    tmp_path: Path, sqlite_url: str
) -> None:
    """The control: with no band the first bracket passes and takes the 3 orders a second
    allows, so the second is denied whole by the velocity limit (the test above can fail)."""
    upgrade(sqlite_url)
    risk = {"strategies": {"Brackets-000": {"max_orders_per_second": 3}}}
    rows = _rows(_config(tmp_path / "catalog", risk), sqlite_url)
    assert len(rows) == 6, rows
    first, second = rows[:3], rows[3:]
    assert {decision for _, _, decision, _ in first} == {"approved"}, first
    assert {status for _, status, _, _ in second} == {"DENIED"}, second
    (reason,) = {reason for _, _, _, reason in second}
    assert reason is not None and reason.startswith("order list "), reason
    assert "max_orders_per_second 3" in reason, reason
