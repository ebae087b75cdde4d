"""The cross-field rules (stage 2): a registry of small named checks, each issue naming its field
and the fix."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from liveexec.config import parse_config
from liveexec.config._validation import CROSS_FIELD_CHECKS
from liveexec.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SECTION_MODULES = (
    "_components",
    "_venues",
    "_instruments",
    "_data",
    "_paper",
    "_risk",
    "_live",
)


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "liveexec" / "examples" / name).read_text())
    return data


def test_every_rule_is_a_named_check_in_the_registry() -> None:
    registered = [check for checks in CROSS_FIELD_CHECKS.values() for check in checks]
    assert len(registered) == len(set(registered))
    assert all(check.__name__.startswith("_validate_") for check in registered)
    written = {
        function
        for name in SECTION_MODULES
        for label, function in inspect.getmembers(
            importlib.import_module(f"liveexec.config.{name}"), inspect.isfunction
        )
        if label.startswith("_validate_")
    }
    assert written == set(registered), "a rule written but not registered never runs"


def _issues(raw: dict[str, Any]) -> list[Any]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, environ={})
    return list(exc.value.issues)


def test_each_issue_names_its_field_and_the_fix() -> None:
    bars = _example("ema_cross_btc_perp_bars.yaml")
    bars["venues"] = [
        {**bars["venues"][0], "starting_balances": ["0 USDT", "5 USDT"], "book_type": "L2_MBP"},
        {"name": "SIM", "starting_balances": []},
    ]
    bars["instruments"][0]["taker_fee"] = "5"
    bars["instruments"].append(bars["instruments"][0])
    bars["data"]["streams"].append({"kind": "quotes", "instrument_id": "ETHUSDT.SIM"})
    bars["risk"] = {
        "max_notional_per_order": {"BTCUSDT-PERP.SIM": "10"},
        "instruments": {"ETHUSDT.SIM": {"max_order_qty": "2"}},
        "strategies": {"Nope-000": {"max_open_orders": 5}},
        "max_open_orders": 2,
        "max_daily_loss": "100",
        "kill_switch": {"flatten_on_trigger": True},
        "database_exposure": {"refresh_interval_s": 1.0, "max_staleness_s": 1.0},
    }
    live = {
        "mode": "live",
        "strategies": bars["strategies"],
        "venues": [{"name": "SIM"}],
        "instruments": [{"kind": "provided", "source": "venue", "ids": ["BTCUSDT.SIM"]}],
        "live": {"okx": {"api_key": "k"}},
    }
    venue_data = {
        "mode": "paper",
        "paper": {"market_data": "venue", "speed": 2.0},
        "strategies": bars["strategies"],
        "venues": [{"name": "SIM", "starting_balances": ["1 USDT"]}],
        "instruments": bars["instruments"][:1],
        "data": bars["data"],
        "live": {"binance": {}, "reconciliation": False},
    }
    issues = _issues(bars) + _issues(live) + _issues(venue_data)
    assert len(issues) >= 20
    for issue in issues:
        assert issue.location and issue.location != "<root>", issue
        assert issue.hint, f"{issue} says what is wrong, not how to fix it"
