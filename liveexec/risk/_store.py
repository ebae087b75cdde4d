"""The kill switch and trading states in the database (tables of migration 0004).

Halts are written by ``liveexec halt`` / ``liveexec resume`` from any process; every gate of
the trader reads them through :class:`HaltWatcher`, at start and then every poll interval on a
thread of its own, so no database call sits in the order path.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from liveexec.db import RiskHalt, RiskLossMark, RiskStateChange
from liveexec.risk._model import LossMark, StateChange, TradingState

__all__ = [
    "ActiveHalt",
    "HaltWatcher",
    "LossMarkWriter",
    "PeriodicThread",
    "active_halt",
    "current_user",
    "halt",
    "last_loss_mark",
    "last_state",
    "plain_decimal",
    "record_loss_mark",
    "record_state_changes",
    "resume",
]


def current_user() -> str:
    """Who is acting: ``LIVEEXEC_USER``, else the login name, at this host."""
    who = os.environ.get("LIVEEXEC_USER") or getpass.getuser()
    return f"{who}@{socket.gethostname()}"


@dataclass(frozen=True, slots=True)
class ActiveHalt:
    id: int
    state: TradingState
    halted_by: str
    reason: str
    halted_at: datetime

    def describe(self) -> str:
        return (
            f"kill switch: halted by {self.halted_by} at {self.halted_at:%Y-%m-%d %H:%M:%S} UTC:"
            f" {self.reason}"
        )


def halt(
    engine: Engine, trader_id: str, *, by: str, reason: str, reducing: bool = False
) -> ActiveHalt:
    """Halt ``trader_id`` (every node of it sharing this database, within a poll interval)."""
    row = RiskHalt(
        trader_id=trader_id,
        state="REDUCING" if reducing else "HALTED",
        halted_by=by,
        reason=reason,
        halted_at=datetime.now(UTC),
    )
    with Session(engine) as session:
        session.add(row)
        session.commit()
        session.refresh(row)
        assert row.id is not None
        return ActiveHalt(row.id, TradingState[row.state], by, reason, row.halted_at)


def resume(engine: Engine, trader_id: str, *, by: str, reason: str) -> int:
    """End every halt of ``trader_id`` in force; the number of halts ended."""
    with Session(engine) as session:
        result = session.execute(
            update(RiskHalt)
            .where(RiskHalt.trader_id == trader_id)  # type: ignore[arg-type]  # SQLModel column
            .where(RiskHalt.resumed_at.is_(None))  # type: ignore[union-attr]  # SQLModel column
            .values(resumed_by=by, resume_reason=reason, resumed_at=datetime.now(UTC))
        )
        session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE


def active_halt(engine: Engine, trader_id: str) -> ActiveHalt | None:
    """The newest halt of ``trader_id`` in force (index ix_risk_halts_trader_resumed_halted)."""
    query = (
        select(RiskHalt)
        .where(RiskHalt.trader_id == trader_id)  # type: ignore[arg-type]  # SQLModel column
        .where(RiskHalt.resumed_at.is_(None))  # type: ignore[union-attr]  # SQLModel column
        .order_by(RiskHalt.halted_at.desc())  # type: ignore[attr-defined]  # SQLModel column
        .limit(1)
    )
    with Session(engine) as session:
        row = session.execute(query).scalars().first()
        if row is None:
            return None
        assert row.id is not None
        return ActiveHalt(row.id, TradingState[row.state], row.halted_by, row.reason, row.halted_at)


def record_state_changes(
    engine: Engine, changes: list[StateChange], *, trader_id: str, run_id: str | None, mode: str
) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        for change in changes:
            session.add(
                RiskStateChange(
                    trader_id=trader_id,
                    run_id=run_id,
                    mode=mode,
                    previous_state=change.previous.name,
                    state=change.state.name,
                    reason=change.reason,
                    ts_event=change.ts_ns,
                    recorded_at=now,
                )
            )
        session.commit()


def last_state(engine: Engine, trader_id: str, mode: str) -> tuple[TradingState, str] | None:
    """The newest trading state recorded for ``trader_id`` in ``mode``
    (index ix_risk_state_changes_trader_mode_id)."""
    query = (
        select(RiskStateChange.state, RiskStateChange.reason)  # type: ignore[call-overload]  # SQLModel columns
        .where(RiskStateChange.trader_id == trader_id)
        .where(RiskStateChange.mode == mode)
        .order_by(RiskStateChange.id.desc())  # type: ignore[union-attr]  # SQLModel column
        .limit(1)
    )
    with Session(engine) as session:
        row = session.execute(query).first()
    return None if row is None else (TradingState[row[0]], str(row[1]))


# How long stop() waits for a periodic thread (a read hung in the database may outlast it).
JOIN_TIMEOUT_S = 5.0


class PeriodicThread:
    """Calls ``tick`` every ``interval_s`` seconds of wall time on a daemon thread of its own
    (the halt, loss-mark and exposure threads): :meth:`start`, :meth:`stop` (joins it).
    ``on_exit`` runs on that thread when it ends, so what it uses (a database connection) is
    released by the thread itself, never from another thread while a call may be using it."""

    def __init__(
        self,
        tick: Callable[[], None],
        interval_s: float,
        name: str,
        *,
        first_at_start: bool = False,
        on_exit: Callable[[], None] | None = None,
    ) -> None:
        self._tick = tick
        self._interval = interval_s
        self._name = name
        self._first_at_start = first_at_start  # the first tick at start, not one interval later
        self._on_exit = on_exit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            if self._first_at_start and not self._stop.is_set():
                self._tick()
            while not self._stop.wait(self._interval):
                self._tick()
        finally:
            if self._on_exit is not None:
                self._on_exit()

    def stop(self) -> bool:
        """Ask the thread to end and wait for it (``JOIN_TIMEOUT_S`` at most). Returns whether
        it ended: a thread still inside a tick ends after it, then runs ``on_exit``."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return True
        thread.join(timeout=JOIN_TIMEOUT_S)
        return not thread.is_alive()


