"""The kill switch and trading states kept in a state store (``_state_store.py``: a node's
database, tables of migration 0004, or memory), and the threads that read and write it.

Halts are written by ``liveexec halt`` / ``liveexec resume`` from any process; every gate of
the trader reads them through :class:`HaltWatcher`, at start and then every poll interval on a
thread of its own, so no database call sits in the order path; :class:`LossMarkWriter` writes
the loss marks the same way. The functions taking an engine are the SQL store's calls, for the
CLI and tests.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

from liveexec.db import PeriodicThread
from liveexec.risk._state_store import ActiveHalt, SqlStateStore, StateStore, state_store
from liveexec.risk._types import LossMark, StateChange, TradingState

__all__ = [
    "ActiveHalt",
    "HaltWatcher",
    "LossMarkWriter",
    "active_halt",
    "current_user",
    "halt",
    "last_loss_mark",
    "last_state",
    "record_loss_mark",
    "record_state_changes",
    "resume",
]


def current_user() -> str:
    """Who is acting: ``LIVEEXEC_USER``, else the login name, at this host."""
    who = os.environ.get("LIVEEXEC_USER") or getpass.getuser()
    return f"{who}@{socket.gethostname()}"


def halt(
    engine: Engine, trader_id: str, *, by: str, reason: str, reducing: bool = False
) -> ActiveHalt:
    """Halt ``trader_id`` (every node of it sharing this database, within a poll interval)."""
    return SqlStateStore(engine).halt(trader_id, by=by, reason=reason, reducing=reducing)


def resume(engine: Engine, trader_id: str, *, by: str, reason: str) -> int:
    """End every halt of ``trader_id`` in force; the number of halts ended."""
    return SqlStateStore(engine).resume(trader_id, by=by, reason=reason)


def active_halt(engine: Engine, trader_id: str) -> ActiveHalt | None:
    """The newest halt of ``trader_id`` in force (index ix_risk_halts_trader_resumed_halted)."""
    return SqlStateStore(engine).active_halt(trader_id)


def record_state_changes(
    engine: Engine,
    changes: Sequence[StateChange],
    *,
    trader_id: str,
    run_id: str | None,
    mode: str,
) -> None:
    SqlStateStore(engine).record_state_changes(
        changes, trader_id=trader_id, run_id=run_id, mode=mode
    )


def last_state(engine: Engine, trader_id: str, mode: str) -> tuple[TradingState, str] | None:
    """The newest trading state recorded for ``trader_id`` in ``mode``
    (index ix_risk_state_changes_trader_mode_id)."""
    return SqlStateStore(engine).last_state(trader_id, mode)


def record_loss_mark(
    engine: Engine, mark: LossMark, *, trader_id: str, mode: str, run_id: str | None
) -> None:
    """Upsert the trader's mark for ``mode`` (primary key trader_id, mode)."""
    SqlStateStore(engine).record_loss_mark(mark, trader_id=trader_id, mode=mode, run_id=run_id)


def last_loss_mark(engine: Engine, trader_id: str, mode: str) -> LossMark | None:
    """The trader's last mark in ``mode`` (by primary key), or None."""
    return SqlStateStore(engine).last_loss_mark(trader_id, mode)


class HaltWatcher:
    """Reads the trader's halt every ``interval_s`` seconds on a daemon thread.

    :meth:`current` never touches the database: it returns what the last read found, or
    HALTED with the reason when the database has not been read successfully for
    ``stale_after_s`` seconds (fail closed).
    """

    def __init__(
        self,
        store: Engine | StateStore,
        trader_id: str,
        *,
        interval_s: float,
        stale_after_s: float = 3.0,
    ) -> None:
        self._store = state_store(store)
        self._trader_id = trader_id
        self._stale_after = max(stale_after_s, 3 * interval_s)
        self._loop = PeriodicThread(
            self._poll_and_signal,
            interval_s,
            f"liveexec-halts-{trader_id}",
            first_at_start=True,  # the read at start runs on the thread: start() waits for it
        )
        self._first_done = threading.Event()
        self._state: tuple[TradingState, str] = (
            TradingState.HALTED,
            "kill switch: the halts table has not been read yet (fail closed)",
        )
        self._read_at: float | None = None  # monotonic time of the last successful read
        self._error = "not read yet"
        self.reads = 0

    def poll_once(self) -> None:
        try:
            found = self._store.active_halt(self._trader_id)
        except Exception as exc:  # any driver failure: fail closed, say why, keep polling
            self._error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return
        self._state = (
            (TradingState.ACTIVE, "no halt in force")
            if found is None
            else (found.state, found.describe())
        )
        self._read_at = time.monotonic()
        self.reads += 1

    def _poll_and_signal(self) -> None:
        try:
            self.poll_once()
        finally:
            self._first_done.set()

    def current(self) -> tuple[TradingState, str]:
        read_at = self._read_at
        if read_at is None or time.monotonic() - read_at > self._stale_after:
            return (
                TradingState.HALTED,
                f"kill switch: database not read for over {self._stale_after:g} s "
                f"({self._error}; fail closed)",
            )
        return self._state

    def start(self) -> None:
        """Reads the halt before any order, waiting for it ``stale_after_s`` at most: a
        database that does not answer by then leaves the trader HALTED (fail closed; the thread
        keeps trying) instead of hanging the node's start."""
        self._first_done.clear()
        self._loop.start()
        if not self._first_done.wait(self._stale_after):
            self._error = f"the first read has not finished after {self._stale_after:g} s"

    def stop(self) -> None:
        self._loop.stop()


class LossMarkWriter:
    """Writes ``read()`` (the gate's loss mark) every ``interval_s`` seconds when it changed,
    on a daemon thread of its own, so no database call sits in the order path; :meth:`stop`
    writes the last one. ``error`` holds the last write failure (the node keeps trading:
    the mark is what a later restart would lose)."""

    def __init__(
        self,
        store: Engine | StateStore,
        read: Callable[[], LossMark | None],
        *,
        trader_id: str,
        mode: str,
        run_id: str | None,
        interval_s: float = 1.0,
    ) -> None:
        self._store = state_store(store)
        self._read = read
        self._trader_id, self._mode, self._run_id = trader_id, mode, run_id
        self._loop = PeriodicThread(self.write_once, interval_s, f"liveexec-loss-marks-{trader_id}")
        self._written: LossMark | None = None
        self.error: str | None = None
        self.writes = 0

    def write_once(self) -> None:
        mark = self._read()
        if mark is None or mark == self._written:
            return
        try:
            self._store.record_loss_mark(
                mark, trader_id=self._trader_id, mode=self._mode, run_id=self._run_id
            )
        except Exception as exc:  # any driver failure: say why, try again next time
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return
        self._written = mark
        self.writes += 1

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        self.write_once()
