"""``mode: live``: the config's ``live`` section as NautilusTrader's own Binance, Bybit and OKX
adapters. There is no internet here: the nodes are built completely (clients, factories,
instrument providers, keys) and checked; nothing connects."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any

import pytest
from nautilus_trader.adapters.binance import BinanceAccountType
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.binance.futures.execution import BinanceFuturesExecutionClient
from nautilus_trader.adapters.binance.spot.execution import BinanceSpotExecutionClient
from nautilus_trader.adapters.bybit.execution import BybitExecutionClient
from nautilus_trader.adapters.okx.execution import OKXExecutionClient
from nautilus_trader.core.nautilus_pyo3 import (
    BybitEnvironment,
    BybitProductType,
    OKXEnvironment,
    OKXInstrumentType,
)
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.identifiers import ClientId, InstrumentId

from liveexec.config import LiveexecConfig, parse_config
from liveexec.nodes import build_components, build_risk_engine_config, live_risk_engine_config
from liveexec.trading import build_live_node_config
from liveexec.trading._adapters import (
    adapter_credentials,
    add_live_factories,
    credentials_in_environment,
)

KEY, SECRET, PASSPHRASE = "k3y-VALUE-0001", "s3cr3t-VALUE-0002", "pa55-VALUE-0003"
ENV = {"LX_KEY": KEY, "LX_SECRET": SECRET, "LX_PASS": PASSPHRASE}
CREDS = {"api_key": "${LX_KEY}", "api_secret": "${LX_SECRET}"}


def live_raw(live: dict[str, Any], ids: list[str], **extra: Any) -> dict[str, Any]:
    instrument = ids[0]
    return {
        "trader_id": "LIVE-001",
        "mode": "live",
        "strategies": [
            {
                "path": "nautilus_trader.examples.strategies.ema_cross:EMACross",
                "config_path": "nautilus_trader.examples.strategies.ema_cross:EMACrossConfig",
                "config": {
                    "instrument_id": instrument,
                    "bar_type": f"{instrument}-1-MINUTE-LAST-EXTERNAL",
                    "trade_size": "0.001",
                },
            }
        ],
        "instruments": [{"kind": "provided", "source": "venue", "ids": ids}],
        "live": live,
        **extra,
    }


def live_config(live: dict[str, Any], ids: list[str], **extra: Any) -> LiveexecConfig:
    return parse_config(live_raw(live, ids, **extra), environ=ENV)


@pytest.fixture
def built() -> Iterator[Any]:
    """Builds a node for a config (keys in the adapters' variables meanwhile), then disposes."""
    nodes: list[TradingNode] = []

    def build(cfg: LiveexecConfig) -> TradingNode:
        config = build_live_node_config(cfg)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with credentials_in_environment(adapter_credentials(cfg)):
            node = TradingNode(config=config, loop=loop)
            add_live_factories(node, config)
            node.build()
        nodes.append(node)
        return node

    yield build
    for node in nodes:
        node.dispose()
        node.kernel.loop.close()
    asyncio.set_event_loop(None)


def _exec_client(node: TradingNode, venue: str) -> Any:
    return node.kernel.exec_engine._clients[ClientId(venue)]


def test_binance_spot_and_perpetual_nodes(built: Any) -> None:
    spot = live_config({"binance": {**CREDS}}, ["BTCUSDT.BINANCE"])
    config = build_live_node_config(spot)
    data, execution = config.data_clients["BINANCE"], config.exec_clients["BINANCE"]
    assert data.account_type == execution.account_type == BinanceAccountType.SPOT
    assert execution.environment == BinanceEnvironment.LIVE
    assert execution.instrument_provider.load_ids == frozenset(
        {InstrumentId.from_str("BTCUSDT.BINANCE")}
    )
    node = built(spot)
    client = _exec_client(node, "BINANCE")
    assert isinstance(client, BinanceSpotExecutionClient)
    assert client._http_client.api_key == KEY  # read by the adapter from BINANCE_API_KEY
    assert "testnet" not in client._http_client.base_url

    perp = live_config(
        {"binance": {**CREDS, "account_type": "USDT_FUTURES", "environment": "testnet"}},
        ["BTCUSDT-PERP.BINANCE"],
    )
    assert adapter_credentials(perp) == {
        "BINANCE_FUTURES_TESTNET_API_KEY": KEY,
        "BINANCE_FUTURES_TESTNET_API_SECRET": SECRET,
    }
    config = build_live_node_config(perp)
    assert config.exec_clients["BINANCE"].account_type == BinanceAccountType.USDT_FUTURES
    assert config.exec_clients["BINANCE"].environment == BinanceEnvironment.TESTNET
    node = built(perp)
    client = _exec_client(node, "BINANCE")
    assert isinstance(client, BinanceFuturesExecutionClient)
    assert client._http_client.api_key == KEY
    # NautilusTrader 1.231 serves Binance's futures testnet from its demo host.
    assert "demo-fapi.binance.com" in client._http_client.base_url
    assert "BINANCE_FUTURES_TESTNET_API_KEY" not in os.environ  # only while the node is built


def test_bybit_spot_and_linear_demo_node(built: Any) -> None:
    cfg = live_config(
        {"bybit": {**CREDS, "environment": "demo", "product_types": ["SPOT", "LINEAR"]}},
        ["BTCUSDT-LINEAR.BYBIT", "BTCUSDT-SPOT.BYBIT"],
    )
    assert set(adapter_credentials(cfg)) == {"BYBIT_DEMO_API_KEY", "BYBIT_DEMO_API_SECRET"}
    config = build_live_node_config(cfg)
    for client_config in (config.data_clients["BYBIT"], config.exec_clients["BYBIT"]):
        assert client_config.environment == BybitEnvironment.DEMO
        assert client_config.product_types == (BybitProductType.SPOT, BybitProductType.LINEAR)
    node = built(cfg)
    client = _exec_client(node, "BYBIT")
    assert isinstance(client, BybitExecutionClient)
    assert client._is_demo
    assert client._http_client.api_key == KEY
    assert client._instrument_provider._load_ids_on_start == {
        InstrumentId.from_str("BTCUSDT-LINEAR.BYBIT"),
        InstrumentId.from_str("BTCUSDT-SPOT.BYBIT"),
    }


def test_okx_spot_and_swap_demo_node(built: Any) -> None:
    cfg = live_config(
        {
            "okx": {
                **CREDS,
                "api_passphrase": "${LX_PASS}",
                "environment": "demo",
                "instrument_types": ["SPOT", "SWAP"],
            }
        },
        ["BTC-USDT-SWAP.OKX", "BTC-USDT.OKX"],
    )
    assert adapter_credentials(cfg)["OKX_API_PASSPHRASE"] == PASSPHRASE
    config = build_live_node_config(cfg)
    assert config.exec_clients["OKX"].environment == OKXEnvironment.DEMO
    assert config.exec_clients["OKX"].instrument_types == (
        OKXInstrumentType.SPOT,
        OKXInstrumentType.SWAP,
    )
    node = built(cfg)
    client = _exec_client(node, "OKX")
    assert isinstance(client, OKXExecutionClient)
    assert client._environment == OKXEnvironment.DEMO
    assert client._http_client.api_key == KEY


def test_three_venues_in_one_node_and_no_secret_in_its_config() -> None:
    cfg = live_config(
        {
            "binance": {**CREDS},
            "bybit": {**CREDS},
            "okx": {**CREDS, "api_passphrase": "${LX_PASS}"},
        },
        ["BTCUSDT.BINANCE", "BTCUSDT-LINEAR.BYBIT", "BTC-USDT-SWAP.OKX"],
    )
    config = build_live_node_config(cfg)
    assert set(config.data_clients) == set(config.exec_clients) == {"BINANCE", "BYBIT", "OKX"}
    texts = [repr(config), str(config), config.json().decode()]
    texts += [repr(c) for c in (*config.data_clients.values(), *config.exec_clients.values())]
    for value in (KEY, SECRET, PASSPHRASE):
        assert not any(value in text for text in texts)


def test_components_and_risk_are_the_backtests() -> None:
    risk = {"max_order_submit_rate": "7/00:00:01", "max_order_modify_rate": "3/00:00:01"}
    cfg = live_config({"binance": {**CREDS}}, ["BTCUSDT.BINANCE"], risk=risk)
    config = build_live_node_config(cfg)
    components = build_components(cfg)
    assert config.strategies == components.strategies
    assert config.actors == components.actors
    assert config.exec_algorithms == components.exec_algorithms
    assert config.risk_engine == live_risk_engine_config(build_risk_engine_config(cfg.risk))
    assert config.risk_engine is not None
    assert config.risk_engine.max_order_submit_rate == "7/00:00:01"


def test_live_section_fields_reach_the_node() -> None:
    base = build_live_node_config(live_config({"binance": {**CREDS}}, ["BTCUSDT.BINANCE"]))
    tuned = build_live_node_config(
        live_config(
            {
                "binance": {**CREDS},
                "reconciliation": False,
                "timeout_connection_s": 7.5,
                "timeout_post_stop_s": 1.5,
            },
            ["BTCUSDT.BINANCE"],
        )
    )
    assert base.exec_engine is not None
    assert tuned.exec_engine is not None
    assert (base.exec_engine.reconciliation, tuned.exec_engine.reconciliation) == (True, False)
    assert (base.timeout_connection, tuned.timeout_connection) == (30.0, 7.5)
    assert (base.timeout_post_stop, tuned.timeout_post_stop) == (10.0, 1.5)


def test_credentials_in_environment_restores_what_was_there() -> None:
    environ = {"BINANCE_API_KEY": "theirs"}
    with credentials_in_environment(
        {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}, environ
    ):
        assert environ == {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}
    assert environ == {"BINANCE_API_KEY": "theirs"}


def test_live_and_stop_sections_leave_the_config_id_alone() -> None:
    """A config keeps its id from backtest through paper to live: the adapters, keys, timeouts
    and stop policy are how it runs, not what it trades."""
    base = live_config({"binance": {**CREDS}}, ["BTCUSDT.BINANCE"])
    other = live_config(
        {"binance": {**CREDS, "environment": "demo"}, "timeout_post_stop_s": 1},
        ["BTCUSDT.BINANCE"],
        stop={"open_orders": "leave", "flatten_positions": True},
    )
    assert other.config_id == base.config_id
