"""Valuation for the risk model: instruments, last prices (and their age), exchange rates to the
reporting currency, the value of one unit of each instrument, and the trader's PnL (realized
from position events, unrealized at the last prices) that the loss limits evaluate.

An instrument settling in another currency than the reporting one is converted at the rate the
gate sets from the node's exchange rates: exposure and unrealized PnL at the current rate,
realized PnL at the rate when it is realized (without a rate then, at the first valuation that
has one). No price, a price older than ``max_price_age_s``, an unknown instrument or no rate:
no value, and the reason why (the checks fail closed).

The PnL is valued by a pass over every position (:meth:`Valuation.total_pnl`); from
``_FAST_PNL_FROM`` positions held, by a sum kept per position (``_pnl_sums.py``) wherever that
is the pass's value digit for digit, so the loss limits' cost per order does not grow with the
positions held.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from liveexec.risk._pnl_sums import PnlSums
from liveexec.risk._types import InstrumentInfo

__all__ = ["Position", "Valuation"]

_ZERO = Decimal(0)
# The PnL kept as a sum (PnlSums, _pnl_sums.py) from this many positions on: below it, valuing
# every position per order costs less than keeping the sum (measured: even at 4-6 positions).
_FAST_PNL_FROM = 6


@dataclass(slots=True)
class Position:
    instrument_id: str
    signed_qty: Decimal
    avg_px_open: Decimal
    realized_pnl: Decimal


class Valuation:
    """Prices, rates, unit values and PnL; ``now_ns`` is the clock prices age on (the model
    sets it to each order's time). ``changed``: a set the instruments whose unit value may
    have changed go into (the exposure sums', once they are kept; None before)."""

    __slots__ = (
        "changed",
        "instruments",
        "max_age",
        "now_ns",
        "pnl_cache",
        "positions",
        "prices",
        "rates",
        "realized",
        "realized_fx",
        "reporting_currency",
        "sums",
        "units",
        "unvalued",
    )

    def __init__(self, reporting_currency: str | None) -> None:
        self.reporting_currency = reporting_currency
        self.instruments: dict[str, InstrumentInfo] = {}
        self.prices: dict[str, tuple[Decimal, int]] = {}  # instrument -> (last price, its time)
        self.units: dict[str, Decimal | str] = {}  # per instrument, at its last price
        # Instruments valued in another currency than the reporting one: the value of one unit
        # of their currency in the reporting currency (set by the gate from the node's
        # exchange rates), and realized PnL that came while no rate was known (in their own
        # currency, converted when valued).
        self.rates: dict[str, Decimal] = {}
        self.realized_fx: dict[str, Decimal] = {}
        self.positions: dict[str, Position] = {}
        self.realized = _ZERO
        # the total PnL and the time of the oldest price it used (None: no price used), while
        # no price, position, rate or instrument changed; why the last valuation had no value
        self.pnl_cache: tuple[Decimal, int | None] | None = None
        self.unvalued: str | None = None
        self.max_age: int | None = None  # max_price_age_ns
        self.now_ns = 0
        self.changed: set[str] | None = None
        self.sums: PnlSums | None = None  # the PnL kept as a sum, from _FAST_PNL_FROM positions

    # -- inputs ------------------------------------------------------------------------------

    def set_instrument(self, instrument_id: str, info: InstrumentInfo) -> None:
        self.instruments[instrument_id] = info
        self.units.pop(instrument_id, None)
        if self.changed is not None:
            self.changed.add(instrument_id)
        if self.sums is not None:
            self.sums.dirty.add(instrument_id)
        self.pnl_cache = None

    def set_price(self, instrument_id: str, price: Decimal, ts_ns: int) -> None:
        self.prices[instrument_id] = (price, ts_ns)
        self.units.pop(instrument_id, None)
        if self.changed is not None:
            self.changed.add(instrument_id)
        if self.sums is not None:
            self.sums.dirty.add(instrument_id)
        self.pnl_cache = None

    def set_rate(self, instrument_id: str, rate: Decimal | None) -> None:
        """The value of one unit of ``instrument_id``'s currency in the reporting currency
        (None: no rate now; its exposure and PnL cannot be valued, fail closed)."""
        if self.rates.get(instrument_id) == rate:
            return
        if rate is None:
            del self.rates[instrument_id]
        else:
            self.rates[instrument_id] = rate
        self.units.pop(instrument_id, None)
        if self.changed is not None:
            self.changed.add(instrument_id)
        if self.sums is not None:
            self.sums.dirty.add(instrument_id)
        self.pnl_cache = None

    def on_position(
        self,
        position_id: str,
        instrument_id: str,
        signed_qty: Decimal,
        avg_px_open: Decimal,
        realized_pnl: Decimal,
    ) -> None:
        """A position's newest state: its realized PnL's change is banked (converted at the
        rate now if it is in another currency), its quantity and price valued from now on."""
        old = self.positions.get(position_id)
        delta = realized_pnl - (old.realized_pnl if old is not None else _ZERO)
        if self.foreign(instrument_id):
            # converted at the rate when it is realized (as NautilusTrader's account converts
            # a fill's PnL); without a rate now, at the first valuation that has one
            rate = self.rates.get(instrument_id)
            if rate is not None:
                self.realized += delta * rate
            else:
                self.realized_fx[instrument_id] = self.realized_fx.get(instrument_id, _ZERO) + delta
                if self.sums is not None:
                    self.sums.dirty.add(instrument_id)
        else:
            self.realized += delta
        self.positions[position_id] = Position(instrument_id, signed_qty, avg_px_open, realized_pnl)
        if self.sums is not None:
            self.sums.dirty_positions.add(position_id)
        self.pnl_cache = None

    def forget_position(self, position_id: str) -> None:
        """A closed position will get no more events under this id: its realized PnL stays in
        the total, the entry goes (positions kept: the open ones)."""
        position = self.positions.get(position_id)
        if position is not None and position.signed_qty == _ZERO:
            del self.positions[position_id]
            if self.sums is not None:
                self.sums.dirty_positions.add(position_id)

    # -- values ------------------------------------------------------------------------------

    def foreign(self, instrument_id: str) -> bool:
        """Whether the instrument is valued in another currency than the reporting one."""
        info = self.instruments.get(instrument_id)
        return (
            info is not None
            and self.reporting_currency is not None
            and info.currency != self.reporting_currency
        )

    def no_rate(self, instrument_id: str) -> str:
        info = self.instruments[instrument_id]
        return (
            f"{instrument_id} is valued in {info.currency}: no conversion to "
            f"{self.reporting_currency} (fail closed)"
        )

    def price(self, instrument_id: str) -> Decimal | str:
        """The last price, or why there is none (none yet, or older than the max age)."""
        entry = self.prices.get(instrument_id)
        if entry is None:
            return f"no price for {instrument_id} yet (fail closed)"
        price, ts = entry
        max_age = self.max_age
        if max_age is not None and self.now_ns - ts > max_age:
            return (
                f"last price of {instrument_id} is {(self.now_ns - ts) / 1e9:.3f} s old "
                f"(max_price_age_s {max_age / 1e9:g}; fail closed)"
            )
        return price

    def unit(self, iid: str) -> Decimal | str:
        """The value of one unit of ``iid`` in the reporting currency, or why there is none
        (memoised per price: only the price's age is checked each time). :meth:`unit_at`
        inlined (this runs per held instrument in the valuations)."""
        price = self.price(iid)
        if isinstance(price, str):
            return price
        unit = self.units.get(iid)
        if unit is None:
            unit = self.units[iid] = self.unit_of(iid, price)
        return unit

    def unit_at(self, iid: str, price: Decimal) -> Decimal | str:
        """:meth:`unit` at ``price`` (its last price), whatever the price's age."""
        unit = self.units.get(iid)
        if unit is None:
            unit = self.units[iid] = self.unit_of(iid, price)
        return unit

    def unit_of(self, iid: str, price: Decimal) -> Decimal | str:
        info = self.instruments.get(iid)
        if info is None:
            return f"instrument {iid} unknown"
        if self.reporting_currency is not None and info.currency != self.reporting_currency:
            rate = self.rates.get(iid)
            if rate is None:
                return self.no_rate(iid)
            return price * info.multiplier * rate
        return price * info.multiplier

    # -- PnL ---------------------------------------------------------------------------------

    def total_pnl(self) -> tuple[Decimal | str, int | None]:
        """Realized + unrealized PnL at the last prices (or why it cannot be valued) and the
        time of the oldest price it used (None: none used), in one pass over the positions."""
        total = self.realized
        oldest: int | None = None
        for iid, amount in self.realized_fx.items():
            if amount:
                rate = self.rates.get(iid)
                if rate is None:
                    return self.no_rate(iid), oldest
                total += amount * rate
        for position in self.positions.values():
            if position.signed_qty == _ZERO:
                continue
            price = self.price(position.instrument_id)
            if isinstance(price, str):
                return price, oldest
            ts = self.prices[position.instrument_id][1]
            oldest = ts if oldest is None else min(oldest, ts)
            info = self.instruments.get(position.instrument_id)
            if info is None:
                return f"instrument {position.instrument_id} unknown", oldest
            pnl = position.signed_qty * (price - position.avg_px_open) * info.multiplier
            if self.reporting_currency is not None and info.currency != self.reporting_currency:
                rate = self.rates.get(position.instrument_id)
                if rate is None:
                    return self.no_rate(position.instrument_id), oldest
                pnl *= rate
            total += pnl
        return total, oldest

    def pnl_now(self) -> Decimal | str:
        """:meth:`total_pnl`, reused while no price, position or instrument changed and no
        price it used has aged past ``max_price_age_s`` (the same value, computed once). From
        ``_FAST_PNL_FROM`` positions on, the sum kept per position (:class:`PnlSums`) gives
        it where it equals the pass's by construction; elsewhere (or it says it cannot) the
        pass."""
        cached = self.pnl_cache
        if cached is not None:
            max_age = self.max_age
            if max_age is None or cached[1] is None or self.now_ns - cached[1] <= max_age:
                return cached[0]
        sums = self.sums
        if sums is None and len(self.positions) >= _FAST_PNL_FROM:
            sums = self.sums = PnlSums(self)
        if sums is not None:
            kept = sums.pnl()
            if kept is not None:
                self.pnl_cache, self.unvalued = kept, None
                return kept[0]
        pnl, oldest = self.total_pnl()
        if isinstance(pnl, str):
            self.pnl_cache, self.unvalued = None, pnl
        else:
            self.pnl_cache, self.unvalued = (pnl, oldest), None
        return pnl

    def tracked(self) -> int:
        """Positions held (the open ones, and closed ones not yet forgotten)."""
        return len(self.positions)
