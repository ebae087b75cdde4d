"""Ctrl-C and SIGTERM held back while a few statements must run to their end."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["interrupts_deferred", "interrupts_ignored"]

_DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_ignored() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM in the block: for cleanup after a run is already closed (the
    row says how it ended; a late key press must not break the cleanup with a traceback)."""
    with interrupts_deferred(raise_after=False):
        yield


@contextmanager
def interrupts_deferred(*, raise_after: bool = True) -> Iterator[None]:
    """Run the block whole: a Ctrl-C or SIGTERM arriving inside it is raised as
    ``KeyboardInterrupt`` when it ends (a recorder group half handed to the buffer, or a run row
    half closed, would otherwise stay so). Only the main thread receives signals; elsewhere this
    does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pressed: list[int] = []
    previous = {
        number: signal.signal(number, lambda signum, _frame: pressed.append(signum))
        for number in _DEFERRED
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if pressed and raise_after:
        raise KeyboardInterrupt
