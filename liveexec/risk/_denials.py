"""Denial streaks: a strategy that keeps submitting while it is denied is counted, not copied.

A halted trader's strategy can submit an order on every tick: each is denied, and each denial
was a ``DENIED`` order row and two event rows (~1,300 orders in 6 s). The risk gate now keeps a
*streak* per strategy and instrument: consecutive denials for one kind of reason (the reason
with its numbers taken out, so "notional 1,234.5 above 1,000" and "notional 2,345.6 above
1,000" are one kind). The first ``in_full`` denials of a streak are recorded as orders, as
before; the rest are counted in the streak's ``denial_streaks`` row (how many, first and last
time, reason and order id). The streak ends when the gate approves an order of that strategy
and instrument, or denies one for another kind of reason; the next denial starts a new streak,
recorded in full again.

Decided where the gate decides, in the order the strategy submits (never by when an event
reaches the recorder, which differs between a backtest and a live node's queues, nor by when the
recorder flushes): a backtest and its paper replay record the same denials, and a resumed paper
run continues the streaks its first process left open (:meth:`DenialStreaks.restore`).
Denials by NautilusTrader's own risk engine are not counted here: they stay orders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["DenialStreaks", "reason_kind"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Digits with thousands separators (a separator only between digits), decimals, exponent.
_NUMBER = re.compile(r"[-+]?\d(?:[\d_]|,(?=\d))*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def reason_kind(reason: str) -> str:
    """A denial's reason with its numbers replaced by ``#``: what makes two denials the same."""
    return _NUMBER.sub("#", reason)


@dataclass(slots=True)
class _Streak:
    first_seq: int
    strategy_id: str
    instrument_id: str
    reason_kind: str
    first_reason: str
    last_reason: str
    first_client_order_id: str
    last_client_order_id: str
    first_ns: int
    last_ns: int
    denials: int
    recorded: int
    open: bool
    last_event_seq: int

    def row(self, run_id: str) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "first_seq": self.first_seq,
            "strategy_id": self.strategy_id,
            "instrument_id": self.instrument_id,
            "reason_kind": self.reason_kind,
            "first_reason": self.first_reason,
            "last_reason": self.last_reason,
            "first_client_order_id": self.first_client_order_id,
            "last_client_order_id": self.last_client_order_id,
            "first_denied_at": _datetime(self.first_ns),
            "last_denied_at": _datetime(self.last_ns),
            "denials": self.denials,
            "recorded": self.recorded,
            "open": self.open,
            "last_event_seq": self.last_event_seq,
        }


class DenialStreaks:
    """The open streak of each (strategy, instrument), the denied orders to leave out of the
    tables, and the streaks changed since the last :meth:`changed_rows` (what the recorder's
    next group writes).

    ``first_seq`` and ``last_event_seq`` number the gate's decisions on orders (one per
    :meth:`denied` or :meth:`passed`): a streak's place in the run, and which of two states of
    its row is newer.
    """

    def __init__(self, run_id: str, *, in_full: int) -> None:
        if in_full < 1:
            raise ValueError(f"in_full must be at least 1, got {in_full}")
        self._run_id = run_id
        self._in_full = in_full
        self._seq = 0
        self._open: dict[tuple[str, str], _Streak] = {}
        self._changed: dict[int, _Streak] = {}
        # Denied orders counted, not recorded, until the recorder sees their OrderDenied.
        self._counted: dict[str, _Streak] = {}

    def restore(self, rows: Iterable[Mapping[str, Any]], *, last_seq: int) -> None:
        """Continue a run's streaks (a resumed paper run): the open ones of its
        ``denial_streaks`` rows go on, and the numbering after ``last_seq`` (the highest
        ``last_event_seq`` of them all)."""
        self._seq = max(self._seq, last_seq)
        for row in rows:
            self._seq = max(self._seq, int(row["last_event_seq"]))
            if not row["open"]:
                continue
            streak = _Streak(
                first_seq=int(row["first_seq"]),
                strategy_id=str(row["strategy_id"]),
                instrument_id=str(row["instrument_id"]),
                reason_kind=str(row["reason_kind"]),
                first_reason=str(row["first_reason"]),
                last_reason=str(row["last_reason"]),
                first_client_order_id=str(row["first_client_order_id"]),
                last_client_order_id=str(row["last_client_order_id"]),
                first_ns=_ns(row["first_denied_at"]),
                last_ns=_ns(row["last_denied_at"]),
                denials=int(row["denials"]),
                recorded=int(row["recorded"]),
                open=True,
                last_event_seq=int(row["last_event_seq"]),
            )
            self._open[(streak.strategy_id, streak.instrument_id)] = streak

    def denied(
        self,
        *,
        strategy_id: str,
        instrument_id: str,
        client_order_id: str,
        reason: str,
        ts_ns: int,
    ) -> bool:
        """Count the gate's denial of an order; True when the order is recorded in full."""
        self._seq += 1
        key = (strategy_id, instrument_id)
        kind = reason_kind(reason)
        streak = self._open.get(key)
        if streak is not None and streak.reason_kind != kind:
            self._close(streak)
            streak = None
        if streak is None:
            streak = _Streak(
                first_seq=self._seq,
                strategy_id=strategy_id,
                instrument_id=instrument_id,
                reason_kind=kind,
                first_reason=reason,
                last_reason=reason,
                first_client_order_id=client_order_id,
                last_client_order_id=client_order_id,
                first_ns=ts_ns,
                last_ns=ts_ns,
                denials=0,
                recorded=0,
                open=True,
                last_event_seq=self._seq,
            )
            self._open[key] = streak
        streak.denials += 1
        streak.last_reason = reason
        streak.last_client_order_id = client_order_id
        streak.last_ns = ts_ns
        streak.last_event_seq = self._seq
        self._changed[streak.first_seq] = streak
        if streak.recorded < self._in_full:
            streak.recorded += 1
            return True
        self._counted[client_order_id] = streak
        return False

    def passed(self, *, strategy_id: str, instrument_id: str) -> None:
        """The gate approved an order of this strategy and instrument: its streak ends."""
        self._seq += 1
        streak = self._open.get((strategy_id, instrument_id))
        if streak is not None:
            self._close(streak)

    def take(self, client_order_id: str, *, can_skip: bool) -> bool:
        """The recorder's question on an ``OrderDenied``: True when the order is only counted
        (none of its rows to write). ``can_skip`` False: some of its rows are written already,
        so it is recorded after all (and counted as recorded)."""
        streak = self._counted.pop(client_order_id, None)
        if streak is None:
            return False
        if not can_skip:
            streak.recorded += 1
            self._changed[streak.first_seq] = streak
        return can_skip

    def changed_rows(self) -> list[dict[str, Any]]:
        """The rows of the streaks changed since the last call."""
        changed, self._changed = self._changed, {}
        return [streak.row(self._run_id) for streak in changed.values()]

    def _close(self, streak: _Streak) -> None:
        del self._open[(streak.strategy_id, streak.instrument_id)]
        streak.open = False
        streak.last_event_seq = self._seq
        self._changed[streak.first_seq] = streak


def _datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


def _ns(value: Any) -> int:  # noqa: ANN401 (a datetime as read back, or nanoseconds)
    if isinstance(value, int):
        return value
    micros: int = (value - _EPOCH) // timedelta(microseconds=1)
    return micros * 1_000
