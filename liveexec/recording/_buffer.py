"""A bounded buffer between the engine thread and the database writer thread."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine

from liveexec.errors import LiveexecError
from liveexec.recording._writer import Batch, write_batch

__all__ = ["RecordBuffer", "RecorderError", "RecorderStats"]

Kind = Literal["event", "order", "position", "balance"]
_STOP = object()


class RecorderError(LiveexecError):
    """Recording failed (database error, or the buffer stayed full): the run is not complete."""


@dataclass(slots=True)
class RecorderStats:
    submitted: int = 0
    written: int = 0
    batches: int = 0
    max_pending: int = 0
    waited_full_s: float = 0.0


def _add(batch: Batch, kind: Kind, row: Mapping[str, Any]) -> None:
    if kind == "event":
        batch.add_event(row)
    elif kind == "order":
        batch.add_order(row)
    elif kind == "balance":
        batch.add_balance(row)
    else:
        batch.add_position(row)


class RecordBuffer:
    """Rows go in from the engine thread; a writer thread commits them in batches.

    The buffer holds at most ``capacity`` groups of rows. When it is full the engine waits for
    room (at most ``full_timeout_s``), so memory stays bounded and nothing is dropped; past the
    timeout, or after a failed write, :meth:`submit` raises :class:`RecorderError`.
    :meth:`close` flushes the rest.

    With ``background=False`` there is no thread: every ``batch_rows`` rows are written on the
    calling thread. Backtests use that: simulated time does not mind the pause, and a second
    Python thread competing for the GIL costs a CPU-bound engine far more than the writes do
    (measured in benchmarks/recording_overhead.py). Live nodes keep the writer thread so a slow
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
        background: bool = True,
    ) -> None:
        self._engine = engine
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=capacity)
        self._batch_rows = batch_rows
        self._flush_interval_s = flush_interval_s
        self._full_timeout_s = full_timeout_s
        self._error: BaseException | None = None
        self._inline: Batch | None = None if background else Batch()
        self._thread = threading.Thread(target=self._run, name="liveexec-recorder", daemon=True)
        self.stats = RecorderStats()
        if background:
            self._thread.start()

    @property
    def error(self) -> BaseException | None:
        return self._error

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
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            started = time.perf_counter()
            try:
                self._queue.put(item, timeout=self._full_timeout_s)
            except queue.Full:
                raise RecorderError(
                    f"recorder buffer full for {self._full_timeout_s:.0f}s "
                    f"({self._queue.maxsize} rows): the database is too slow"
                ) from None
            finally:
                self.stats.waited_full_s += time.perf_counter() - started
        self.stats.submitted += len(item)

    def close(self) -> None:
        """Flush everything submitted and stop the writer; raise if any write failed."""
        if self._inline is not None and self._error is None:
            self._write_inline()
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join()
        if self._error is not None:
            raise RecorderError(f"recording failed: {self._error}") from self._error

    def _run(self) -> None:
        stopping = False
        while not stopping:
            batch = Batch()
            deadline = time.monotonic() + self._flush_interval_s
            while len(batch) < self._batch_rows:
                timeout = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=max(timeout, 0.001))
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                for kind, row in item:  # a group goes into one batch whole
                    _add(batch, kind, row)
            self.stats.max_pending = max(self.stats.max_pending, self._queue.qsize())
            if not len(batch) or self._error is not None:
                continue
            try:
                write_batch(self._engine, batch)
            except BaseException as exc:
                self._error = exc
                self._drain()
                continue
            self._count(batch)

    def _write_inline(self) -> None:
        assert self._inline is not None
        batch, self._inline = self._inline, Batch()
        try:
            write_batch(self._engine, batch)
        except Exception as exc:
            self._error = exc
            raise RecorderError(f"recording failed: {exc}") from exc
        self._count(batch)

    def _count(self, batch: Batch) -> None:
        self.stats.written += len(batch)
        self.stats.batches += 1

    def _drain(self) -> None:
        """After a failure, keep the engine from blocking on a full queue."""
        while True:
            try:
                if self._queue.get_nowait() is _STOP:
                    self._queue.put_nowait(_STOP)
                    return
            except queue.Empty:
                return
