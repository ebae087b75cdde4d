"""An order that flips a position needs initial margin only for the part that opens the new
position: on real BTC perpetual bars, a MARGIN account that can hold the margin of 0.1 BTC but
not of 0.2 BTC may sell 0.2 while long 0.1 (NautilusTrader then holds the short 0.1), and is
still refused a sell of 0.2 from flat."""

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


def _config(catalog: Path, *, open_short: bool) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(catalog)
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-03T01:00:00Z"
    raw["logging"] = {"level": "ERROR"}
    raw["strategies"] = [
        {
            "path": "tests.risk.flip_strategy:Flip",
            "config_path": "tests.risk.flip_strategy:FlipConfig",
            "config": {
                "instrument_id": IID,
                "bar_type": f"{IID}-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.1",
                "open_short": open_short,
            },
        }
    ]
    # BTC near 46,000 USDT: initial margin 5 % is ~230 USDT for 0.1 and ~460 for 0.2; long
    # 0.1 holds ~115 maintenance margin (2.5 %): 420 USDT pays for the flip's opening 0.1, not
    # for 0.2 at once.
    raw["venues"][0]["starting_balances"] = ["420 USDT"]
    raw["risk"] = {"check_available_balance": True}
    return raw


def test_a_flip_needs_margin_for_its_opening_part_only(tmp_path: Path, sqlite_url: str) -> None:
    upgrade(sqlite_url)
    flip = parse_config(_config(tmp_path / "catalog", open_short=False))
    prepare_demo_catalog(flip)
    result = _backtest(flip, database_url=sqlite_url)
    orders = result.orders.sort("created_at", "client_order_id")
    rows = list(
        zip(
            orders.get_column("side").to_list(),
            orders.get_column("quantity").to_list(),
            orders.get_column("status").to_list(),
            orders.get_column("risk_decision").to_list(),
            strict=True,
        )
    )
    assert [
        (side, str(qty.normalize()), status, decision) for side, qty, status, decision in rows
    ] == [
        ("BUY", "0.1", "FILLED", "approved"),
        ("SELL", "0.2", "FILLED", "approved"),
    ]
    # NautilusTrader's own positions: the long closed, a short of 0.1 open
    positions = result.positions.sort("id")
    assert [
        (side, str(qty.normalize()))
        for side, qty in zip(
            positions.get_column("side").to_list(),
            positions.get_column("net_qty").to_list(),
            strict=True,
        )
    ] == [("FLAT", "0"), ("SHORT", "-0.1")]

    short = parse_config(_config(tmp_path / "catalog", open_short=True))
    denied = _backtest(short, database_url=sqlite_url).orders
    assert denied.get_column("status").to_list() == ["DENIED"]
    reason = denied.get_column("risk_reason").to_list()[0]
    assert reason.startswith("available balance: initial margin ")
    assert "for 0.200 @ " in reason and "opens a position" not in reason
