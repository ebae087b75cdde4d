"""The trader's PnL kept as a sum, so that valuing it for the loss limits costs the same per
order however many positions are held.

The PnL pass (:meth:`Valuation.total_pnl`) adds, in the context's precision, the realized PnL,
each instrument's realized PnL awaiting a rate (times the rate now) and each open position's
``signed_qty * (price - avg_px_open) * multiplier`` (times its rate), in dict order. Here each
of those terms is kept, computed with the same operands and operations (so it is the same
Decimal), re-derived only when its position, price, rate or instrument changed (which the
valuation marks), and their sum is kept exactly (a context too wide to round, trapping any
rounding).

The pass's result is the exact sum whenever none of its additions rounds; then it also has the
exponent of the smallest exponent among its operands (an exact Decimal addition keeps the
smaller exponent) and, being exact, no other digits. No addition rounds when every partial sum
fits the context's precision at that exponent: each partial sum is at most the sum of the
operands' magnitudes, each below ``10 ** (adjusted + 1)``, so ``(n + 1) * 10 ** (A + 1) <=
10 ** (precision + e)`` (A the largest adjusted exponent, e the smallest exponent, n terms)
suffices. When it holds, the kept sum, brought to exponent e, is the pass's result, digit for
digit; when it does not (many significant digits, e.g. converted at a rate of 17 digits), a
held instrument has no price, value or rate, a price may be older than ``max_price_age_s``, or
the context rounds toward minus infinity (a zero's sign then depends on the order of the
additions), :meth:`PnlSums.pnl` returns None and the pass decides. Either way the loss limits
see the same PnL, so the same decisions, by construction.
"""

from __future__ import annotations

from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_FLOOR,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
    getcontext,
)
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from liveexec.risk._valuation import Position, Valuation

__all__ = ["PnlSums", "exponent"]

_ZERO = Decimal(0)
# Wide enough that no addition of Decimals rounds; a rounding that loses a digit would raise
# (a programming error). Not Rounded: quantize signals it for the trailing zeros it drops.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact])
_QUANTA: dict[int, Decimal] = {}  # exponent -> Decimal 1 with that exponent


def exponent(value: Decimal) -> int:
    """``value.as_tuple().exponent`` of a finite Decimal, from its text (~3x faster)."""
    text = str(value)
    mark = text.find("E")
    if mark >= 0:
        power = int(text[mark + 1 :])
        text = text[:mark]
    else:
        power = 0
    dot = text.find(".")
    return power - (len(text) - dot - 1) if dot >= 0 else power


def _quantum(power: int) -> Decimal:
    quantum = _QUANTA.get(power)
    if quantum is None:
        if len(_QUANTA) > 1_000:
            _QUANTA.clear()
        quantum = _QUANTA[power] = Decimal((0, (1,), power))
    return quantum


def _more(counter: dict[int, int], key: int) -> None:
    counter[key] = counter.get(key, 0) + 1


def _less(counter: dict[int, int], key: int) -> bool:
    """One fewer ``key``; whether none is left."""
    left = counter[key] - 1
    if left:
        counter[key] = left
        return False
    del counter[key]
    return True


# A kept term: (value, its exponent, its adjusted exponent); a position's also has its price's
# time and its instrument
_Term = tuple[Decimal, int, int]
_PositionTerm = tuple[Decimal, int, int, int, str]