class HaltWatcher:
    """Reads the trader's halt every ``interval_s`` seconds on a daemon thread.

    :meth:`current` never touches the database: it returns what the last read found, or
    HALTED with the reason when the database has not been read successfully for
    ``stale_after_s`` seconds (fail closed).
    """

    def __init__(
        self, engine: Engine, trader_id: str, *, interval_s: float, stale_after_s: float = 3.0
    ) -> None:
        self._engine = engine
        self._trader_id = trader_id
        self._stale_after = max(stale_after_s, 3 * interval_s)
        self._loop = PeriodicThread(
            self._poll_and_signal,
            interval_s,
            f"liveexec-halts-{trader_id}",
            first_at_start=True,  # the read at start runs on the thread: start() waits for it
        )
        self._first_done = threading.Event()
        self._state: tuple[TradingState, str] = (
            TradingState.HALTED,
            "kill switch: the halts table has not been read yet (fail closed)",
        )
        self._read_at: float | None = None  # monotonic time of the last successful read
        self._error = "not read yet"
        self.reads = 0

    def poll_once(self) -> None:
        try:
            found = active_halt(self._engine, self._trader_id)
        except Exception as exc:  # any driver failure: fail closed, say why, keep polling
            self._error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return
        self._state = (
            (TradingState.ACTIVE, "no halt in force")
            if found is None
            else (found.state, found.describe())
        )
        self._read_at = time.monotonic()
        self.reads += 1

    def _poll_and_signal(self) -> None:
        try:
            self.poll_once()
        finally:
            self._first_done.set()

    def current(self) -> tuple[TradingState, str]:
        read_at = self._read_at
        if read_at is None or time.monotonic() - read_at > self._stale_after:
            return (
                TradingState.HALTED,
                f"kill switch: database not read for over {self._stale_after:g} s "
                f"({self._error}; fail closed)",
            )
        return self._state

    def start(self) -> None:
        """Reads the halt before any order, waiting for it ``stale_after_s`` at most: a
        database that does not answer by then leaves the trader HALTED (fail closed; the thread
        keeps trying) instead of hanging the node's start."""
        self._first_done.clear()
        self._loop.start()
        if not self._first_done.wait(self._stale_after):
            self._error = f"the first read has not finished after {self._stale_after:g} s"

    def stop(self) -> None:
        self._loop.stop()


_STORED = Decimal("1e-18")  # the money columns' scale
_ZERO = Decimal(0)


def record_loss_mark(
    engine: Engine, mark: LossMark, *, trader_id: str, mode: str, run_id: str | None
) -> None:
    """Upsert the trader's mark for ``mode`` (primary key trader_id, mode)."""
    with Session(engine) as session:
        row = session.get(RiskLossMark, (trader_id, mode)) or RiskLossMark(
            trader_id=trader_id,
            mode=mode,
            drawdown=_ZERO,
            daily_loss=_ZERO,
            day=0,
            ts_event=0,
            recorded_at=datetime.now(UTC),
        )
        row.run_id = run_id
        row.drawdown = mark.drawdown.quantize(_STORED)
        row.daily_loss = mark.daily_loss.quantize(_STORED)
        row.day = mark.day
        row.ts_event = mark.ts_ns
        row.recorded_at = datetime.now(UTC)
        session.add(row)
        session.commit()


def last_loss_mark(engine: Engine, trader_id: str, mode: str) -> LossMark | None:
    """The trader's last mark in ``mode`` (by primary key), or None."""
    with Session(engine) as session:
        row = session.get(RiskLossMark, (trader_id, mode))
        if row is None:
            return None
        return LossMark(
            drawdown=plain_decimal(row.drawdown),
            day=row.day,
            daily_loss=plain_decimal(row.daily_loss),
            ts_ns=row.ts_event,
        )


def plain_decimal(value: Decimal) -> Decimal:
    """Without the trailing zeros of a money column's 18 decimals (40.000... -> 40)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


class LossMarkWriter:
    """Writes ``read()`` (the gate's loss mark) every ``interval_s`` seconds when it changed,
    on a daemon thread of its own, so no database call sits in the order path; :meth:`stop`
    writes the last one. ``error`` holds the last write failure (the node keeps trading:
    the mark is what a later restart would lose)."""

    def __init__(
        self,
        engine: Engine,
        read: Callable[[], LossMark | None],
        *,
        trader_id: str,
        mode: str,
        run_id: str | None,
        interval_s: float = 1.0,
    ) -> None:
        self._engine = engine
        self._read = read
        self._trader_id, self._mode, self._run_id = trader_id, mode, run_id
        self._loop = PeriodicThread(self.write_once, interval_s, f"liveexec-loss-marks-{trader_id}")
        self._written: LossMark | None = None
        self.error: str | None = None
        self.writes = 0

    def write_once(self) -> None:
        mark = self._read()
        if mark is None or mark == self._written:
            return
        try:
            record_loss_mark(
                self._engine, mark, trader_id=self._trader_id, mode=self._mode, run_id=self._run_id
            )
        except Exception as exc:  # any driver failure: say why, try again next time
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return
        self._written = mark
        self.writes += 1

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._loop.stop()
        self.write_once()
