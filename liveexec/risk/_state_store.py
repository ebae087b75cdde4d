"""What the risk gate keeps beyond a node's life, behind one small interface.

:class:`StateStore` is what the gate (and ``liveexec halt`` / ``resume``) reads and writes:
halts (the kill switch), trading-state changes, loss marks. :class:`SqlStateStore` keeps them in
a node's database (tables of migration 0004: ``risk_halts``, ``risk_state_changes``,
``risk_loss_marks``); :class:`MemoryStateStore` keeps the same in memory, answering as the
tables do (ids, ordering, the money columns' 18 decimals), for tests and sweeps that should not
need a database. The gate never calls a store on its order path: halts are read by
``HaltWatcher`` and loss marks written by ``LossMarkWriter`` on threads of their own, state
changes when the state changes (``_store.py``).

The database-wide exposure read (``_exposure.py``) is not behind this interface: it keeps one
autocommit connection of its own thread and prepares its statement on the server (psycopg),
which is what makes it fast, and a memory stand-in for other traders' rows is a plain mapping
(``combined_exposure_reason`` takes one).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Engine, select, update
from sqlmodel import Session

from liveexec.db import EXACT_CONTEXT, RiskHalt, RiskLossMark, RiskStateChange
from liveexec.risk._types import LossMark, StateChange, TradingState

__all__ = [
    "ActiveHalt",
    "MemoryStateStore",
    "SqlStateStore",
    "StateStore",
    "plain_decimal",
    "state_store",
]

_STORED = Decimal("1e-18")  # the money columns' scale
_ZERO = Decimal(0)


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


class StateStore(Protocol):
    """Halts, trading-state changes and loss marks of traders (keyed as the tables are)."""

    def halt(self, trader_id: str, *, by: str, reason: str, reducing: bool = False) -> ActiveHalt:
        """Halt ``trader_id`` (REDUCING with ``reducing``) until :meth:`resume`."""
        ...

    def resume(self, trader_id: str, *, by: str, reason: str) -> int:
        """End every halt of ``trader_id`` in force; the number of halts ended."""
        ...

    def active_halt(self, trader_id: str) -> ActiveHalt | None:
        """The newest halt of ``trader_id`` in force, or None."""
        ...

    def record_state_changes(
        self,
        changes: Sequence[StateChange],
        *,
        trader_id: str,
        run_id: str | None,
        mode: str,
    ) -> None:
        """Append the changes, in order."""
        ...

    def last_state(self, trader_id: str, mode: str) -> tuple[TradingState, str] | None:
        """The newest state (and its reason) recorded for ``trader_id`` in ``mode``."""
        ...

    def record_loss_mark(
        self, mark: LossMark, *, trader_id: str, mode: str, run_id: str | None
    ) -> None:
        """Keep ``mark`` as the trader's mark in ``mode`` (replacing the one before)."""
        ...

    def last_loss_mark(self, trader_id: str, mode: str) -> LossMark | None:
        """The trader's mark in ``mode`` as stored (18 decimals), or None."""
        ...


def plain_decimal(value: Decimal) -> Decimal:
    """Without the trailing zeros of a money column's 18 decimals (40.000... -> 40)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def _stored(value: Decimal) -> Decimal:
    """A money column's value: 18 decimals (more are rounded), in the columns' own precision:
    the default 28-digit context refused a mark of 10 digits or more (10 billion JPY of
    drawdown), and the trader's peak was then lost on restart."""
    return value.quantize(_STORED, context=EXACT_CONTEXT)


