"""A resumed paper node is primed through its data engine (``ReplayDataClient._prime``): the
last event of each stream before the checkpoint lands in the cache and on its data topic (where
liveexec's risk gate and the portfolio listen) before the strategies start, and a node whose
cache does not end up holding them is named, so the resume fails rather than deciding without
the prices its earlier process had. NautilusTrader's own ``DataEngine``, cache and message bus;
the end-to-end case (a run killed after its replay) is in test_paper_resume.py."""

from __future__ import annotations

import asyncio
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.data.config import DataEngineConfig
from nautilus_trader.data.engine import DataEngine
from nautilus_trader.model.data import Bar
from nautilus_trader.model.identifiers import TraderId
from nautilus_trader.test_kit.stubs.data import TestDataStubs

from liveexec.trading._replay import ReplayDataClient, ReplaySource, replay_client_config


def _prime(prime: list[Any], *, cache: Cache | None = None, validate: bool = False) -> Any:
    """Run the client's connect with ``prime``; (client, cache, bars seen on the bus)."""
    clock = TestClock()
    msgbus = MessageBus(TraderId("PRIMER-001"), clock)
    cache = cache or Cache()
    DataEngine(msgbus, cache, clock, DataEngineConfig(validate_data_sequence=validate))
    seen: list[Bar] = []
    msgbus.subscribe(topic="data.bars.*", handler=seen.append)  # as the risk gate does
    loop = asyncio.new_event_loop()
    try:
        client = ReplayDataClient(
            loop=loop,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=replay_client_config(speed=None, min_gap_ms=0.0, wait_for_node=True),
            source=ReplaySource(data=[], instruments=[], prime=prime, node_idle=lambda: True),
        )
        loop.run_until_complete(client._connect())
    finally:
        loop.close()
    return client, cache, seen


def test_the_primed_events_reach_the_cache_and_the_bus() -> None:
    bar, quote = TestDataStubs.bar_5decimal(), TestDataStubs.quote_tick()
    client, cache, seen = _prime([quote, bar])
    assert client.unprimed is None
    assert cache.bar(bar.bar_type) == bar
    assert cache.quote_tick(quote.instrument_id) == quote
    assert seen == [bar]


def test_a_node_that_did_not_take_a_primed_event_is_named() -> None:
    """NautilusTrader's data engine drops a bar older than the cache's latest when it validates
    the sequence: the cache then does not hold the primed bar."""
    bar = TestDataStubs.bar_5decimal()
    later = Bar(
        bar.bar_type, bar.open, bar.high, bar.low, bar.close, bar.volume, 60_000_000_000, 60
    )
    cache = Cache()
    cache.add_bar(later)
    client, _, seen = _prime([bar], cache=cache, validate=True)
    assert seen == []
    assert client.unprimed is not None
    assert str(bar.bar_type) in client.unprimed and "does not hold" in client.unprimed
