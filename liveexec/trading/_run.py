"""Run a paper node: NautilusTrader's ``TradingNode`` on replayed catalog data, recorded.

The node runs on this thread (NautilusTrader wants the main thread: it installs its signal
handlers on the event loop) with a fresh event loop. A driver task on that loop starts the
replay once the strategies run, flushes the recorder on a wall-clock timer, and stops the node
when the data is exhausted or on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from nautilus_trader.backtest.node import get_oms_type
from nautilus_trader.live.node import TradingNode
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from liveexec.config import LiveexecConfig, resolve_database_url
from liveexec.config._models import StopConfig
from liveexec.data import open_catalog
from liveexec.db import create_db_engine, database_errors, require_current_schema
from liveexec.errors import RunInterrupted
from liveexec.nodes import add_recorder_and_gate, preflight, speed_up_backtest_engine
from liveexec.recording import (
    ProcessRecordBuffer,
    RecorderActor,
    RecorderError,
    RecorderStats,
    interrupts_ignored,
    recorded_run,
)
from liveexec.runs import Heartbeat, RunResult, load_run, open_run, reap_abandoned
from liveexec.trading._build import build_paper_node_config
from liveexec.trading._lease import (
    Lease,
    LeaseKeeper,
    leased_run,
    release_lease,
)
from liveexec.trading._replay import (
    REPLAY_CLIENT,
    ReplayDataClient,
    ReplaySource,
    load_replay,
    replay_factory,
    settle,
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
from liveexec.trading._stop import StopActions, apply_stop_policy

__all__ = ["FLUSH_EVERY_S", "LAST_STATS", "PaperStats", "paper_in_process"]

# The recorder's wall-clock flush: with the writer's own 0.25 s batching, a quiet node's tables
# lag its events by well under a second.
FLUSH_EVERY_S = 0.25
# How often the driver hands the recorder's events to the writer, which commits as soon as it
# has rows: the event-to-database latency (benchmarks/paper_speed.py).
RECORDER_FLUSH_S = 0.02
# No count-triggered recorder group in a paper node (see where it is used).
UNBOUNDED_GROUP = sys.maxsize
# The node waits this long for its clients and portfolio before the driver gives up.
START_TIMEOUT_S = 30.0


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


def _node_idle(node: TradingNode) -> Callable[[], bool]:
    kernel = node.kernel
    data, risk, execution = kernel.data_engine, kernel.risk_engine, kernel.exec_engine

    def idle() -> bool:
        return not (
            data.data_qsize()
            or data.cmd_qsize()
            or data.req_qsize()
            or data.res_qsize()
            or risk.cmd_qsize()
            or risk.evt_qsize()
            or execution.cmd_qsize()
            or execution.evt_qsize()
        )

    return idle


class _Driver:
    """Runs on the node's loop: replay, periodic recorder flushes, stop."""

    def __init__(
        self,
        node: TradingNode,
        client: ReplayDataClient | None,
        recorder: RecorderActor,
        progress: Callable[[float], None] | None,
        *,
        stop_policy: StopConfig | None = None,
        start_timeout_s: float = START_TIMEOUT_S,
        carried_stop: str | None = None,
    ) -> None:
        self.node = node
        self.client = client  # None: a live node, which runs until it is asked to stop
        self.recorder = recorder
        self.progress = progress
        self.stop_policy = stop_policy
        self.start_timeout_s = start_timeout_s
        # A stop requested of the run's previous process, which died before it closed the run
        # (see _carried_stop): requested again once the node runs.
        self.carried_stop = carried_stop
        self.stop_requested = asyncio.Event()
        self.interrupted = False
        self.requested_by: str | None = None  # `liveexec stop` (liveexec.trading._lease)
        self.stop_actions: StopActions | None = None
        self.error: BaseException | None = None
        self.created = time.perf_counter()
        self.stopping_at: float | None = None
        self._stopping = False

    def interrupt(self) -> None:
        """SIGINT/SIGTERM: stop replaying, then stop the node gracefully (once)."""
        self.interrupted = True
        self.stop_requested.set()

    def request_stop(self, by: str) -> None:
        """A stop request from the database (``liveexec stop``): stop gracefully (once)."""
        if self.requested_by is None:
            self.requested_by = by
        self.stop_requested.set()

    def lose(self, why: str) -> None:
        """Another process took the lease: stop, the run fails."""
        if self.error is None:
            self.error = RuntimeError(why)
        self.stop_requested.set()

    async def run(self) -> None:
        flusher: asyncio.Task[None] | None = None
        try:
            deadline = time.monotonic() + self.start_timeout_s
            while not self.node.trader.is_running:
                if self.stop_requested.is_set():
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the node did not start its strategies within {self.start_timeout_s:.0f}s"
                    )
                await asyncio.sleep(0.002)
            idle = _node_idle(self.node)
            await settle(idle)  # the strategies' subscriptions reach the data engine first
            if self.client is not None and self.client.unprimed is not None:
                # A resumed node that does not hold the prices its earlier process held
                # cannot decide as that process would have: the run fails, saying why.
                raise RuntimeError(f"cannot resume the run: {self.client.unprimed}")
            if self.carried_stop is not None:
                self.request_stop(self.carried_stop)
            flusher = asyncio.ensure_future(self._flush_periodically())
            if self.client is None:
                await self.stop_requested.wait()
            else:
                await self.client.replay(idle, self.stop_requested)
            await settle(idle)
            if self.client is not None and not self.client.finished and self.error is None:
                # Stopped before the end of the data (a stop request, Ctrl-C): what the events
                # replayed so far caused is committed with their position, so a run killed
                # while it stops does not replay events whose consequences are committed.
                # (Not once the lease is lost: the run is another process's then.)
                self.checkpoint(self.client.position)
            if (self.interrupted or self.requested_by) and self.stop_policy is not None:
                self.stop_actions = apply_stop_policy(self.node, self.stop_policy)
                await settle(idle)
        except Exception as exc:  # reported by the run's owner after the node stopped
            self.error = exc
        finally:
            if flusher is not None:
                flusher.cancel()
            self.stopping_at = time.perf_counter()
            await self.node.stop_async()

    def checkpoint(self, position: int) -> None:
        """Between two replayed events, the node idle: commit what the first ``position``
        events caused, with that position (a resumed run replays from there)."""
        if self.recorder.failure is not None or self.client is None:
            return
        ts_ns = self.client.ts_before(position)
        try:
            self.recorder.flush(checkpoint=(position, ts_ns))
        except RecorderError as exc:
            self.recorder.failure = exc

    async def _flush_periodically(self) -> None:
        total = max(self.client.total, 1) if self.client is not None else 1
        while True:
            await asyncio.sleep(RECORDER_FLUSH_S)
            # While the data is replayed the replay's checkpoints flush (between two events);
            # a flush here could split what one event caused.
            replaying = self.client is not None and not self.client.finished
            if self.recorder.failure is None and not replaying:
                try:
                    self.recorder.flush()
                except RecorderError as exc:
                    self.recorder.failure = exc
            if self.recorder.failure is not None:
                # Recording failed for good (database gone past the retry bound, buffer full
                # too long): stop the node, the run fails loudly, rather than trade unrecorded.
                self.stop_requested.set()
            if self.progress is not None and self.client is not None:
                self.progress(self.client.position / total)


