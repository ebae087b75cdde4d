"""The pre-trade limits on plain Decimals and ints: no NautilusTrader object in here.

:class:`RiskModel` keeps what the checks need in memory and decides one order at a time.
The gate (``_gate.py``) feeds it from the message bus; the property tests drive it directly
with random sequences of orders, fills and prices. Its parts, one module each:

- the books (``_books.py``): positions from fills, working orders, open-order counts,
  one-cancels-other groups;
- valuation (``_valuation.py``): instruments, last prices, exchange rates, unit values, PnL
  (kept as an exact sum from 6 positions held: ``_pnl_sums.py``);
- the trader's gross/net exposure (``_exposure_sums.py``): the pass and the kept sums;
- the trading state (``_losses.py``): halts and the loss limits' state machine;
- velocity (``_velocity.py``): recent order times per strategy.

This module orchestrates them and keeps the order path in one inlined method
(:meth:`RiskModel.check`, then :meth:`RiskModel.accept`): it reads the parts' dicts through
references kept here (the same objects, one attribute read each, as before the split) and
calls into a part only for more than a lookup: the exposure check, the loss limits when the PnL
or the day changed, a price missing or too old, a one-cancels-other member.

Worst case: a position counts the working orders that would add to it, so for a buy the
position checked is ``position + working buys + order``, and for a sell ``position - working
sells - order``; a fill moves quantity from working to position and never changes the worst
case. An order is denied by a position or exposure limit only when the worst case after it is
above the limit *and* above the worst case before it, so an order that reduces (reduce-only or
closing) is never denied by a limit it moves away from.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from liveexec.risk._books import EMPTY, Book, Books, Working
from liveexec.risk._books import reduces as _reduces
from liveexec.risk._exposure_sums import Exposure
from liveexec.risk._losses import DAY_NS as _DAY_NS
from liveexec.risk._losses import Losses
from liveexec.risk._types import (
    InstrumentInfo,
    InstrumentLimits,
    LossMark,
    OrderIntent,
    RiskLimits,
    StateChange,
    StrategyLimits,
    TradingState,
)
from liveexec.risk._valuation import Valuation
from liveexec.risk._velocity import Velocity

__all__ = [
    "InstrumentInfo",
    "InstrumentLimits",
    "LossMark",
    "OrderIntent",
    "RiskLimits",
    "RiskModel",
    "StateChange",
    "StrategyLimits",
    "TradingState",
]

_ZERO = Decimal(0)
_ONE_TUPLE = Decimal(1).as_tuple()  # (sign 0, digits (1,), exponent 0)
_BPS = Decimal(10_000)
# The trader's exposure sums kept per instrument held (Exposure.fast, _exposure_sums.py) from
# this many instruments on: below it, summing every instrument per order costs less than keeping
# them.
_FAST_EXPOSURE_FROM = 16

_SECOND_NS = 1_000_000_000
_MINUTE_NS = 60 * _SECOND_NS

_REDUCING = TradingState.REDUCING
_HALTED = TradingState.HALTED


@dataclass(slots=True)
class _Plan:
    """The limits that apply to one (instrument, strategy), resolved once per limits and
    instrument (the order path reads them without looking them up again)."""

    info: InstrumentInfo
    instrument: InstrumentLimits | None
    max_order_qty: Decimal | None
    band: bool  # a price band (bps or ticks) applies
    band_bps: Decimal | None
    band_ticks: Decimal | None  # price_band_ticks * tick
    instrument_notional: Decimal | None
    strategy_notional: Decimal | None
    notional: bool  # an order notional limit applies
    strategy_open: int | None
    # position limits: (max_position_qty, max_position_notional, of the strategy's book)
    positions: tuple[tuple[Decimal | None, Decimal | None, bool], ...]
    velocity: bool
    # info.multiplier, or None where it is exactly Decimal("1") (value 1, exponent 0): then
    # x * multiplier is x itself (x, a product rounded to the context already, keeps its
    # digits, exponent and sign), so the order path skips that multiplication
    multiplier: Decimal | None
    per_minute: int | None  # the strategy's max_orders_per_minute / _second
    per_second: int | None
    bps_memo: tuple[Decimal, Decimal] | None = None  # (price, price_band_bps * price)
    # the strategy's and the trader's books in the instrument, once they exist (never removed)
    book: Book | None = None
    ibook: Book | None = None
    # the strategy's recent order times (last minute, last second), once they exist (never
    # removed)
    minute: deque[int] | None = None
    second: deque[int] | None = None


def _notional_reason(
    cap: Decimal, notional: Decimal | None, price: Decimal | str, scope: str
) -> str | None:
    if notional is None:
        return f"max_order_notional {cap} ({scope}): {price}"
    if notional > cap:
        return f"max_order_notional {cap} ({scope}): order notional {notional}"
    return None


def _scope(order: OrderIntent, in_strategy: bool) -> str:
    if in_strategy:
        return f"strategy {order.strategy_id} in {order.instrument_id}"
    return f"instrument {order.instrument_id}"


class RiskModel:
    """Limits, in-memory state and the decision for each order.

    Not thread-safe: call it from the node's event thread only (the gate does).
    """

    def __init__(self, limits: RiskLimits, reporting_currency: str | None = None) -> None:
        # Instruments, prices, rates, unit values and PnL (_valuation.py), and its dicts (the
        # same objects) for the order path
        valuation = self._valuation = Valuation(reporting_currency)
        self.instruments = valuation.instruments
        self._prices = valuation.prices
        self._units = valuation.units
        # The books (_books.py), and their dicts (the same objects) for the order path
        books = self._books = Books()
        self._strategy_books = books.by_strategy
        self._instrument_books = books.by_instrument
        self._working = books.working
        self._open_by_strategy = books.open_by_strategy
        # strategy -> times of its approved orders in the last minute / second (_velocity.py)
        velocity = self._velocity = Velocity()
        self._recent_minute = velocity.minute
        self._recent_second = velocity.second
        # The trading state and the loss limits (_losses.py)
        self._losses = Losses(limits, reporting_currency)
        # whether the order :meth:`check` last approved only reduces (as :meth:`reduces`), and
        # its strategy's book in its instrument then (read-only: :meth:`reducible` of it)
        self.checked_reduces = False
        self.checked_book = EMPTY
        # the order :meth:`check` last checked (past the plan lookup) and its plan
        self._checked: tuple[OrderIntent | None, _Plan | None] = (None, None)
        # The trader's exposure: the pass and the sums kept per instrument (_exposure_sums.py)
        self._exposure = Exposure(books, valuation)
        self.limits = limits

    @property
    def reporting_currency(self) -> str | None:
        return self._valuation.reporting_currency

    @property
    def state(self) -> TradingState:
        """The trader's trading state: the most severe of the halt's and the loss limits'."""
        return self._losses.state

    @property
    def state_reason(self) -> str:
        return self._losses.state_reason

    @property
    def changes(self) -> list[StateChange]:
        """State changes not yet recorded (the gate drains them into the database)."""
        return self._losses.changes

    @changes.setter
    def changes(self, changes: list[StateChange]) -> None:
        self._losses.changes = changes

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        """New limits (e.g. lowered below what is held): the state is kept."""
        self._limits = limits
        self._valuation.pnl_cache = None
        self._losses.limits = limits
        self._losses.evaluated = None
        self._needs_velocity = Velocity.needed(limits)
        self._needs_losses = self.needs_losses = (
            limits.max_daily_loss is not None or limits.max_drawdown is not None
        )
        exposure = self._exposure
        exposure.gross_cap = limits.max_gross_exposure
        exposure.net_cap = limits.max_net_exposure
        self._needs_exposure = exposure.gross_cap is not None or exposure.net_cap is not None
        self._max_age = self._valuation.max_age = limits.max_price_age_ns
        self._trader_open = limits.max_open_orders
        if exposure.track:
            exposure.dirty.update(self._instrument_books)
        self._plans: dict[str, dict[str, _Plan]] = {}  # iid -> sid -> plan

    # -- inputs ------------------------------------------------------------------------------

    def set_instrument(self, instrument_id: str, info: InstrumentInfo) -> None:
        self._valuation.set_instrument(instrument_id, info)
        self._plans.pop(instrument_id, None)

    def set_price(self, instrument_id: str, price: Decimal, ts_ns: int) -> None:
        self._valuation.set_price(instrument_id, price, ts_ns)

    def on_fill(self, client_order_id: str, quantity: Decimal) -> None:
        """A fill of a working order: quantity moves from working to the position."""
        self._books.fill(client_order_id, quantity)

    def on_order_closed(self, client_order_id: str) -> None:
        """The order can no longer fill (canceled, expired, rejected, denied downstream)."""
        self._books.close(client_order_id)

    def withdraw(self, client_order_id: str, now_ns: int | None) -> None:
        """An accepted order that never left (a member of a denied order list): its working
        quantity and its velocity entry are taken back, as if it had never been accepted.
        Call right after :meth:`accept` with the same ``now_ns`` (nothing accepted between:
        the entries taken are the newest)."""
        working = self._working.get(client_order_id)
        self._books.close(client_order_id)
        if working is not None and self._needs_velocity and now_ns is not None:
            self._velocity.withdraw(working.strategy_id, now_ns)

    def on_order_updated(self, client_order_id: str, leaves: Decimal) -> None:
        """A modified order's new remaining quantity."""
        self._books.update(client_order_id, leaves)

    def on_position(
        self,
        position_id: str,
        instrument_id: str,
        *,
        signed_qty: Decimal,
        avg_px_open: Decimal,
        realized_pnl: Decimal,
        ts_ns: int,
    ) -> None:
        """A position's newest state (for PnL; quantities are tracked from fills)."""
        self._valuation.on_position(
            position_id, instrument_id, signed_qty, avg_px_open, realized_pnl
        )
        if self._needs_losses:
            self.evaluate_losses(ts_ns)

    def set_rate(self, instrument_id: str, rate: Decimal | None) -> None:
        """The value of one unit of ``instrument_id``'s currency in the reporting currency
        (None: no rate now; its exposure and PnL cannot be valued, fail closed)."""
        self._valuation.set_rate(instrument_id, rate)

    def restore_position(self, strategy_id: str, instrument_id: str, signed_qty: Decimal) -> None:
        """A position open when the node started (restored from the database or reconciled
        with the venue), counted in the strategy's and the trader's books as a fill would
        have been (its PnL comes with :meth:`on_position`)."""
        self._books.restore_position(strategy_id, instrument_id, signed_qty)

    def restore_working(self, order: OrderIntent) -> None:
        """An order working when the node started, ``order.quantity`` its leaves: counted as
        working as if approved now, without a velocity entry. Members of a one-cancels-other
        (or one-updates-other) group rejoin their group (``order.group``): the group counts
        its largest member's leaves on each side, as before the restart (NautilusTrader has
        already cancelled or reduced the siblings of a member that filled)."""
        self._accept(
            OrderIntent(
                order.client_order_id,
                order.strategy_id,
                order.instrument_id,
                order.is_buy,
                order.quantity,
                order.price,
                order.trigger,
                order.is_market,
                order.reduce_only,
                order.group,
            ),
            None,
        )

    def forget_position(self, position_id: str) -> None:
        """A closed position will get no more events under this id (or starts afresh, its
        realized PnL from zero, as NautilusTrader reopens a NETTING position): its realized
        PnL stays in the total, the entry goes (positions kept: the open ones)."""
        self._valuation.forget_position(position_id)

    def is_working(self, client_order_id: str) -> bool:
        """Whether an order this model approved can still fill."""
        return client_order_id in self._working

    def set_halt(self, state: TradingState, reason: str, ts_ns: int) -> None:
        """The kill switch's state (ACTIVE when no halt is in force)."""
        self._losses.set_halt(state, reason, ts_ns)

    def loss_mark(self) -> LossMark | None:
        """How far the PnL stood below its peak and below the UTC day's start at its last
        valuation (None before the first): what a restarted model needs to go on from."""
        return self._losses.mark()

    def restore_loss_mark(self, mark: LossMark) -> None:
        """Go on from a mark recorded before a restart: at the first valuation the peak is
        put ``mark.drawdown`` above the PnL then (and the day's start ``mark.daily_loss``
        above it, on the same UTC day), whatever PnL this model counts from."""
        self._losses.restore_mark(mark)

    def restore_loss_state(self, state: TradingState, reason: str) -> None:
        """A loss state rebuilt from the database at start (no new change row)."""
        self._losses.restore_state(state, reason)

    # -- outputs -----------------------------------------------------------------------------

    @property
    def open_orders(self) -> int:
        return len(self._working)

    @property
    def realized_pnl(self) -> Decimal:
        """Realized PnL of every position seen (open, closed and forgotten ones)."""
        return self._valuation.realized

    def tracked(self) -> dict[str, int]:
        """How many entries the per-order and per-position state holds (bounded by what
        works and what is open, not by the length of the run)."""
        return {
            **self._books.tracked(),
            "positions": self._valuation.tracked(),
            "recent_orders": self._velocity.tracked(),
        }

    def position(self, strategy_id: str, instrument_id: str) -> Decimal:
        return self._books.strategy(strategy_id, instrument_id).position

    def instrument_book(self, instrument_id: str) -> tuple[Decimal, Decimal, Decimal]:
        """(position, working buys, working sells) of the trader in one instrument."""
        book = self._instrument_books.get(instrument_id) or EMPTY
        return book.position, book.working_buy, book.working_sell

    def strategy_book(
        self, strategy_id: str, instrument_id: str
    ) -> tuple[Decimal, Decimal, Decimal]:
        book = self._books.strategy(strategy_id, instrument_id)
        return book.position, book.working_buy, book.working_sell

    def exposures(self) -> tuple[Decimal, Decimal, Decimal] | str:
        """(worst-case gross, worst-case long net, worst-case short net) at the last prices,
        or the reason they cannot be valued."""
        return self._exposure.exposures(None, _ZERO, is_buy=True)

    def total_pnl(self) -> Decimal | str:
        """Realized + unrealized PnL at the last prices, or why it cannot be valued."""
        return self._valuation.total_pnl()[0]

    # -- the decision ------------------------------------------------------------------------

    def submit(self, order: OrderIntent, now_ns: int) -> str | None:
        """Check ``order``; None approves it (and counts it as working), else the reason,
        naming the check, the limit and the value that broke it."""
        reason = self._check(order, now_ns)
        if reason is None:
            self._accept(order, now_ns)
        return reason

    def reduces(self, order: OrderIntent) -> bool:
        """Whether the order only brings its strategy's position closer to flat."""
        return _reduces(self._books.strategy(order.strategy_id, order.instrument_id), order)

    def reducible(self, order: OrderIntent) -> Decimal:
        """How much of the order can only close its strategy's position (on the other side,
        less the working orders already closing it): the rest opens a new one on a flip."""
        return self._books.reducible(order)

    def added(self, order: OrderIntent) -> Decimal:
        """What ``order`` adds to the worst case on its side: its quantity, or for a member of
        a one-cancels-other group only its excess over the group's largest member."""
        return self._books.added(order)

    def unit_value(self, instrument_id: str) -> Decimal | str:
        """The value of one unit of the instrument in the reporting currency at its last
        price (and exchange rate), or why there is none (fail closed)."""
        return self._valuation.unit(instrument_id)

    def check_increase(self, order: OrderIntent, now_ns: int) -> str | None:
        """Check a modification that adds ``order.quantity`` to a working order (the order's
        new price in ``order.price``/``order.trigger``), without counting it as a new order."""
        return self._check(order, now_ns, new_order=False)

    def _plan(self, iid: str, sid: str) -> _Plan | None:
        """The plan of (iid, sid), built on first use (None: the instrument is unknown)."""
        info = self.instruments.get(iid)
        if info is None:
            return None
        limits = self._limits
        strategy = limits.strategies.get(sid)
        instrument = limits.instruments.get(iid)
        positions: list[tuple[Decimal | None, Decimal | None, bool]] = []
        for caps, in_strategy in ((strategy, True), (instrument, False)):
            if caps is not None and (
                caps.max_position_qty is not None or caps.max_position_notional is not None
            ):
                positions.append((caps.max_position_qty, caps.max_position_notional, in_strategy))
        ticks = instrument.price_band_ticks if instrument is not None else None
        plan = _Plan(
            info=info,
            instrument=instrument,
            max_order_qty=instrument.max_order_qty if instrument is not None else None,
            band=instrument is not None
            and (instrument.price_band_bps is not None or ticks is not None),
            band_bps=instrument.price_band_bps if instrument is not None else None,
            band_ticks=ticks * info.tick if ticks is not None else None,
            instrument_notional=instrument.max_order_notional if instrument is not None else None,
            strategy_notional=strategy.max_order_notional if strategy is not None else None,
            notional=(instrument is not None and instrument.max_order_notional is not None)
            or (strategy is not None and strategy.max_order_notional is not None),
            strategy_open=strategy.max_open_orders if strategy is not None else None,
            positions=tuple(positions),
            velocity=strategy is not None and self._needs_velocity,
            multiplier=None if info.multiplier.as_tuple() == _ONE_TUPLE else info.multiplier,
            per_minute=strategy.max_orders_per_minute if strategy is not None else None,
            per_second=strategy.max_orders_per_second if strategy is not None else None,
        )
        self._plans.setdefault(iid, {})[sid] = plan
        return plan

    def _check(self, order: OrderIntent, now_ns: int, *, new_order: bool = True) -> str | None:
        iid = order.instrument_id
        sid = order.strategy_id
        valuation = self._valuation
        valuation.now_ns = now_ns
        max_age = self._max_age
        losses = self._losses
        if self._needs_losses:
            cached = valuation.pnl_cache
            if (
                cached is not None
                and cached[0] is losses.evaluated
                and losses.restore is None
                and now_ns // _DAY_NS == losses.day
                and (max_age is None or cached[1] is None or now_ns - cached[1] <= max_age)
            ):
                # what evaluate_losses does for the PnL it evaluated last, on the same day
                losses.last_pnl_ns = now_ns
            else:
                self.evaluate_losses(now_ns)
        state = losses.state
        if state == _HALTED:
            return f"trading state HALTED: {losses.state_reason}"
        plans = self._plans.get(iid)
        plan = plans.get(sid) if plans is not None else None
        if plan is None:
            plan = self._plan(iid, sid)
            if plan is None:
                return f"instrument {iid}: not known to the risk gate (no valuation, fail closed)"
        info = plan.info
        entry = self._prices.get(iid)  # :meth:`_price`, inlined
        if entry is None or (max_age is not None and now_ns - entry[1] > max_age):
            price: Decimal | str = valuation.price(iid)
        else:
            price = entry[0]
        qty = order.quantity
        is_buy = order.is_buy
        book = plan.book
        if book is None:
            book = plan.book = self._strategy_books.get((sid, iid))
        book = book or EMPTY
        # :meth:`_reduces`, inlined
        position = book.position
        if is_buy:
            reduces = position < _ZERO and position + book.working_buy + qty <= _ZERO
        else:
            reduces = position > _ZERO and position - book.working_sell - qty >= _ZERO
        self.checked_reduces = reduces
        self.checked_book = book
        self._checked = (order, plan)  # for :meth:`accept` of this order
        if (
            valuation.unvalued is not None
            and self._needs_losses
            and valuation.pnl_cache is None
            and not reduces
        ):  # the PnL cannot be valued now (no or too old a price, no exchange rate): the loss
            # limits cannot say the trader is within them (fail closed)
            return f"loss limits: {valuation.unvalued}"
        if state == _REDUCING and not reduces:
            return (
                f"trading state REDUCING ({losses.state_reason}): {'BUY' if is_buy else 'SELL'}"
                f" {qty} does not reduce position {book.position} of {sid} in {iid} "
                f"(working buys {book.working_buy}, sells {book.working_sell})"
            )
        priced = not isinstance(price, str)
        if order.is_market and not priced:
            return f"market order: {price}"
        # the price the order would trade at, for notionals
        band_px = order.price
        if band_px is None:
            band_px = order.trigger
        order_px = band_px
        if band_px is None and not isinstance(price, str):
            order_px = price
        cap = plan.max_order_qty
        if cap is not None and qty > cap:
            return f"max_order_qty {cap} ({iid}): order quantity {qty}"
        if plan.band and band_px is not None:
            if isinstance(price, str):
                return f"price band ({iid}): {price}"
            distance = abs(band_px - price)
            bps = plan.band_bps
            if bps is not None:
                band = plan.bps_memo  # price_band_bps * price, memoised per price
                if band is None or band[0] is not price:
                    # |price|: a spread's or a future's price may be negative
                    band = plan.bps_memo = (price, bps * abs(price))
                if distance * _BPS > band[1]:
                    if not price:
                        return (
                            f"price_band_bps {bps} ({iid}): price {band_px} against last "
                            f"price {price}, which has no band in bps (fail closed)"
                        )
                    return (
                        f"price_band_bps {bps} ({iid}): price {band_px} is "
                        f"{(distance * _BPS / abs(price)):.2f} bps from last price {price}"
                    )
            ticks = plan.band_ticks
            if ticks is not None and distance > ticks:
                assert plan.instrument is not None
                return (
                    f"price_band_ticks {plan.instrument.price_band_ticks} ({iid}): price "
                    f"{band_px} is {distance / info.tick:f} ticks from last price {price}"
                )
        multiplier = plan.multiplier
        if plan.notional:
            if order_px is None:
                notional = None
            else:
                notional = qty * order_px
                if multiplier is not None:
                    notional *= multiplier
            cap = plan.instrument_notional
            if cap is not None and (notional is None or notional > cap):
                return _notional_reason(cap, notional, price, f"instrument {iid}")
            cap = plan.strategy_notional
            if cap is not None and (notional is None or notional > cap):
                return _notional_reason(cap, notional, price, f"strategy {sid}")
        if new_order:  # reducing orders too: nothing exempts an order from this count
            open_cap = plan.strategy_open
            if open_cap is not None:
                open_orders = self._open_by_strategy.get(sid, 0)
                if open_orders + 1 > open_cap:
                    return (
                        f"max_open_orders {open_cap} (strategy {sid}): "
                        f"{open_orders} working + this order"
                    )
            trader_open = self._trader_open
            if trader_open is not None and len(self._working) + 1 > trader_open:
                return (
                    f"max_open_orders {trader_open} (trader): "
                    f"{len(self._working)} working + this order"
                )
        # what the order adds to the worst case on its side (an OCO member: maybe nothing)
        add = self._books.added(order) if order.group is not None else qty
        value_px = order_px if isinstance(price, str) else price  # a position's valuation
        for qty_cap, notional_cap, in_strategy in plan.positions:
            if in_strategy:
                the_book = book
            else:
                ibook = plan.ibook
                if ibook is None:
                    ibook = plan.ibook = self._instrument_books.get(iid)
                the_book = ibook or EMPTY
            # whether :meth:`_position_reason` gives a reason: the same conditions, inlined
            if is_buy:
                before = the_book.position + the_book.working_buy
            else:
                before = the_book.working_sell - the_book.position
            after = before + add
            if after <= before or after <= _ZERO:
                continue
            if qty_cap is not None and after > qty_cap:
                denied = True
            elif notional_cap is not None:
                if value_px is None:
                    denied = True
                else:
                    value = after * value_px
                    if multiplier is not None:
                        value *= multiplier
                    denied = value > notional_cap
            else:
                denied = False
            if denied:
                return self._position_reason(
                    order,
                    add,
                    the_book,
                    (qty_cap, notional_cap),
                    (price, order_px),
                    info=info,
                    in_strategy=in_strategy,
                )
        if self._needs_exposure and not reduces:
            # From _FAST_EXPOSURE_FROM instruments on, an order that the kept sums show far
            # enough inside both caps is approved without the pass: the same decision
            exposure = self._exposure
            if exposure.track or len(self._instrument_books) >= _FAST_EXPOSURE_FROM:
                if not exposure.track:
                    exposure.start()
                trusted = self._exposure_fast(order, add)
            else:
                trusted = False
            if not trusted:
                reason = exposure.reason(order, add)
                if reason is not None:
                    return reason
        if new_order and plan.velocity:
            minute = plan.minute
            if minute is None:
                minute = plan.minute = self._recent_minute.get(sid)
            if minute is not None:
                cutoff = now_ns - _MINUTE_NS
                while minute and minute[0] <= cutoff:
                    minute.popleft()
                per_minute = plan.per_minute
                if per_minute is not None and len(minute) + 1 > per_minute:
                    return (
                        f"max_orders_per_minute {per_minute} (strategy "
                        f"{sid}): {len(minute)} orders in the last minute + this order"
                    )
                second = plan.second
                if second is None:
                    second = plan.second = self._recent_second[sid]
                cutoff = now_ns - _SECOND_NS
                while second and second[0] <= cutoff:
                    second.popleft()
                per_second = plan.per_second
                if per_second is not None and len(second) + 1 > per_second:
                    return (
                        f"max_orders_per_second {per_second} (strategy "
                        f"{sid}): {len(second)} orders in the last second + this order"
                    )
        return None

    # The public names of :meth:`_check` (:meth:`submit` without counting the order: call
    # :meth:`accept` if it goes on) and :meth:`_accept` (count an order :meth:`check`
    # approved as working; the order :meth:`check` read last, unchanged since, reuses the books
    # and order times its check looked up): aliases, not wrappers, so the gate's order path
    # saves a call.
    check = _check

    @staticmethod
    def _position_reason(
        order: OrderIntent,
        add: Decimal,
        the_book: Book,
        caps: tuple[Decimal | None, Decimal | None],
        prices: tuple[Decimal | str, Decimal | None],
        *,
        info: InstrumentInfo,
        in_strategy: bool,
    ) -> str | None:
        """A position limit on one book (``caps``: quantity, notional) for the worst case on
        the order's side after it (``prices``: last price or why none, order price)."""
        qty_cap, notional_cap = caps
        price, order_px = prices
        before = (
            the_book.position + the_book.working_buy
            if order.is_buy
            else the_book.working_sell - the_book.position
        )
        after = before + add
        if after <= before or after <= _ZERO:
            return None  # moves away from the limit on this side
        if qty_cap is not None and after > qty_cap:
            sign = "+" if order.is_buy else "-"
            working = the_book.working_buy if order.is_buy else the_book.working_sell
            return (
                f"max_position_qty {qty_cap} ({_scope(order, in_strategy)}): position "
                f"{the_book.position} {sign} working {working} {sign} order {add} = "
                f"{after if order.is_buy else -after}"
            )
        if notional_cap is not None:
            value_px = price if not isinstance(price, str) else order_px
            if value_px is None:
                return (
                    f"max_position_notional {notional_cap} ({_scope(order, in_strategy)}): {price}"
                )
            value = after * value_px * info.multiplier
            if value > notional_cap:
                return (
                    f"max_position_notional {notional_cap} ({_scope(order, in_strategy)}): "
                    f"worst-case position {after if order.is_buy else -after} at {value_px} = "
                    f"{value}"
                )
        return None

    def _exposure_fast(self, order: OrderIntent, qty: Decimal) -> bool:
        """Whether the kept sums show the order certainly within both exposure caps
        (:meth:`Exposure.fast`; False: the pass decides)."""
        return self._exposure.fast(order, qty)

    def _accept(self, order: OrderIntent, now_ns: int | None) -> None:
        sid = order.strategy_id
        iid = order.instrument_id
        # the plan :meth:`check` used for this very order holds its books and velocity times
        # once they exist (the same objects the dicts hold: neither is ever removed)
        checked, plan = self._checked
        if checked is not order:
            plan = None
        book = plan.book if plan is not None else None
        if book is None:
            key = (sid, iid)
            book = self._strategy_books.get(key)
            if book is None:
                book = self._strategy_books[key] = Book()
            if plan is not None:
                plan.book = book
        ibook = plan.ibook if plan is not None else None
        if ibook is None:
            ibook = self._instrument_books.get(iid)
            if ibook is None:
                ibook = self._instrument_books[iid] = Book()
            if plan is not None:
                plan.ibook = ibook
        group_key = self._books.group_key(order) if order.group is not None else None
        self._open_by_strategy[sid] = self._open_by_strategy.get(sid, 0) + 1
        if group_key is None:
            qty = order.quantity
            is_buy = order.is_buy
            if is_buy:
                book.working_buy += qty
                ibook.working_buy += qty
            else:
                book.working_sell += qty
                ibook.working_sell += qty
            if self._exposure.track:
                self._exposure.dirty.add(iid)
            self._working[order.client_order_id] = Working(sid, iid, is_buy, qty)
        else:
            self._books.join(order, group_key)
        if self._needs_velocity and now_ns is not None:
            if plan is not None:
                minute, second = plan.minute, plan.second
            else:
                minute = second = None
            if minute is None or second is None:
                minute, second = self._velocity.times(sid)
                if plan is not None:
                    plan.minute, plan.second = minute, second
            minute.append(now_ns)
            second.append(now_ns)

    accept = _accept

    # -- loss limits and the trading state ---------------------------------------------------

    def evaluate_losses(self, now_ns: int) -> None:
        """Move to ``loss_action`` when a loss limit is reached (and back to ACTIVE when a
        daily loss state ends with the UTC day)."""
        valuation = self._valuation
        valuation.now_ns = max(valuation.now_ns, now_ns)
        pnl = valuation.pnl_now()
        if isinstance(pnl, str):
            return  # no valuation now: decided at the next price (orders still checked)
        self._losses.evaluate(pnl, now_ns)
