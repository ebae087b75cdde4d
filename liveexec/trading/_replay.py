"""Paper market data: the catalog's quotes, trades and bars replayed into a live node.

The data is read exactly as the backtest reads it (the same ``BacktestDataConfig`` queries, in
``BacktestNode``'s order: streams in config order, stably sorted by ``ts_init``), and the
instruments are the backtest's (the catalog's, replaced by the config's definitions where the
preflight found them different). :class:`ReplayDataClient` is a ``LiveMarketDataClient`` that
hands the events to the node's data engine on the node's event loop, paced by
:class:`liveexec.config.PaperConfig`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nautilus_trader.backtest.config import BacktestRunConfig
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import LiveDataClientConfig, RoutingConfig
from nautilus_trader.core.data import Data
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.live.factories import LiveDataClientFactory
from nautilus_trader.model.data import Bar, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import ClientId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from liveexec.nodes import node_reading, with_config_instruments

__all__ = [
    "REPLAY_CLIENT",
    "ReplayDataClient",
    "ReplayDataClientConfig",
    "ReplaySource",
    "load_replay",
    "replay_factory",
    "settle",
    "venue_of",
]

REPLAY_CLIENT = "REPLAY"


class ReplayDataClientConfig(LiveDataClientConfig, frozen=True, kw_only=True):
    """Pacing of the replay (see :class:`liveexec.config.PaperConfig`)."""

    speed: float | None = None
    min_gap_ms: float = 0.0
    wait_for_node: bool = True


@dataclass
class ReplaySource:
    """What the replay client serves; filled in by :func:`load_replay`, read by the factory."""

    data: list[Data]
    instruments: list[Instrument]
    clients: list[ReplayDataClient] = field(default_factory=list)
    # venue name -> what matches its orders against an event (the paper venues)
    venues: dict[str, Callable[[Data], None]] = field(default_factory=dict)
    # A resumed run: the events before this index were replayed by the run's earlier process
    # (their consequences committed); the replay starts here, history requests end here.
    start: int = 0
    # A resumed run: the last event of each stream before ``start``
    # (liveexec.trading._resume.last_before). The paper venues prime their books with them and
    # the replay client hands them to the node before its strategies start (see _connect).
    prime: list[Data] = field(default_factory=list)
    # Whether the node has handled every message in flight (set once the node is built).
    node_idle: Callable[[], bool] | None = None


def load_replay(
    run_config: BacktestRunConfig, catalog: ParquetDataCatalog, overrides: list[Instrument]
) -> ReplaySource:
    """The events and instruments ``BacktestNode`` would load for ``run_config``."""
    catalog = with_config_instruments(catalog, overrides)
    node = node_reading(catalog)
    data: list[Data] = []
    instruments: dict[str, Instrument] = {}
    for data_config in run_config.data:
        result = node.load_data_config(data_config)
        for instrument in result.instruments or []:
            instruments[instrument.id.value] = instrument
        data.extend(result.data)
    data.sort(key=lambda item: item.ts_init)  # stable, as BacktestEngine.sort_data
    return ReplaySource(data=data, instruments=list(instruments.values()))


# The node hands messages between its engines with `loop.call_soon_threadsafe` before they reach
# a queue, so a message is invisible for one loop iteration on each hop; a chain of hops is over
# once every queue stayed empty this many iterations in a row (see `settle`).
_QUIET_ITERATIONS = 4


async def settle(node_idle: Callable[[], bool]) -> None:
    """Return once the node has handled every message in flight: its queues stayed empty for
    :data:`_QUIET_ITERATIONS` consecutive event loop iterations."""
    quiet = 0
    while quiet < _QUIET_ITERATIONS:
        await asyncio.sleep(0)
        quiet = quiet + 1 if node_idle() else 0


def _stream(item: Data) -> object:
    """What identifies an event's stream: its bar type, or its instrument."""
    return getattr(item, "bar_type", None) or item.instrument_id


def venue_of(item: Data) -> str:
    bar_type = getattr(item, "bar_type", None)
    instrument_id = bar_type.instrument_id if bar_type is not None else item.instrument_id
    return str(instrument_id.venue)


