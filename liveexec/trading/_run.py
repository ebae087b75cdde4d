"""Run a paper node: NautilusTrader's ``TradingNode`` on replayed catalog data, recorded.

A :class:`~liveexec.nodes.NodeRun` for :func:`liveexec.nodes.run_node`, which owns the run's
envelope: the node is built with a replay data client and the paper venues, restored from the
tables when a dead run is resumed (liveexec.trading._resume), and driven by
:class:`~liveexec.trading._driver.NodeDriver` until the data is exhausted or it is asked to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from nautilus_trader.backtest.node import get_oms_type
from nautilus_trader.live.node import TradingNode
from sqlalchemy import Engine

from liveexec.config import LiveexecConfig
from liveexec.data import open_catalog
from liveexec.nodes import Preflight, RunSession, preflight, run_node, speed_up_backtest_engine
from liveexec.recording import ProcessRecordBuffer, RecorderStats, RowBuffer
from liveexec.runs import RunResult, open_run
from liveexec.trading._build import build_paper_node_config
from liveexec.trading._driver import (
    FLUSH_EVERY_S,
    UNBOUNDED_GROUP,
    NodeDriver,
    carried_stop,
    dispose_node,
    node_idle,
    short_switch_interval,
    signals_to,
    stop_note,
    watched,
)
from liveexec.trading._replay import (
    REPLAY_CLIENT,
    ReplaySource,
    load_replay,
    replay_factory,
    venue_of,
)
from liveexec.trading._resume import (
    ResumeState,
    find_resumable,
    last_before,
    load_state,
    reopen_run,
    restore_cache,
)
from liveexec.trading._sandbox import PaperExecutionClient, VenueResume, paper_exec_factory

__all__ = ["LAST_STATS", "PaperStats", "paper_in_process"]


@dataclass
class PaperStats:
    """Timings of the last paper run in this process (for tests and benchmarks)."""

    events: int = 0
    start_to_first_event_s: float | None = None
    replay_s: float | None = None
    # From the stop to the run closed: the node stopped, the recorder flushed, the writer's
    # last commit and exit, the run row closed.
    stop_s: float | None = None
    # The writer's counts and histograms (event to commit, transaction time), once it closed.
    recorder: RecorderStats | None = None


LAST_STATS = PaperStats()


def _venue_resumes(state: ResumeState, replay: ReplaySource) -> dict[str, VenueResume]:
    """Per venue: what its paper venue restores (balances, primed books, resting orders)."""
    start = replay.start
    prime = replay.prime
    now_ns = replay.data[start - 1].ts_init if start else 0
    venues = {order.instrument_id.venue.value for order in state.orders} | set(state.balances)
    venues |= {venue_of(item) for item in prime}
    return {
        venue: VenueResume(
            balances=state.balances.get(venue, []),
            instruments=[i for i in replay.instruments if i.id.venue.value == venue],
            prime=[item for item in prime if venue_of(item) == venue],
            open_orders=state.open_orders(venue),
            now_ns=now_ns,
        )
        for venue in venues
    }


class PaperReplay:
    """A paper replay as a :class:`~liveexec.nodes.NodeRun`: leased, resumable."""

    leased = True
    resumable = True  # a recording failure leaves a checkpoint to resume from

    def __init__(
        self,
        cfg: LiveexecConfig,
        checked: Preflight,
        *,
        source: str,
        progress: Callable[[float], None] | None,
        on_node: Callable[[Any], None] | None,
        fresh: bool,
    ) -> None:
        self.cfg = cfg
        self.checked = checked
        self.source = source
        self.progress = progress
        self.on_node = on_node
        self.fresh = fresh
        self.node_config, self.run_config = build_paper_node_config(cfg)
        self.resumed: str | None = None
        self.node: TradingNode | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.buffer_: ProcessRecordBuffer | None = None
        self.stats = PaperStats()
        self.stopping_at: float | None = None

    def before_open(self, engine: Engine) -> None:
        self.resumed = None if self.fresh else find_resumable(engine, self.cfg, self.source)

    def open_row(self, engine: Engine) -> str:
        if self.resumed is None:
            return open_run(engine, self.cfg)
        reopen_run(engine, self.resumed)
        return self.resumed

    def buffer(self, engine: Engine) -> RowBuffer:
        # The writer process (started now, ready once the node is built): a slow database never
        # blocks the node's event loop, and its writes never wait for the loop's interpreter lock.
        self.buffer_ = ProcessRecordBuffer(
            engine.url.render_as_string(hide_password=False), flush_interval_s=FLUSH_EVERY_S
        )
        return self.buffer_

    def environment(self) -> AbstractContextManager[None]:
        return contextlib.nullcontext()

    def run(self, session: RunSession) -> str | None:
        cfg, engine, run_id = self.cfg, session.engine, session.run_id
        assert cfg.data is not None  # validated: paper replays have data
        assert self.buffer_ is not None
        replay = load_replay(
            self.run_config, open_catalog(cfg.data.catalog), self.checked.instrument_overrides
        )
        state: ResumeState | None = None
        if self.resumed is not None:
            state = load_state(engine, run_id, {i.id: i for i in replay.instruments})
            replay.start = state.replay_position
            replay.prime = last_before(replay.data, replay.start)
        self.loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        started = time.perf_counter()
        self.node = node = TradingNode(config=self.node_config, loop=loop)
        node.add_data_client_factory(REPLAY_CLIENT, replay_factory(replay))
        venues: list[PaperExecutionClient] = []
        restored = _venue_resumes(state, replay) if state is not None else None
        for venue in self.run_config.venues:
            node.add_exec_client_factory(venue.name, paper_exec_factory(venues, restored))
        node.build()
        replay.node_idle = node_idle(node)
        if state is not None:
            restore_cache(
                node.kernel.cache,
                state,
                {v.name: get_oms_type(v) for v in self.run_config.venues},
            )
        # Result-neutral: the portfolio analyzer's per-closed-position pd.concat is quadratic
        # over a long-running node (liveexec.nodes._compat).
        speed_up_backtest_engine(node.kernel)
        replay.venues.update({str(v.venue): v.process_market_data for v in venues})
        recorder = session.attach(
            node.trader.add_actor,
            node.kernel,
            first_seq=state.last_seq if state is not None else 0,
            denial_streaks=(state.open_streaks, state.streak_seq) if state is not None else None,
            # Groups only at the driver's flushes (the replay's checkpoints): a group cut by a
            # count could commit part of what one event caused, ahead of the checkpoint, and a
            # resume would replay that event again.
            order_flush_every=UNBOUNDED_GROUP,
        )
        if self.on_node is not None:
            self.on_node(node)
        (client,) = replay.clients
        lease = session.lease
        assert lease is not None  # a leased run
        driver = NodeDriver(
            node,
            client,
            recorder,
            self.progress,
            stop_policy=cfg.stop,
            carried_stop=carried_stop(lease, run_id) if self.resumed is not None else None,
        )
        client.checkpoint = driver.checkpoint
        self.buffer_.wait_ready()  # the writer process started while the node was built
        with (
            watched(session.supervisor, loop, driver),
            signals_to(loop, driver),
            short_switch_interval(),
        ):
            driving = loop.create_task(driver.run())
            node.run()
            del driving  # done: it stopped the node
        self.stopping_at = driver.stopping_at
        self.stats = PaperStats(
            events=client.replayed,
            start_to_first_event_s=(
                None if client.first_replayed_at is None else client.first_replayed_at - started
            ),
            replay_s=(
                None
                if client.first_replayed_at is None or driver.stopping_at is None
                else driver.stopping_at - client.first_replayed_at
            ),
        )
        if driver.interrupted:
            raise KeyboardInterrupt
        if driver.error is not None:
            raise driver.error
        return stop_note(driver)

    def dispose(self) -> None:
        dispose_node(self.node, self.loop)

    def closed(self) -> None:
        assert self.buffer_ is not None
        self.stats.recorder = self.buffer_.stats
        if self.stopping_at is not None:  # the recorder closed and the run row too
            self.stats.stop_s = time.perf_counter() - self.stopping_at
        LAST_STATS.__dict__.update(self.stats.__dict__)


def paper_in_process(
    cfg: LiveexecConfig,
    *,
    database_url: str | None = None,
    source: str = "<config>",
    progress: Callable[[float], None] | None = None,
    on_node: Callable[[Any], None] | None = None,
    fresh: bool = False,
) -> RunResult:
    """Run ``cfg`` (mode ``paper``) on this thread, which must be the main thread.

    If the trader id's latest paper run in the database died (``abandoned``), it is resumed
    from its committed state (see :mod:`liveexec.trading._resume`) unless ``fresh``.

    The same checks as a backtest run before anything is written; the run row is opened, the
    node replays the data and stops by itself at its end (or on SIGINT/SIGTERM: the recorder is
    flushed and the run closed ``interrupted``), and the result is read from the database.
    ``on_node`` is called with the built node before it starts (tests).

    With ``paper.market_data: venue`` the node trades a venue's live market data until it is
    asked to stop (liveexec.trading._venue_data); it always starts a new run.
    """
    if cfg.paper.market_data == "venue":
        # The venue adapters (NautilusTrader's Binance, Bybit, OKX clients) load only for it.
        from liveexec.trading._venue_data import venue_paper_in_process  # noqa: PLC0415

        return venue_paper_in_process(
            cfg, database_url=database_url, source=source, on_node=on_node
        )
    replay = PaperReplay(
        cfg,
        preflight(cfg, source, command="paper"),
        source=source,
        progress=progress,
        on_node=on_node,
        fresh=fresh,
    )
    return run_node(cfg, replay, database_url=database_url)