# While the node runs, the loop thread hands the GIL to the recorder's writer thread (and takes
# it back) after this long instead of Python's 5 ms: each database round trip of the writer
# otherwise waits up to 5 ms for the busy loop thread. Measured (benchmarks/paper_speed.py,
# SQLite): event-to-commit p99 350 ms -> 60-80 ms, node throughput unchanged or better.
SWITCH_INTERVAL_S = 0.0005


@contextlib.contextmanager
def _short_switch_interval() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextlib.contextmanager
def _signals_to(loop: asyncio.AbstractEventLoop, driver: _Driver) -> Iterator[None]:
    """SIGINT and SIGTERM stop the run gracefully while the node runs; the process's own
    handlers come back afterwards (NautilusTrader's kernel replaces them)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        loop.add_signal_handler(sig, driver.interrupt)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)


def _dispose(node: TradingNode | None, loop: asyncio.AbstractEventLoop | None) -> None:
    if loop is not None and not loop.is_closed() and not loop.is_running():
        # Tasks still pending on the stopped loop (NautilusTrader's actor executor workers)
        # end now, rather than as warnings when the closed loop is collected.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    if node is not None:
        node.dispose()
    if loop is not None and not loop.is_closed():
        loop.close()
    asyncio.set_event_loop(None)


def _lease_keeper(
    engine: Engine, lease: Lease, loop: asyncio.AbstractEventLoop, driver: _Driver
) -> LeaseKeeper:
    """Heartbeats the lease; a stop request or a lost lease reaches the driver on its loop."""
    return LeaseKeeper(
        engine,
        lease,
        on_stop=lambda by: loop.call_soon_threadsafe(driver.request_stop, by),
        on_lost=lambda why: loop.call_soon_threadsafe(driver.lose, why),
    )


def _stop_note(driver: _Driver) -> str | None:
    """The run row's note for a run stopped on request (it is then 'completed')."""
    if driver.requested_by is None:
        return None
    done = driver.stop_actions.describe() if driver.stop_actions is not None else "no policy"
    return f"stopped on request ({driver.requested_by}): {done}"


def _release_quietly(engine: Engine, lease: Lease) -> None:
    # The lease goes even if the database is unreachable now: a dead owner's lease is taken
    # over by the next start, and this process is about to stop owning a node.
    with contextlib.suppress(SQLAlchemyError):
        release_lease(engine, lease)


def _end_node(
    node: TradingNode | None,
    loop: asyncio.AbstractEventLoop | None,
    engine: Engine,
    lease: Lease,
) -> None:
    """After the run row is closed: the node disposed, then the lease released (always)."""
    try:
        _dispose(node, loop)
    finally:
        _release_quietly(engine, lease)


