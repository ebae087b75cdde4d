"""Single ownership: one paper/live node per trader id and database (the ``live_leases`` row),
on SQLite and PostgreSQL, with real processes racing for it and dying with SIGKILL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, update

from liveexec.db import create_db_engine, upgrade
from liveexec.db._models import LiveLease
from liveexec.runs import Supervisor
from liveexec.runs._lease import (
    LEASE_STALE_AFTER,
    LeaseHeldError,
    NoRunningNodeError,
    acquire_lease,
    lease_owner,
    release_lease,
    request_stop,
    set_lease_run,
)
from liveexec.runs._ledger import process_start
from liveexec.trading import stop as liveexec_stop

LEASES = LiveLease.__table__  # type: ignore[attr-defined]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def engine(db_url: str) -> Engine:
    upgrade(db_url)
    engine = create_db_engine(db_url, create=False)
    yield engine  # type: ignore[misc]
    engine.dispose()


def _dead_pid() -> tuple[int, int | None]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    start = process_start(child.pid)
    child.kill()
    child.wait()
    return child.pid, start


def _row(trader_id: str, **values: object) -> dict[str, object]:
    now = datetime.now(UTC)
    row: dict[str, object] = {
        "trader_id": trader_id,
        "lease_id": "old-lease",
        "run_id": "old-run",
        "mode": "paper",
        "owner_host": socket.gethostname(),
        "owner_pid": os.getpid(),
        "owner_start": process_start(os.getpid()),
        "acquired_at": now,
        "heartbeat_at": now,
    }
    row.update(values)
    return row


def test_a_second_holder_is_refused_naming_the_owner(engine: Engine) -> None:
    lease = acquire_lease(engine, "DESK-1", "paper")
    set_lease_run(engine, lease, "run-123")
    with pytest.raises(LeaseHeldError) as exc:
        acquire_lease(engine, "DESK-1", "live")
    message = str(exc.value)
    assert f"pid {os.getpid()}" in message
    assert socket.gethostname() in message
    assert "run-123" in message
    assert "liveexec stop DESK-1" in message
    # Another trader id is independent; after release the trader id is free again.
    other = acquire_lease(engine, "DESK-2", "paper")
    release_lease(engine, lease)
    again = acquire_lease(engine, "DESK-1", "paper")
    assert again.took_over is None
    release_lease(engine, again)
    release_lease(engine, other)
    assert lease_owner(engine, "DESK-1") is None


def test_a_dead_owner_on_this_host_is_taken_over(engine: Engine) -> None:
    pid, start = _dead_pid()
    with engine.begin() as connection:
        connection.execute(
            insert(LEASES).values(**_row("DESK-1", owner_pid=pid, owner_start=start))
        )
    lease = acquire_lease(engine, "DESK-1", "paper")
    assert lease.took_over is not None
    assert lease.took_over.pid == pid
    owner = lease_owner(engine, "DESK-1")
    assert owner is not None
    assert (owner.pid, owner.lease_id, owner.run_id) == (os.getpid(), lease.lease_id, None)


def test_another_hosts_owner_is_dead_only_once_its_heartbeat_is_stale(engine: Engine) -> None:
    fresh = datetime.now(UTC) - timedelta(seconds=5)
    with engine.begin() as connection:
        connection.execute(
            insert(LEASES).values(
                **_row("DESK-1", owner_host="elsewhere", owner_pid=1, heartbeat_at=fresh)
            )
        )
    with pytest.raises(LeaseHeldError, match="host elsewhere"):
        acquire_lease(engine, "DESK-1", "live")
    stale = datetime.now(UTC) - LEASE_STALE_AFTER - timedelta(seconds=1)
    with engine.begin() as connection:
        connection.execute(update(LEASES).values(heartbeat_at=stale))
    lease = acquire_lease(engine, "DESK-1", "live")
    assert lease.took_over is not None
    assert lease.took_over.host == "elsewhere"


_HOLDER = """
import sys, time
from liveexec.db import create_db_engine
from liveexec.runs import LeaseHeldError, acquire_lease
engine = create_db_engine(sys.argv[1], create=False)
print("ready", flush=True)
sys.stdin.readline()  # the start line: every holder is imported by then
try:
    acquire_lease(engine, "RACE-1", "paper")
    print("won", flush=True)
