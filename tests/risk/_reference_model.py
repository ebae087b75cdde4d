"""The limits model as it was before the fast path (``liveexec/risk/_model.py`` of 2026-11-25,
Decimal arithmetic throughout, nothing memoised across orders): the reference the differential
test compares ``RiskModel``'s decisions and reasons with. Only the model class and its private
helpers are copied; the public dataclasses are the package's. Not to be changed except to
follow a deliberate change of the decisions."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from liveexec.risk._model import (
    InstrumentInfo,
    LossMark,
    OrderIntent,
    RiskLimits,
    StateChange,
    TradingState,
)

__all__ = ["RiskModel"]

_ZERO = Decimal(0)
_BPS = Decimal(10_000)
_SECOND_NS = 1_000_000_000
_MINUTE_NS = 60 * _SECOND_NS
_DAY_NS = 86_400 * _SECOND_NS


@dataclass(slots=True)
class _Book:
    """Signed position and working quantities of one (strategy or trader, instrument)."""

    position: Decimal = _ZERO
    working_buy: Decimal = _ZERO
    working_sell: Decimal = _ZERO

    def worst_long(self) -> Decimal:
        return self.position + self.working_buy

    def worst_short(self) -> Decimal:
        return self.position - self.working_sell

    def worst_abs(self) -> Decimal:
        return max(abs(self.worst_long()), abs(self.worst_short()))


_EMPTY = _Book()  # read-only stand-in for a book with nothing in it (never mutated)


@dataclass(slots=True)
class _Working:
    strategy_id: str
    instrument_id: str
    is_buy: bool
    leaves: Decimal
    group: str | None = None


@dataclass(slots=True)
class _Group:
    """Working members of a one-cancels-other (or one-updates-other) group: at most ``cap``
    (its largest member) fills in all, so on each side it can add its largest member's
    remaining quantity, and no more than ``cap - filled``. ``buy``/``sell``: what it adds to
    its books now."""

    members: dict[str, _Working] = field(default_factory=dict)
    cap: Decimal = _ZERO
    filled: Decimal = _ZERO
    buy: Decimal = _ZERO
    sell: Decimal = _ZERO

    def reach(self) -> tuple[Decimal, Decimal]:
        room = self.cap - self.filled
        buy = sell = _ZERO
        for member in self.members.values():
            if member.is_buy:
                buy = max(buy, member.leaves)
            else:
                sell = max(sell, member.leaves)
        return max(min(buy, room), _ZERO), max(min(sell, room), _ZERO)


@dataclass(slots=True)
class _Position:
    instrument_id: str
    signed_qty: Decimal
    avg_px_open: Decimal
    realized_pnl: Decimal


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
        self.limits = limits
        self.reporting_currency = reporting_currency
        self.instruments: dict[str, InstrumentInfo] = {}
        self._books: dict[tuple[str, str], _Book] = {}  # (strategy, instrument)
        self._instrument_books: dict[str, _Book] = {}  # trader-wide per instrument
        self._working: dict[str, _Working] = {}
        self._open_by_strategy: dict[str, int] = {}
        self._prices: dict[str, tuple[Decimal, int]] = {}
        self._units: dict[str, Decimal | str] = {}  # per instrument, at its last price
        self._pnl_cache: tuple[Decimal, int | None] | None = None
        # strategy -> times of its approved orders in the last minute / second
        self._recent_minute: dict[str, deque[int]] = {}
        self._recent_second: dict[str, deque[int]] = {}
        self._groups: dict[str, _Group] = {}  # one-cancels-other groups with working members
        self._positions: dict[str, _Position] = {}
        self._realized = _ZERO
        self._peak_pnl: Decimal | None = None
        self._last_pnl: Decimal | None = None
        self._last_pnl_ns = 0
        self._restore: LossMark | None = None
        self._evaluated_pnl: Decimal | None = None  # the PnL object last evaluated
        self._day: int | None = None
        self._day_start_pnl = _ZERO
        self._loss_state = TradingState.ACTIVE
        self._loss_reason = ""
        self._loss_is_daily = False
        self._halt_state = TradingState.ACTIVE
        self._halt_reason = ""
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.changes: list[StateChange] = []  # drained by the gate into the database

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        """New limits (e.g. lowered below what is held): the state is kept."""
        self._limits = limits
        self._pnl_cache = None
        self._evaluated_pnl = None
        self._needs_velocity = any(
            s.max_orders_per_second is not None or s.max_orders_per_minute is not None
            for s in limits.strategies.values()
        )
        self._needs_losses = self.needs_losses = (
            limits.max_daily_loss is not None or limits.max_drawdown is not None
        )
        self._needs_exposure = (
            limits.max_gross_exposure is not None or limits.max_net_exposure is not None
        )

    # -- inputs ------------------------------------------------------------------------------

    def set_instrument(self, instrument_id: str, info: InstrumentInfo) -> None:
        self.instruments[instrument_id] = info
        self._units.pop(instrument_id, None)
        self._pnl_cache = None

    def set_price(self, instrument_id: str, price: Decimal, ts_ns: int) -> None:
        self._prices[instrument_id] = (price, ts_ns)
        self._units.pop(instrument_id, None)
        self._pnl_cache = None

    def on_fill(self, client_order_id: str, quantity: Decimal) -> None:
        """A fill of a working order: quantity moves from working to the position."""
        working = self._working.get(client_order_id)
        if working is None:
            return  # not an order this model approved (e.g. submitted before it started)
        qty = min(quantity, working.leaves)
        signed = qty if working.is_buy else -qty
        self._books[(working.strategy_id, working.instrument_id)].position += signed
        self._instrument_books[working.instrument_id].position += signed
        group = self._groups.get(working.group) if working.group is not None else None
        if group is not None:
            group.filled += qty
        self._set_leaves(client_order_id, working, working.leaves - qty)

    def on_order_closed(self, client_order_id: str) -> None:
        """The order can no longer fill (canceled, expired, rejected, denied downstream)."""
        working = self._working.get(client_order_id)
        if working is not None:
            self._set_leaves(client_order_id, working, _ZERO)

    def on_order_updated(self, client_order_id: str, leaves: Decimal) -> None:
        """A modified order's new remaining quantity."""
        working = self._working.get(client_order_id)
        if working is None:
            return
        group = self._groups.get(working.group) if working.group is not None else None
        if group is not None and group.filled > _ZERO and leaves > working.leaves:
            # A member grown after its group filled: counted on its own from now on (the
            # group's room, cap - filled, no longer bounds it).
            self._set_leaves(client_order_id, working, _ZERO)  # leaves the group
            working.group = None
            self._working[client_order_id] = working
            self._open_by_strategy[working.strategy_id] += 1
            self._set_leaves(client_order_id, working, leaves)
            return
        if group is not None:
            group.cap = max(group.cap, leaves)  # filled == 0: the cap is the largest member
        self._set_leaves(client_order_id, working, leaves)

    def _set_leaves(self, client_order_id: str, working: _Working, leaves: Decimal) -> None:
        """Set an order's remaining quantity and move the books' working quantities by what
        that changes in the worst case (for a group member: its group's reach)."""
        group = self._groups.get(working.group) if working.group is not None else None
        if group is None:
            delta = leaves - working.leaves
            working.leaves = leaves
            buy, sell = (delta, _ZERO) if working.is_buy else (_ZERO, delta)
        else:
            working.leaves = leaves
            if leaves <= _ZERO:
                del group.members[client_order_id]
            buy, sell = group.reach()
            buy, sell = buy - group.buy, sell - group.sell
            group.buy += buy
            group.sell += sell
            if not group.members:
                assert working.group is not None
                del self._groups[working.group]
        if buy or sell:
            for book in (
                self._books[(working.strategy_id, working.instrument_id)],
                self._instrument_books[working.instrument_id],
            ):
                book.working_buy += buy
                book.working_sell += sell
        if leaves <= _ZERO:
            self._forget(client_order_id, working)

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
        old = self._positions.get(position_id)
        self._realized += realized_pnl - (old.realized_pnl if old is not None else _ZERO)
        self._positions[position_id] = _Position(
            instrument_id, signed_qty, avg_px_open, realized_pnl
        )
        self._pnl_cache = None
        if self._needs_losses:
            self.evaluate_losses(ts_ns)

    def set_halt(self, state: TradingState, reason: str, ts_ns: int) -> None:
        """The kill switch's state (ACTIVE when no halt is in force)."""
        if state != self._halt_state or reason != self._halt_reason:
            self._halt_state, self._halt_reason = state, reason
            self._update_state(ts_ns)

    def loss_mark(self) -> LossMark | None:
        """How far the PnL stood below its peak and below the UTC day's start at its last
        valuation (None before the first): what a restarted model needs to go on from."""
        pnl, peak = self._last_pnl, self._peak_pnl
        if pnl is None or peak is None or self._day is None:
            return None
        return LossMark(
            drawdown=max(peak - pnl, _ZERO),
            day=self._day,
            daily_loss=self._day_start_pnl - pnl,
            ts_ns=self._last_pnl_ns,
        )

    def restore_loss_mark(self, mark: LossMark) -> None:
        """Go on from a mark recorded before a restart: at the first valuation the peak is
        put ``mark.drawdown`` above the PnL then (and the day's start ``mark.daily_loss``
        above it, on the same UTC day), whatever PnL this model counts from."""
        self._restore = mark
        self._evaluated_pnl = None
        if self._loss_state != TradingState.ACTIVE and self._loss_reason.startswith(
            "max_daily_loss"
        ):
            self._loss_is_daily = True  # ends with the mark's UTC day

    def restore_loss_state(self, state: TradingState, reason: str) -> None:
        """A loss state rebuilt from the database at start (no new change row)."""
        self._loss_state, self._loss_reason, self._loss_is_daily = state, reason, False
        self._evaluated_pnl = None
        self._update_state(None)

    # -- outputs -----------------------------------------------------------------------------

    @property
    def open_orders(self) -> int:
        return len(self._working)

    def position(self, strategy_id: str, instrument_id: str) -> Decimal:
        book = self._books.get((strategy_id, instrument_id))
        return book.position if book is not None else _ZERO

    def instrument_book(self, instrument_id: str) -> tuple[Decimal, Decimal, Decimal]:
        """(position, working buys, working sells) of the trader in one instrument."""
        book = self._instrument_books.get(instrument_id, _Book())
        return book.position, book.working_buy, book.working_sell

    def strategy_book(
        self, strategy_id: str, instrument_id: str
    ) -> tuple[Decimal, Decimal, Decimal]:
        book = self._books.get((strategy_id, instrument_id), _Book())
        return book.position, book.working_buy, book.working_sell

    def exposures(self) -> tuple[Decimal, Decimal, Decimal] | str:
        """(worst-case gross, worst-case long net, worst-case short net) at the last prices,
        or the reason they cannot be valued."""
        return self._exposures(None, _ZERO, is_buy=True)

    def total_pnl(self) -> Decimal | str:
        """Realized + unrealized PnL at the last prices, or why it cannot be valued."""
        return self._total_pnl()[0]

    def _total_pnl(self) -> tuple[Decimal | str, int | None]:
        """:meth:`total_pnl` and the time of the oldest price it used (None: none used)."""
        total = self._realized
        oldest: int | None = None
        for position in self._positions.values():
            if position.signed_qty == _ZERO:
                continue
            price = self._price(position.instrument_id)
            if isinstance(price, str):
                return price, oldest
            ts = self._prices[position.instrument_id][1]
            oldest = ts if oldest is None else min(oldest, ts)
            info = self.instruments.get(position.instrument_id)
            if info is None:
                return f"instrument {position.instrument_id} unknown", oldest
            total += position.signed_qty * (price - position.avg_px_open) * info.multiplier
        return total, oldest

    def _pnl_now(self) -> Decimal | str:
        """:meth:`total_pnl`, reused while no price, position or instrument changed and no
        price it used has aged past ``max_price_age_s`` (the same value, computed once)."""
        cached = self._pnl_cache
        if cached is not None:
            max_age = self.limits.max_price_age_ns
            if max_age is None or cached[1] is None or self._now_ns - cached[1] <= max_age:
                return cached[0]
        pnl, oldest = self._total_pnl()
        self._pnl_cache = (pnl, oldest) if not isinstance(pnl, str) else None
        return pnl

    # -- the decision ------------------------------------------------------------------------

    def submit(self, order: OrderIntent, now_ns: int) -> str | None:
        """Check ``order``; None approves it (and counts it as working), else the reason,
        naming the check, the limit and the value that broke it."""
        reason = self._check(order, now_ns)
        if reason is None:
            self._accept(order, now_ns)
        return reason

    def check(self, order: OrderIntent, now_ns: int) -> str | None:
        """:meth:`submit` without counting the order: call :meth:`accept` if it goes on."""
        return self._check(order, now_ns)

    def accept(self, order: OrderIntent, now_ns: int) -> None:
        """Count an order :meth:`check` approved as working."""
        self._accept(order, now_ns)

    def reduces(self, order: OrderIntent) -> bool:
        """Whether the order only brings its strategy's position closer to flat."""
        book = self._books.get((order.strategy_id, order.instrument_id)) or _EMPTY
        return self._reduces(book, order)

    def check_increase(self, order: OrderIntent, now_ns: int) -> str | None:
        """Check a modification that adds ``order.quantity`` to a working order (the order's
        new price in ``order.price``/``order.trigger``), without counting it as a new order."""
        return self._check(order, now_ns, new_order=False)

    def _check(self, order: OrderIntent, now_ns: int, *, new_order: bool = True) -> str | None:
        limits = self.limits
        iid = order.instrument_id
        sid = order.strategy_id
        self._now_ns = now_ns
        if self._needs_losses:
            self.evaluate_losses(now_ns)
        if self.state == TradingState.HALTED:
            return f"trading state HALTED: {self.state_reason}"
        info = self.instruments.get(iid)
        if info is None:
            return f"instrument {iid}: not known to the risk gate (no valuation, fail closed)"
        price = self._price(iid)
        qty = order.quantity
        strategy = limits.strategies.get(sid)
        instrument = limits.instruments.get(iid)
        book = self._books.get((sid, iid)) or _EMPTY
        ibook = self._instrument_books.get(iid) or _EMPTY
        reduces = self._reduces(book, order)
        if self._needs_losses and not reduces:
            pnl = self.total_pnl()
            if isinstance(pnl, str):  # the loss limits cannot be valued: fail closed
                return f"loss limits: {pnl}"
        if self.state == TradingState.REDUCING and not reduces:
            return (
                f"trading state REDUCING ({self.state_reason}): {'BUY' if order.is_buy else 'SELL'}"
                f" {qty} does not reduce position {book.position} of {sid} in {iid} "
                f"(working buys {book.working_buy}, sells {book.working_sell})"
            )
        if order.is_market and isinstance(price, str):
            return f"market order: {price}"
        # the price the order would trade at, for notionals
        order_px = order.price if order.price is not None else order.trigger
        if order_px is None and not isinstance(price, str):
            order_px = price
        if instrument is not None:
            if instrument.max_order_qty is not None and qty > instrument.max_order_qty:
                return f"max_order_qty {instrument.max_order_qty} ({iid}): order quantity {qty}"
            band_px = order.price if order.price is not None else order.trigger
            if band_px is not None and (
                instrument.price_band_bps is not None or instrument.price_band_ticks is not None
            ):
                if isinstance(price, str):
                    return f"price band ({iid}): {price}"
                distance = abs(band_px - price)
                if (
                    instrument.price_band_bps is not None
                    and distance * _BPS > instrument.price_band_bps * abs(price)
                ):
                    if not price:
                        return (
                            f"price_band_bps {instrument.price_band_bps} ({iid}): price "
                            f"{band_px} against last price {price}, which has no band in bps "
                            "(fail closed)"
                        )
                    return (
                        f"price_band_bps {instrument.price_band_bps} ({iid}): price {band_px} is "
                        f"{(distance * _BPS / abs(price)):.2f} bps from last price {price}"
                    )
                if (
                    instrument.price_band_ticks is not None
                    and distance > instrument.price_band_ticks * info.tick
                ):
                    return (
                        f"price_band_ticks {instrument.price_band_ticks} ({iid}): price "
                        f"{band_px} is {distance / info.tick:f} ticks from last price {price}"
                    )
        notional = qty * order_px * info.multiplier if order_px is not None else None
        if instrument is not None and instrument.max_order_notional is not None:
            reason = _notional_reason(
                instrument.max_order_notional, notional, price, f"instrument {iid}"
            )
            if reason is not None:
                return reason
        if strategy is not None and strategy.max_order_notional is not None:
            reason = _notional_reason(
                strategy.max_order_notional, notional, price, f"strategy {sid}"
            )
            if reason is not None:
                return reason
        if new_order:  # reducing orders too: nothing exempts an order from this count
            if strategy is not None and strategy.max_open_orders is not None:
                open_orders = self._open_by_strategy.get(sid, 0)
                if open_orders + 1 > strategy.max_open_orders:
                    return (
                        f"max_open_orders {strategy.max_open_orders} (strategy {sid}): "
                        f"{open_orders} working + this order"
                    )
            if (
                limits.max_open_orders is not None
                and len(self._working) + 1 > limits.max_open_orders
            ):
                return (
                    f"max_open_orders {limits.max_open_orders} (trader): "
                    f"{len(self._working)} working + this order"
                )
        # what the order adds to the worst case on its side (an OCO member: maybe nothing)
        add = self._added(order) if order.group is not None else qty
        if strategy is not None and (
            strategy.max_position_qty is not None or strategy.max_position_notional is not None
        ):
            reason = self._position_reason(
                order,
                add,
                book,
                (strategy.max_position_qty, strategy.max_position_notional),
                (price, order_px),
                info=info,
                in_strategy=True,
            )
            if reason is not None:
                return reason
        if instrument is not None and (
            instrument.max_position_qty is not None or instrument.max_position_notional is not None
        ):
            reason = self._position_reason(
                order,
                add,
                ibook,
                (instrument.max_position_qty, instrument.max_position_notional),
                (price, order_px),
                info=info,
                in_strategy=False,
            )
            if reason is not None:
                return reason
        if self._needs_exposure and not reduces:
            exposure = self._exposure_reason(order, add)
            if exposure is not None:
                return exposure
        if new_order and strategy is not None and self._needs_velocity:
            minute = self._recent_minute.get(sid)
            if minute is not None:
                cutoff = now_ns - _MINUTE_NS
                while minute and minute[0] <= cutoff:
                    minute.popleft()
                if (
                    strategy.max_orders_per_minute is not None
                    and len(minute) + 1 > strategy.max_orders_per_minute
                ):
                    return (
                        f"max_orders_per_minute {strategy.max_orders_per_minute} (strategy "
                        f"{sid}): {len(minute)} orders in the last minute + this order"
                    )
                second = self._recent_second[sid]
                cutoff = now_ns - _SECOND_NS
                while second and second[0] <= cutoff:
                    second.popleft()
                if (
                    strategy.max_orders_per_second is not None
                    and len(second) + 1 > strategy.max_orders_per_second
                ):
                    return (
                        f"max_orders_per_second {strategy.max_orders_per_second} (strategy "
                        f"{sid}): {len(second)} orders in the last second + this order"
                    )
        return None

    @staticmethod
    def _position_reason(
        order: OrderIntent,
        add: Decimal,
        the_book: _Book,
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

    def _exposure_reason(self, order: OrderIntent, qty: Decimal) -> str | None:
        """Gross and net exposure before and after the order, in one pass over the
        instruments (the same figures as two calls of :meth:`_exposures`)."""
        limits = self.limits
        books = self._instrument_books
        target = order.instrument_id
        is_buy = order.is_buy
        gross0 = long0 = short0 = gross1 = long1 = short1 = _ZERO
        ids: Iterable[str] = books if target in books else (*books, target)
        for iid in ids:
            book = books.get(iid) or _EMPTY
            long_q = book.position + book.working_buy
            short_q = book.position - book.working_sell
            if iid == target:
                long_a, short_a = (long_q + qty, short_q) if is_buy else (long_q, short_q - qty)
            else:
                long_a, short_a = long_q, short_q
            if long_a == _ZERO and short_a == _ZERO:
                continue
            unit = self._unit(iid)
            if isinstance(unit, str):
                return f"exposure: {unit}"
            gross = max(abs(long_q), abs(short_q)) * unit
            net_long = long_q * unit
            net_short = short_q * unit
            gross0 += gross
            long0 += net_long
            short0 += net_short
            if iid == target:
                gross1 += max(abs(long_a), abs(short_a)) * unit
                long1 += long_a * unit
                short1 += short_a * unit
            else:
                gross1 += gross
                long1 += net_long
                short1 += net_short
        currency = self.reporting_currency or ""
        gross_cap = limits.max_gross_exposure
        if gross_cap is not None and gross1 > gross_cap and gross1 > gross0:
            return (
                f"max_gross_exposure {gross_cap} {currency} (trader): worst-case gross "
                f"exposure {gross1} {currency}"
            )
        net_cap = limits.max_net_exposure
        if net_cap is not None:
            after, before = (long1, long0) if is_buy else (short1, short0)
            if abs(after) > net_cap and abs(after) > abs(before):
                return (
                    f"max_net_exposure {net_cap} {currency} (trader): worst-case net exposure "
                    f"{after} {currency}"
                )
        return None

    def _unit(self, iid: str) -> Decimal | str:
        """The value of one unit of ``iid`` in the reporting currency, or why there is none
        (memoised per price: only the price's age is checked each time)."""
        price = self._price(iid)
        if isinstance(price, str):
            return price
        unit = self._units.get(iid)
        if unit is None:
            unit = self._units[iid] = self._unit_of(iid, price)
        return unit

    def _unit_of(self, iid: str, price: Decimal) -> Decimal | str:
        info = self.instruments.get(iid)
        if info is None:
            return f"instrument {iid} unknown"
        if self.reporting_currency is not None and info.currency != self.reporting_currency:
            return (
                f"{iid} is valued in {info.currency}: no conversion to "
                f"{self.reporting_currency} (fail closed)"
            )
        return price * info.multiplier

    def _exposures(
        self, extra_instrument: str | None, extra: Decimal, *, is_buy: bool
    ) -> tuple[Decimal, Decimal, Decimal] | str:
        gross = net_long = net_short = _ZERO
        books = self._instrument_books
        ids: Iterable[str] = (
            books
            if extra_instrument is None or extra_instrument in books
            else (*books, extra_instrument)
        )
        for iid in ids:
            book = books.get(iid) or _EMPTY
            long_q = book.worst_long()
            short_q = book.worst_short()
            if iid == extra_instrument:
                if is_buy:
                    long_q += extra
                else:
                    short_q -= extra
            if long_q == _ZERO and short_q == _ZERO:
                continue
            unit = self._unit(iid)
            if isinstance(unit, str):
                return unit
            gross += max(abs(long_q), abs(short_q)) * unit
            net_long += long_q * unit
            net_short += short_q * unit
        return gross, net_long, net_short

    def _reduces(self, book: _Book, order: OrderIntent) -> bool:
        """Whether the order, filled in full with every working order on its side, only
        brings the strategy's position closer to flat (never across it)."""
        if order.is_buy:
            return book.position < _ZERO and book.worst_long() + order.quantity <= _ZERO
        return book.position > _ZERO and book.worst_short() - order.quantity >= _ZERO

    def _price(self, instrument_id: str) -> Decimal | str:
        entry = self._prices.get(instrument_id)
        if entry is None:
            return f"no price for {instrument_id} yet (fail closed)"
        price, ts = entry
        max_age = self.limits.max_price_age_ns
        if max_age is not None and self._now_ns - ts > max_age:
            return (
                f"last price of {instrument_id} is {(self._now_ns - ts) / 1e9:.3f} s old "
                f"(max_price_age_s {max_age / 1e9:g}; fail closed)"
            )
        return price

    _now_ns = 0

    def _group_key(self, order: OrderIntent) -> str | None:
        """The group an order joins: its members share strategy and instrument; a group that
        has filled takes no new members (a late member starts a group of its own)."""
        if order.group is None:
            return None
        key = f"{order.strategy_id}|{order.instrument_id}|{order.group}"
        group = self._groups.get(key)
        if group is not None and group.filled > _ZERO:
            return f"{key}|{order.client_order_id}"
        return key

    def _added(self, order: OrderIntent) -> Decimal:
        """What the order adds to the worst case on its side: its quantity, or for a member of
        a one-cancels-other group only what it adds to the group's largest member."""
        if order.group is None:
            return order.quantity
        key = self._group_key(order)
        group = self._groups.get(key) if key is not None else None
        if group is None:
            return order.quantity
        current = group.buy if order.is_buy else group.sell  # filled == 0: the side's largest
        return order.quantity - current if order.quantity > current else _ZERO

    def _accept(self, order: OrderIntent, now_ns: int) -> None:
        sid = order.strategy_id
        iid = order.instrument_id
        key = (sid, iid)
        book = self._books.get(key)
        if book is None:
            book = self._books[key] = _Book()
        ibook = self._instrument_books.get(iid)
        if ibook is None:
            ibook = self._instrument_books[iid] = _Book()
        group_key = self._group_key(order)
        self._open_by_strategy[sid] = self._open_by_strategy.get(sid, 0) + 1
        if group_key is None:
            if order.is_buy:
                book.working_buy += order.quantity
                ibook.working_buy += order.quantity
            else:
                book.working_sell += order.quantity
                ibook.working_sell += order.quantity
            self._working[order.client_order_id] = _Working(sid, iid, order.is_buy, order.quantity)
        else:
            group = self._groups.get(group_key)
            if group is None:
                group = self._groups[group_key] = _Group()
            working = _Working(sid, iid, order.is_buy, _ZERO, group_key)
            group.members[order.client_order_id] = working
            group.cap = max(group.cap, order.quantity)
            self._working[order.client_order_id] = working
            self._set_leaves(order.client_order_id, working, order.quantity)
        if self._needs_velocity:
            minute = self._recent_minute.get(sid)
            if minute is None:
                minute = self._recent_minute[sid] = deque()
                self._recent_second[sid] = deque()
            minute.append(now_ns)
            self._recent_second[sid].append(now_ns)

    def _forget(self, client_order_id: str, working: _Working) -> None:
        del self._working[client_order_id]
        self._open_by_strategy[working.strategy_id] -= 1

    # -- loss limits and the trading state ---------------------------------------------------

    def evaluate_losses(self, now_ns: int) -> None:
        """Move to ``loss_action`` when a loss limit is reached (and back to ACTIVE when a
        daily loss state ends with the UTC day)."""
        limits = self.limits
        self._now_ns = max(self._now_ns, now_ns)
        pnl = self._pnl_now()
        if isinstance(pnl, str):
            return  # no valuation now: decided at the next price (orders still checked)
        day = now_ns // _DAY_NS
        if self._restore is not None:  # the first valuation after a restart
            mark, self._restore = self._restore, None
            self._peak_pnl = pnl + mark.drawdown
            self._day, self._day_start_pnl = mark.day, pnl + mark.daily_loss
        self._last_pnl, self._last_pnl_ns = pnl, now_ns
        if pnl is self._evaluated_pnl and day == self._day:
            return  # the same PnL on the same day as last time: nothing can have changed
        self._evaluated_pnl = pnl
        if day != self._day:
            self._day, self._day_start_pnl = day, pnl
            if self._loss_is_daily and self._loss_state != TradingState.ACTIVE:
                self._loss_state, self._loss_reason, self._loss_is_daily = (
                    TradingState.ACTIVE,
                    "a new UTC day began (daily loss limit reset)",
                    False,
                )
                self._update_state(now_ns)
        if self._peak_pnl is None or pnl > self._peak_pnl:
            self._peak_pnl = pnl
        if self._loss_state >= limits.loss_action:
            return
        currency = self.reporting_currency or ""
        if limits.max_drawdown is not None and self._peak_pnl - pnl >= limits.max_drawdown:
            self._loss_state, self._loss_is_daily = limits.loss_action, False
            self._loss_reason = (
                f"max_drawdown {limits.max_drawdown} {currency}: PnL {pnl} is "
                f"{self._peak_pnl - pnl} below its peak {self._peak_pnl}"
            )
            self._update_state(now_ns)
        elif (
            limits.max_daily_loss is not None and self._day_start_pnl - pnl >= limits.max_daily_loss
        ):
            self._loss_state, self._loss_is_daily = limits.loss_action, True
            self._loss_reason = (
                f"max_daily_loss {limits.max_daily_loss} {currency}: lost "
                f"{self._day_start_pnl - pnl} since the UTC day began"
            )
            self._update_state(now_ns)

    def _update_state(self, ts_ns: int | None) -> None:
        if self._halt_state >= self._loss_state:
            state, reason = self._halt_state, self._halt_reason
        else:
            state, reason = self._loss_state, self._loss_reason
        if state == TradingState.ACTIVE:
            reason = reason or "no halt and no loss limit reached"
        if state != self.state or reason != self.state_reason:
            if ts_ns is not None and state != self.state:
                self.changes.append(StateChange(self.state, state, reason, ts_ns))
            self.state, self.state_reason = state, reason