def _carried_stop(lease: Lease, run_id: str) -> str | None:
    """Who asked the run's previous process to stop, if it was asked and died before it closed
    the run (killed while it stopped). The resumed run stops where that process stood instead
    of trading on through the rest of the data as if nobody had asked."""
    owner = lease.took_over
    if owner is None or owner.run_id != run_id or owner.stop_requested_at is None:
        return None
    by = owner.stop_requested_by or "liveexec stop"
    return f"{by}, asked of pid {owner.pid} on {owner.host}, which died while it stopped"


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
        from liveexec.trading._venue_data import venue_paper_in_process  # noqa: PLC0415 (cycle)

        return venue_paper_in_process(
            cfg, database_url=database_url, source=source, on_node=on_node
        )
    checked = preflight(cfg, source, command="paper")
    url = resolve_database_url(cfg, override=database_url)
    engine = create_db_engine(url, echo=cfg.database.echo, create=False)
    try:
        node_config, run_config = build_paper_node_config(cfg)
        with database_errors(engine, "opening the run"):
            require_current_schema(engine)
            reap_abandoned(engine)
            resumed = None if fresh else find_resumable(engine, cfg, source)

            def open_row() -> str:
                if resumed is None:
                    return open_run(engine, cfg)
                reopen_run(engine, resumed)
                return resumed

            lease, run_id = leased_run(engine, cfg.trader_id, cfg.mode, open_row)
        # The writer process (started now, ready once the node is built): a slow database never
        # blocks the node's event loop, and its writes never wait for the loop's interpreter lock.
        buffer = ProcessRecordBuffer(
            engine.url.render_as_string(hide_password=False), flush_interval_s=FLUSH_EVERY_S
        )
        recorder: RecorderActor | None = None
        node: TradingNode | None = None
        loop: asyncio.AbstractEventLoop | None = None
        stats = PaperStats()
        with (
            Heartbeat(engine, run_id),
            recorded_run(
                engine,
                run_id,
                buffer,
                lambda: recorder,
                lambda: _end_node(node, loop, engine, lease),
                resumable=True,  # a recording failure leaves a checkpoint to resume from
            ) as end,
        ):
            assert cfg.data is not None  # validated: paper mode has data
            replay = load_replay(
                run_config, open_catalog(cfg.data.catalog), checked.instrument_overrides
            )
            state = None
            if resumed is not None:
                state = load_state(engine, run_id, {i.id: i for i in replay.instruments})
                replay.start = state.replay_position
                replay.prime = last_before(replay.data, replay.start)
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            started = time.perf_counter()
            node = TradingNode(config=node_config, loop=loop)
            node.add_data_client_factory(REPLAY_CLIENT, replay_factory(replay))
            venues: list[PaperExecutionClient] = []
            restored = _venue_resumes(state, replay) if state is not None else None
            for venue in run_config.venues:
                node.add_exec_client_factory(venue.name, paper_exec_factory(venues, restored))
            node.build()
            replay.node_idle = _node_idle(node)
            if state is not None:
                restore_cache(
                    node.kernel.cache,
                    state,
                    {v.name: get_oms_type(v) for v in run_config.venues},
                )
            # Result-neutral: the portfolio analyzer's per-closed-position pd.concat is
            # quadratic over a long-running node (liveexec.nodes._compat).
            speed_up_backtest_engine(node.kernel)
            replay.venues.update({str(v.venue): v.process_market_data for v in venues})
            recorder = add_recorder_and_gate(
                node.trader.add_actor,
                node.kernel,
                cfg,
                buffer,
                run_id=run_id,
                database=engine,
                first_seq=state.last_seq if state is not None else 0,
                # Groups only at the driver's flushes (the replay's checkpoints): a group
                # cut by a count could commit part of what one event caused, ahead of the
                # checkpoint, and a resume would replay that event again.
                order_flush_every=UNBOUNDED_GROUP,
            )
            if on_node is not None:
                on_node(node)
            (client,) = replay.clients
            driver = _Driver(
                node,
                client,
                recorder,
                progress,
                stop_policy=cfg.stop,
                carried_stop=_carried_stop(lease, run_id) if resumed is not None else None,
            )
            client.checkpoint = driver.checkpoint
            keeper = _lease_keeper(engine, lease, loop, driver)
            buffer.wait_ready()  # the writer process started while the node was built
            with keeper, _signals_to(loop, driver), _short_switch_interval():
                driving = loop.create_task(driver.run())
                node.run()
                del driving  # done: it stopped the node
            stats = PaperStats(
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
            recorder.raise_failure()
            recorder.flush(final=True)
            end.error = _stop_note(driver)
        stats.recorder = buffer.stats
        if driver.stopping_at is not None:  # the recorder closed and the run row too
            stats.stop_s = time.perf_counter() - driver.stopping_at
        LAST_STATS.__dict__.update(stats.__dict__)
        end.raise_unless_completed()
        try:
            with database_errors(engine, f"reading run {run_id}"):
                return load_run(engine, run_id)
        except KeyboardInterrupt:
            raise RunInterrupted(run_id, end.status) from None
    finally:
        with interrupts_ignored():
            engine.dispose()
