"""The recorder's writer process (paper and live nodes): it commits what the node submits, with
the thread's rules, reports failures to the node, and never outlives it.

Real processes on real databases: the writer is the module run by ``python -m``, SIGKILLs are
real, and the databases are SQLite files and scratch PostgreSQL databases.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from liveexec.recording import ProcessRecordBuffer, RecorderError
from liveexec.recording._buffer import percentile_ms
from tests.integration.test_recording_writer import engine, event, order

__all__ = ["engine"]  # the fixture (a database with run r1), imported for this module's tests


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(sql)).scalar_one())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) is not running.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[1].startswith("Z"))


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.02)
    return False


def test_groups_are_committed_and_the_writer_reports_back(engine: Engine) -> None:
    buffer = ProcessRecordBuffer(_url(engine), flush_interval_s=0.01)
    writer = buffer.pid
    # Submitted before the writer is ready: kept, and committed once it is.
    buffer.submit_group([("event", event("e1", 1)), ("order", order("ACCEPTED", 1, "0"))])
    buffer.wait_ready()
    for n in range(2, 40):
        buffer.submit_group(
            [("event", event(f"e{n}", n)), ("order", order("PARTIALLY_FILLED", n, "1"))]
        )
    buffer.close()
    assert _count(engine, "SELECT count(*) FROM order_events") == 39
    with engine.connect() as connection:
        (status, seq) = connection.execute(
            text("SELECT status, last_event_seq FROM unified_orders")
        ).one()
    assert (status, seq) == ("PARTIALLY_FILLED", 39)  # the newest state won
    stats = buffer.stats
    assert stats.submitted == 78
    # A batch keeps only each order's newest state: 39 events and at least one order row.
    assert 40 <= stats.written <= 78
    assert stats.batches >= 1
    assert sum(stats.commit_latency.values()) == 39  # one sample per committed event
    assert percentile_ms(stats.write_time, 0.5) is not None
    assert buffer.pending == 0
    assert _gone_within(writer, 5.0), "the writer exits after close"


def test_the_database_url_never_reaches_the_writers_command_line(engine: Engine) -> None:
    buffer = ProcessRecordBuffer(_url(engine))
    try:
        buffer.wait_ready()
        command = Path(f"/proc/{buffer.pid}/cmdline").read_bytes().replace(b"\0", b" ")
        assert str(engine.url.database).encode() not in command
        assert b"liveexec.recording._process" in command
    finally:
        buffer.close()


def test_a_failed_write_reaches_the_node_with_the_databases_reason(engine: Engine) -> None:
    buffer = ProcessRecordBuffer(_url(engine), flush_interval_s=0.01)
    broken = {**event("e1", 1), "event_type": None}  # NOT NULL in the table
    buffer.submit_group([("event", broken)])
    deadline = time.monotonic() + 30
    while buffer.error is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert buffer.error is not None
    assert "null" in str(buffer.error).lower()
    assert "event_type" in str(buffer.error)
    with pytest.raises(RecorderError, match="recording failed"):
        buffer.submit_group([("event", event("e2", 2))])
    with pytest.raises(RecorderError, match="event_type"):
        buffer.close()
    assert _count(engine, "SELECT count(*) FROM order_events") == 0


def test_a_writer_killed_mid_run_fails_the_run_loudly(engine: Engine) -> None:
    buffer = ProcessRecordBuffer(_url(engine), flush_interval_s=0.01)
    buffer.wait_ready()
    os.kill(buffer.pid, signal.SIGKILL)
    with pytest.raises(RecorderError, match="writer process died"):
        for n in range(200):  # the death is seen at the latest when its pipe breaks
            buffer.submit_group([("event", event(f"e{n}", n))])
            time.sleep(0.01)
        buffer.close()


def test_the_writer_is_not_in_the_terminals_process_group(engine: Engine) -> None:
    """A Ctrl-C at the terminal goes to the node, which stops gracefully and flushes through
    the writer: the writer itself must not receive it."""
    buffer = ProcessRecordBuffer(_url(engine))
    try:
        buffer.wait_ready()
        assert os.getpgid(buffer.pid) != os.getpgid(0)
        assert os.getsid(buffer.pid) != os.getsid(0)
    finally:
        buffer.close()


NODE = """
import os, sys, time
from liveexec.recording import ProcessRecordBuffer
from tests.integration.test_recording_writer import event

buffer = ProcessRecordBuffer(sys.argv[1], flush_interval_s=0.01)
buffer.wait_ready()
buffer.submit_group([("event", event("e1", 1))])
while buffer.pending:
    time.sleep(0.01)
print(buffer.pid, flush=True)
time.sleep(60)  # killed by the test
"""


def test_the_writer_dies_with_the_node(engine: Engine, tmp_path: Path) -> None:
    """After a SIGKILL of the node's process nothing more is committed: a restarted run
    resumes from what the database holds, with no writer of the dead run racing it."""
    script = tmp_path / "node.py"
    script.write_text(textwrap.dedent(NODE))
    node = subprocess.Popen(
        [sys.executable, str(script), _url(engine)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert node.stdout is not None
        writer = int(node.stdout.readline())
        assert _alive(writer)
        node.kill()
        node.wait()
        assert _gone_within(writer, 5.0), "the writer outlived the node"
    finally:
        if node.poll() is None:
            node.kill()
    assert _count(engine, "SELECT count(*) FROM order_events") == 1


def test_percentiles_of_a_latency_histogram() -> None:
    # tenths of a millisecond -> count: one fast event, 98 at 1.0 ms, one slow at 10.0 ms
    histogram = {0: 1, 10: 98, 100: 1}
    assert percentile_ms(histogram, 0.01) == 0.1
    assert percentile_ms(histogram, 0.5) == 1.1
    assert percentile_ms(histogram, 0.99) == 1.1
    assert percentile_ms(histogram, 0.995) == 10.1
    assert percentile_ms(histogram, 1.0) == 10.1
    assert percentile_ms({}, 0.5) is None
