"""One running paper or live node per trader id and database: a lease row with a heartbeat.

``live_leases`` holds one row per trader id while its node runs. Taking the lease inserts the
row (the primary key makes two racing inserts end with one winner); a row already there is
refused while its owner lives, naming it, and taken over (compare-and-swap on ``lease_id``)
when its owner died: on this host when its process (pid and start time) is gone, on another
host when its heartbeat is older than :data:`LEASE_STALE_AFTER`. The same plain SQL works on
SQLite and PostgreSQL, and a SIGKILLed holder never blocks the next start.

``liveexec stop TRADER_ID`` writes ``stop_requested_at`` on the row; the holder's supervisor
(:class:`liveexec.runs.Supervisor`) polls it every :data:`POLL_EVERY_S` and asks the node to stop.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from liveexec.db import LiveLease
from liveexec.errors import LiveexecError
from liveexec.runs._ledger import HOST, _owner_alive, process_start

__all__ = [
    "HEARTBEAT_EVERY_S",
    "LEASE_STALE_AFTER",
    "POLL_EVERY_S",
    "Lease",
    "LeaseHeldError",
    "LeaseOwner",
    "NoRunningNodeError",
    "acquire_lease",
    "lease_owner",
    "leased_run",
    "release_lease",
    "request_stop",
]

# The holder polls for a stop request this often (seen within a second) ...
POLL_EVERY_S = 0.2
# ... and refreshes its heartbeat this often.
HEARTBEAT_EVERY_S = 2.0
# Another host's lease is taken for dead when its heartbeat is this old.
LEASE_STALE_AFTER = timedelta(seconds=30)

_LEASES = LiveLease.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models


@dataclass(frozen=True)
class LeaseOwner:
    """Who holds (or held) a trader id's lease."""

    trader_id: str
    lease_id: str
    run_id: str | None
    mode: str
    host: str
    pid: int
    start: int | None
    acquired_at: datetime
    heartbeat_at: datetime
    stop_requested_at: datetime | None
    stop_requested_by: str | None = None

    def alive(self, now: datetime | None = None) -> bool:
        known = _owner_alive(self.host, self.pid, self.start)
        if known is not None:
            return known
        return (now or datetime.now(UTC)) - self.heartbeat_at < LEASE_STALE_AFTER

    def describe(self) -> str:
        run = self.run_id or "not opened yet"
        return (
            f"{self.mode} node of pid {self.pid} on host {self.host} (run {run}, since "
            f"{self.acquired_at:%Y-%m-%d %H:%M:%S} UTC, last heartbeat "
            f"{self.heartbeat_at:%H:%M:%S} UTC)"
        )


class LeaseHeldError(LiveexecError):
    """Another live process runs a node for this trader id against this database."""

    def __init__(self, owner: LeaseOwner) -> None:
        super().__init__(
            f"trader {owner.trader_id} is already running: {owner.describe()}; stop it with "
            f"`liveexec stop {owner.trader_id}` or use another trader_id"
        )
        self.owner = owner


class NoRunningNodeError(LiveexecError):
    """``liveexec stop`` for a trader id that no live process runs."""


@dataclass(frozen=True)
class Lease:
    """A lease this process holds; ``took_over`` is the dead owner it replaced, if any."""

    trader_id: str
    lease_id: str
    took_over: LeaseOwner | None = None


def _owner(row: object) -> LeaseOwner:
    m = row._mapping  # type: ignore[attr-defined]  # a SQLAlchemy Row
    return LeaseOwner(
        trader_id=m["trader_id"],
        lease_id=m["lease_id"],
        run_id=m["run_id"],
        mode=m["mode"],
        host=m["owner_host"],
        pid=m["owner_pid"],
        start=m["owner_start"],
        acquired_at=m["acquired_at"],
        heartbeat_at=m["heartbeat_at"],
        stop_requested_at=m["stop_requested_at"],
        stop_requested_by=m["stop_requested_by"],
    )


def lease_owner(engine: Engine, trader_id: str) -> LeaseOwner | None:
    """The row for ``trader_id``, if any (its owner may be dead)."""
    with engine.connect() as connection:
        row = connection.execute(select(_LEASES).where(_LEASES.c.trader_id == trader_id)).first()
    return None if row is None else _owner(row)


