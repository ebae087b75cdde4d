"""A bounded buffer between the engine thread and the database writer thread.

The writer retries a batch that failed for a transient reason (a database restart, a dropped
connection, a locked SQLite file) with exponential backoff, from the bounded buffer: writes are
idempotent (events keyed by ``event_id``, states upserted by their sequence, see ``_writer``),
so a batch committed by the server whose acknowledgement was lost is simply written again. A
database that stays unreachable longer than ``retry_for_s``, or a buffer that stays full longer
than ``full_timeout_s``, fails the run loudly; nothing is ever dropped silently.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError

from liveexec.db import error_text
from liveexec.errors import LiveexecError
from liveexec.recording._writer import Batch, is_connection_error, write_batch

__all__ = [
    "Kind",
    "RecordBuffer",
    "RecorderError",
    "RecorderStats",
    "RowBuffer",
    "is_transient",
    "percentile_ms",
]

Kind = Literal["event", "order", "position", "balance", "checkpoint", "denial_streak"]
_STOP = object()


class RecorderError(LiveexecError):
    """Recording failed (database error, or the buffer stayed full): the run is not complete."""


@dataclass(slots=True)
class RecorderStats:
    submitted: int = 0
    written: int = 0
    batches: int = 0
    max_pending: int = 0  # rows submitted and not yet committed, at most
    waited_full_s: float = 0.0
    retries: int = 0  # failed attempts of batches that were retried
    longest_outage_s: float = 0.0  # from a batch's first failure to its commit
    # Writer thread only (not inline): for each committed event, the wall time from the
    # recorder receiving it (its ``recorded_at``) to the commit, and each batch's write time
    # (its retries included); histograms in tenths of a millisecond (bounded: one count per
    # distinct tenth).
    commit_latency: dict[int, int] = field(default_factory=dict)
    write_time: dict[int, int] = field(default_factory=dict)

    def add_commit(self, batch: Batch, began: float, committed: datetime) -> None:
        tenths = int((time.perf_counter() - began) * 1e4)
        self.write_time[tenths] = self.write_time.get(tenths, 0) + 1
        latency = self.commit_latency
        for row in batch.events:
            received = row.get("recorded_at")
            if received is not None:  # the recorder stamps every event; other writers may not
                key = int((committed - received).total_seconds() * 1e4)
                latency[key] = latency.get(key, 0) + 1


def percentile_ms(histogram: Mapping[int, int], q: float) -> float | None:
    """The ``q`` quantile (0..1) of a histogram in tenths of a millisecond, in milliseconds
    (the upper edge of its tenth); None when it is empty."""
    total = sum(histogram.values())
    if not total:
        return None
    rank = max(1, -(-int(q * total * 1_000_000) // 1_000_000))  # ceil without float drift
    seen = 0
    for key in sorted(histogram):
        seen += histogram[key]
        if seen >= rank:
            return (key + 1) / 10.0
    return (max(histogram) + 1) / 10.0


# Backoff between two attempts of a batch: doubles from the first to the last value.
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 1.0
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o error")


def is_transient(exc: BaseException) -> bool:
    """Whether a failed write may succeed if tried again: the connection dropped or could not be
    made (a restart), the server is starting or shutting down, a serialization failure or
    deadlock, a locked SQLite file. Programming and data errors are not: retrying them changes
    nothing."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if isinstance(exc, DisconnectionError):
        return True
    if is_connection_error(exc):
        return True
    if isinstance(exc, sqlite3.OperationalError):
        message = str(exc).lower()
        return any(word in message for word in _SQLITE_TRANSIENT)
    return False


class RowBuffer(Protocol):
    """What the recorder and a run's lifecycle need of a buffer: :class:`RecordBuffer` (a writer
    thread, or inline in backtests) or ``ProcessRecordBuffer`` (a writer process)."""

    stats: RecorderStats

    @property
    def error(self) -> BaseException | None: ...

    def submit_group(self, rows: Sequence[tuple[Kind, Mapping[str, Any]]]) -> None: ...

    def close(self) -> None: ...


def _add(batch: Batch, kind: Kind, row: Mapping[str, Any]) -> None:
    if kind == "event":
        batch.add_event(row)
    elif kind == "order":
        batch.add_order(row)
    elif kind == "balance":
        batch.add_balance(row)
    elif kind == "checkpoint":
        batch.add_checkpoint(row)
    elif kind == "denial_streak":
        batch.add_denial_streak(row)
    else:
        batch.add_position(row)


