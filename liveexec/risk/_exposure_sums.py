"""The trader's gross and net exposure in the reporting currency, against
``max_gross_exposure`` / ``max_net_exposure``: the pass over every instrument held, and the
sums kept per instrument that let most orders skip it once many instruments are held.

Worst case per instrument: long ``position + working buys``, short ``position - working
sells``; gross is the larger of the two in absolute value, net the one on the order's side,
each times the instrument's unit value. An order is denied only when a figure after it is above
its cap and above the figure before it.

Kept sums (:meth:`Exposure.fast`): each held instrument's terms and their sums, re-derived
(:meth:`Exposure.refresh`) only for instruments whose book, price, rate or valuation changed,
which the books and the valuation mark in ``dirty`` (once tracking starts). An order whose kept
figures plus a bound on the sums' rounding (10^(1-precision) of the size per addition, the
kept sums re-summed after 10^6 additions) are within the caps is approved from them; any other
(near a cap, a held instrument with no valuation or a price possibly too old) gets the pass, so
decisions and reasons are the pass's.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, getcontext

from liveexec.risk._books import EMPTY, Books
from liveexec.risk._types import OrderIntent
from liveexec.risk._valuation import Valuation

__all__ = ["Exposure"]

_ZERO = Decimal(0)
# The kept sums are summed afresh after this many additions (bounding their rounding error).
_RESUM_AFTER = 1_000_000
_ROUNDOFF: dict[int, Decimal] = {}


def _unit_roundoff(precision: int) -> Decimal:
    """10 ** (1 - precision): at least twice the relative error of one rounded addition."""
    value = _ROUNDOFF.get(precision)
    if value is None:
        value = _ROUNDOFF[precision] = Decimal(1).scaleb(1 - precision)
    return value


class Exposure:
    """The exposure caps and the sums kept per held instrument (once :meth:`start` was
    called): ``dirty`` the instruments whose book or unit value changed since, ``terms`` each
    held instrument's (gross, long net, short net, its price's time), ``bad`` the held ones
    with no unit value, ``sums`` the sums of the terms and of the gross terms' absolute values
    (the size), ``adds`` how many additions made them since they were last summed afresh,
    ``size_max`` the largest size since, ``oldest`` a lower bound of the terms' price times."""

    __slots__ = (
        "adds",
        "bad",
        "books",
        "dirty",
        "gross_cap",
        "net_cap",
        "oldest",
        "size_max",
        "sums",
        "terms",
        "track",
        "valuation",
    )

    def __init__(self, books: Books, valuation: Valuation) -> None:
        self.books = books
        self.valuation = valuation
        self.gross_cap: Decimal | None = None
        self.net_cap: Decimal | None = None
        self.track = False
        self.dirty: set[str] = set()
        self.terms: dict[str, tuple[Decimal, Decimal, Decimal, int]] = {}
        self.bad: set[str] = set()
        self.sums = (_ZERO, _ZERO, _ZERO, _ZERO)  # gross, long net, short net, size
        self.adds = 0
        self.size_max = _ZERO
        self.oldest = 0

    def start(self) -> None:
        """Keep the sums from now on: every instrument held is derived at the next order, and
        the books and the valuation mark what changes."""
        self.track = True
        self.dirty.update(self.books.by_instrument)
        self.books.changed = self.valuation.changed = self.dirty

    def reason(self, order: OrderIntent, qty: Decimal) -> str | None:
        """Gross and net exposure after the order (net on the order's side only), in one pass
        over the instruments; the figures before it only when an after-figure is above its
        limit (the same sums, term by term and in the same order, as two calls of
        :meth:`exposures`)."""
        books = self.books.by_instrument
        target = order.instrument_id
        is_buy = order.is_buy
        gross1 = net1 = _ZERO
        ids: Iterable[str] = books if target in books else (*books, target)
        valuation = self.valuation
        units, prices, max_age, now = (
            valuation.units,
            valuation.prices,
            valuation.max_age,
            valuation.now_ns,
        )
        for iid in ids:
            book = books.get(iid) or EMPTY
            position = book.position
            long_q = position + book.working_buy
            short_q = position - book.working_sell
            if iid == target:
                if is_buy:
                    long_q += qty
                else:
                    short_q -= qty
            if not long_q and not short_q:
                continue
            unit = units.get(iid)  # Valuation.unit when memoised and its price is not too old
            if unit is None or (max_age is not None and now - prices[iid][1] > max_age):
                unit = valuation.unit(iid)
            if isinstance(unit, str):
                return f"exposure: {unit}"
            long_abs = abs(long_q)
            short_abs = abs(short_q)
            # max(long_abs, short_abs): the first of equals, as max() returns
            gross1 += (short_abs if short_abs > long_abs else long_abs) * unit
            net1 += (long_q if is_buy else short_q) * unit
        gross_cap = self.gross_cap
        if (
            gross_cap is not None
            and gross1 > gross_cap
            and gross1 > self.before(target, qty, is_buy=is_buy)[0]
        ):
            currency = valuation.reporting_currency or ""
            return (
                f"max_gross_exposure {gross_cap} {currency} (trader): worst-case gross "
                f"exposure {gross1} {currency}"
            )
        net_cap = self.net_cap
        if net_cap is not None and abs(net1) > net_cap:
            before = self.before(target, qty, is_buy=is_buy)
            if abs(net1) > abs(before[1] if is_buy else before[2]):
                currency = valuation.reporting_currency or ""
                return (
                    f"max_net_exposure {net_cap} {currency} (trader): worst-case net exposure "
                    f"{net1} {currency}"
                )
        return None

    def fast(self, order: OrderIntent, qty: Decimal) -> bool:
        """Whether the order is certainly within both exposure caps, from the sums kept per
        instrument held instead of a pass over every instrument (False: not certain, the pass
        decides). Each term is the product the pass computes (same operands, same rounding);
        the pass's sum and the kept one differ only by their additions' rounding, bounded
        below, so an order whose kept figures plus that bound are within the caps is approved
        by the pass too. Held instruments with no unit value, a price that may be older than
        ``max_price_age_s``, or an order in an instrument with neither: not certain (the pass
        gives the reason)."""
        dirty = self.dirty
        if dirty:
            for iid in dirty:
                self.refresh(iid)
            dirty.clear()
        if self.bad:
            return False
        terms = self.terms
        valuation = self.valuation
        max_age = valuation.max_age
        now = valuation.now_ns
        if max_age is not None and terms and now - self.oldest > max_age:
            self.oldest = min(term[3] for term in terms.values())
            if now - self.oldest > max_age:
                return False
        target = order.instrument_id
        book = self.books.by_instrument.get(target) or EMPTY
        position = book.position
        long_q = position + book.working_buy
        short_q = position - book.working_sell
        is_buy = order.is_buy
        if is_buy:
            long_q += qty
        else:
            short_q -= qty
        gross = net = _ZERO
        if long_q or short_q:
            entry = valuation.prices.get(target)
            if entry is None or (max_age is not None and now - entry[1] > max_age):
                return False
            unit = valuation.unit_at(target, entry[0])
            if isinstance(unit, str):
                return False
            long_abs = abs(long_q)
            short_abs = abs(short_q)
            gross = (short_abs if short_abs > long_abs else long_abs) * unit
            net = (long_q if is_buy else short_q) * unit
        sum_gross, sum_long, sum_short, size = self.sums
        # Rounding: the pass sums n terms (each as computed here) with one rounding per
        # addition, the kept sums came from ``adds`` additions and this check adds a few more;
        # each rounding is at most half a unit in the last digit of a result no larger than
        # the size (every term's absolute value is at most its gross term's), so below
        # 10 ** (1 - precision) times the size per addition, counted whole here.
        size = max(self.size_max, size + abs(gross))
        margin = size * (len(terms) + self.adds + 8) * _unit_roundoff(getcontext().prec)
        before = terms.get(target)
        gross_cap = self.gross_cap
        if gross_cap is not None:
            after = sum_gross + gross
            if before is not None:
                after -= before[0]
            if after + margin > gross_cap:
                return False
        net_cap = self.net_cap
        if net_cap is not None:
            after = (sum_long if is_buy else sum_short) + net
            if before is not None:
                after -= before[1] if is_buy else before[2]
            if abs(after) + margin > net_cap:
                return False
        return True

    def refresh(self, iid: str) -> None:
        """Re-derive one instrument's exposure terms (its book or unit value changed) as
        :meth:`reason` computes them before any order, and the kept sums with them."""
        sum_gross, sum_long, sum_short, size = self.sums
        terms = self.terms
        old = terms.pop(iid, None)
        if old is not None:
            sum_gross -= old[0]
            sum_long -= old[1]
            sum_short -= old[2]
            size -= abs(old[0])
        self.bad.discard(iid)
        book = self.books.by_instrument.get(iid) or EMPTY
        position = book.position
        long_q = position + book.working_buy
        short_q = position - book.working_sell
        if long_q or short_q:
            entry = self.valuation.prices.get(iid)
            unit = self.valuation.unit_at(iid, entry[0]) if entry is not None else None
            if entry is None or unit is None or isinstance(unit, str):
                self.bad.add(iid)
            else:
                long_abs = abs(long_q)
                short_abs = abs(short_q)
                gross = (short_abs if short_abs > long_abs else long_abs) * unit
                long_net = long_q * unit
                short_net = short_q * unit
                terms[iid] = (gross, long_net, short_net, entry[1])
                if len(terms) == 1 or entry[1] < self.oldest:
                    self.oldest = entry[1]
                sum_gross += gross
                sum_long += long_net
                sum_short += short_net
                size += abs(gross)
        self.adds += 8
        if self.adds > _RESUM_AFTER:  # afresh: the rounding of the additions so far goes
            sum_gross = sum_long = sum_short = size = _ZERO
            for gross, long_net, short_net, _ in terms.values():
                sum_gross += gross
                sum_long += long_net
                sum_short += short_net
                size += abs(gross)
            self.adds = len(terms) * 4
            self.size_max = size
        elif size > self.size_max:
            self.size_max = size
        self.sums = (sum_gross, sum_long, sum_short, size)

    def before(
        self, target: str, qty: Decimal, *, is_buy: bool
    ) -> tuple[Decimal, Decimal, Decimal]:
        """Worst-case gross, long net and short net before the order, over the instruments
        :meth:`reason` valued (those not flat after the order: every unit is known,
        it returned otherwise)."""
        books = self.books.by_instrument
        gross = long_net = short_net = _ZERO
        ids: Iterable[str] = books if target in books else (*books, target)
        for iid in ids:
            book = books.get(iid) or EMPTY
            long_q = book.position + book.working_buy
            short_q = book.position - book.working_sell
            if iid == target:
                long_a, short_a = (long_q + qty, short_q) if is_buy else (long_q, short_q - qty)
                if long_a == _ZERO and short_a == _ZERO:
                    continue  # flat after the order: not valued (as in reason)
            elif long_q == _ZERO and short_q == _ZERO:
                continue
            unit = self.valuation.unit(iid)
            assert not isinstance(unit, str)
            gross += max(abs(long_q), abs(short_q)) * unit
            long_net += long_q * unit
            short_net += short_q * unit
        return gross, long_net, short_net

    def exposures(
        self, extra_instrument: str | None, extra: Decimal, *, is_buy: bool
    ) -> tuple[Decimal, Decimal, Decimal] | str:
        gross = net_long = net_short = _ZERO
        books = self.books.by_instrument
        ids: Iterable[str] = (
            books
            if extra_instrument is None or extra_instrument in books
            else (*books, extra_instrument)
        )
        for iid in ids:
            book = books.get(iid) or EMPTY
            long_q = book.worst_long()
            short_q = book.worst_short()
            if iid == extra_instrument:
                if is_buy:
                    long_q += extra
                else:
                    short_q -= extra
            if long_q == _ZERO and short_q == _ZERO:
                continue
            unit = self.valuation.unit(iid)
            if isinstance(unit, str):
                return unit
            gross += max(abs(long_q), abs(short_q)) * unit
            net_long += long_q * unit
            net_short += short_q * unit
        return gross, net_long, net_short