def _holder_values(lease_id: str, mode: str, now: datetime) -> dict[str, object]:
    pid = os.getpid()
    return {
        "lease_id": lease_id,
        "run_id": None,
        "mode": mode,
        "owner_host": HOST,
        "owner_pid": pid,
        "owner_start": process_start(pid),
        "acquired_at": now,
        "heartbeat_at": now,
        "stop_requested_at": None,
        "stop_requested_by": None,
    }


def acquire_lease(engine: Engine, trader_id: str, mode: str, *, attempts: int = 10) -> Lease:
    """Take ``trader_id``'s lease for this process, or raise :class:`LeaseHeldError` naming the
    live owner. A dead owner's lease is taken over; of two processes racing, one wins."""
    for _ in range(attempts):
        lease_id = str(uuid.uuid4())
        now = datetime.now(UTC)
        try:
            with engine.begin() as connection:
                values = _holder_values(lease_id, mode, now)
                connection.execute(insert(_LEASES).values(trader_id=trader_id, **values))
            return Lease(trader_id, lease_id)
        except IntegrityError:
            pass  # a row is there: whose?
        current = lease_owner(engine, trader_id)
        if current is None:
            continue  # released meanwhile: insert again
        if current.alive(now):
            raise LeaseHeldError(current)
        with engine.begin() as connection:
            swapped = connection.execute(
                update(_LEASES)
                .where(_LEASES.c.trader_id == trader_id, _LEASES.c.lease_id == current.lease_id)
                .values(**_holder_values(lease_id, mode, now))
            )
        if swapped.rowcount == 1:
            return Lease(trader_id, lease_id, took_over=current)
        # Another process took it over (or it was released) first: look again.
    raise LiveexecError(f"could not take the lease of trader {trader_id}: it kept changing hands")


def set_lease_run(engine: Engine, lease: Lease, run_id: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(_LEASES)
            .where(_LEASES.c.trader_id == lease.trader_id, _LEASES.c.lease_id == lease.lease_id)
            .values(run_id=run_id)
        )


def release_lease(engine: Engine, lease: Lease) -> None:
    """Give the lease up (only if this process still holds it)."""
    with engine.begin() as connection:
        connection.execute(
            delete(_LEASES).where(
                _LEASES.c.trader_id == lease.trader_id, _LEASES.c.lease_id == lease.lease_id
            )
        )


def leased_run(
    engine: Engine, trader_id: str, mode: str, open_row: Callable[[], str]
) -> tuple[Lease, str]:
    """One node per trader id and database: take the lease (refused here, naming the owner),
    open the run row with ``open_row`` (a new run, or one reopened), and tie the lease to it.
    The lease is given back if the row cannot be opened."""
    lease = acquire_lease(engine, trader_id, mode)
    try:
        run_id = open_row()
        set_lease_run(engine, lease, run_id)
    except BaseException:
        release_lease(engine, lease)
        raise
    return lease, run_id


def request_stop(engine: Engine, trader_id: str, *, by: str | None = None) -> LeaseOwner:
    """Ask the node running ``trader_id`` to stop; the owner asked. Raises
    :class:`NoRunningNodeError` if no live process holds the lease (a dead owner's row is
    removed: nothing runs to stop)."""
    requester = by or f"pid {os.getpid()} on {HOST}"
    current = lease_owner(engine, trader_id)
    if current is None:
        raise NoRunningNodeError(f"no paper or live node is running for trader {trader_id}")
    if not current.alive():
        with engine.begin() as connection:
            connection.execute(
                delete(_LEASES).where(
                    _LEASES.c.trader_id == trader_id, _LEASES.c.lease_id == current.lease_id
                )
            )
        raise NoRunningNodeError(
            f"trader {trader_id}'s last node ({current.describe()}) is gone without releasing "
            "its lease; the lease is removed, nothing was running"
        )
    with engine.begin() as connection:
        done = connection.execute(
            update(_LEASES)
            .where(_LEASES.c.trader_id == trader_id, _LEASES.c.lease_id == current.lease_id)
            .values(stop_requested_at=datetime.now(UTC), stop_requested_by=requester[:255])
        )
    if done.rowcount != 1:
        raise NoRunningNodeError(f"the node of trader {trader_id} stopped meanwhile")
    return current
