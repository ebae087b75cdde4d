"""Denial streaks (liveexec.risk._denials): which of the gate's denials are recorded as orders
and which only counted, decided in the order the gate decides."""

from __future__ import annotations

from typing import Any

import pytest

from liveexec.risk import DenialStreaks, reason_kind

HALTED = "trading state HALTED: kill switch: halted by ops at 2024-01-01T00:00:00Z: desk"


def deny(
    streaks: DenialStreaks,
    n: int,
    reason: str = HALTED,
    *,
    strategy: str = "S-1",
    instrument: str = "BTCUSDT.SIM",
) -> bool:
    return streaks.denied(
        strategy_id=strategy,
        instrument_id=instrument,
        client_order_id=f"O-{n}",
        reason=reason,
        ts_ns=1_700_000_000_000_000_000 + n,
    )


def test_numbers_do_not_make_another_kind_of_reason() -> None:
    a = "max_notional 1,000 USDT: order 1,234.50 USDT (0.1 @ 12345.0)"
    b = "max_notional 1,000 USDT: order 2,469.00 USDT (0.2 @ 12345.0)"
    assert reason_kind(a) == reason_kind(b) == "max_notional # USDT: order # USDT (# @ #)"
    # one number however it is spelled: 0, 0.0, 1e-05; a separator is not part of it
    assert reason_kind("working buys 0, sells 0.1") == reason_kind("working buys 0.0, sells 1e-05")
    assert reason_kind("working buys 0, sells 0.1") == "working buys #, sells #"
    assert reason_kind("max_position_qty 1 (instrument X)") != reason_kind(
        "max_orders_per_minute 1 (strategy S)"
    )


def test_the_first_of_a_streak_are_recorded_and_the_rest_counted() -> None:
    streaks = DenialStreaks("run", in_full=3)
    assert [deny(streaks, n) for n in range(1, 11)] == [True] * 3 + [False] * 7
    [row] = streaks.changed_rows()
    assert (row["first_seq"], row["denials"], row["recorded"], row["open"]) == (1, 10, 3, True)
    assert (row["first_client_order_id"], row["last_client_order_id"]) == ("O-1", "O-10")
    assert row["last_event_seq"] == 10
    assert streaks.changed_rows() == []  # nothing changed since
    # the recorder leaves out exactly the counted orders
    assert [streaks.take(f"O-{n}", can_skip=True) for n in range(1, 11)] == [False] * 3 + [True] * 7
    assert not streaks.take("O-4", can_skip=True)  # asked once per OrderDenied


def test_an_approval_or_another_reason_starts_a_new_streak() -> None:
    streaks = DenialStreaks("run", in_full=1)
    assert deny(streaks, 1) and not deny(streaks, 2)
    streaks.passed(strategy_id="S-1", instrument_id="BTCUSDT.SIM")  # decision 3
    assert deny(streaks, 4)  # a new streak: recorded in full again
    assert deny(streaks, 5, "max_orders_per_minute 1 (strategy S-1)")  # another kind
    assert not deny(streaks, 6, "max_orders_per_minute 1 (strategy S-1)")
    # another strategy or instrument has its own streak
    assert deny(streaks, 7, strategy="S-2") and deny(streaks, 8, instrument="ETHUSDT.SIM")
    streaks.passed(strategy_id="S-3", instrument_id="BTCUSDT.SIM")  # no streak of its own
    rows = {row["first_seq"]: row for row in streaks.changed_rows()}
    assert {k: (r["denials"], r["recorded"], r["open"]) for k, r in rows.items()} == {
        1: (2, 1, False),
        4: (1, 1, False),
        5: (2, 1, True),
        7: (1, 1, True),
        8: (1, 1, True),
    }
    assert rows[1]["last_event_seq"] == 3  # closed by the approval


def test_a_counted_order_already_partly_written_is_recorded_after_all() -> None:
    streaks = DenialStreaks("run", in_full=1)
    assert deny(streaks, 1) and not deny(streaks, 2)
    streaks.changed_rows()
    assert not streaks.take("O-2", can_skip=False)
    [row] = streaks.changed_rows()
    assert (row["denials"], row["recorded"]) == (2, 2)


def test_a_resumed_run_continues_its_open_streaks() -> None:
    first = DenialStreaks("run", in_full=2)
    for n in range(1, 4):
        deny(first, n)
    first.passed(strategy_id="S-9", instrument_id="X")  # decision 4, no streak
    rows: list[dict[str, Any]] = first.changed_rows()
    resumed = DenialStreaks("run", in_full=2)
    resumed.restore(rows, last_seq=4)
    assert not deny(resumed, 10)  # the streak already recorded its two
    [row] = resumed.changed_rows()
    assert (row["first_seq"], row["denials"], row["recorded"], row["last_event_seq"]) == (
        1,
        4,
        2,
        5,
    )
    assert row["first_denied_at"] == rows[0]["first_denied_at"]
    # a closed streak is not continued, and a new one is numbered after everything recorded
    again = DenialStreaks("run", in_full=2)
    again.restore([dict(row, open=False)], last_seq=7)
    assert deny(again, 11)
    assert again.changed_rows()[0]["first_seq"] == 8


def test_at_least_one_denial_is_recorded() -> None:
    with pytest.raises(ValueError, match="in_full"):
        DenialStreaks("run", in_full=0)