except LeaseHeldError as exc:
    print("refused", exc, flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holders(url: str, count: int, hold_s: float) -> list[subprocess.Popen[str]]:
    """``count`` processes that try to take the lease at the same moment, then hold it (or not)
    for ``hold_s``. They start together once all are ready, however slow their imports are."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _HOLDER, url, str(hold_s)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for process in processes:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    return processes


@pytest.mark.slow
def test_processes_racing_for_the_lease_one_wins(db_url: str, engine: Engine) -> None:
    for _ in range(2):
        processes = _holders(db_url, 2, hold_s=1.0)
        outputs = [p.communicate(timeout=60)[0] for p in processes]
        assert sorted(out.split()[0] for out in outputs) == ["refused", "won"]
        assert all("RACE-1 is already running" in out for out in outputs if "refused" in out)
        # The winner exited without releasing: the next round takes its lease over.


def test_a_holder_killed_with_sigkill_does_not_block_the_next_start(
    db_url: str, engine: Engine
) -> None:
    (holder,) = _holders(db_url, 1, hold_s=60.0)
    assert holder.stdout is not None
    assert holder.stdout.readline().startswith("won")
    with pytest.raises(LeaseHeldError):
        acquire_lease(engine, "RACE-1", "paper")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lease = acquire_lease(engine, "RACE-1", "paper")
    assert lease.took_over is not None
    assert lease.took_over.pid == holder.pid


def test_stop_requests_reach_the_supervisor_within_a_second(engine: Engine) -> None:
    lease = acquire_lease(engine, "DESK-1", "live")
    stopped = threading.Event()
    seen: list[str] = []

    def on_stop(by: str) -> None:
        seen.append(by)
        stopped.set()

    supervisor = Supervisor(engine, "no-run-row", lease)
    with supervisor, supervisor.watching(on_stop=on_stop, on_lost=lambda _: None):
        asked = time.monotonic()
        owner = request_stop(engine, "DESK-1", by="operator on desk")
        assert owner.lease_id == lease.lease_id
        assert stopped.wait(5.0)
        assert time.monotonic() - asked < 1.0
    assert seen == ["operator on desk"]
    release_lease(engine, lease)
    with pytest.raises(NoRunningNodeError, match="no paper or live node is running"):
        request_stop(engine, "DESK-1")


def test_the_python_stop_call_asks_the_running_node(db_url: str, engine: Engine) -> None:
    lease = acquire_lease(engine, "DESK-1", "paper")
    described = liveexec_stop("DESK-1", database_url=db_url)
    assert f"pid {os.getpid()}" in described
    owner = lease_owner(engine, "DESK-1")
    assert owner is not None
    assert owner.stop_requested_at is not None
    release_lease(engine, lease)


def test_a_stop_for_a_dead_owner_says_so_and_clears_its_lease(engine: Engine) -> None:
    pid, start = _dead_pid()
    with engine.begin() as connection:
        connection.execute(
            insert(LEASES).values(**_row("DESK-1", owner_pid=pid, owner_start=start))
        )
    with pytest.raises(NoRunningNodeError, match="gone without releasing"):
        request_stop(engine, "DESK-1")
    assert lease_owner(engine, "DESK-1") is None


def test_a_supervisor_whose_lease_was_taken_reports_it(engine: Engine) -> None:
    lease = acquire_lease(engine, "DESK-1", "live")
    lost = threading.Event()
    supervisor = Supervisor(engine, "no-run-row", lease)
    with supervisor, supervisor.watching(on_stop=lambda _: None, on_lost=lambda _: lost.set()):
        with engine.begin() as connection:
            connection.execute(update(LEASES).values(lease_id="someone-else"))
        assert lost.wait(5.0)


def test_a_stop_asked_before_the_node_runs_reaches_it_once_it_runs_and_never_after(
    engine: Engine,
) -> None:
    """The supervisor starts with the run, the node later: a stop requested while the node is
    built is delivered when the node starts watching; none is delivered once it stopped."""
    lease = acquire_lease(engine, "DESK-2", "paper")
    seen: list[str] = []
    supervisor = Supervisor(engine, "no-run-row", lease)
    with supervisor:
        request_stop(engine, "DESK-2", by="early operator")
        deadline = time.monotonic() + 5.0
        while supervisor.stop_seen_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert supervisor.stop_seen_at is not None and seen == []  # nobody watches yet
        with supervisor.watching(on_stop=seen.append, on_lost=seen.append):
            assert seen == ["early operator"]
        with engine.begin() as connection:
            connection.execute(update(LEASES).values(lease_id="someone-else"))
        time.sleep(0.6)  # several polls: the lost lease is seen, and told to nobody
    assert seen == ["early operator"]
