"""The paper venue: NautilusTrader's sandbox execution client, with the backtest venue's models.

NautilusTrader 1.231's ``SandboxExecutionClient`` builds its ``SimulatedExchange`` with a plain
``FillModel()`` and ``MakerTakerFeeModel()`` whatever the venue, and feeds it only the data topics
``data.*.{venue}.*`` (which bars, ``data.bars.{bar_type}``, never match) from inside the data
engine's publication, so its fills reach the strategy only after the price that caused them.
This subclass builds the exchange from the very ``BacktestVenueConfig`` the backtest uses -- the
same fill, fee and margin models, balances, leverage, OMS and account types, bar execution -- the
way ``BacktestEngine`` does, and is fed each replayed event by the replay client *before* the
data engine gets it, as the backtest loop feeds its venues (see ``liveexec.trading._replay``).
With ``market_data_on_bus`` (paper on a venue's live data, ``liveexec.trading._venue_data``) it
matches on the data the data engine publishes for its venue instead, bars included, ahead of
the strategies' handlers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory
from nautilus_trader.backtest.config import BacktestVenueConfig
from nautilus_trader.backtest.engine import SimulatedExchange
from nautilus_trader.backtest.execution_client import BacktestExecClient
from nautilus_trader.backtest.models import FillModel, MakerTakerFeeModel
from nautilus_trader.backtest.node import (
    get_account_type,
    get_base_currency,
    get_book_type,
    get_fee_model,
    get_fill_model,
    get_latency_model,
    get_leverages,
    get_margin_model,
    get_oms_type,
    get_oto_trigger_mode,
    get_price_protection_points,
    get_starting_balances,
)
from nautilus_trader.common.component import TestClock
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import LiveExecClientConfig
from nautilus_trader.core.data import Data
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import AccountId, ClientId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import AccountBalance
from nautilus_trader.model.orders import Order

from liveexec.trading._resume import RESTORABLE_OPEN

__all__ = [
    "BUS_PRIORITY",
    "PaperExecClientConfig",
    "PaperExecutionClient",
    "VenueResume",
    "paper_exec_factory",
    "venue_data_topics",
]


@dataclass
class VenueResume:
    """A resumed run's state at this venue (liveexec.trading._resume): the balances it reports
    instead of its starting balances, the events its books are primed with, then the orders put
    back on them."""

    balances: list[AccountBalance]
    instruments: list[Instrument]
    prime: list[Data]
    open_orders: list[Order]
    now_ns: int


# The paper venue's handler of a venue's live market data comes before any other on the
# message bus (the strategies' are at 0): it matches a price before a strategy reacts to it, as
# the backtest loop processes each event at the venues before the data engine publishes it.
BUS_PRIORITY = 10


def venue_data_topics(venue: str) -> tuple[str, str]:
    """The message bus topics of a venue's market data as NautilusTrader's data engine
    publishes them: ``data.quotes.BINANCE.BTCUSDT``, ``data.trades...``, ``data.instrument...``,
    ``data.book.deltas...`` (the stock sandbox client's ``data.*.{venue}.*``), and the bars,
    published by bar type (``data.bars.BTCUSDT.BINANCE-1-MINUTE-LAST-EXTERNAL``), which that
    pattern never matches."""
    return f"data.*.{venue}.*", f"data.bars.*.{venue}-*"


class PaperExecClientConfig(LiveExecClientConfig, frozen=True, kw_only=True):
    """The simulated venue of a paper run: the backtest's own venue config.

    ``market_data_on_bus``: the venue matches on the market data the data engine publishes for
    it (a venue adapter's data client feeds the node) instead of being fed by the replay."""

    venue: BacktestVenueConfig
    market_data_on_bus: bool = False


class PaperExecutionClient(SandboxExecutionClient):
    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        portfolio: Any,  # noqa: ANN401 (NautilusTrader's PortfolioFacade, untyped)
        msgbus: Any,  # noqa: ANN401 (MessageBus)
        cache: Any,  # noqa: ANN401 (Cache)
        clock: Any,  # noqa: ANN401 (LiveClock)
        config: PaperExecClientConfig,
        resume: VenueResume | None = None,
    ) -> None:
        # Not SandboxExecutionClient.__init__: it would build an exchange with default models.
        venue_config = config.venue
        venue = Venue(venue_config.name)
        oms_type = get_oms_type(venue_config)
        account_type = get_account_type(venue_config)
        base_currency = get_base_currency(venue_config)
        self.test_clock = TestClock()
        LiveExecutionClient.__init__(
            self,
            loop=loop,
            client_id=ClientId(venue_config.name),
            venue=venue,
            oms_type=oms_type,
            account_type=account_type,
            base_currency=base_currency,
            instrument_provider=InstrumentProvider(),
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=None,
        )
        self._set_account_id(AccountId(f"{venue_config.name}-001"))
        # As BacktestEngine.add_venue builds it from the same BacktestVenueConfig (and its
        # defaults when a model is not given), except the message queue: commands are matched
        # as they arrive, there is no backtest loop to drain a queue.
        self.exchange = SimulatedExchange(
            venue=venue,
            oms_type=oms_type,
            account_type=account_type,
            starting_balances=get_starting_balances(venue_config),
            base_currency=base_currency,
            default_leverage=Decimal(venue_config.default_leverage),
            leverages=get_leverages(venue_config),
            margin_model=get_margin_model(venue_config),
            modules=[],
            portfolio=portfolio,
            msgbus=self._msgbus,
            cache=cache,
            clock=self.test_clock,
            fill_model=get_fill_model(venue_config) or FillModel(),
            fee_model=get_fee_model(venue_config) or MakerTakerFeeModel(),
            latency_model=get_latency_model(venue_config),
            book_type=get_book_type(venue_config),
            frozen_account=venue_config.frozen_account,
            reject_stop_orders=venue_config.reject_stop_orders,
            support_gtd_orders=venue_config.support_gtd_orders,
            support_contingent_orders=venue_config.support_contingent_orders,
            oto_trigger_mode=get_oto_trigger_mode(venue_config),
            use_position_ids=venue_config.use_position_ids,
            use_random_ids=venue_config.use_random_ids,
            use_reduce_only=venue_config.use_reduce_only,
            use_message_queue=False,
            use_market_order_acks=venue_config.use_market_order_acks,
            bar_execution=venue_config.bar_execution,
            bar_adaptive_high_low_ordering=venue_config.bar_adaptive_high_low_ordering,
            trade_execution=venue_config.trade_execution,
            liquidity_consumption=venue_config.liquidity_consumption,
            queue_position=venue_config.queue_position,
            price_protection_points=get_price_protection_points(venue_config),
            settlement_prices=venue_config.settlement_prices,
        )
        self._client = BacktestExecClient(
            exchange=self.exchange,
            msgbus=msgbus,
            cache=cache,
            clock=self.test_clock,
            routing=venue_config.routing,
            frozen_account=venue_config.frozen_account,
            allow_cash_borrowing=venue_config.allow_cash_borrowing,
        )
        self.exchange.register_client(self._client)
        self._resume = resume
        self._on_bus = config.market_data_on_bus
        if resume is not None:
            self.test_clock.set_time(resume.now_ns)
        self.exchange.initialize_account()  # leverages and margin model, starting balances
        if resume is not None and resume.balances:
            # ... which the committed balances replace (applied after them, in order).
            self._client.generate_account_state(
                balances=resume.balances,
                margins=[],
                reported=True,
                ts_event=self.test_clock.timestamp_ns(),
            )

    def connect(self) -> None:
        # The kernel connects the data clients first, but theirs is asynchronous: the venue's
        # instruments (its provider's) are published after this subscription, and each reaches
        # the exchange through it (update_instrument adds a matching engine for a new one).
        if self._on_bus:
            for topic in venue_data_topics(self.venue.value):
                self._msgbus.subscribe(topic, handler=self.on_venue_data, priority=BUS_PRIORITY)
        for instrument in self.exchange.cache.instruments(venue=self.venue):
            self.exchange.add_instrument(instrument)
        if self._resume is not None:
            self._restore_book(self._resume)
        self._client._set_connected(True)  # as NautilusTrader's own sandbox client does
        self._set_connected(True)

    def _restore_book(self, resume: VenueResume) -> None:
        # The books first (no order rests yet, so nothing matches), then the orders back on
        # them: accept_order with an ACCEPTED order adds it to the matching core, no new event.
        # The matching engines first (the replay's instruments reach the cache after this).
        for instrument in resume.instruments:
            self.exchange.update_instrument(instrument)
        for item in resume.prime:
            self.process_market_data(item)
        for order in resume.open_orders:
            if order.status not in RESTORABLE_OPEN:
                raise RuntimeError(
                    f"cannot put {order.client_order_id} back on the paper venue: status "
                    f"{order.status_string()} (only accepted orders rest between two events)"
                )
            self.exchange.get_matching_engine(order.instrument_id).accept_order(order)

    def disconnect(self) -> None:
        if self._on_bus:
            for topic in venue_data_topics(self.venue.value):
                if self._msgbus.is_subscribed(topic, self.on_venue_data):
                    self._msgbus.unsubscribe(topic, self.on_venue_data)
        self._set_connected(False)

    # Commands: matched as they arrive, then every matching engine iterates once, as the
    # backtest loop does after draining a venue's commands (a limit order at the touch fills
    # there and then, not at the next price).
    def submit_order(self, command: Any) -> None:  # noqa: ANN401 (NautilusTrader command)
        self._client.submit_order(command)
        self._settle()

    def submit_order_list(self, command: Any) -> None:  # noqa: ANN401
        self._client.submit_order_list(command)
        self._settle()

    def modify_order(self, command: Any) -> None:  # noqa: ANN401
        self._client.modify_order(command)
        self._settle()

    def cancel_order(self, command: Any) -> None:  # noqa: ANN401
        self._client.cancel_order(command)
        self._settle()

    def cancel_all_orders(self, command: Any) -> None:  # noqa: ANN401
        self._client.cancel_all_orders(command)
        self._settle()

    def _settle(self) -> None:
        if self._on_bus:
            self._advance_to_now()
        now = self.test_clock.timestamp_ns()
        for matching_engine in self.exchange.get_matching_engines().values():
            matching_engine.iterate(now)

    def process_market_data(self, data: Data) -> None:
        """Match the venue's orders against a replayed event (before the strategies see it).

        The backtest loop advances the venue's clock to the event before matching it."""
        self.test_clock.set_time(data.ts_init)
        self._match(data)

    def on_venue_data(self, data: Data) -> None:
        """Match the venue's orders against its live market data, as the data engine
        publishes it (``market_data_on_bus``), at the node's own time."""
        self._advance_to_now()
        self._match(data)

    def _advance_to_now(self) -> None:
        # The exchange's clock follows the node's live clock, never backwards (an instrument
        # from the provider carries the time it was loaded).
        now = max(self._clock.timestamp_ns(), self.test_clock.timestamp_ns())
        self.test_clock.set_time(now)

    def _match(self, data: Data) -> None:
        if isinstance(data, QuoteTick):
            self.exchange.process_quote_tick(data)
        elif isinstance(data, TradeTick):
            self.exchange.process_trade_tick(data)
        elif isinstance(data, Bar):
            self.exchange.process_bar(data)
        elif isinstance(data, Instrument):
            self.exchange.update_instrument(data)
        self.exchange.process(self.test_clock.timestamp_ns())


def paper_exec_factory(
    clients: list[PaperExecutionClient],
    resume: dict[str, VenueResume] | None = None,
) -> type[SandboxLiveExecClientFactory]:
    """A factory of paper venues that keeps each client it creates in ``clients`` (the replay
    client feeds them); ``resume``: by venue name, the state a resumed run restores."""

    class PaperExecClientFactory(SandboxLiveExecClientFactory):
        @staticmethod
        def create(  # type: ignore[override]  # NautilusTrader passes keywords, the portfolio too
            *,
            loop: asyncio.AbstractEventLoop,
            name: str,
            config: PaperExecClientConfig,
            portfolio: Any,  # noqa: ANN401
            msgbus: Any,  # noqa: ANN401
            cache: Any,  # noqa: ANN401
            clock: Any,  # noqa: ANN401
        ) -> PaperExecutionClient:
            del name  # the client is named after its venue
            client = PaperExecutionClient(
                loop=loop,
                portfolio=portfolio,
                msgbus=msgbus,
                cache=cache,
                clock=clock,
                config=config,
                resume=(resume or {}).get(config.venue.name),
            )
            clients.append(client)
            return client

    # NautilusTrader 1.231's node builder passes the portfolio (a SimulatedExchange needs it)
    # only to a factory of this name (live/node_builder.py: `factory.__name__ == ...`).
    PaperExecClientFactory.__name__ = "SandboxLiveExecClientFactory"
    return PaperExecClientFactory