class RecordBuffer:
    """Rows go in from the engine thread; a writer thread commits them in batches.

    The buffer holds at most ``capacity`` rows submitted and not yet committed. When it is full
    the engine waits for room (at most ``full_timeout_s``), so memory stays bounded and nothing
    is dropped; past the timeout, or after a write that failed for good, :meth:`submit` raises
    :class:`RecorderError`. A write that fails for a transient reason (:func:`is_transient`) is
    tried again with backoff, for at most ``retry_for_s`` from its first failure. The writer
    commits as soon as rows are there (whatever has arrived meanwhile, up to ``batch_rows``, goes
    into the same transaction), so the latency from submit to commit is one write.
    :meth:`close` flushes the rest.

    With ``background=False`` there is no thread: every ``batch_rows`` rows are written on the
    calling thread, with no retry (a backtest fails on the first error and can be run again).
    Backtests use that: simulated time does not mind the pause, and a second Python thread
    competing for the GIL costs a CPU-bound engine far more than the writes do (measured in
    benchmarks/recording_overhead.py). Live nodes keep the writer thread so a slow or restarting
    database never blocks the event loop.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        capacity: int = 200_000,
        batch_rows: int = 20_000,
        flush_interval_s: float = 0.5,
        full_timeout_s: float = 60.0,
        retry_for_s: float = 120.0,
        background: bool = True,
        on_release: Callable[[int, BaseException | None], None] | None = None,
    ) -> None:
        """``on_release`` (writer thread): called after each batch with the rows it took off
        the buffer and the error that failed it for good (None: committed); the writer
        process (:mod:`liveexec.recording._process`) acknowledges commits with it."""
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._capacity = capacity
        self._pending = 0  # rows submitted, not yet committed (guarded by _room)
        self._room = threading.Condition()
        self._batch_rows = batch_rows
        self._flush_interval_s = flush_interval_s
        self._full_timeout_s = full_timeout_s
        self._retry_for_s = retry_for_s
        self._error: BaseException | None = None
        self._inline: Batch | None = None if background else Batch()
        self._on_release = on_release
        self._thread = threading.Thread(target=self._run, name="liveexec-recorder", daemon=True)
        self.stats = RecorderStats()
        if background:
            self._thread.start()

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def pending(self) -> int:
        """Rows submitted and not yet committed."""
        return self._pending

    def submit(self, kind: Kind, row: Mapping[str, Any]) -> None:
        """One row, committed in a batch with whatever comes before and after it."""
        self.submit_group([(kind, row)])

    def submit_group(self, rows: Sequence[tuple[Kind, Mapping[str, Any]]]) -> None:
        """Rows that must be committed together: a batch never ends inside a group.

        The recorder sends an order's events with the order's state, so every commit leaves
        the tables consistent (no event without its order row, whatever moment a crash hits).
        """
        if self._error is not None:
            raise RecorderError(f"recording failed: {self._error}") from self._error
        if not rows:
            return
        if self._inline is not None:
            for kind, row in rows:
                _add(self._inline, kind, row)
            self.stats.submitted += len(rows)
            if len(self._inline) >= self._batch_rows:
                self._write_inline()
            return
        item = list(rows)
        size = len(item)
        with self._room:
            # A group larger than the whole buffer still goes in once the buffer is empty.
            if self._pending and self._pending + size > self._capacity:
                started = time.perf_counter()
                room = self._room.wait_for(
                    lambda: (
                        self._error is not None
                        or not self._pending
                        or self._pending + size <= self._capacity
                    ),
                    timeout=self._full_timeout_s,
                )
                self.stats.waited_full_s += time.perf_counter() - started
                if self._error is not None:
                    raise RecorderError(f"recording failed: {self._error}") from self._error
                if not room:
                    raise RecorderError(
                        f"recorder buffer full for {self._full_timeout_s:g}s "
                        f"({self._pending} rows not yet committed, capacity {self._capacity}): "
                        "the database is unreachable or too slow"
                    )
            self._pending += size
            self.stats.max_pending = max(self.stats.max_pending, self._pending)
        self._queue.put(item)
        self.stats.submitted += size

    def close(self) -> None:
        """Flush everything submitted and stop the writer; raise if any write failed.

        A database that is down at close is retried as during the run (for ``retry_for_s``)."""
        if self._inline is not None and self._error is None:
            self._write_inline()
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise RecorderError(f"recording failed: {self._error}") from self._error

    def _take(self) -> tuple[Batch, int, bool]:
        """The next batch: waits for the first group, then takes whatever else is there (up to
        ``batch_rows``) without waiting. Returns the batch, the rows taken and whether the
        buffer was closed."""
        batch = Batch()
        taken = 0
        try:
            item = self._queue.get(timeout=self._flush_interval_s)
        except queue.Empty:
            return batch, 0, False
        while True:
            if item is _STOP:
                return batch, taken, True
            for kind, row in item:  # a group goes into one batch whole
                _add(batch, kind, row)
            taken += len(item)
            if taken >= self._batch_rows:
                return batch, taken, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return batch, taken, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch, taken, stopping = self._take()
            if not taken or self._error is not None:
                self._release(taken)
                continue
            try:
                began = time.perf_counter()
                self._write_retrying(batch)
                self.stats.add_commit(batch, began, datetime.now(UTC))
            except BaseException as exc:
                self._error = exc
                self._release(taken)
                self._drain()
                continue
            self._count(batch)
            self._release(taken)

    def _write_retrying(self, batch: Batch) -> None:
        """Write the batch; on a transient error try again with backoff (the same rows: the
        writes are idempotent, so a commit whose acknowledgement was lost is harmless)."""
        first_failure: float | None = None
        delay = RETRY_FIRST_S
        while True:
            try:
                write_batch(self._engine, batch)
            except Exception as exc:
                now = time.monotonic()
                if first_failure is None:
                    first_failure = now
                if not is_transient(exc) or now - first_failure >= self._retry_for_s:
                    raise
                self.stats.retries += 1
                time.sleep(min(delay, max(first_failure + self._retry_for_s - now, 0.0)))
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            if first_failure is not None:
                self.stats.longest_outage_s = max(
                    self.stats.longest_outage_s, time.monotonic() - first_failure
                )
            return

    def _release(self, rows: int) -> None:
        if not rows and self._error is None:
            return
        with self._room:
            self._pending -= rows
            self._room.notify_all()
        if self._on_release is not None:
            self._on_release(rows, self._error)

    def _write_inline(self) -> None:
        assert self._inline is not None
        batch, self._inline = self._inline, Batch()
        try:
            write_batch(self._engine, batch)
        except Exception as exc:
            self._error = exc
            raise RecorderError(f"recording failed: {error_text(exc)}") from exc
        self._count(batch)

    def _count(self, batch: Batch) -> None:
        self.stats.written += len(batch)
        self.stats.batches += 1

    def _drain(self) -> None:
        """After a failure, release what is queued (it will not be written: the run fails)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is _STOP:
                self._queue.put(_STOP)
                return
            self._release(len(item))
