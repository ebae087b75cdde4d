"""The price band and the stale-price rule on real data, with unmodified NautilusTrader strategies:
the bundled SimpleQuoterStrategy (limit orders at the top of book, on real Binance BTCUSDT
quotes) and EMACrossTWAP with the bundled TWAP execution algorithm (market child orders on a
timer, on real BTC perpetual bars). Each denial is an OrderDenied recorded with its reason."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest
import yaml

from liveexec.backtesting._run import _backtest
from liveexec.config import parse_config
from liveexec.db import upgrade
from liveexec.demo import prepare_demo_catalog
from liveexec.examples import EXAMPLES_DIR
from liveexec.runs import RunResult

pytestmark = pytest.mark.slow

QUOTER_IID = "BTCUSDT.BINANCE"


def rows(result: RunResult) -> list[dict[str, Any]]:
    return result.orders.sort("created_at", "client_order_id").to_dicts()


def run(raw: dict[str, Any], url: str, risk: dict[str, Any]) -> RunResult:
    raw = copy.deepcopy(raw)
    raw["risk"] = risk
    return _backtest(parse_config(raw), database_url=url)


@pytest.fixture(scope="module")
def quoter(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "simple_quoter_btcusdt_quotes.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(tmp_path_factory.mktemp("quotes") / "catalog")
    raw["logging"] = {"level": "ERROR"}
    prepare_demo_catalog(parse_config(raw))
    return raw


@pytest.fixture(scope="module")
def twap(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    raw: dict[str, Any] = yaml.safe_load(
        (EXAMPLES_DIR / "ema_cross_btc_perp_bars.yaml").read_text()
    )
    raw["data"]["catalog"]["path"] = str(tmp_path_factory.mktemp("bars") / "catalog")
    raw["data"]["start"] = "2022-01-03T00:00:00Z"
    raw["data"]["end"] = "2022-01-03T06:00:00Z"
    raw["logging"] = {"level": "ERROR"}
    module = "nautilus_trader.examples.strategies.ema_cross_twap"
    raw["strategies"] = [
        {
            "path": f"{module}:EMACrossTWAP",
            "config_path": f"{module}:EMACrossTWAPConfig",
            "config": {
                "instrument_id": "BTCUSDT-PERP.SIM",
                "bar_type": "BTCUSDT-PERP.SIM-1-MINUTE-LAST-EXTERNAL",
                "trade_size": "0.100",
                "twap_horizon_secs": 30,
                "twap_interval_secs": 3,
            },
        }
    ]
    algorithm = "nautilus_trader.examples.algorithms.twap"
    raw["exec_algorithms"] = [
        {
            "path": f"{algorithm}:TWAPExecAlgorithm",
            "config_path": f"{algorithm}:TWAPExecAlgorithmConfig",
        }
    ]
    prepare_demo_catalog(parse_config(raw))
    return raw


def test_price_band_in_ticks_denies_quotes_far_from_the_mid(
    quoter: dict[str, Any], sqlite_url: str
) -> None:
    """The quoter joins the best bid and ask; on the quotes whose spread is wide, those are
    more than one tick from the mid and the band denies them."""
    upgrade(sqlite_url)
    free = rows(run(quoter, sqlite_url, {}))
    assert free and not [row for row in free if row["status"] == "DENIED"]
    banded = rows(run(quoter, sqlite_url, {"instruments": {QUOTER_IID: {"price_band_ticks": 1}}}))
    denied = [row for row in banded if row["status"] == "DENIED"]
    approved = [row for row in banded if row["risk_decision"] == "approved"]
    assert denied and approved
    assert any(row["status"] == "FILLED" for row in approved)
    pattern = re.compile(
        rf"price_band_ticks 1 \({QUOTER_IID}\): price (?P<px>[\d.]+) is (?P<ticks>[\d.]+) "
        r"ticks from last price (?P<last>[\d.]+)$"
    )
    for row in denied:
        found = pattern.match(row["risk_reason"])
        assert found, row["risk_reason"]
        assert row["risk_decision"] == "denied" and row["order_type"] == "LIMIT"
        distance = abs(Decimal(found["px"]) - Decimal(found["last"]))
        assert Decimal(found["ticks"]) == distance / Decimal("0.01") > 1
        assert Decimal(str(row["price"])) == Decimal(found["px"])


def test_price_band_in_bps(quoter: dict[str, Any], sqlite_url: str) -> None:
    upgrade(sqlite_url)
    banded = rows(run(quoter, sqlite_url, {"instruments": {QUOTER_IID: {"price_band_bps": "0.3"}}}))
    denied = [row["risk_reason"] for row in banded if row["status"] == "DENIED"]
    assert denied and any(row["status"] == "FILLED" for row in banded)
    for reason in denied:
        found = re.match(
            rf"price_band_bps 0\.3 \({QUOTER_IID}\): price [\d.]+ is (?P<bps>[\d.]+) bps from "
            r"last price [\d.]+$",
            reason,
        )
        assert found and Decimal(found["bps"]) > Decimal("0.3"), reason


def test_market_orders_without_a_recent_price_are_denied(
    twap: dict[str, Any], sqlite_url: str
) -> None:
    """TWAP spawns a market child order every 3 s for 30 s after each 1-minute bar: with
    max_price_age_s 5 the children at 0 s and 3 s pass, the later ones (no price for over 5 s)
    are denied, the spawned market order's OrderDenied going back to the algorithm."""
    upgrade(sqlite_url)
    fresh = rows(run(twap, sqlite_url, {}))
    assert fresh and all(row["status"] == "FILLED" for row in fresh)
    aged = rows(run(twap, sqlite_url, {"max_price_age_s": 5}))
    denied = [row for row in aged if row["status"] == "DENIED"]
    assert denied and any(row["status"] == "FILLED" for row in aged)
    for row in denied:
        found = re.match(
            r"market order: last price of BTCUSDT-PERP\.SIM is (?P<age>[\d.]+) s old "
            r"\(max_price_age_s 5; fail closed\)$",
            row["risk_reason"],
        )
        assert found, row["risk_reason"]
        assert Decimal(found["age"]) > 5 and row["order_type"] == "MARKET"
        assert row["exec_algorithm_id"] == "TWAP"
    # the children spawned within 5 s of a bar pass: at least two per parent order
    spawned_ok = [r for r in aged if r["exec_spawn_id"] and r["status"] == "FILLED"]
    assert len(spawned_ok) >= 2 * len({r["exec_spawn_id"] for r in denied})
