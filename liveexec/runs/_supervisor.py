"""A running node's periodic database work, on one thread: the run row's heartbeat and, for a
node holding its trader id's lease, the lease's heartbeat and the stop requests written on it.

Both are this process saying it is alive, so they share one thread: what would stall one
(the database unreachable, a row locked) stalls the other anyway. The risk gate's readers
(halts, loss marks, the database-wide exposure) keep threads of their own: a read hung there
must not stop the liveness writes, and each keeps its own staleness clock (liveexec.risk).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError

from liveexec.db import LiveLease, PeriodicThread, Run
from liveexec.runs._lease import HEARTBEAT_EVERY_S, POLL_EVERY_S, Lease
from liveexec.runs._ledger import HEARTBEAT_EVERY

__all__ = ["Supervisor"]

_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_LEASES = LiveLease.__table__  # type: ignore[attr-defined]


class Supervisor:
    """From ``__enter__`` to ``__exit__``: the run's heartbeat every
    :data:`~liveexec.runs.HEARTBEAT_EVERY`; with a ``lease``, its heartbeat every
    :data:`HEARTBEAT_EVERY_S` and its stop request read every :data:`POLL_EVERY_S`.

    :meth:`watching` gives the callbacks while the node runs: ``on_stop(requester)`` once for a stop
    request (one written before is delivered then), ``on_lost(why)`` once if another process
    took the lease (this one looked dead: its heartbeat could not be written for
    ``LEASE_STALE_AFTER``). A failed write or read (the database restarting) is skipped; the
    next one tries again.
    """

    def __init__(self, engine: Engine, run_id: str, lease: Lease | None = None) -> None:
        self._engine = engine
        self._run_id = run_id
        self._lease = lease
        self._lock = threading.Lock()
        self._on_stop: Callable[[str], object] | None = None
        self._on_lost: Callable[[str], object] | None = None
        self._stop_by: str | None = None  # a stop request seen, not yet delivered
        self._lost: str | None = None
        self._stop_sent = False
        self._lost_sent = False
        self.stop_seen_at: float | None = None  # time.monotonic() when the request was seen
        now = time.monotonic()
        self._next_run_beat = now + HEARTBEAT_EVERY.total_seconds()
        self._next_lease_beat = now  # the lease's heartbeat is taken with the lease: refresh now
        self._watching_lease = lease is not None
        interval = POLL_EVERY_S if lease is not None else HEARTBEAT_EVERY.total_seconds()
        self._thread = PeriodicThread(self._tick, interval, "liveexec-supervisor")

    def __enter__(self) -> Supervisor:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._thread.stop()

    @contextlib.contextmanager
    def watching(
        self, on_stop: Callable[[str], object], on_lost: Callable[[str], object]
    ) -> Iterator[None]:
        """Where stop requests and a lost lease go while the node runs (never after: the node's
        loop is closed by then)."""
        with self._lock:
            self._on_stop, self._on_lost = on_stop, on_lost
        self._deliver()
        try:
            yield
        finally:
            with self._lock:
                self._on_stop = self._on_lost = None

    def _deliver(self) -> None:
        # Under the lock: once `watching` has ended, no callback runs (the node's loop is gone).
        with self._lock:
            if self._lost is not None and self._on_lost is not None and not self._lost_sent:
                self._lost_sent = True
                self._on_lost(self._lost)
            if self._stop_by is not None and self._on_stop is not None and not self._stop_sent:
                self._stop_sent = True
                self._on_stop(self._stop_by)

    def _tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_run_beat:
            self._next_run_beat = now + HEARTBEAT_EVERY.total_seconds()
            self._beat_run()
        if self._watching_lease:
            beat = now >= self._next_lease_beat
            if beat:
                self._next_lease_beat = now + HEARTBEAT_EVERY_S
            self._watching_lease = self._poll_lease(beat=beat)
        self._deliver()

    def _beat_run(self) -> None:
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    update(_RUNS)
                    .where(_RUNS.c.run_id == self._run_id, _RUNS.c.status == "running")
                    .values(heartbeat_at=datetime.now(UTC))
                )
        except SQLAlchemyError:
            return

    def _poll_lease(self, *, beat: bool) -> bool:
        """One look at the lease (and its heartbeat when due); False once it is lost."""
        lease = self._lease
        assert lease is not None
        mine = (_LEASES.c.trader_id == lease.trader_id, _LEASES.c.lease_id == lease.lease_id)
        try:
            with self._engine.begin() as connection:
                if beat:
                    connection.execute(
                        update(_LEASES).where(*mine).values(heartbeat_at=datetime.now(UTC))
                    )
                row = connection.execute(
                    select(_LEASES.c.stop_requested_at, _LEASES.c.stop_requested_by).where(*mine)
                ).first()
        except SQLAlchemyError:
            return True
        with self._lock:
            if row is None:
                self._lost = (
                    f"the lease of trader {lease.trader_id} was taken over by another process"
                )
                return False
            if row[0] is not None and self.stop_seen_at is None:
                self.stop_seen_at = time.monotonic()
                self._stop_by = row[1] or "liveexec stop"
        return True
