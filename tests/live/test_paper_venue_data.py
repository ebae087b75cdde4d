"""Paper trading on a venue's market data (``paper.market_data: venue``): the adapters' data
clients with the config's simulated venue for execution.

There is no internet here: the node is built completely and checked; the paper venue's
matching is shown on real Binance quotes (the bundled ``btcusdt-quotes.parquet``) published on
the node's message bus as a data client publishes them; ``liveexec paper`` runs up to the
connection, which fails. No test reaches a venue."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from nautilus_trader.adapters.binance import BinanceAccountType
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.binance.futures.data import BinanceFuturesDataClient
from nautilus_trader.adapters.binance.spot.data import BinanceSpotDataClient
from nautilus_trader.adapters.bybit.data import BybitDataClient
from nautilus_trader.adapters.okx.data import OKXDataClient
from nautilus_trader.backtest.models import FixedFeeModel
from nautilus_trader.config import StrategyConfig
from nautilus_trader.core.nautilus_pyo3 import BybitEnvironment, OKXEnvironment
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import Bar, BarType, QuoteTick
from nautilus_trader.model.enums import OrderSide, OrderStatus
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Venue
from nautilus_trader.model.objects import Currency, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy
from sqlalchemy import text

from liveexec.config import LiveexecConfig, parse_config
from liveexec.data._catalog import read_quotes
from liveexec.db import create_db_engine, upgrade
from liveexec.errors import ConfigError, RunFailedError
from liveexec.trading import paper
from liveexec.trading._adapters import adapter_credentials, credentials_in_environment
from liveexec.trading._driver import dispose_node
from liveexec.trading._sandbox import PaperExecutionClient
from liveexec.trading._venue_data import add_venue_paper_factories, build_venue_paper_node_config
from tests.live.test_live_adapters import CREDS, ENV, KEY, PASSPHRASE, SECRET, live_raw

ROOT = Path(__file__).resolve().parents[2]
LIVEEXEC = str(Path(sys.executable).with_name("liveexec"))
DEMO = ROOT / "liveexec" / "data" / "demo"
SPOT = ["BTCUSDT.BINANCE"]


def venue_raw(live: dict[str, Any], ids: list[str], **extra: Any) -> dict[str, Any]:
    raw = live_raw(live, ids, **extra)
    raw["mode"] = "paper"
    raw["trader_id"] = "PAPERV-001"
    raw["paper"] = {"market_data": "venue"}
    venues = sorted({iid.rsplit(".", 1)[1] for iid in ids})
    raw.setdefault(
        "venues",
        [
            {
                "name": name,
                "account_type": "CASH",
                "starting_balances": ["10000 USDT"],
                "fee_model": {"kind": "fixed", "commission": "1.25 USDT"},
            }
            for name in venues
        ],
    )
    return raw


def venue_config(live: dict[str, Any], ids: list[str], **extra: Any) -> LiveexecConfig:
    return parse_config(venue_raw(live, ids, **extra), environ=ENV)


def _issues(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [issue.location for issue in exc.value.issues]


@pytest.fixture
def built() -> Iterator[Any]:
    """Builds a venue-data paper node (keys in the adapters' variables meanwhile)."""
    nodes: list[TradingNode] = []

    def build(cfg: LiveexecConfig) -> tuple[TradingNode, list[PaperExecutionClient]]:
        config = build_venue_paper_node_config(cfg)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        venues: list[PaperExecutionClient] = []
        with credentials_in_environment(adapter_credentials(cfg)):
            node = TradingNode(config=config, loop=loop)
            add_venue_paper_factories(node, config, venues)
            node.build()
        nodes.append(node)
        return node, venues

    yield build
    for node in nodes:
        # As liveexec disposes its nodes: the actor executors' pending tasks end first, rather
        # than as "Event loop is closed" errors when the loop is collected (in a later test).
        dispose_node(node, node.kernel.loop)


# --- (1) the node ------------------------------------------------------------------------------


def test_binance_data_clients_with_the_paper_venue(built: Any) -> None:
    cfg = venue_config({"binance": {**CREDS, "environment": "testnet"}}, SPOT)
    config = build_venue_paper_node_config(cfg)
    data = config.data_clients["BINANCE"]
    assert data.account_type == BinanceAccountType.SPOT
    assert data.environment == BinanceEnvironment.TESTNET
    assert data.instrument_provider.load_ids == frozenset({InstrumentId.from_str(SPOT[0])})
    assert list(config.exec_clients) == ["BINANCE"]
    assert config.exec_clients["BINANCE"].market_data_on_bus
    assert config.exec_engine.reconciliation is False
    node, venues = built(cfg)
    client = node.kernel.data_engine._clients[ClientId("BINANCE")]
    assert isinstance(client, BinanceSpotDataClient)
    # NautilusTrader's Binance data client reads public data: its HTTP client takes no key.
    assert client._http_client.api_key is None
    assert "testnet" in client._http_client.base_url
    assert adapter_credentials(cfg) == {
        "BINANCE_TESTNET_API_KEY": KEY,
        "BINANCE_TESTNET_API_SECRET": SECRET,
    }
    assert "BINANCE_TESTNET_API_KEY" not in os.environ
    (execution,) = node.kernel.exec_engine._clients.values()
    assert execution is venues[0]
    assert isinstance(execution, PaperExecutionClient)  # no adapter execution client
    exchange = execution.exchange
    assert isinstance(exchange.fee_model, FixedFeeModel)  # the config's, not the sandbox's
    assert exchange.starting_balances[0].as_decimal() == Decimal(10000)
    assert str(exchange.starting_balances[0].currency) == "USDT"
    assert exchange.account_type.name == "CASH"
    for text_of_config in (repr(config), config.json().decode(), str(cfg)):
        assert KEY not in text_of_config
        assert SECRET not in text_of_config
    assert KEY not in cfg.model_dump_json()


def test_perpetual_bybit_and_okx_data_clients(built: Any) -> None:
    cfg = venue_config(
        {
            "binance": {**CREDS, "account_type": "USDT_FUTURES", "environment": "testnet"},
            "bybit": {**CREDS, "environment": "demo"},
            "okx": {**CREDS, "api_passphrase": "${LX_PASS}", "environment": "demo"},
        },
        ["BTCUSDT-PERP.BINANCE", "BTCUSDT-LINEAR.BYBIT", "BTC-USDT-SWAP.OKX"],
    )
    config = build_venue_paper_node_config(cfg)
    assert config.data_clients["BYBIT"].environment == BybitEnvironment.DEMO
    assert config.data_clients["OKX"].environment == OKXEnvironment.DEMO
    assert config.data_clients["OKX"].instrument_provider.load_ids == frozenset(
        {InstrumentId.from_str("BTC-USDT-SWAP.OKX")}
    )
    node, venues = built(cfg)
    data = node.kernel.data_engine._clients
    assert isinstance(data[ClientId("BINANCE")], BinanceFuturesDataClient)
    assert isinstance(data[ClientId("BYBIT")], BybitDataClient)
    assert isinstance(data[ClientId("OKX")], OKXDataClient)
    assert sorted(v.venue.value for v in venues) == ["BINANCE", "BYBIT", "OKX"]
    assert all(
        isinstance(c, PaperExecutionClient) for c in node.kernel.exec_engine._clients.values()
    )
    dumped = json.dumps([repr(config), config.json().decode()])
    for secret in (KEY, SECRET, PASSPHRASE):
        assert secret not in dumped


def test_keys_are_optional_for_market_data(built: Any) -> None:
    """The data clients read public market data: without keys the three adapters' data
    clients still build, and no variable is set."""
    cfg = venue_config(
        {
            "binance": {"account_type": "USDT_FUTURES"},
            "bybit": {"environment": "testnet"},
        },
        ["BTCUSDT-PERP.BINANCE", "BTCUSDT-LINEAR.BYBIT"],
    )
    assert adapter_credentials(cfg) == {}
    node, venues = built(cfg)
    assert len(node.kernel.data_engine._clients) == 2
    assert len(venues) == 2


def test_okx_data_needs_its_keys() -> None:
    """NautilusTrader's OKX HTTP client refuses to build without OKX_API_KEY (measured), even
    for market data: the config says so first, naming the fields."""
    raw = venue_raw({"okx": {}}, ["BTC-USDT-SWAP.OKX"])
    exc = _refused(raw)
    assert _issues(exc) == ["live.okx.api_key", "live.okx.api_secret", "live.okx.api_passphrase"]


# --- (2) matching on the bus ----------------------------------------------------------------


class BuyOnceConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    quantity: str
    after: int  # the quote after which it buys


class BuyOnce(Strategy):
    """Buys at market once, on its ``after``-th quote, and keeps every quote it saw."""

    def __init__(self, config: BuyOnceConfig) -> None:
        super().__init__(config)
        self.seen: list[QuoteTick] = []
        self.bought_on: QuoteTick | None = None
        # The paper venue's best ask when each quote reaches the strategy (set by the test).
        self.venue_ask: Callable[[], Any] | None = None
        self.venue_asks: list[Any] = []

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        self.seen.append(tick)
        if self.venue_ask is not None:
            self.venue_asks.append(self.venue_ask())
        if len(self.seen) == self.config.after and self.bought_on is None:
            self.bought_on = tick
            order = self.order_factory.market(
                self.config.instrument_id,
                OrderSide.BUY,
                Quantity.from_str(self.config.quantity),
            )
            self.submit_order(order)


def test_the_paper_venue_fills_on_quotes_published_for_its_venue() -> None:
    """A real TradingNode with the paper venue of a venue-data config (its data client left
    out: no network), real Binance quotes sent to the data engine as a data client sends them,
    a real strategy's market buy: filled at the ask of the quote it bought on, with the config's
    fixed commission, and the balances move by exactly that."""
    cfg = venue_config({"binance": {**CREDS}, "timeout_post_stop_s": 0.5}, SPOT)
    config = msgspec.structs.replace(
        build_venue_paper_node_config(cfg), data_clients={}, strategies=[]
    )
    instrument = TestInstrumentProvider.btcusdt_binance()
    quotes = list(read_quotes(DEMO / "btcusdt-quotes.parquet", instrument).data)[:40]
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    venues: list[PaperExecutionClient] = []
    node = TradingNode(config=config, loop=loop)
    add_venue_paper_factories(node, config, venues)
    node.build()
    strategy = BuyOnce(BuyOnceConfig(instrument_id=instrument.id, quantity="0.010000", after=27))
    node.trader.add_strategy(strategy)
    strategy.venue_ask = lambda: (
        venues[0].exchange.get_matching_engine(instrument.id).best_ask_price()
    )
    # A handler subscribed before the venue connects (priority 0, as a strategy's): the venue's
    # priority still puts it first.
    early: list[Any] = []
    node.kernel.msgbus.subscribe(
        f"data.quotes.BINANCE.{instrument.id.symbol}",
        handler=lambda _: early.append(strategy.venue_ask()),
    )
    outcome: dict[str, Any] = {}

    async def drive() -> None:
        try:
            while not node.trader.is_running:
                await asyncio.sleep(0.01)
            # What a data client does with its data: DataEngine.process (queued, then published).
            node.kernel.msgbus.send("DataEngine.process", instrument)
            for quote in quotes:
                node.kernel.msgbus.send("DataEngine.process", quote)
                await asyncio.sleep(0.002)
            await asyncio.sleep(0.3)
            engine = venues[0].exchange.get_matching_engine(instrument.id)
            outcome["ask_before_bar"] = engine.best_ask_price()
            last = quotes[-1]
            ts = last.ts_event + 60_000_000_000
            volume = Quantity(1, instrument.size_precision)
            closes = {"BID": float(last.bid_price) + 100.0, "ASK": float(last.ask_price) + 100.0}
            for side, close in closes.items():
                price = Price(close, instrument.price_precision)
                bar_type = BarType.from_str(f"BTCUSDT.BINANCE-1-MINUTE-{side}-EXTERNAL")
                bar = Bar(bar_type, price, price, price, price, volume, ts, ts)
                node.kernel.msgbus.send("DataEngine.process", bar)
            outcome["bar_close"] = Price(closes["ASK"], instrument.price_precision)
            await asyncio.sleep(0.3)
            outcome["ask_after_bar"] = engine.best_ask_price()
        finally:
            await node.stop_async()

    task = loop.create_task(drive())
    try:
        node.run()
        task.result()
        (order,) = node.kernel.cache.orders()
        account = node.kernel.cache.account_for_venue(Venue("BINANCE"))
        usdt, btc = Currency.from_str("USDT"), Currency.from_str("BTC")
        balances = account.balance_total(usdt).as_decimal(), account.balance_total(btc)
    finally:
        dispose_node(node, loop)
    assert len(strategy.seen) == len(quotes)
    # Each quote reached the venue before the strategy (bus priority): the venue's ask, read
    # from the strategy's handler, is already that quote's.
    assert strategy.venue_asks == [quote.ask_price for quote in quotes]
    assert early == strategy.venue_asks
    assert strategy.bought_on is not None
    # The 27th quote: ask 39466.42 for 0.042254 BTC, enough for the whole order.
    bought_on = quotes[26]
    assert strategy.bought_on == bought_on
    assert bought_on.ask_size.as_decimal() >= Decimal("0.01")
    assert order.status == OrderStatus.FILLED
    ask = bought_on.ask_price.as_decimal()
    fills = [event for event in order.events if isinstance(event, OrderFilled)]
    assert [(f.last_px.as_decimal(), f.last_qty.as_decimal()) for f in fills] == [
        (ask, Decimal("0.01"))
    ]
    assert [(c.as_decimal(), str(c.currency)) for c in order.commissions()] == [
        (Decimal("1.25"), "USDT")
    ]
    assert balances[0] == Decimal(10000) - Decimal("0.01") * ask - Decimal("1.25")
    assert balances[1].as_decimal() == Decimal("0.01")
    # Bars are published by bar type (data.bars.BTCUSDT.BINANCE-1-MINUTE-ASK-...): they reach the
    # venue too (bar execution: a BID and an ASK bar move its book).
    assert outcome["ask_before_bar"] == quotes[-1].ask_price
    assert outcome["ask_after_bar"] == outcome["bar_close"]


# --- (3) the run, up to the connection -------------------------------------------------------


@pytest.mark.slow
def test_paper_on_venue_data_runs_up_to_the_connection(tmp_path: Path, sqlite_url: str) -> None:
    """``liveexec paper`` in its own process: the node is built and its data client tries to
    connect (there is no internet here); the run is closed ``failed`` saying so, with mode
    'paper', the lease is released, and no key appears in anything it printed."""
    upgrade(sqlite_url)
    raw = venue_raw({"binance": {**CREDS, "environment": "testnet"}}, SPOT)
    raw["live"]["timeout_connection_s"] = 1
    raw["logging"] = {"level": "INFO"}
    path = tmp_path / "paper.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = subprocess.run(
        [LIVEEXEC, "paper", str(path), "--db", sqlite_url],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "LX_KEY": KEY, "LX_SECRET": SECRET, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "did not connect" in " ".join(done.stderr.split())
    assert "testnet.binance.vision" in output  # the data client really tried the testnet
    assert KEY not in output
    assert SECRET not in output
    engine = create_db_engine(sqlite_url, create=False)
    try:
        with engine.connect() as connection:
            mode, status, error, config = connection.execute(
                text("SELECT mode, status, error, config FROM runs")
            ).one()
            promotions = connection.execute(text("SELECT count(*) FROM promotions")).scalar_one()
            leases = connection.execute(text("SELECT count(*) FROM live_leases")).scalar_one()
    finally:
        engine.dispose()
    assert (mode, status) == ("paper", "failed")
    assert "did not connect" in error
    assert KEY not in str(config)
    assert SECRET not in str(config)
    assert promotions == 0  # the promotion gate is live mode's
    assert leases == 0


@pytest.mark.slow
def test_paper_on_venue_data_from_a_worker_thread_runs_in_a_child(sqlite_url: str) -> None:
    """``liveexec.paper`` off the main thread (a notebook kernel): the node runs in a spawned
    child, which records the same outcome (here: the connection fails, no internet)."""
    upgrade(sqlite_url)
    raw = venue_raw({"binance": {**CREDS, "environment": "testnet"}}, SPOT)
    raw["live"]["timeout_connection_s"] = 1
    cfg = parse_config(raw, environ=ENV)
    outcome: list[BaseException] = []

    def from_a_worker_thread() -> None:
        try:
            paper(cfg, database_url=sqlite_url)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=from_a_worker_thread)
    worker.start()
    worker.join(timeout=180)
    assert not worker.is_alive()
    (error,) = outcome
    assert isinstance(error, RunFailedError)
    assert "did not connect" in str(error)
    engine = create_db_engine(sqlite_url, create=False)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT mode, status FROM runs")).all()
            leases = connection.execute(text("SELECT count(*) FROM live_leases")).scalar_one()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("paper", "failed")]
    assert leases == 0