class SqlStateStore:
    """The tables of migration 0004 in the database behind ``engine`` (a session per call)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def halt(self, trader_id: str, *, by: str, reason: str, reducing: bool = False) -> ActiveHalt:
        row = RiskHalt(
            trader_id=trader_id,
            state="REDUCING" if reducing else "HALTED",
            halted_by=by,
            reason=reason,
            halted_at=datetime.now(UTC),
        )
        with Session(self.engine) as session:
            session.add(row)
            session.commit()
            session.refresh(row)
            assert row.id is not None
            return ActiveHalt(row.id, TradingState[row.state], by, reason, row.halted_at)

    def resume(self, trader_id: str, *, by: str, reason: str) -> int:
        with Session(self.engine) as session:
            result = session.execute(
                update(RiskHalt)
                .where(RiskHalt.trader_id == trader_id)  # type: ignore[arg-type]  # SQLModel column
                .where(RiskHalt.resumed_at.is_(None))  # type: ignore[union-attr]  # SQLModel column
                .values(resumed_by=by, resume_reason=reason, resumed_at=datetime.now(UTC))
            )
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of an UPDATE

    def active_halt(self, trader_id: str) -> ActiveHalt | None:
        """(index ix_risk_halts_trader_resumed_halted)"""
        query = (
            select(RiskHalt)
            .where(RiskHalt.trader_id == trader_id)  # type: ignore[arg-type]  # SQLModel column
            .where(RiskHalt.resumed_at.is_(None))  # type: ignore[union-attr]  # SQLModel column
            .order_by(RiskHalt.halted_at.desc())  # type: ignore[attr-defined]  # SQLModel column
            .limit(1)
        )
        with Session(self.engine) as session:
            row = session.execute(query).scalars().first()
            if row is None:
                return None
            assert row.id is not None
            return ActiveHalt(
                row.id, TradingState[row.state], row.halted_by, row.reason, row.halted_at
            )

    def record_state_changes(
        self,
        changes: Sequence[StateChange],
        *,
        trader_id: str,
        run_id: str | None,
        mode: str,
    ) -> None:
        now = datetime.now(UTC)
        with Session(self.engine) as session:
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

    def last_state(self, trader_id: str, mode: str) -> tuple[TradingState, str] | None:
        """(index ix_risk_state_changes_trader_mode_id)"""
        query = (
            select(RiskStateChange.state, RiskStateChange.reason)  # type: ignore[call-overload]  # SQLModel columns
            .where(RiskStateChange.trader_id == trader_id)
            .where(RiskStateChange.mode == mode)
            .order_by(RiskStateChange.id.desc())  # type: ignore[union-attr]  # SQLModel column
            .limit(1)
        )
        with Session(self.engine) as session:
            row = session.execute(query).first()
        return None if row is None else (TradingState[row[0]], str(row[1]))

    def record_loss_mark(
        self, mark: LossMark, *, trader_id: str, mode: str, run_id: str | None
    ) -> None:
        """Upsert (primary key trader_id, mode)."""
        with Session(self.engine) as session:
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
            row.drawdown = _stored(mark.drawdown)
            row.daily_loss = _stored(mark.daily_loss)
            row.day = mark.day
            row.ts_event = mark.ts_ns
            row.recorded_at = datetime.now(UTC)
            session.add(row)
            session.commit()

    def last_loss_mark(self, trader_id: str, mode: str) -> LossMark | None:
        """(by primary key)"""
        with Session(self.engine) as session:
            row = session.get(RiskLossMark, (trader_id, mode))
            if row is None:
                return None
            return LossMark(
                drawdown=plain_decimal(row.drawdown),
                day=row.day,
                daily_loss=plain_decimal(row.daily_loss),
                ts_ns=row.ts_event,
            )


@dataclass(slots=True)
class _Halt:
    halt: ActiveHalt
    trader_id: str
    resumed: bool = False


class MemoryStateStore:
    """The same in memory, for tests and sweeps: ids from 1 in order, the newest halt by its
    time (then id), the newest state change by id, marks kept as the money columns keep them.
    Safe to share between threads (the halt watcher and the mark writer run on their own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._halts: list[_Halt] = []
        self._changes: list[tuple[str, str, str | None, StateChange]] = []
        self._marks: dict[tuple[str, str], tuple[LossMark, str | None]] = {}

    def halt(self, trader_id: str, *, by: str, reason: str, reducing: bool = False) -> ActiveHalt:
        with self._lock:
            state = TradingState.REDUCING if reducing else TradingState.HALTED
            found = ActiveHalt(len(self._halts) + 1, state, by, reason, datetime.now(UTC))
            self._halts.append(_Halt(found, trader_id))
            return found

    def resume(self, trader_id: str, *, by: str, reason: str) -> int:
        with self._lock:
            ended = 0
            for entry in self._halts:
                if entry.trader_id == trader_id and not entry.resumed:
                    entry.resumed = True
                    ended += 1
            return ended

    def active_halt(self, trader_id: str) -> ActiveHalt | None:
        with self._lock:
            in_force = [e.halt for e in self._halts if e.trader_id == trader_id and not e.resumed]
        return max(in_force, key=lambda h: (h.halted_at, h.id), default=None)

    def record_state_changes(
        self,
        changes: Sequence[StateChange],
        *,
        trader_id: str,
        run_id: str | None,
        mode: str,
    ) -> None:
        with self._lock:
            self._changes.extend((trader_id, mode, run_id, change) for change in changes)

    def last_state(self, trader_id: str, mode: str) -> tuple[TradingState, str] | None:
        with self._lock:
            for trader, in_mode, _, change in reversed(self._changes):
                if trader == trader_id and in_mode == mode:
                    return change.state, change.reason
        return None

    def record_loss_mark(
        self, mark: LossMark, *, trader_id: str, mode: str, run_id: str | None
    ) -> None:
        stored = replace(
            mark,
            drawdown=plain_decimal(_stored(mark.drawdown)),
            daily_loss=plain_decimal(_stored(mark.daily_loss)),
        )
        with self._lock:
            self._marks[(trader_id, mode)] = (stored, run_id)

    def last_loss_mark(self, trader_id: str, mode: str) -> LossMark | None:
        with self._lock:
            found = self._marks.get((trader_id, mode))
        return None if found is None else found[0]

    def state_changes(self, trader_id: str) -> list[tuple[str, str | None, StateChange]]:
        """Every change recorded for ``trader_id``: (mode, run id, change), oldest first."""
        with self._lock:
            return [(m, r, c) for t, m, r, c in self._changes if t == trader_id]


def state_store(database: Engine | StateStore) -> StateStore:
    """``database`` as a store: an engine's tables (:class:`SqlStateStore`), or the store."""
    return SqlStateStore(database) if isinstance(database, Engine) else database
