"""Steering running nodes through the database: stop one, halt or resume a trader."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine

from liveexec.risk import ActiveHalt, active_halt, current_user, halt, resume
from liveexec.runs import LeaseOwner, RunResult, lease_owner, load_run, request_stop

__all__ = ["Resumed", "Stop", "halt_trader", "resume_trader", "stop_node"]


@dataclass(frozen=True)
class Stop:
    """A stop asked of a node; with ``waited``, what became of its run."""

    owner: LeaseOwner
    waited: bool = False
    stopped: bool = False  # the node released its lease within the wait
    run: RunResult | None = None  # the run it closed
    seconds: float | None = None  # from the request to the lease released

    def describe(self) -> str:
        return self.owner.describe()


def stop_node(
    engine: Engine,
    trader_id: str,
    *,
    by: str | None = None,
    wait: bool = False,
    timeout_s: float = 60.0,
    poll_s: float = 0.1,
) -> Stop:
    """Ask the paper or live node running ``trader_id`` to stop gracefully (its stop policy
    applies); with ``wait``, until it released its lease (at most ``timeout_s``). Raises
    ``NoRunningNodeError`` when no live process holds the lease."""
    owner = request_stop(engine, trader_id, by=by)
    if not wait:
        return Stop(owner)
    asked = time.monotonic()
    deadline = asked + timeout_s
    while True:
        current = lease_owner(engine, trader_id)
        if current is None or current.lease_id != owner.lease_id:
            break
        if time.monotonic() > deadline:
            return Stop(owner, waited=True)
        time.sleep(poll_s)
    seconds = time.monotonic() - asked
    run = load_run(engine, owner.run_id) if owner.run_id is not None else None
    return Stop(owner, waited=True, stopped=True, run=run, seconds=seconds)


def halt_trader(
    engine: Engine,
    trader_id: str,
    *,
    reason: str = "manual halt",
    reducing: bool = False,
    by: str | None = None,
) -> ActiveHalt:
    """Halt ``trader_id``: every node of it on this database denies new orders within a poll
    interval (with ``reducing``, orders that reduce a position still pass), until resumed."""
    return halt(engine, trader_id, by=by or current_user(), reason=reason, reducing=reducing)


@dataclass(frozen=True)
class Resumed:
    trader_id: str
    ended: int  # halts ended (0: it was not halted)


def resume_trader(
    engine: Engine, trader_id: str, *, reason: str = "manual resume", by: str | None = None
) -> Resumed:
    """End every halt of ``trader_id`` in force; its nodes trade again within a poll interval."""
    ended = resume(engine, trader_id, by=by or current_user(), reason=reason)
    if active_halt(engine, trader_id) is not None:  # a halt written meanwhile stays in force
        raise RuntimeError(f"{trader_id} was halted again while it was being resumed")
    return Resumed(trader_id, ended)