# --- (4) refusals ------------------------------------------------------------------------------


def _refused(raw: dict[str, Any]) -> pytest.ExceptionInfo[ConfigError]:
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, environ=ENV)
    return exc


def test_venue_data_without_a_live_section_is_refused() -> None:
    raw = venue_raw({}, SPOT)
    exc = _refused(raw)
    assert "live" in _issues(exc)
    assert "venues[0].name" in _issues(exc)
    assert "needs the venue's adapter" in str(exc.value)


def test_a_simulated_venue_no_adapter_serves_is_refused() -> None:
    raw = venue_raw({"binance": {**CREDS}}, [*SPOT, "BTCUSDT.SIM"])
    exc = _refused(raw)
    assert _issues(exc) == ["venues[1].name"]
    assert "no adapter brings market data for venue 'SIM'" in str(exc.value)


def test_an_adapter_without_its_simulated_venue_is_refused() -> None:
    raw = venue_raw({"binance": {**CREDS}, "okx": {**CREDS, "api_passphrase": "p"}}, SPOT)
    exc = _refused(raw)
    assert _issues(exc) == ["live.okx"]
    assert "add a venue named 'OKX'" in str(exc.value)


@pytest.mark.parametrize(
    ("field", "value"), [("speed", 60.0), ("min_gap_ms", 0.0), ("wait_for_node", False)]
)
def test_replay_fields_are_refused(field: str, value: object) -> None:
    raw = venue_raw({"binance": {**CREDS}}, SPOT)
    raw["paper"][field] = value
    exc = _refused(raw)
    assert _issues(exc) == [f"paper.{field}"]
    assert "paces a replay" in str(exc.value)


