"""The trading state and the loss limits: the state machine the risk model's checks read.

The trader's state is the most severe of its two causes: the kill switch's (a halt in force,
set by the gate from the halts table) and the loss limits' (``max_drawdown`` from the run's PnL
peak, ``max_daily_loss`` since the UTC day began move the trader to ``loss_action``; a daily
loss state ends with its UTC day). Each change of state is recorded (``changes``, drained by
the gate into the database). The PnL evaluated comes from the valuation (``_valuation.py``);
the peak and the day's start survive a restart as differences from the PnL (:class:`LossMark`).
"""

from __future__ import annotations

from decimal import Decimal

from liveexec.risk._types import LossMark, RiskLimits, StateChange, TradingState

__all__ = ["DAY_NS", "Losses"]

_ZERO = Decimal(0)
DAY_NS = 86_400 * 1_000_000_000


class Losses:
    """The trading state (``state``, ``state_reason``), its causes and the loss limits' marks:
    ``peak`` the PnL's peak, ``day`` the UTC day (days since 1970) and ``day_start`` the PnL
    when it began, ``last_pnl`` / ``last_pnl_ns`` the last PnL evaluated and when,
    ``evaluated`` the PnL object last evaluated (the same object again on the same day needs no
    evaluation), ``restore`` a mark to go on from at the next valuation."""

    __slots__ = (
        "changes",
        "day",
        "day_start",
        "evaluated",
        "halt_reason",
        "halt_state",
        "last_pnl",
        "last_pnl_ns",
        "limits",
        "loss_is_daily",
        "loss_reason",
        "loss_state",
        "peak",
        "reporting_currency",
        "restore",
        "state",
        "state_reason",
    )

    def __init__(self, limits: RiskLimits, reporting_currency: str | None) -> None:
        self.limits = limits
        self.reporting_currency = reporting_currency
        self.peak: Decimal | None = None
        self.last_pnl: Decimal | None = None
        self.last_pnl_ns = 0
        self.restore: LossMark | None = None
        self.evaluated: Decimal | None = None
        self.day: int | None = None
        self.day_start = _ZERO
        self.loss_state = TradingState.ACTIVE
        self.loss_reason = ""
        self.loss_is_daily = False
        self.halt_state = TradingState.ACTIVE
        self.halt_reason = ""
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.changes: list[StateChange] = []

    def evaluate(self, pnl: Decimal, now_ns: int) -> None:
        """Move to ``loss_action`` when a loss limit is reached by ``pnl`` at ``now_ns`` (and
        back to ACTIVE when a daily loss state ends with the UTC day)."""
        limits = self.limits
        day = now_ns // DAY_NS
        if self.restore is not None:  # the first valuation after a restart
            mark, self.restore = self.restore, None
            self.peak = pnl + mark.drawdown
            self.day, self.day_start = mark.day, pnl + mark.daily_loss
        self.last_pnl, self.last_pnl_ns = pnl, now_ns
        if pnl is self.evaluated and day == self.day:
            return  # the same PnL on the same day as last time: nothing can have changed
        self.evaluated = pnl
        if day != self.day:
            self.day, self.day_start = day, pnl
            if self.loss_is_daily and self.loss_state != TradingState.ACTIVE:
                self.loss_state, self.loss_reason, self.loss_is_daily = (
                    TradingState.ACTIVE,
                    "a new UTC day began (daily loss limit reset)",
                    False,
                )
                self.update_state(now_ns)
        if self.peak is None or pnl > self.peak:
            self.peak = pnl
        if self.loss_state >= limits.loss_action:
            return
        currency = self.reporting_currency or ""
        if limits.max_drawdown is not None and self.peak - pnl >= limits.max_drawdown:
            self.loss_state, self.loss_is_daily = limits.loss_action, False
            self.loss_reason = (
                f"max_drawdown {limits.max_drawdown} {currency}: PnL {pnl} is "
                f"{self.peak - pnl} below its peak {self.peak}"
            )
            self.update_state(now_ns)
        elif limits.max_daily_loss is not None and self.day_start - pnl >= limits.max_daily_loss:
            self.loss_state, self.loss_is_daily = limits.loss_action, True
            self.loss_reason = (
                f"max_daily_loss {limits.max_daily_loss} {currency}: lost "
                f"{self.day_start - pnl} since the UTC day began"
            )
            self.update_state(now_ns)

    def set_halt(self, state: TradingState, reason: str, ts_ns: int) -> None:
        """The kill switch's state (ACTIVE when no halt is in force)."""
        if state != self.halt_state or reason != self.halt_reason:
            self.halt_state, self.halt_reason = state, reason
            self.update_state(ts_ns)

    def mark(self) -> LossMark | None:
        """How far the PnL stood below its peak and below the UTC day's start at its last
        valuation (None before the first): what a restarted model needs to go on from."""
        pnl, peak = self.last_pnl, self.peak
        if pnl is None or peak is None or self.day is None:
            return None
        return LossMark(
            drawdown=max(peak - pnl, _ZERO),
            day=self.day,
            daily_loss=self.day_start - pnl,
            ts_ns=self.last_pnl_ns,
        )

    def restore_mark(self, mark: LossMark) -> None:
        """Go on from a mark recorded before a restart: at the first valuation the peak is
        put ``mark.drawdown`` above the PnL then (and the day's start ``mark.daily_loss``
        above it, on the same UTC day), whatever PnL this model counts from."""
        self.restore = mark
        self.evaluated = None
        if self.loss_state != TradingState.ACTIVE and self.loss_reason.startswith("max_daily_loss"):
            self.loss_is_daily = True  # ends with the mark's UTC day

    def restore_state(self, state: TradingState, reason: str) -> None:
        """A loss state rebuilt from the database at start (no new change row)."""
        self.loss_state, self.loss_reason, self.loss_is_daily = state, reason, False
        self.evaluated = None
        self.update_state(None)

    def update_state(self, ts_ns: int | None) -> None:
        if self.halt_state >= self.loss_state:
            state, reason = self.halt_state, self.halt_reason
        else:
            state, reason = self.loss_state, self.loss_reason
        if state == TradingState.ACTIVE:
            reason = reason or "no halt and no loss limit reached"
        if state != self.state or reason != self.state_reason:
            if ts_ns is not None and state != self.state:
                self.changes.append(StateChange(self.state, state, reason, ts_ns))
            self.state, self.state_reason = state, reason
