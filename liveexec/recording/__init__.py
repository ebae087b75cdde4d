"""The recorder: every order and position event of a node, once, in the shared tables.

Names are imported on first use: the writer process of a paper or live run
(:mod:`liveexec.recording._process`) imports only the write path, not NautilusTrader.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveexec.recording._actor import RecorderActor
    from liveexec.recording._buffer import RecordBuffer, RecorderError, RecorderStats, RowBuffer
    from liveexec.recording._lifecycle import RunEnd, flush_quietly, recorded_run
    from liveexec.recording._process import ProcessRecordBuffer
    from liveexec.recording._signals import interrupts_deferred, interrupts_ignored
    from liveexec.recording._writer import Batch, write_batch

__all__ = [
    "Batch",
    "ProcessRecordBuffer",
    "RecordBuffer",
    "RecorderActor",
    "RecorderError",
    "RecorderStats",
    "RowBuffer",
    "RunEnd",
    "flush_quietly",
    "interrupts_deferred",
    "interrupts_ignored",
    "recorded_run",
    "write_batch",
]

_HOMES = {
    "Batch": "_writer",
    "ProcessRecordBuffer": "_process",
    "RecordBuffer": "_buffer",
    "RecorderActor": "_actor",
    "RecorderError": "_buffer",
    "RecorderStats": "_buffer",
    "RowBuffer": "_buffer",
    "RunEnd": "_lifecycle",
    "flush_quietly": "_lifecycle",
    "interrupts_deferred": "_signals",
    "interrupts_ignored": "_signals",
    "recorded_run": "_lifecycle",
    "write_batch": "_writer",
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 (module attribute protocol)
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'liveexec.recording' has no attribute {name!r}")
    return getattr(importlib.import_module(f"liveexec.recording.{home}"), name)