class PnlSums:
    """The PnL's terms and their exact sum, kept for ``valuation`` (from when it made this).

    ``dirty``: instruments whose price, rate or valuation changed (their positions' terms and
    their awaiting-rate term are re-derived); ``dirty_positions``: positions whose state
    changed. ``terms``: per open position (term, price time, instrument); ``fx``: per
    instrument with realized PnL awaiting a rate; ``bad_*``: those that have no value now;
    ``held``/``where``: open positions per instrument and back; ``total``: the exact sum of
    every kept term; ``exponents``/``magnitudes``: how many terms have each exponent and each
    adjusted exponent, ``low``/``high`` the smallest and the largest of them (None: to be
    found again); ``oldest``: a lower bound of the terms' price times."""

    __slots__ = (
        "bad_fx",
        "bad_positions",
        "context",
        "dirty",
        "dirty_positions",
        "exponents",
        "fx",
        "held",
        "high",
        "low",
        "magnitudes",
        "oldest",
        "realized_key",
        "terms",
        "total",
        "valuation",
        "where",
    )

    def __init__(self, valuation: Valuation) -> None:
        self.valuation = valuation
        self.dirty: set[str] = set(valuation.realized_fx)
        self.dirty_positions: set[str] = set(valuation.positions)
        self.terms: dict[str, _PositionTerm] = {}
        self.fx: dict[str, _Term] = {}
        self.bad_positions: set[str] = set()
        self.bad_fx: set[str] = set()
        self.held: dict[str, set[str]] = {}
        self.where: dict[str, str] = {}
        self.total = _ZERO
        self.exponents: dict[int, int] = {}
        self.magnitudes: dict[int, int] = {}
        self.low: int | None = None
        self.high: int | None = None
        self.oldest = 0
        # the realized PnL object last read, its exponent and its adjusted exponent
        self.realized_key: tuple[Decimal, int, int] | None = None
        # the context's (precision, rounding, Emin, Emax) the terms were derived in
        self.context: tuple[int, str, int, int] | None = None

    # -- the terms ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-derive what changed: positions first (they may leave or join an instrument),
        then the instruments' positions and awaiting-rate terms."""
        if self.dirty_positions:
            for position_id in self.dirty_positions:
                self._position(position_id)
            self.dirty_positions.clear()
        if self.dirty:
            positions = self.valuation.positions
            realized_fx = self.valuation.realized_fx
            for iid in self.dirty:
                held = self.held.get(iid)
                if held:
                    for position_id in tuple(held):  # open positions in iid, as refreshed
                        self._revalue(position_id, positions[position_id], iid)
                if iid in realized_fx or iid in self.fx or iid in self.bad_fx:
                    self._fx(iid)
            self.dirty.clear()

    def _value(self, position: Position, iid: str) -> tuple[Decimal, int] | None:
        """The position's term as :meth:`Valuation.total_pnl` computes it, and its price's
        time (None: no value: no price, unknown instrument, no rate), whatever the age."""
        valuation = self.valuation
        entry = valuation.prices.get(iid)
        if entry is None:
            return None
        info = valuation.instruments.get(iid)
        if info is None:
            return None
        pnl = position.signed_qty * (entry[0] - position.avg_px_open) * info.multiplier
        reporting = valuation.reporting_currency
        if reporting is not None and info.currency != reporting:
            rate = valuation.rates.get(iid)
            if rate is None:
                return None
            pnl *= rate
        return pnl, entry[1]

    def _position(self, position_id: str) -> None:
        """A position's state changed: its place among the held and its term."""
        position = self.valuation.positions.get(position_id)
        iid = position.instrument_id if position is not None and position.signed_qty else None
        was = self.where.get(position_id)
        if was != iid:
            if was is not None:
                held = self.held[was]
                held.discard(position_id)
                if not held:
                    del self.held[was]
                del self.where[position_id]
            if iid is not None:
                self.held.setdefault(iid, set()).add(position_id)
                self.where[position_id] = iid
        if position is None or iid is None:  # flat or forgotten: no term
            old = self.terms.pop(position_id, None)
            if old is not None:
                self._replace(old, None)
            self.bad_positions.discard(position_id)
            return
        self._revalue(position_id, position, iid)

    def _revalue(self, position_id: str, position: Position, iid: str) -> None:
        """The term of an open position in ``iid``. The common case (a new price for a
        position valued before, its term's exponent unchanged) is :meth:`_replace` inlined:
        this runs per order with the loss limits on."""
        terms = self.terms
        old = terms.get(position_id)
        found = self._value(position, iid)
        if found is None:  # no value now: the pass gives the reason
            if old is not None:
                del terms[position_id]
                self._replace(old, None)
            self.bad_positions.add(position_id)
            return
        if self.bad_positions:
            self.bad_positions.discard(position_id)
        value, ts = found
        if not terms or ts < self.oldest:
            self.oldest = ts
        adjusted = value.adjusted()
        if old is not None and adjusted == old[2] and value.same_quantum(old[0]):
            self.total = _EXACT.add(self.total, _EXACT.subtract(value, old[0]))
            terms[position_id] = (value, old[1], adjusted, ts, iid)
            return
        power, adjusted = self._replace(old, value)
        terms[position_id] = (value, power, adjusted, ts, iid)

    def _fx(self, iid: str) -> None:
        """The instrument's realized PnL awaiting a rate, times its rate now."""
        valuation = self.valuation
        old = self.fx.pop(iid, None)
        amount = valuation.realized_fx.get(iid, _ZERO)
        rate = valuation.rates.get(iid)
        if not amount or rate is None:
            if old is not None:
                self._replace(old, None)
            if amount:
                self.bad_fx.add(iid)
            else:
                self.bad_fx.discard(iid)
            return
        self.bad_fx.discard(iid)
        value = amount * rate
        power, adjusted = self._replace(old, value)
        self.fx[iid] = (value, power, adjusted)

    def _replace(self, old: _Term | _PositionTerm | None, value: Decimal | None) -> tuple[int, int]:
        """Swap a term's value in the exact sum and the counts; (exponent, adjusted) of the
        new value ((0, 0) when there is none)."""
        if value is None:
            if old is not None:
                self.total = _EXACT.subtract(self.total, old[0])
                if _less(self.exponents, old[1]) and old[1] == self.low:
                    self.low = None
                if _less(self.magnitudes, old[2]) and old[2] == self.high:
                    self.high = None
            return 0, 0
        adjusted = value.adjusted()
        if old is None:
            power = exponent(value)
            self._count(power, adjusted)
            self.total = _EXACT.add(self.total, value)
            return power, adjusted
        if value.same_quantum(old[0]):
            power = old[1]
        else:
            power = exponent(value)
            if _less(self.exponents, old[1]) and old[1] == self.low:
                self.low = None
            _more(self.exponents, power)
            if self.low is not None and power < self.low:
                self.low = power
        if adjusted != old[2]:
            if _less(self.magnitudes, old[2]) and old[2] == self.high:
                self.high = None
            _more(self.magnitudes, adjusted)
            if self.high is not None and adjusted > self.high:
                self.high = adjusted
        self.total = _EXACT.add(self.total, _EXACT.subtract(value, old[0]))
        return power, adjusted

    def _derive_again(self, context: tuple[int, str, int, int]) -> None:
        """Every term afresh (at the start, or the decimal context changed: the pass computes
        its terms in the context of the moment)."""
        if self.context is not None:
            self.dirty_positions.update(self.terms, self.bad_positions)
            self.dirty.update(self.fx, self.bad_fx)
            for position_id in list(self.terms):
                self._replace(self.terms.pop(position_id), None)
            for iid in list(self.fx):
                self._replace(self.fx.pop(iid), None)
            self.total = _ZERO
        self.context = context

    def _count(self, power: int, adjusted: int) -> None:
        _more(self.exponents, power)
        if self.low is not None and power < self.low:
            self.low = power
        _more(self.magnitudes, adjusted)
        if self.high is not None and adjusted > self.high:
            self.high = adjusted

    # -- the PnL -----------------------------------------------------------------------------

    def pnl(self) -> tuple[Decimal, int | None] | None:
        """The pass's (PnL, time of the oldest price it used), or None where the pass may
        differ (it rounds) or gives a reason (no value, a price too old): let it decide."""
        context = getcontext()
        now_in = (context.prec, context.rounding, context.Emin, context.Emax)
        if now_in != self.context:
            self._derive_again(now_in)
        prec, rounding, emin, emax = now_in
        if self.dirty or self.dirty_positions:
            self.refresh()
        if self.bad_positions or self.bad_fx:
            return None
        valuation = self.valuation
        terms = self.terms
        oldest: int | None = None
        if terms:
            max_age = valuation.max_age
            if max_age is not None and valuation.now_ns - self.oldest > max_age:
                self.oldest = min(term[3] for term in terms.values())
                if valuation.now_ns - self.oldest > max_age:
                    return None
            oldest = self.oldest
        realized = valuation.realized
        if not terms and not self.fx:
            return realized, oldest  # the pass adds nothing to it
        if rounding == ROUND_FLOOR:
            return None
        key = self.realized_key
        if key is None or key[0] is not realized:
            key = self.realized_key = (realized, exponent(realized), realized.adjusted())
        low = self.low
        if low is None:
            low = self.low = min(self.exponents)
        high = self.high
        if high is None:
            high = self.high = max(self.magnitudes)
        smallest = key[1] if key[1] < low else low
        largest = key[2] if key[2] > high else high
        operands = len(terms) + len(self.fx) + 1
        width = 1 if operands < 10 else len(str(operands))  # digits of the count
        if (
            largest + 1 + width > prec + smallest
            or smallest < emin - prec + 1
            or largest + width > emax
        ):
            return None  # an addition of the pass may round (or leave the exponents' range)
        total = _EXACT.add(realized, self.total)
        quantum = _quantum(smallest)
        if not total.same_quantum(quantum):
            total = total.quantize(quantum, context=_EXACT)
        if not total:
            total = total.copy_abs()  # an exact zero sum of the pass is +0
        return total, oldest
