"""How every run ends, whichever node ran it: the recorder flushed, the buffer closed and the
run row closed with what happened (completed, interrupted by Ctrl-C/SIGTERM, failed and why),
then the node disposed; signals are deferred while that happens, so the row never stays
``running`` behind a second Ctrl-C. Backtests, paper runs and live runs use this one block.

A resumable run (a paper replay, :mod:`liveexec.trading._resume`) whose recording failed -- the
database full, unreachable past the retry bound, the writer gone -- is closed ``abandoned``, not
``failed``: its tables hold exactly what its last committed checkpoint says (a group commits
whole; nothing is written after a failed one), which is what a run killed at that moment leaves,
so the same command resumes it once the database takes writes again.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Engine

from liveexec.db import database_errors, error_text
from liveexec.errors import DatabaseError, RunFailedError, RunInterrupted
from liveexec.recording._actor import RecorderActor
from liveexec.recording._buffer import RecorderError, RowBuffer
from liveexec.recording._signals import interrupts_deferred
from liveexec.runs import close_run

__all__ = ["RunEnd", "flush_quietly", "recorded_run"]


@dataclass
class RunEnd:
    """What the run row is closed with; the block's body may set ``error`` to a note on a run
    that completed (e.g. why a node stopped)."""

    run_id: str
    status: str = "completed"
    error: str | None = None
    # The recorder could not commit the run's rows (a RecorderError, raised in the block or by
    # closing the buffer).
    recording_failed: bool = False

    def raise_unless_completed(self) -> None:
        """The outcome as liveexec's exceptions, once the row is closed."""
        if self.status in ("failed", "abandoned"):
            raise RunFailedError(self.run_id, self.error or "unknown error")
        if self.status == "interrupted":
            raise RunInterrupted(self.run_id, self.status)


def flush_quietly(recorder: RecorderActor | None) -> None:
    """Record what the orders looked like when the run stopped (a failed write shows at close)."""
    if recorder is not None:
        with contextlib.suppress(RecorderError):
            recorder.flush(final=True)


# What the row of a resumable run whose recording failed says after the error.
RESUME_HINT = (
    "the run is kept resumable (status abandoned): its tables hold it up to its last committed "
    "checkpoint; run the same command again once the database takes writes to resume it, or "
    "start a new run with --fresh"
)

# ... and what a resumable run says when even its row could not be closed.
CLOSE_HINT = (
    "the run stays open: the next start of the same config resumes it from its last committed "
    "checkpoint once the database takes writes (or use --fresh for a new run)"
)


@contextlib.contextmanager
def recorded_run(
    engine: Engine,
    run_id: str,
    buffer: RowBuffer,
    recorder: Callable[[], RecorderActor | None],
    cleanup: Callable[[], None],
    *,
    resumable: bool = False,
) -> Iterator[RunEnd]:
    """Run the block; whatever it raises (but ``BaseException``s other than Ctrl-C), close the
    run row with the outcome, then call ``cleanup`` (dispose the node, release what it held).

    ``recorder`` returns the recorder once the block has made it (None before). An error while
    closing the buffer fails the run, whatever it is: the row says why rather than staying
    ``running``. ``resumable``: a recording failure closes the row ``abandoned`` (see the
    module docstring), unless the run was interrupted. The exceptions are raised by
    :meth:`RunEnd.raise_unless_completed`.
    """
    end = RunEnd(run_id)
    try:
        yield end
    except KeyboardInterrupt:
        end.status, end.error = "interrupted", "interrupted (Ctrl-C or SIGTERM)"
        with interrupts_deferred():
            flush_quietly(recorder())
    except Exception as exc:  # recorded in the runs row, then raised as RunFailedError
        end.status, end.error = "failed", f"{type(exc).__name__}: {error_text(exc)}"
        end.recording_failed = isinstance(exc, RecorderError)
        with interrupts_deferred():
            flush_quietly(recorder())
    finally:
        with interrupts_deferred():
            try:
                interrupted = end.status == "interrupted"
                try:
                    buffer.close()
                except RecorderError as exc:
                    end.status, end.error = "failed", str(exc)
                    end.recording_failed = True
                except Exception as exc:  # not the recorder's own: still the run's end
                    end.status, end.error = "failed", f"{type(exc).__name__}: {error_text(exc)}"
                if resumable and end.recording_failed and not interrupted:
                    end.status, end.error = "abandoned", f"{end.error}; {RESUME_HINT}"
                try:
                    with database_errors(engine, f"recording the end of run {run_id}"):
                        close_run(engine, run_id, end.status, end.error)
                except DatabaseError as exc:
                    if not resumable:
                        raise
                    # The row stays running; the next start takes it for a dead process's
                    # (abandoned) and resumes it from its tables, consistent as above.
                    raise DatabaseError(f"{exc}; {CLOSE_HINT}") from None
            finally:
                cleanup()
