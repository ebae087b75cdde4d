"""The driver of a ``TradingNode`` (paper replay, paper on a venue's data, live), and what every
``TradingNode`` run shares around it: signals, the interpreter's switch interval, disposal.

The node runs on the caller's thread (NautilusTrader wants the main thread: it installs its
signal handlers on the event loop) with a fresh event loop. The driver is a task on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from nautilus_trader.live.node import TradingNode

from liveexec.config import StopConfig
from liveexec.recording import RecorderActor, RecorderError
from liveexec.runs import Lease, Supervisor
from liveexec.trading._replay import ReplayDataClient, settle
from liveexec.trading._stop import StopActions, apply_stop_policy

__all__ = [
    "FLUSH_EVERY_S",
    "NodeDriver",
    "NodeStartTimeoutError",
    "carried_stop",
    "dispose_node",
    "node_idle",
    "short_switch_interval",
    "signals_to",
    "stop_note",
    "watched",
]

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


class NodeStartTimeoutError(RuntimeError):
    """The node did not start its strategies in time (its clients did not connect)."""

    def __init__(self, timeout_s: float) -> None:
        super().__init__(f"the node did not start its strategies within {timeout_s:.0f}s")
        self.timeout_s = timeout_s


def node_idle(node: TradingNode) -> Callable[[], bool]:
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


class NodeDriver:
    """Runs on a ``TradingNode``'s loop: waits for the strategies, replays the data (a paper
    replay) or waits for a stop (venue-connected), flushes the recorder on a wall-clock timer,
    applies the stop policy, stops the node."""

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
        self.requested_by: str | None = None  # `liveexec stop` (liveexec.runs.request_stop)
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
                    raise NodeStartTimeoutError(self.start_timeout_s)
                await asyncio.sleep(0.002)
            idle = node_idle(self.node)
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
def short_switch_interval() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SWITCH_INTERVAL_S))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@contextlib.contextmanager
def signals_to(loop: asyncio.AbstractEventLoop, driver: NodeDriver) -> Iterator[None]:
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


def dispose_node(node: TradingNode | None, loop: asyncio.AbstractEventLoop | None) -> None:
    """The node disposed and its loop closed, its pending tasks ended first."""
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


def watched(
    supervisor: Supervisor, loop: asyncio.AbstractEventLoop, driver: NodeDriver
) -> AbstractContextManager[None]:
    """While the node runs: a stop request or a lost lease reaches the driver on its loop."""
    return supervisor.watching(
        on_stop=lambda by: loop.call_soon_threadsafe(driver.request_stop, by),
        on_lost=lambda why: loop.call_soon_threadsafe(driver.lose, why),
    )


def stop_note(driver: NodeDriver) -> str | None:
    """The run row's note for a run stopped on request (it is then 'completed')."""
    if driver.requested_by is None:
        return None
    done = driver.stop_actions.describe() if driver.stop_actions is not None else "no policy"
    return f"stopped on request ({driver.requested_by}): {done}"


def carried_stop(lease: Lease, run_id: str) -> str | None:
    """Who asked the run's previous process to stop, if it was asked and died before it closed
    the run (killed while it stopped). The resumed run stops where that process stood instead
    of trading on through the rest of the data as if nobody had asked."""
    owner = lease.took_over
    if owner is None or owner.run_id != run_id or owner.stop_requested_at is None:
        return None
    by = owner.stop_requested_by or "liveexec stop"
    return f"{by}, asked of pid {owner.pid} on {owner.host}, which died while it stopped"