class ReplayDataClient(LiveMarketDataClient):
    """Serves every venue's replayed data (the default data client of a paper node).

    Subscriptions and requests do nothing, as in a backtest: every replayed stream reaches the
    data engine whether a component subscribed to it or not, and history is not requested.
    """

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop,
        msgbus: Any,  # noqa: ANN401 (NautilusTrader's MessageBus, untyped)
        cache: Any,  # noqa: ANN401 (Cache)
        clock: Any,  # noqa: ANN401 (LiveClock)
        config: ReplayDataClientConfig,
        source: ReplaySource,
    ) -> None:
        provider = InstrumentProvider()
        for instrument in source.instruments:
            provider.add(instrument)
        super().__init__(
            loop=loop,
            client_id=ClientId(REPLAY_CLIENT),
            venue=None,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            instrument_provider=provider,
            config=config,
        )
        self._source = source
        self._speed = config.speed
        self._min_gap_s = config.min_gap_ms / 1000.0
        self._wait_for_node = config.wait_for_node
        self.replayed = 0
        self.first_replayed_at: float | None = None  # time.perf_counter()
        self.finished = False
        self.position = source.start  # the next event to replay
        # Called between two events, when the node has handled everything the earlier ones
        # caused, at most every `checkpoint_every_s`: the recorder commits there with the
        # position (liveexec.trading._run), so a resumed run continues from a consistent point.
        self.checkpoint: Callable[[int], None] | None = None
        self.checkpoint_every_s = 0.01
        # Why the node could not be primed (a resumed run then fails: see _connect).
        self.unprimed: str | None = None

    @property
    def total(self) -> int:
        return len(self._source.data)

    def ts_before(self, position: int) -> int:
        """The data time of the last event before ``position`` (0 before the first)."""
        return self._source.data[position - 1].ts_init if position else 0

    async def _connect(self) -> None:
        # Into the cache before the client reports connected: the node starts the strategies
        # only after that, and they look their instruments up in the cache.
        for instrument in self._instrument_provider.list_all():
            self._cache.add_instrument(instrument)
        await self._prime()

    async def _prime(self) -> None:
        """A resumed run: the node's market data as the run's earlier process left it at the
        checkpoint. The last event of each stream goes through the data engine as a replayed
        one does (into the cache, published on its topic), before the strategies start and
        subscribe: the components subscribed at build -- liveexec's risk gate, the portfolio
        -- get the last prices they had in the earlier process, the strategies do not get an
        event twice. (Without this a run resumed at the end of its data had no price at all in the
        gate, which denied the strategies' closing orders in ``on_stop``.) The paper venues
        are primed with the same events (``PaperExecutionClient``)."""
        prime = self._source.prime
        if not prime:
            return
        for item in prime:
            self._handle_data(item)
        assert self._source.node_idle is not None, "set ReplaySource.node_idle to prime"
        await settle(self._source.node_idle)
        # Checked before the strategies start (their history requests add bars to the cache).
        missing = [str(_stream(item)) for item in prime if not self._holds(item)]
        if missing:
            self.unprimed = (
                f"the node's cache does not hold the last event before the checkpoint of "
                f"{', '.join(missing)}: the resumed run would not see the prices its earlier "
                "process saw"
            )

    def _holds(self, item: Data) -> bool:
        """Whether the cache's latest event of the item's stream is the item."""
        if isinstance(item, Bar):
            return bool(self._cache.bar(item.bar_type) == item)
        if isinstance(item, QuoteTick):
            return bool(self._cache.quote_tick(item.instrument_id) == item)
        if isinstance(item, TradeTick):
            return bool(self._cache.trade_tick(item.instrument_id) == item)
        return True  # not a price: nothing reads it back

    async def _disconnect(self) -> None:
        return None

    async def replay(self, node_idle: Callable[[], bool], stop: asyncio.Event) -> None:
        """Hand every event to the data engine, paced; return early when ``stop`` is set.

        With ``wait_for_node`` the next event waits until the node has handled the previous one
        and everything it caused (:func:`settle`), as the backtest loop does; otherwise only the
        pacing applies and the node may lag behind.
        """
        data = self._source.data
        if self.position >= len(data):
            self.finished = True
            return
        first_ts = data[self.position].ts_init
        venues = self._source.venues
        started = time.perf_counter()
        last_emit = 0.0
        next_checkpoint = 0.0
        for position in range(self.position, len(data)):
            item = data[position]
            if stop.is_set():
                return
            if self._wait_for_node:
                await settle(node_idle)
            if self.checkpoint is not None and time.perf_counter() >= next_checkpoint:
                if not self._wait_for_node:
                    await settle(node_idle)
                self.checkpoint(position)
                next_checkpoint = time.perf_counter() + self.checkpoint_every_s
            due = last_emit + self._min_gap_s
            if self._speed is not None:
                due = max(due, started + (item.ts_init - first_ts) / 1e9 / self._speed)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif not self._wait_for_node:
                await asyncio.sleep(0)  # the loop's other tasks run between events
            last_emit = time.perf_counter()
            if self.first_replayed_at is None:
                self.first_replayed_at = last_emit
            # As the backtest loop: the venue matches the event first, the node handles what
            # that caused (fills reach the strategies), then the strategies get the event.
            match = venues.get(venue_of(item))
            if match is not None:
                match(item)
                if self._wait_for_node:
                    await settle(node_idle)
            self._handle_data(item)
            self.replayed += 1
            self.position = position + 1
        if self.checkpoint is not None:
            # The replay's last checkpoint, as its others: the node idle after the last event.
            # Taken before ``finished`` is set, which turns the driver's wall-clock flushes on:
            # a flush between the last event and this checkpoint would commit what the last
            # events caused without it, and a run killed right then would replay them again.
            await settle(node_idle)
            self.checkpoint(len(data))
        self.finished = True

    # Subscriptions and requests: nothing to do (see the class docstring).
    async def _subscribe(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_instruments(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_instrument(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_order_book_deltas(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_order_book_depth(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_quote_ticks(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_trade_ticks(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_bars(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_instrument_status(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _subscribe_instrument_close(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_instruments(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_instrument(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_order_book_deltas(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_order_book_depth(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_quote_ticks(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_trade_ticks(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_bars(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_instrument_status(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _unsubscribe_instrument_close(self, command: Any) -> None:  # noqa: ANN401
        return None

    async def _request(self, request: Any) -> None:  # noqa: ANN401
        return None

    async def _request_instrument(self, request: Any) -> None:  # noqa: ANN401
        return None

    async def _request_instruments(self, request: Any) -> None:  # noqa: ANN401
        return None

    async def _request_quote_ticks(self, request: Any) -> None:  # noqa: ANN401
        return None

    async def _request_trade_ticks(self, request: Any) -> None:  # noqa: ANN401
        return None

    async def _request_bars(self, request: Any) -> None:  # noqa: ANN401 (RequestBars)
        """History: the bars of the type replayed before the replay's start (none in a new run,
        the bars before the checkpoint in a resumed one, so indicators resume warm); the
        request's times are the node's wall clock, not the data's, so they are not applied."""
        bars = [
            item
            for item in self._source.data[: self._source.start]
            if isinstance(item, Bar) and item.bar_type == request.bar_type
        ]
        if request.limit:
            bars = bars[-request.limit :]
        self._handle_bars(
            request.bar_type, bars, request.id, request.start, request.end, request.params
        )


def replay_factory(source: ReplaySource) -> type[LiveDataClientFactory]:
    """A client factory serving ``source`` (a class, as NautilusTrader's node builder wants);
    the data stays in this process and out of NautilusTrader's printable configs."""

    class ReplayDataClientFactory(LiveDataClientFactory):
        @staticmethod
        def create(  # type: ignore[override]  # keyword-only: NautilusTrader calls it with keywords
            *,
            loop: asyncio.AbstractEventLoop,
            name: str,
            config: ReplayDataClientConfig,
            msgbus: Any,  # noqa: ANN401
            cache: Any,  # noqa: ANN401
            clock: Any,  # noqa: ANN401
        ) -> ReplayDataClient:
            del name  # one replay client per node
            client = ReplayDataClient(
                loop=loop, msgbus=msgbus, cache=cache, clock=clock, config=config, source=source
            )
            source.clients.append(client)
            return client

    return ReplayDataClientFactory


def replay_client_config(
    *, speed: float | None, min_gap_ms: float, wait_for_node: bool
) -> ReplayDataClientConfig:
    return ReplayDataClientConfig(
        speed=speed,
        min_gap_ms=min_gap_ms,
        wait_for_node=wait_for_node,
        routing=RoutingConfig(default=True),
    )
