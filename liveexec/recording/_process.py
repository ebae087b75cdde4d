"""The recorder's writer in a process of its own, for paper and live nodes.

A paper or live node's event loop keeps the interpreter lock busy; a writer *thread* in the same
process waited for the lock at every step of every database round trip (psycopg and sqlite3
release it around each call), which stretched a 1-2 ms transaction to ~9 ms and put the p99 of
event-to-commit latency past 50 ms at 1,000 order events/s (benchmarks/paper_speed.py). Here the
node's process only pickles each group and hands the bytes to a small sender thread (one lock
acquisition per group); the writer process converts and commits them with the same code and the
same rules as the thread (:class:`~liveexec.recording.RecordBuffer`: groups never split, retries
with backoff for transient errors, idempotent writes).

Protocol, over the child's stdin and stdout (length-prefixed pickles, see :func:`_send`):
- to the writer: the settings once (database URL included: never on the command line, so
  never in ``ps``), then groups (lists of ``(kind, row)``), then ``None`` to flush and stop;
- from the writer: ``("ack", rows, stats)`` after each commit, ``("error", message)`` when a
  write failed for good, ``("closed", stats)`` once everything was committed at stop.

The writer dies with the node's process (``PR_SET_PDEATHSIG``, and it checks its parent): after
a SIGKILL of the node nothing more is committed, so a restarted run resumes from what the
database holds, with no writer of the dead run racing it. It runs in a session of its own, so a
Ctrl-C at the terminal reaches the node (which stops gracefully and flushes) and not the writer.
Whatever rows the writer had not committed when the node died are lost with them, exactly as
with a thread: the run resumes from its last committed checkpoint.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import IO, Any

from liveexec.db import create_db_engine, error_text
from liveexec.recording._buffer import Kind, RecordBuffer, RecorderError, RecorderStats

__all__ = ["ProcessRecordBuffer"]

_HEADER = struct.Struct("<I")
# How long close() waits for the writer to commit what is left, beyond its own retry bound.
_CLOSE_MARGIN_S = 30.0
# How long the writer may take to start before the node's first group is refused.
_START_TIMEOUT_S = 60.0


def _send(stream: IO[bytes], message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _write_all(stream: IO[bytes], data: bytes) -> None:
    """All of ``data`` (an unbuffered pipe's ``write`` may take part of it)."""
    view = memoryview(data)
    while view:
        written = stream.write(view)
        view = view[written or 0 :]


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(stream: IO[bytes]) -> object:
    """The next message; ``EOFError`` when the other side closed the stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = _read_exactly(stream, size)
    if data is None:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 (our own writer process, over its own pipe)


def _exit_code(process: subprocess.Popen[bytes]) -> str:
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=1.0)
    code = process.returncode
    if code is None:
        return ""
    return f" (killed by signal {-code})" if code < 0 else f" (exit code {code})"


class ProcessRecordBuffer:
    """Rows go in from the node's thread; a writer process commits them in batches.

    The same contract as :class:`~liveexec.recording.RecordBuffer` with a writer thread: at most
    ``capacity`` rows submitted and not yet committed (past it the node waits for room, at most
    ``full_timeout_s``, then :meth:`submit_group` raises), groups committed whole, transient
    errors retried for ``retry_for_s``, :meth:`close` flushes the rest and raises if a write
    failed. ``url`` is the database's (with its password: it goes to the writer over a pipe).
    """

    def __init__(
        self,
        url: str,
        *,
        capacity: int = 200_000,
        batch_rows: int = 20_000,
        flush_interval_s: float = 0.5,
        full_timeout_s: float = 60.0,
        retry_for_s: float = 120.0,
    ) -> None:
        self._capacity = capacity
        self._full_timeout_s = full_timeout_s
        self._retry_for_s = retry_for_s
        self.stats = RecorderStats()
        self._pending = 0
        self._error: str | None = None
        self._closed = False
        self._ready = False
        self._lock = threading.Lock()  # acknowledgements are read by whoever asks first
        self._process = subprocess.Popen(  # noqa: S603 (this interpreter, our own module)
            # -P: the working directory is not on the path (a local "liveexec" folder is not it).
            [sys.executable, "-P", "-m", "liveexec.recording._process", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,  # unbuffered: select() on the pipe must see every unread message
            start_new_session=True,  # a Ctrl-C at the terminal is the node's to handle
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._to_writer: IO[bytes] = self._process.stdin
        self._from_writer: IO[bytes] = self._process.stdout
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        settings = {
            "url": url,
            "capacity": capacity,
            "batch_rows": batch_rows,
            "flush_interval_s": flush_interval_s,
            "retry_for_s": retry_for_s,
        }
        self._outbox.put(pickle.dumps(settings, protocol=pickle.HIGHEST_PROTOCOL))
        self._sender = threading.Thread(
            target=self._send_all, name="liveexec-recorder-link", daemon=True
        )
        self._sender.start()

    @property
    def pid(self) -> int:
        """The writer process's id."""
        return self._process.pid

    def wait_ready(self, timeout: float = _START_TIMEOUT_S) -> None:
        """Wait until the writer has connected to the database (it starts in the background
        while the node is built); raise :class:`RecorderError` if it could not."""
        deadline = time.monotonic() + timeout
        while not self._ready and self._error is None:
            left = deadline - time.monotonic()
            if left <= 0:
                self._fail(f"the writer process did not start within {timeout:g}s")
                break
            if self._read_acks(timeout=left) == "eof":
                break
        self._raise_error()

    @property
    def error(self) -> BaseException | None:
        self._read_acks(timeout=0.0)
        return None if self._error is None else RecorderError(self._error)

    @property
    def pending(self) -> int:
        """Rows submitted and not yet committed."""
        self._read_acks(timeout=0.0)
        return self._pending

    def submit(self, kind: Kind, row: Mapping[str, Any]) -> None:
        self.submit_group([(kind, row)])

    def submit_group(self, rows: Sequence[tuple[Kind, Mapping[str, Any]]]) -> None:
        """Rows committed together (see :meth:`RecordBuffer.submit_group`)."""
        self._read_acks(timeout=0.0)
        self._raise_error()
        if not rows:
            return
        size = len(rows)
        if self._pending and self._pending + size > self._capacity:
            started = time.perf_counter()
            deadline = time.monotonic() + self._full_timeout_s
            while self._error is None and self._pending and self._pending + size > self._capacity:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.stats.waited_full_s += time.perf_counter() - started
                    raise RecorderError(
                        f"recorder buffer full for {self._full_timeout_s:g}s "
                        f"({self._pending} rows not yet committed, capacity {self._capacity}): "
                        "the database is unreachable or too slow"
                    )
                self._read_acks(timeout=left)
            self.stats.waited_full_s += time.perf_counter() - started
            self._raise_error()
        data = pickle.dumps(list(rows), protocol=pickle.HIGHEST_PROTOCOL)
        self._pending += size
        self.stats.max_pending = max(self.stats.max_pending, self._pending)
        self.stats.submitted += size
        self._outbox.put(data)

    def close(self) -> None:
        """Flush everything submitted, stop the writer; raise if any write failed.

        A database that is down at close is retried as during the run (``retry_for_s``)."""
        if not self._closed:
            self._closed = True
            self._outbox.put(None)
            deadline = time.monotonic() + self._retry_for_s + _CLOSE_MARGIN_S
            while self._process.poll() is None or self._readable():
                left = deadline - time.monotonic()
                if left <= 0:
                    self._fail("the writer process did not finish in time")
                    self._process.kill()
                    break
                if self._read_acks(timeout=min(left, 0.5)) == "eof":
                    break
            self._sender.join(timeout=5.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5.0)
            if self._pending and self._error is None:
                self._fail(
                    f"the writer process exited (code {self._process.returncode}) with "
                    f"{self._pending} rows not committed"
                )
            self._from_writer.close()
        self._raise_error()

    # --- node side --------------------------------------------------------------------------

    def _raise_error(self) -> None:
        if self._error is not None:
            raise RecorderError(f"recording failed: {self._error}")

    def _fail(self, message: str) -> None:
        if self._error is None:
            self._error = message

    def _send_all(self) -> None:
        """The sender thread: the only one that writes to the writer's pipe (a slow writer
        blocks this thread, never the node's loop)."""
        while True:
            data = self._outbox.get()
            try:
                if data is None:
                    _write_all(self._to_writer, _HEADER.pack(0))  # stop
                    self._to_writer.close()
                    return
                _write_all(self._to_writer, _HEADER.pack(len(data)) + data)
            except (BrokenPipeError, OSError, ValueError):
                self._fail(f"the writer process died{_exit_code(self._process)}")
                return

    def _readable(self) -> bool:
        ready, _, _ = select.select([self._from_writer], [], [], 0)
        return bool(ready)

    def _read_acks(self, timeout: float) -> str | None:
        """Read what the writer reported, waiting at most ``timeout`` for the first message.
        Returns "eof" once the writer's output is closed."""
        if not self._lock.acquire(blocking=timeout > 0):
            return None
        try:
            if self._from_writer.closed:  # closed: everything it sent was read
                return "eof"
            wait = timeout
            while True:
                ready, _, _ = select.select([self._from_writer], [], [], wait)
                if not ready:
                    return None
                wait = 0.0
                try:
                    message = _receive(self._from_writer)
                except (EOFError, OSError, pickle.UnpicklingError):
                    if not self._closed or self._pending:
                        self._fail(
                            f"the writer process died{_exit_code(self._process)} "
                            f"with {self._pending} rows not committed"
                        )
                    return "eof"
                self._handle(message)
        finally:
            self._lock.release()

    def _handle(self, message: object) -> None:
        match message:
            case ("ack", int(rows), dict(stats)):
                self._pending -= rows
                self._merge(stats)
            case ("ready",):
                self._ready = True
            case ("closed", dict(stats)):
                self._merge(stats)
            case ("error", str(text)):
                self._fail(text)
            case _:
                self._fail(f"the writer process sent {type(message).__name__}")

    def _merge(self, stats: dict[str, Any]) -> None:
        mine = self.stats
        mine.written = stats["written"]
        mine.batches = stats["batches"]
        mine.retries = stats["retries"]
        mine.longest_outage_s = stats["longest_outage_s"]
        if "commit_latency" in stats:
            mine.commit_latency = stats["commit_latency"]
            mine.write_time = stats["write_time"]


# --- writer side (python -m liveexec.recording._process PARENT_PID) ------------------------------

_PR_SET_PDEATHSIG = 1
_COUNTS = ("written", "batches", "retries", "longest_outage_s")


def _die_with_parent(parent: int) -> None:
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the node died before the line above
        os._exit(1)


def _writer_main(parent: int) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent)
    source = sys.stdin.buffer
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the protocol stream
    try:
        settings = _receive(source)
    except EOFError:
        return 1
    assert isinstance(settings, dict)
    try:
        engine = create_db_engine(settings.pop("url"), create=False)
    except Exception as exc:  # reported to the node, which fails the run
        _send(out, ("error", f"cannot open the database: {error_text(exc)}"))
        return 1
    reported = threading.Event()
    send_lock = threading.Lock()

    def report(message: object) -> None:
        with send_lock:
            _send(out, message)

    buffer: RecordBuffer | None = None

    def released(rows: int, error: BaseException | None) -> None:
        if error is not None:
            if not reported.is_set():
                reported.set()
                report(("error", str(error)))
            return
        assert buffer is not None
        stats = buffer.stats  # the histograms are sent once, at close
        counts = {name: getattr(stats, name) for name in _COUNTS}
        report(("ack", rows, counts))

    # The first connection now, not at the node's first group. A failure here is left to the
    # writes, which retry transient errors (a restarting server) as they would mid-run.
    with contextlib.suppress(Exception), engine.connect():
        pass
    buffer = RecordBuffer(engine, background=True, on_release=released, **settings)
    report(("ready",))
    try:
        while True:
            header = _read_exactly(source, _HEADER.size)
            if header is None:
                # The node's process went away without asking to stop: commit nothing more
                # (a restarted run resumes from what is committed).
                os._exit(1)
            (size,) = _HEADER.unpack(header)
            if not size:
                break  # stop: flush and report
            data = _read_exactly(source, size)
            if data is None:
                os._exit(1)
            if os.getppid() != parent:
                os._exit(1)
            buffer.submit_group(pickle.loads(data))  # noqa: S301 (from the node's process)
        buffer.close()
    except RecorderError as exc:
        if not reported.is_set():
            reported.set()
            report(("error", error_text(exc.__cause__ or exc)))
        return 1
    report(("closed", asdict(buffer.stats)))
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(_writer_main(int(sys.argv[1])))