def test_a_data_section_is_refused() -> None:
    raw = venue_raw({"binance": {**CREDS}}, SPOT)
    raw["data"] = {
        "catalog": {"path": "catalog"},
        "streams": [{"kind": "quotes", "instrument_id": SPOT[0]}],
    }
    exc = _refused(raw)
    assert _issues(exc) == ["data"]
    assert "reads no catalog" in str(exc.value)


def test_reconciliation_is_refused() -> None:
    raw = venue_raw({"binance": {**CREDS}, "reconciliation": True}, SPOT)
    exc = _refused(raw)
    assert _issues(exc) == ["live.reconciliation"]


def test_defined_or_catalog_instruments_are_refused() -> None:
    raw = venue_raw({"binance": {**CREDS}}, SPOT)
    raw["instruments"] = [{"kind": "provided", "source": "catalog", "ids": SPOT}]
    exc = _refused(raw)
    assert _issues(exc) == ["instruments[0]"]
    assert "the venue's instrument provider defines the instruments" in str(exc.value)


def test_a_component_naming_an_unconnected_venue_is_refused(sqlite_url: str) -> None:
    raw = venue_raw({"binance": {**CREDS}}, SPOT)
    raw["strategies"][0]["config"]["instrument_id"] = "BTC-USDT-SWAP.OKX"
    with pytest.raises(ConfigError) as exc:
        paper(parse_config(raw, environ=ENV), database_url=sqlite_url, subprocess=False)
    assert _issues(exc) == ["strategies[0].config.instrument_id"]
    assert "not configured for paper trading on venue data" in str(exc.value)


def test_an_empty_key_is_refused_naming_the_field(sqlite_url: str) -> None:
    cfg = parse_config(venue_raw({"binance": {**CREDS}}, SPOT), environ={**ENV, "LX_KEY": " "})
    with pytest.raises(ConfigError) as exc:
        paper(cfg, database_url=sqlite_url, subprocess=False)
    assert _issues(exc) == ["live.binance.api_key"]


def test_replay_is_the_default_and_still_needs_data() -> None:
    raw = venue_raw({"binance": {**CREDS}}, SPOT)
    raw["paper"] = {}
    exc = _refused(raw)
    assert "data" in _issues(exc)
