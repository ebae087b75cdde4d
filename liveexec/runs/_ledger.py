"""The ``runs`` table: a row opened when a run starts and closed with how it ended.

Each row names its owner (host, pid and the process's start time, so a reused pid is not taken
for the owner) and carries a heartbeat. A ``running`` row whose owner is gone -- killed with
SIGKILL, its machine lost -- is marked ``abandoned`` by :func:`reap_abandoned`, which every
command that opens the database runs first.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session

from liveexec._version import __version__
from liveexec.config import LiveexecConfig, redacted_document
from liveexec.db import Run, UnifiedOrder

__all__ = [
    "HEARTBEAT_EVERY",
    "close_run",
    "list_runs",
    "open_run",
    "process_start",
    "reap_abandoned",
]

HEARTBEAT_EVERY = timedelta(seconds=10)
# Another machine's run is taken for dead only when its heartbeat is this old.
STALE_AFTER = timedelta(minutes=2)
_HOST = socket.gethostname()


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux), or None if there is
    no such process. With the pid it identifies one process: pids are reused, start times not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        return _alive_elsewhere(pid)
    # Field 22; the command name (field 2) may hold spaces, so count from its closing ')'.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _alive_elsewhere(pid: int) -> int | None:
    """Without /proc: 0 for a live pid (start time unknown), None for none."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # it exists, owned by another user
    return 0


def _owner_alive(host: str | None, pid: int | None, start: int | None) -> bool | None:
    """True/False when this machine can tell; None for another machine's run."""
    if host != _HOST or pid is None:
        return None
    current = process_start(pid)
    if current is None:
        return False
    return start is None or current in (0, start)


_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_ORDERS = UnifiedOrder.__table__  # type: ignore[attr-defined]


def open_run(engine: Engine, cfg: LiveexecConfig) -> str:
    run_id = str(uuid.uuid4())
    with Session(engine) as session:
        session.add(
            Run(
                run_id=run_id,
                trader_id=cfg.trader_id,
                mode=cfg.mode,
                config_id=cfg.config_id,
                config=redacted_document(cfg),
                liveexec_version=__version__,
                nautilus_version=version("nautilus_trader"),
                started_at=datetime.now(UTC),
                status="running",
                owner_host=_HOST,
                owner_pid=os.getpid(),
                owner_start=process_start(os.getpid()),
                heartbeat_at=datetime.now(UTC),
            )
        )
        session.commit()
    return run_id


def reap_abandoned(engine: Engine, *, now: datetime | None = None) -> list[str]:
    """Mark ``abandoned`` every running row whose owner is gone; the run ids marked.

    On this machine the owner is gone when its process (pid and start time) no longer exists;
    a run of another machine, when its heartbeat is older than ``STALE_AFTER``.
    """
    moment = now or datetime.now(UTC)
    query = select(
        _RUNS.c.run_id,
        _RUNS.c.owner_host,
        _RUNS.c.owner_pid,
        _RUNS.c.owner_start,
        _RUNS.c.heartbeat_at,
        _RUNS.c.started_at,
    ).where(_RUNS.c.status == "running")
    reaped: list[str] = []
    with engine.begin() as connection:
        for run_id, host, pid, start, heartbeat, started in connection.execute(query).all():
            alive = _owner_alive(host, pid, start)
            last = heartbeat or started
            if alive is None:
                alive = last is not None and moment - last < STALE_AFTER
            if alive:
                continue
            who = f"pid {pid} on {host}" if pid is not None else "its owner"
            seen = f"; last heartbeat {last.isoformat(timespec='seconds')}" if last else ""
            done = connection.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id, _RUNS.c.status == "running")
                .values(
                    status="abandoned",
                    ended_at=last or moment,
                    error=f"abandoned: {who} stopped without closing the run{seen}",
                )
            )
            if done.rowcount:
                reaped.append(run_id)
    return reaped


def close_run(engine: Engine, run_id: str, status: str, error: str | None = None) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_RUNS)
            .where(_RUNS.c.run_id == run_id)
            .values(status=status, error=error, ended_at=datetime.now(UTC), heartbeat_at=None)
        )


def list_runs(
    engine: Engine, *, limit: int = 20, config_id: str | None = None
) -> list[tuple[str, str, str, str, str, int]]:
    """(run_id, mode, status, config_id, started_at, orders) of the latest runs, newest first."""
    orders = (
        select(func.count())
        .select_from(_ORDERS)
        .where(_ORDERS.c.run_id == _RUNS.c.run_id)
        .scalar_subquery()
    )
    query = (
        select(
            _RUNS.c.run_id,
            _RUNS.c.mode,
            _RUNS.c.status,
            _RUNS.c.config_id,
            _RUNS.c.started_at,
            orders,
        )
        .order_by(_RUNS.c.started_at.desc())
        .limit(limit)
    )
    if config_id is not None:
        query = query.where(_RUNS.c.config_id == config_id)
    with engine.connect() as connection:
        return [
            (r[0], r[1], r[2], r[3], r[4].isoformat(timespec="seconds"), int(r[5]))
            for r in connection.execute(query)
        ]
