"""The recorder: every order and position event of a node, once, in the shared tables."""

from liveexec.recording._actor import RecorderActor
from liveexec.recording._buffer import RecordBuffer, RecorderError, RecorderStats
from liveexec.recording._lifecycle import RunEnd, flush_quietly, recorded_run
from liveexec.recording._signals import interrupts_deferred, interrupts_ignored
from liveexec.recording._writer import Batch, write_batch

__all__ = [
    "Batch",
    "RecordBuffer",
    "RecorderActor",
    "RecorderError",
    "RecorderStats",
    "RunEnd",
    "flush_quietly",
    "interrupts_deferred",
    "interrupts_ignored",
    "recorded_run",
    "write_batch",
]
