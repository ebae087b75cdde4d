"""Periodic database work on a daemon thread: one mechanism for every thread of a node that
polls or writes the database (the run's supervisor; the risk gate's halt, loss-mark and exposure
threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable

__all__ = ["JOIN_TIMEOUT_S", "PeriodicThread"]

# How long stop() waits for a periodic thread (a read hung in the database may outlast it).
JOIN_TIMEOUT_S = 5.0


class PeriodicThread:
    """Calls ``tick`` every ``interval_s`` seconds of wall time on a daemon thread of its own:
    :meth:`start`, :meth:`stop` (joins it).
    ``on_exit`` runs on that thread when it ends, so what it uses (a database connection) is
    released by the thread itself, never from another thread while a call may be using it."""

    def __init__(
        self,
        tick: Callable[[], None],
        interval_s: float,
        name: str,
        *,
        first_at_start: bool = False,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._tick = tick
        self._interval = interval_s
        self._name = name
        self._first_at_start = first_at_start  # the first tick at start, not one interval later
        self._on_exit = on_exit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._first_at_start and not self._stop.is_set():
                self._tick()
            while not self._stop.wait(self._interval):
                self._tick()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def stop(self) -> bool:
        """Ask the thread to end and wait for it (``JOIN_TIMEOUT_S`` at most). Returns whether
        it ended: a thread still inside a tick ends after it, then runs ``on_exit``."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout=JOIN_TIMEOUT_S)
        return not thread.is_alive()
