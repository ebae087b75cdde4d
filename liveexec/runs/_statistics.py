"""The statistics a quant expects of a run, from its recorded fills and positions and the prices
of the data it ran on.

Definitions (each is also in :class:`Statistics`'s docstring):

* Money is in the *reporting currency* (:func:`reporting_currency`, or the one asked for): the
  account's base currency, else the one currency the positions settle in, else the first
  currency of the account's starting balances. PnL and fees in another currency are converted
  fill by fill as NautilusTrader's account converts them, at the run's own prices: the currency
  pairs' quotes (or BID/ASK bars) at the fill, bid side for a sell and ask side for a buy (JPY
  to USD for a sell of USD/JPY is 1 / ask), each amount rounded to the reporting currency's
  precision. On a single-currency account the totals therefore equal the venue's balance.
  Without a rate (no catalog, no pair) money stays in the positions' currency, if they have
  one, and :attr:`Statistics.notes` says why.
* Equity is marked to market at each UTC day's end: the realized balance plus the open
  positions valued at the mid of their instrument's last quote (or the last bar's close, or the
  last trade) at or before the day's end, converted at the mid rate of that moment.
* Daily returns are taken on every UTC calendar day of the run's data window (a day without a
  price change returns 0) and annualised with 365 days: right for markets that trade every day,
  and for a market closed at weekends the same as trading-day returns with 252 days (the zero
  weekend returns lower the mean and the deviation alike).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from liveexec.runs._format import currency_precision, format_value, round_money
from liveexec.runs._prices import MarketData, PriceSeries

__all__ = [
    "DAYS_PER_YEAR",
    "STATISTIC_FIELDS",
    "MarkedEquity",
    "Statistics",
    "compute_statistics",
    "marked_equity",
]

DAYS_PER_YEAR = 365
_ZERO = Decimal(0)
_DAY_NS = 86_400_000_000_000
MONEY = pl.Decimal(36, 18)
_MONEY_SCALE = Decimal(1).scaleb(-18)

# What the mapping view of :class:`Statistics` holds, in display order: (key, label, kind).
STATISTIC_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("starting_balance", "starting balance", "money"),
    ("total_pnl", "total PnL (realized, net of fees)", "money"),
    ("total_return", "total return", "percent"),
    ("cagr", "CAGR", "percent"),
    ("volatility", "volatility (annualised)", "percent"),
    ("sharpe", "Sharpe (annualised)", "ratio"),
    ("sortino", "Sortino (annualised)", "ratio"),
    ("calmar", "Calmar", "ratio"),
    ("max_drawdown", "max drawdown", "percent"),
    ("max_drawdown_duration", "max drawdown duration", "duration"),
    ("exposure", "exposure time", "percent"),
    ("trades", "trades (closed positions)", "count"),
    ("win_rate", "win rate", "percent"),
    ("profit_factor", "profit factor", "ratio"),
    ("avg_win", "average win", "money"),
    ("avg_loss", "average loss", "money"),
    ("avg_trade_duration", "average trade duration", "duration"),
    ("fees", "fees paid", "money"),
    ("funding", "funding paid", "money"),
    ("unrealized_pnl", "unrealized PnL at the end", "money"),
    ("benchmark_return", "buy & hold return", "percent"),
    ("benchmark_cagr", "buy & hold CAGR", "percent"),
    ("benchmark_sharpe", "buy & hold Sharpe", "ratio"),
    ("benchmark_max_drawdown", "buy & hold max drawdown", "percent"),
)
_FLAT_NAMES = {
    "max_drawdown_duration": "max_drawdown_duration_s",
    "avg_trade_duration": "avg_trade_duration_s",
}
_DAILY_SCHEMA = pl.Schema(
    {
        "date": pl.Date(),
        "realized": MONEY,
        "unrealized": MONEY,
        "equity": MONEY,
        "return": pl.Float64(),
    }
)
_MONTHLY_SCHEMA = pl.Schema(
    {"month": pl.Date(), "start": MONEY, "end": MONEY, "pnl": MONEY, "return": pl.Float64()}
)
_BENCHMARK_SCHEMA = pl.Schema(
    {
        "instrument_id": pl.String(),
        "price_source": pl.String(),
        "first": MONEY,
        "last": MONEY,
        "return": pl.Float64(),
        "cagr": pl.Float64(),
        "volatility": pl.Float64(),
        "sharpe": pl.Float64(),
        "max_drawdown": pl.Float64(),
    }
)
_POSITIONS_SCHEMA = pl.Schema(
    {
        "position_id": pl.String(),
        "opening_order_id": pl.String(),
        "instrument_id": pl.String(),
        "status": pl.String(),
        "realized_pnl": MONEY,
        "currency": pl.String(),
        "pnl": MONEY,
    }
)


def _empty(schema: pl.Schema) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


@dataclass(frozen=True, eq=False)
class Statistics(Mapping[str, float | int | None]):
    """A run's performance statistics: exact typed attributes, and a flat mapping of numbers.

    As a mapping (``stats["sharpe"]``, ``stats.items()``) every value is a float, an int or
    None: money as float in :attr:`currency`, durations in seconds (``*_s`` keys), fractions as
    fractions. The attributes keep money as ``Decimal`` and durations as ``timedelta``.

    Definitions (see the module's docstring for currency, marks and returns):

    * ``starting_balance``: the account's starting balance in :attr:`currency` (balances in
      other currencies are not counted, as NautilusTrader's ``PnL%`` takes each currency).
    * ``total_pnl``: realized PnL of all positions net of their fees (what the venue's balance
      gained: NautilusTrader's ``PnL (total)``); ``total_return``: it over ``starting_balance``
      (NautilusTrader's ``PnL% (total)`` / 100). ``unrealized_pnl``: positions still open at the
      end, marked at the last price (in the equity curve, not in ``total_pnl``).
    * ``cagr``: (ending equity / starting balance) ^ (365 / days of the data window) - 1; None
      for a window under a day. ``volatility``: sample standard deviation (n - 1) of the daily
      returns x sqrt(365). ``sharpe``: mean / standard deviation x sqrt(365), no risk-free rate.
      ``sortino``: mean / sqrt(sum of squared negative returns / all returns) x sqrt(365).
      ``calmar``: CAGR / |max drawdown|.
    * ``max_drawdown``: the deepest fall of daily marked equity below its running peak (starting
      balance included), a negative fraction; ``max_drawdown_duration``: the longest time from
      a peak until equity is back at it (or until the end, if never).
    * ``exposure``: the share of the data window with at least one position open.
    * ``trades``: closed positions. ``win_rate``: those with positive realized PnL (in their
      own currency, as NautilusTrader counts) over all; ``profit_factor``: gross wins over gross
      losses; ``avg_win`` / ``avg_loss``: mean PnL of winning / losing positions;
      ``avg_trade_duration``: mean time from open to close.
    * ``fees``: commissions paid; ``funding``: funding paid (0 in backtests and paper runs:
      NautilusTrader's simulated venues charge none; None for live runs, whose funding the
      tables do not record).
    * ``benchmark_*``: buying the traded instrument at its first price in the window and
      holding it to the last (its price return in its quote currency, before fees), with the
      same definitions on its daily marks; set when one instrument traded. ``benchmark`` has a
      row per traded instrument (per instrument with prices when none traded).

    Frames: ``daily`` (per UTC day: realized balance, open positions' value, equity, return),
    ``monthly`` (per calendar month: equity at its start and end, PnL, return), ``positions``
    (each position's PnL in :attr:`currency`, ``pnl``, beside its own ``realized_pnl``).
    ``start`` / ``end``: the data window (the run's first and last price); ``notes``: how
    amounts were converted, and why a statistic is None.
    """

    currency: str | None
    starting_balance: Decimal | None = None
    total_pnl: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    ending_equity: Decimal | None = None
    total_return: float | None = None
    cagr: float | None = None
    volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    max_drawdown: float | None = None
    max_drawdown_duration: timedelta | None = None
    exposure: float | None = None
    trades: int = 0
    win_rate: float | None = None
    profit_factor: float | None = None
    avg_win: Decimal | None = None
    avg_loss: Decimal | None = None
    avg_trade_duration: timedelta | None = None
    fees: Decimal | None = None
    funding: Decimal | None = None
    benchmark_return: float | None = None
    benchmark_cagr: float | None = None
    benchmark_sharpe: float | None = None
    benchmark_max_drawdown: float | None = None
    start: datetime | None = None
    end: datetime | None = None
    marked_to_market: bool = False
    daily: pl.DataFrame = field(default_factory=lambda: _empty(_DAILY_SCHEMA))
    monthly: pl.DataFrame = field(default_factory=lambda: _empty(_MONTHLY_SCHEMA))
    benchmark: pl.DataFrame = field(default_factory=lambda: _empty(_BENCHMARK_SCHEMA))
    positions: pl.DataFrame = field(default_factory=lambda: _empty(_POSITIONS_SCHEMA))
    notes: tuple[str, ...] = ()

    # --- the mapping view (floats and ints: what thresholds and JSON take) -------------------

    def _flat(self) -> dict[str, float | int | None]:
        flat: dict[str, float | int | None] = {}
        for name, _label, _kind in STATISTIC_FIELDS:
            value = getattr(self, name)
            key = _FLAT_NAMES.get(name, name)
            if isinstance(value, Decimal):
                flat[key] = float(value)
            elif isinstance(value, timedelta):
                flat[key] = value.total_seconds()
            else:
                flat[key] = value
        return flat

    def __getitem__(self, key: str) -> float | int | None:
        return self._flat()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._flat())

    def __len__(self) -> int:
        return len(STATISTIC_FIELDS)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self._flat().items() if v is not None)
        return f"Statistics(currency={self.currency!r}, {shown})"

    def formatted(self) -> list[tuple[str, str]]:
        """(label, text) per statistic, as people read them: money in its currency's precision
        with the currency named, fractions as percentages, ratios with two decimals,
        durations in days, hours and minutes."""
        return [
            (label, format_value(getattr(self, name), kind, self.currency))
            for name, label, kind in STATISTIC_FIELDS
        ]

    @property
    def days(self) -> float | None:
        """Length of the data window in days."""
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).total_seconds() / 86_400


# --- instruments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Instrument:
    instrument_id: str
    settlement: str | None  # None: taken from the positions
    base: str | None
    quote: str | None
    multiplier: Decimal
    inverse: bool
    gives_rates: bool  # a currency pair or perpetual: NautilusTrader's exchange rates use it

    @property
    def venue(self) -> str:
        return self.instrument_id.rsplit(".", 1)[-1]


def _instruments(config: Mapping[str, Any]) -> dict[str, _Instrument]:
    found: dict[str, _Instrument] = {}
    for spec in config.get("instruments") or []:
        kind = spec.get("kind")
        if kind == "provided":
            continue
        iid = str(spec["id"])
        if kind == "currency_pair":
            found[iid] = _Instrument(
                iid, spec["quote_currency"], spec["base_currency"], spec["quote_currency"],
                Decimal(1), inverse=False, gives_rates=True,
            )  # fmt: skip
        elif kind == "crypto_perpetual":
            inverse = bool(spec.get("is_inverse"))
            settlement = spec["base_currency"] if inverse else spec["settlement_currency"]
            found[iid] = _Instrument(
                iid, settlement, spec["base_currency"], spec["quote_currency"],
                Decimal(1), inverse=inverse, gives_rates=True,
            )  # fmt: skip
        else:  # futures_contract, equity
            found[iid] = _Instrument(
                iid, spec.get("currency"), None, spec.get("currency"),
                Decimal(str(spec.get("multiplier", 1))), inverse=False, gives_rates=False,
            )  # fmt: skip
    return found


def _instrument(known: dict[str, _Instrument], iid: str) -> _Instrument:
    # An instrument provided by the catalog or the venue: linear, multiplier 1 (the replay
    # is checked against the recorded positions, which tells when this does not hold).
    return known.get(iid) or _Instrument(iid, None, None, None, Decimal(1), False, False)


# --- exchange rates ---------------------------------------------------------------------------


class _Rates:
    """Exchange rates from the run's prices, by NautilusTrader's rule: along currency pairs at
    one venue, a pair's bid (BID), ask (ASK) or mid (MID) from base to quote, and 1 / its ask,
    1 / its bid or 1 / its mid from quote to base."""

    def __init__(self, instruments: dict[str, _Instrument], market: MarketData | None) -> None:
        self._edges: dict[str, list[tuple[str, str, PriceSeries, bool]]] = {}
        self._paths: dict[tuple[str, str, str], list[tuple[PriceSeries, bool]] | None] = {}
        series = market.series if market is not None else {}
        for info in instruments.values():
            if not info.gives_rates or info.base is None or info.quote is None:
                continue
            prices = series.get(info.instrument_id)
            if prices is None:
                continue
            edges = self._edges.setdefault(info.venue, [])
            edges.append((info.base, info.quote, prices, False))
            edges.append((info.quote, info.base, prices, True))

    def _path(self, venue: str, source: str, target: str) -> list[tuple[PriceSeries, bool]] | None:
        """The shortest chain of pairs from ``source`` to ``target`` (found once per triple)."""
        key = (venue, source, target)
        if key not in self._paths:
            self._paths[key] = self._search(venue, source, target)
        return self._paths[key]

    def _search(
        self, venue: str, source: str, target: str
    ) -> list[tuple[PriceSeries, bool]] | None:
        edges = self._edges.get(venue, [])
        queue: list[tuple[str, list[tuple[PriceSeries, bool]]]] = [(source, [])]
        seen = {source}
        while queue:
            currency, path = queue.pop(0)
            for start, end, prices, inverted in edges:
                if start != currency or end in seen:
                    continue
                step = [*path, (prices, inverted)]
                if end == target:
                    return step
                seen.add(end)
                queue.append((end, step))
        return None

    def rate(self, venue: str, source: str, target: str, side: str, ns: int) -> Decimal | None:
        """One unit of ``source`` in ``target`` at ``ns``; ``side`` BID, ASK or MID."""
        if source == target:
            return Decimal(1)
        path = self._path(venue, source, target)
        if path is None:
            return None
        rate = Decimal(1)
        for prices, inverted in path:
            sides = prices.bid_ask(ns)
            if sides is None:
                return None
            bid, ask = sides
            if side == "MID":
                price = (bid + ask) / 2
            elif side == "BID":
                price = ask if inverted else bid
            else:
                price = bid if inverted else ask
            rate *= 1 / price if inverted else price
        return rate


# --- the fill ledger: NautilusTrader's position arithmetic replayed ---------------------------


@dataclass
class _Book:
    """One open position cycle."""

    instrument: _Instrument
    cycle: tuple[str, str]  # (position id, opening order id)
    qty: Decimal = _ZERO  # signed
    avg: Decimal = _ZERO


@dataclass
class _Fill:
    ts: int
    instrument: _Instrument
    side: str
    cycles: list[tuple[str, str]]  # the cycles it traded: two for a flip (closed, opened)
    split: Decimal  # the share of the fill (and its commission) in the first cycle
    pnl: Decimal  # realized by this fill, in the settlement currency (before commission)
    commission: Decimal
    commission_currency: str
    key: str  # the position it traded
    after: _Book | None  # that position once the fill is applied (None: flat)


def _pnl(info: _Instrument, avg: Decimal, price: Decimal, qty: Decimal, long: bool) -> Decimal:
    if info.inverse:
        value = qty * info.multiplier * (1 / avg - 1 / price)
    else:
        value = qty * info.multiplier * (price - avg)
    return value if long else -value


def _replay(
    fills: pl.DataFrame, known: dict[str, _Instrument], settlement: dict[str, str]
) -> list[_Fill]:
    """Each fill's realized PnL, position by position, as NautilusTrader's ``Position``
    computes it: the average open price of increasing fills, PnL on the reducing quantity, a
    fill beyond flat opening the next cycle at its price (its commission split by quantity)."""
    books: dict[str, _Book] = {}
    ledger: list[_Fill] = []
    columns = (
        "instrument_id", "strategy_id", "position_id", "client_order_id", "side", "last_qty",
        "last_px", "commission", "ts_event",
    )  # fmt: skip
    for (
        iid,
        strategy_id,
        position_id,
        order_id,
        side,
        quantity,
        price,
        commission,
        ts,
    ) in fills.select(columns).iter_rows():
        info = _instrument(known, iid)
        if info.settlement is None and iid in settlement:
            info = _Instrument(iid, settlement[iid], None, None, info.multiplier, False, False)
        key = str(position_id or f"{iid}-{strategy_id}")
        amount, _, currency = str(commission).partition(" ")
        sign = 1 if side == "BUY" else -1
        book = books.get(key)
        pnl = _ZERO
        split = Decimal(1)
        if book is None or book.qty == 0:
            book = _Book(info, (key, order_id), sign * quantity, price)
            cycles = [book.cycle]
        elif (book.qty > 0) == (sign > 0):
            size = abs(book.qty)
            book.avg = (book.avg * size + price * quantity) / (size + quantity)
            book.qty += sign * quantity
            cycles = [book.cycle]
        else:
            closing = min(quantity, abs(book.qty))
            pnl = _pnl(info, book.avg, price, closing, book.qty > 0)
            book.qty += sign * closing
            cycles = [book.cycle]
            rest = quantity - closing
            if book.qty == 0 and rest > 0:  # a flip: the rest opens the next cycle
                split = closing / quantity
                book = _Book(info, (key, order_id), sign * rest, price)
                cycles.append(book.cycle)
        books[key] = book
        ledger.append(
            _Fill(
                ts=ts,
                instrument=info,
                side=side,
                cycles=cycles,
                split=split,
                pnl=pnl,
                commission=Decimal(amount) if amount else _ZERO,
                commission_currency=currency or (info.settlement or ""),
                key=key,
                after=_Book(info, book.cycle, book.qty, book.avg) if book.qty else None,
            )
        )
    return ledger


def _shares(fill: _Fill, amount: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """``amount`` (a commission) between a flip's closed and opened cycle, as NautilusTrader's
    execution engine splits the fill's commission (by quantity, rounded to the currency)."""
    if len(fill.cycles) == 1:
        return amount, _ZERO
    first = round_money(amount * fill.split, currency)
    return first, amount - first


def _reconcile(ledger: list[_Fill], positions: pl.DataFrame) -> Decimal:
    """Make each cycle's replayed PnL (net of commissions in its currency) equal the recorded
    ``realized_pnl``: NautilusTrader computes in floats and rounds each fill's PnL to the
    currency, so a residual of a few units of the last digit goes to the cycle's last fill.
    Returns the largest residual relative to the cycle's gross PnL (a large one means the
    replay does not model the instrument, e.g. a multiplier the config does not give)."""
    recorded = {
        (position_id, opening): (pnl, currency)
        for position_id, opening, pnl, currency in positions.select(
            "position_id", "opening_order_id", "realized_pnl", "currency"
        ).iter_rows()
    }
    replayed: dict[tuple[str, str], Decimal] = {}
    gross: dict[tuple[str, str], Decimal] = {}
    last: dict[tuple[str, str], _Fill] = {}
    for fill in ledger:
        cycle = fill.cycles[0]
        currency = recorded.get(cycle, (None, fill.instrument.settlement))[1]
        own = fill.commission if fill.commission_currency == currency else _ZERO
        first, second = _shares(fill, own, fill.commission_currency)
        replayed[cycle] = replayed.get(cycle, _ZERO) + fill.pnl - first
        gross[cycle] = gross.get(cycle, _ZERO) + abs(fill.pnl) + first
        last[cycle] = fill
        for opened in fill.cycles[1:]:
            replayed[opened] = replayed.get(opened, _ZERO) - second
            gross[opened] = gross.get(opened, _ZERO) + second
    worst = _ZERO
    for cycle, value in replayed.items():
        if cycle not in recorded:
            continue
        residual = recorded[cycle][0] - value
        if residual:
            last[cycle].pnl += residual
            worst = max(worst, abs(residual) / max(gross[cycle], Decimal(1)))
    return worst


# --- equity -----------------------------------------------------------------------------------


@dataclass
class _Converted:
    """The ledger in the reporting currency."""

    deltas: list[Decimal]  # realized change of the balance at each fill (PnL - fees)
    fees: Decimal
    per_cycle: dict[tuple[str, str], Decimal]
    missing: str | None  # why a conversion was impossible


def _convert(ledger: list[_Fill], currency: str, rates: _Rates) -> _Converted:
    """Each fill's PnL and commission in ``currency``, as NautilusTrader's account converts them
    (``AccountsManager._update_balance_single_currency``): each at the rate of the fill's side,
    rounded to the currency."""
    deltas: list[Decimal] = []
    fees = _ZERO
    per_cycle: dict[tuple[str, str], Decimal] = {}
    for fill in ledger:
        venue = fill.instrument.venue
        side = "BID" if fill.side == "SELL" else "ASK"
        settlement = fill.instrument.settlement or currency
        pnl = fill.pnl
        if pnl and settlement != currency:
            rate = rates.rate(venue, settlement, currency, side, fill.ts)
            if rate is None:
                return _Converted([], _ZERO, {}, f"no {settlement}/{currency} rate")
            pnl = round_money(pnl * rate, currency)
        commission = fill.commission
        source = fill.commission_currency
        if commission and source != currency:
            rate = rates.rate(venue, source, currency, side, fill.ts)
            if rate is None:
                return _Converted([], _ZERO, {}, f"no {source}/{currency} rate")
            commission = round_money(commission * rate, currency)
        deltas.append(pnl - commission)
        fees += commission
        first, second = _shares(fill, commission, currency)
        cycle = fill.cycles[0]
        per_cycle[cycle] = per_cycle.get(cycle, _ZERO) + pnl - first
        for opened in fill.cycles[1:]:
            per_cycle[opened] = per_cycle.get(opened, _ZERO) - second
    return _Converted(deltas, fees, per_cycle, None)


def _unrealized(book: _Book, mark: Decimal) -> Decimal:
    return _pnl(book.instrument, book.avg, mark, abs(book.qty), book.qty > 0)


@dataclass
class _Curve:
    days: list[date]
    ends: list[int]  # ns of each day's mark
    realized: list[Decimal]
    unrealized: list[Decimal]
    marked: bool
    problem: str | None


def _day_ends(start_ns: int, end_ns: int) -> tuple[list[date], list[int]]:
    first = datetime.fromtimestamp(start_ns // 1_000_000_000, tz=UTC).date()
    last = datetime.fromtimestamp(end_ns // 1_000_000_000, tz=UTC).date()
    days: list[date] = []
    ends: list[int] = []
    day = first
    while day <= last:
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        ends.append(min(int(midnight.timestamp()) * 1_000_000_000 - 1, end_ns))
        days.append(day)
        day += timedelta(days=1)
    return days, ends


def _marks(
    ledger: list[_Fill],
    deltas: list[Decimal],
    *,
    currency: str,
    rates: _Rates,
    market: MarketData | None,
    ends: Sequence[int],
) -> tuple[list[Decimal], list[Decimal], bool, str | None]:
    """Realized balance change and open positions' value at each of ``ends`` (UNIX ns,
    ascending): (realized, unrealized, marked, why not marked). Unmarked: unrealized all 0."""
    realized: list[Decimal] = []
    unrealized: list[Decimal] = []
    books: dict[str, _Book] = {}
    position = 0
    balance = _ZERO
    marked = True
    problem: str | None = None
    for end in ends:
        while position < len(ledger) and ledger[position].ts <= end:
            fill = ledger[position]
            balance += deltas[position]
            if fill.after is None:
                books.pop(fill.key, None)
            else:
                books[fill.key] = fill.after
            position += 1
        realized.append(balance)
        value = _ZERO
        for book in books.values() if marked else ():
            series = market.series.get(book.instrument.instrument_id) if market else None
            mark = series.mark(end) if series is not None else None
            settlement = book.instrument.settlement or currency
            rate = rates.rate(book.instrument.venue, settlement, currency, "MID", end)
            if mark is None or rate is None:
                marked = False
                problem = (
                    f"no {book.instrument.instrument_id} price"
                    if mark is None
                    else f"no {settlement}/{currency} rate"
                )
                break
            value += _unrealized(book, mark) * rate
        unrealized.append(value.quantize(_MONEY_SCALE) if marked else _ZERO)
    if not marked:
        unrealized = [_ZERO] * len(realized)
    return realized, unrealized, marked, problem


def _curve(
    ledger: list[_Fill],
    deltas: list[Decimal],
    *,
    currency: str,
    rates: _Rates,
    market: MarketData | None,
    window: tuple[int, int],
) -> _Curve:
    """Realized balance change and open positions' value at each UTC day's end."""
    days, ends = _day_ends(*window)
    realized, unrealized, marked, problem = _marks(
        ledger, deltas, currency=currency, rates=rates, market=market, ends=ends
    )
    return _Curve(days, ends, realized, unrealized, marked, problem)


# --- return statistics ------------------------------------------------------------------------


def _returns(values: Sequence[float], start: float) -> list[float]:
    previous = start
    out = []
    for value in values:
        out.append(value / previous - 1 if previous else 0.0)
        previous = value
    return out


def _volatility(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    mean = sum(returns) / len(returns)
    variance = sum((r - mean) ** 2 for r in returns) / (len(returns) - 1)
    return math.sqrt(variance) * math.sqrt(DAYS_PER_YEAR)


def _sharpe(returns: Sequence[float]) -> float | None:
    deviation = _volatility(returns)
    if deviation is None or deviation == 0:
        return None
    return sum(returns) / len(returns) * DAYS_PER_YEAR / deviation


def _sortino(returns: Sequence[float]) -> float | None:
    if len(returns) < 2:
        return None
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    if downside == 0:
        return None
    return sum(returns) / len(returns) / downside * math.sqrt(DAYS_PER_YEAR)


def _drawdown(
    values: Sequence[float], times: Sequence[int], start: float, start_ns: int
) -> tuple[float, timedelta]:
    """Deepest fall below the running peak (a negative fraction, 0 without one) and the longest
    time from the last moment at a peak until equity is back at it (or until the last time)."""
    peak, peak_ns = start, start_ns
    deepest = 0.0
    longest = 0
    under = False
    for value, ns in zip(values, times, strict=True):
        if value >= peak:
            if under:
                longest = max(longest, ns - peak_ns)
                under = False
            peak, peak_ns = value, ns
        else:
            under = True
            deepest = min(deepest, value / peak - 1)
    if under and times:
        longest = max(longest, times[-1] - peak_ns)
    return deepest, timedelta(microseconds=longest // 1_000)


def _cagr(ratio: float, days: float) -> float | None:
    if days < 1 or ratio <= 0:
        return None
    return float(ratio ** (DAYS_PER_YEAR / days) - 1)


# --- the whole computation ---------------------------------------------------------------------


def starting_balances(config: Mapping[str, Any]) -> dict[str, Decimal]:
    """Per currency, the starting balances of the config's simulated venues."""
    balances: dict[str, Decimal] = {}
    for venue in config.get("venues") or []:
        for text in venue.get("starting_balances") or []:
            amount, code = str(text).split()
            balances[code] = balances.get(code, _ZERO) + Decimal(amount)
    return balances


def reporting_currency(config: Mapping[str, Any], positions: pl.DataFrame) -> str | None:
    """The account's base currency (a single-currency account); else the one currency the
    positions settle in; else the first currency of the first venue's starting balances (a
    multi-currency account whose positions settle in several: list the main currency first).
    None when none of these names one."""
    bases = {v.get("base_currency") for v in config.get("venues") or [] if v.get("base_currency")}
    if len(bases) == 1:
        return str(next(iter(bases)))
    settled = (
        set(positions.get_column("currency").unique().to_list()) if positions.height else set()
    )
    if len(settled) == 1:
        return str(next(iter(settled)))
    for venue in config.get("venues") or []:
        for text in venue.get("starting_balances") or []:
            return str(text).split()[1]
    return None


def _exposure(positions: pl.DataFrame, start_ns: int, end_ns: int) -> float | None:
    if end_ns <= start_ns:
        return None
    spans: list[tuple[int, int]] = []
    times = positions.select(
        pl.col("opened_at").dt.epoch("ns"), pl.col("closed_at").dt.epoch("ns")
    ).iter_rows()
    for opened, closed in times:
        first = max(opened, start_ns)
        last = min(closed if closed is not None else end_ns, end_ns)
        if last > first:
            spans.append((first, last))
    covered = 0
    current: tuple[int, int] | None = None
    for first, last in sorted(spans):
        if current is None or first > current[1]:
            if current is not None:
                covered += current[1] - current[0]
            current = (first, last)
        else:
            current = (current[0], max(current[1], last))
    if current is not None:
        covered += current[1] - current[0]
    return covered / (end_ns - start_ns)


def _ns_of(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _benchmark(
    market: MarketData | None, instruments: Sequence[str], ends: list[int]
) -> pl.DataFrame:
    """Buy and hold, per traded instrument: bought at its first price in the window, marked at
    each day's end like the run's equity."""
    rows: list[dict[str, Any]] = []
    for iid in instruments:
        series = market.series.get(iid) if market is not None else None
        if series is None or not ends:
            continue
        first = series.mark(series.first_ns)
        marks = [series.mark(end) for end in ends]
        if not first or None in marks:
            continue
        values = [float(m / first) for m in marks if m is not None]
        returns = _returns(values, 1.0)
        deepest, _ = _drawdown(values, ends, 1.0, series.first_ns)
        rows.append(
            {
                "instrument_id": iid,
                "price_source": series.source,
                "first": first,
                "last": marks[-1],
                "return": values[-1] - 1,
                "cagr": _cagr(values[-1], (ends[-1] - series.first_ns) / _DAY_NS),
                "volatility": _volatility(returns),
                "sharpe": _sharpe(returns),
                "max_drawdown": deepest,
            }
        )
    return pl.DataFrame(rows, schema=_BENCHMARK_SCHEMA) if rows else _empty(_BENCHMARK_SCHEMA)


def _monthly(daily: pl.DataFrame, start: Decimal) -> pl.DataFrame:
    """Per calendar month: equity at its start and end (the last day's mark), PnL, return."""
    rows = []
    previous = start
    months = daily.group_by(pl.col("date").dt.truncate("1mo").alias("month"), maintain_order=True)
    for (month,), frame in months:
        end = frame.get_column("equity").to_list()[-1]
        rows.append(
            {
                "month": month,
                "start": previous,
                "end": end,
                "pnl": end - previous,
                "return": float(end / previous - 1) if previous else None,
            }
        )
        previous = end
    return pl.DataFrame(rows, schema=_MONTHLY_SCHEMA) if rows else _empty(_MONTHLY_SCHEMA)


def _trade_statistics(positions: pl.DataFrame) -> dict[str, Any]:
    """What the positions alone say: count, win rate (by the sign of the PnL in its own
    currency, as NautilusTrader's ``WinRate``) and mean holding time."""
    closed = positions.filter(pl.col("status") == "CLOSED")
    wins = closed.filter(pl.col("realized_pnl") > 0).height
    held = [c - o for o, c in closed.select("opened_at", "closed_at").iter_rows()]
    return {
        "trades": closed.height,
        "win_rate": wins / closed.height if closed.height else None,
        "avg_trade_duration": sum(held, timedelta()) / len(held) if held else None,
    }


def _funding(
    config: Mapping[str, Any], mode: str, traded: Sequence[str], notes: list[str]
) -> Decimal | None:
    kinds = {str(spec.get("id")): spec.get("kind") for spec in config.get("instruments") or []}
    # Perpetuals pay funding; an instrument the config does not define may be one.
    perpetual = any(kinds.get(iid) in ("crypto_perpetual", None) for iid in traded)
    if not perpetual:
        return _ZERO
    if mode == "live":
        notes.append("funding: a live venue's funding payments are not recorded (they are in PnL)")
        return None
    notes.append("funding: 0, NautilusTrader's simulated venues charge no funding")
    return _ZERO


def _money_statistics(
    positions: pl.DataFrame, converted: _Converted, start: Decimal | None
) -> tuple[dict[str, Any], pl.DataFrame]:
    """Totals, and per position its PnL in the reporting currency (``pnl``)."""
    frame = positions.select(
        "position_id", "opening_order_id", "instrument_id", "status", "realized_pnl", "currency"
    ).with_columns(
        pl.Series(
            "pnl",
            [
                converted.per_cycle.get((p, o), r)
                for p, o, r in positions.select(
                    "position_id", "opening_order_id", "realized_pnl"
                ).iter_rows()
            ],
            MONEY,
        )
    )
    closed = frame.filter(pl.col("status") == "CLOSED").select("pnl", "realized_pnl")
    wins = [pnl for pnl, own in closed.iter_rows() if own > 0]
    losses = [pnl for pnl, own in closed.iter_rows() if own < 0]
    gross_loss = -sum(losses, _ZERO)
    return {
        "starting_balance": start,
        "total_pnl": sum(converted.deltas, _ZERO),
        "fees": converted.fees,
        "avg_win": sum(wins, _ZERO) / len(wins) if wins else None,
        "avg_loss": sum(losses, _ZERO) / len(losses) if losses else None,
        "profit_factor": float(sum(wins, _ZERO) / gross_loss) if gross_loss else None,
    }, frame


def _span(
    market: MarketData | None, window: tuple[datetime, datetime] | None, ledger: list[_Fill]
) -> tuple[int, int] | None:
    """The data window: the run's data, else the one given, else the fills' span; stretched to
    hold every fill (so the last day's equity holds the whole realized PnL)."""
    if market is not None and market.start_ns is not None and market.end_ns is not None:
        span = (market.start_ns, market.end_ns)
    elif window is not None:
        span = (_ns_of(window[0]), _ns_of(window[1]))
    elif ledger:
        span = (ledger[0].ts, ledger[-1].ts)
    else:
        return None
    if ledger:
        span = (min(span[0], ledger[0].ts), max(span[1], ledger[-1].ts))
    return span


def _return_statistics(curve: _Curve, start: Decimal, span: tuple[int, int]) -> dict[str, Any]:
    equity = [start + r + u for r, u in zip(curve.realized, curve.unrealized, strict=True)]
    values = [float(e) for e in equity]
    returns = _returns(values, float(start))
    deepest, longest = _drawdown(values, curve.ends, float(start), span[0])
    cagr = _cagr(values[-1] / float(start), (span[1] - span[0]) / _DAY_NS)
    daily = pl.DataFrame(
        {
            "date": curve.days,
            "realized": [start + r for r in curve.realized],
            "unrealized": curve.unrealized,
            "equity": equity,
            "return": returns,
        },
        schema=_DAILY_SCHEMA,
    )
    return {
        "unrealized_pnl": curve.unrealized[-1] if curve.marked else None,
        "ending_equity": equity[-1],
        "cagr": cagr,
        "volatility": _volatility(returns),
        "sharpe": _sharpe(returns),
        "sortino": _sortino(returns),
        "max_drawdown": deepest,
        "max_drawdown_duration": longest,
        "calmar": cagr / -deepest if cagr is not None and deepest < 0 else None,
        "daily": daily,
        "monthly": _monthly(daily, start),
    }


def _conversion_note(ledger: list[_Fill], reporting: str) -> str | None:
    foreign = {f.instrument.settlement for f in ledger} | {
        f.commission_currency for f in ledger if f.commission
    }
    foreign -= {None, reporting}
    if not foreign:
        return None
    return (
        f"{', '.join(sorted(c for c in foreign if c))} converted to {reporting} fill by fill at "
        "the run's own prices, as NautilusTrader's account converts them: the pair's quote at "
        "the fill, bid side for a sell, ask side for a buy (e.g. 1 / ask of USD/JPY for JPY to "
        f"USD), rounded to {currency_precision(reporting)} decimals; open positions are marked "
        "at the mid rate"
    )


def compute_statistics(
    positions: pl.DataFrame,
    fills: pl.DataFrame,
    config: Mapping[str, Any],
    *,
    mode: str = "backtest",
    market: MarketData | None = None,
    currency: str | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> Statistics:
    """The statistics of a run from its ``positions`` and ``fills`` (as :class:`RunResult`
    holds them: fills with ``instrument_id``, ``strategy_id`` and ``position_id``, in the
    order they happened), its recorded ``config`` and the prices of its data (``market``).

    ``currency`` is the reporting currency (default: see :func:`reporting_currency`).
    ``window`` is the span of the data when ``market`` does not give it (e.g. a live run).
    What could not be computed is None, and :attr:`Statistics.notes` says why.
    """
    notes: list[str] = list(market.problems) if market is not None else []
    known = _instruments(config)
    settlement = dict(positions.select("instrument_id", "currency").unique().iter_rows())
    traded = sorted(set(fills.get_column("instrument_id").to_list())) if fills.height else []
    found: dict[str, Any] = {
        **_trade_statistics(positions),
        "funding": _funding(config, mode, traded, notes),
    }

    rates = _Rates(known, market)
    ledger = _replay(fills, known, settlement)
    modelled = _reconcile(ledger, positions) <= Decimal("0.001")
    reporting = currency or reporting_currency(config, positions)
    converted = _convert(ledger, reporting, rates) if reporting is not None else None
    if reporting is not None and converted is not None and converted.missing is not None:
        notes.append(f"PnL not converted to {reporting}: {converted.missing} in the run's data")
        currencies = set(settlement.values())
        reporting = currencies.pop() if len(currencies) == 1 else None
        converted = _convert(ledger, reporting, rates) if reporting is not None else None
    if reporting is None or converted is None:
        notes.append("money statistics need one currency: the positions settle in several")
        return Statistics(currency=None, notes=tuple(dict.fromkeys(notes)), **found)
    if (note := _conversion_note(ledger, reporting)) is not None:
        notes.append(note)
    start = starting_balances(config).get(reporting)
    money, per_position = _money_statistics(positions, converted, start)
    found.update(money, positions=per_position)

    span = _span(market, window, ledger)
    if span is None or span[1] < span[0]:
        notes.append("no data window: the return statistics need one")
        return Statistics(currency=reporting, notes=tuple(dict.fromkeys(notes)), **found)
    curve = _curve(
        ledger,
        converted.deltas,
        currency=reporting,
        rates=rates,
        market=market if modelled else None,
        window=span,
    )
    if not modelled:
        notes.append(
            "the fills do not add up to the recorded positions' PnL (an instrument the config "
            "does not define?): equity is realized only"
        )
    elif not curve.marked:
        notes.append(f"equity is realized only: {curve.problem} to mark open positions")
    # The traded instruments; without a trade, those the run had prices of.
    held = traded or (sorted(market.series) if market is not None else [])
    benchmark = _benchmark(market, held, curve.ends)
    found.update(
        start=_datetime(span[0]),
        end=_datetime(span[1]),
        exposure=_exposure(positions, *span),
        marked_to_market=curve.marked,
        benchmark=benchmark,
    )
    if benchmark.height == 1:
        row = benchmark.row(0, named=True)
        found.update(
            benchmark_return=row["return"],
            benchmark_cagr=row["cagr"],
            benchmark_sharpe=row["sharpe"],
            benchmark_max_drawdown=row["max_drawdown"],
        )
    if start is None or start <= 0:
        notes.append(f"no starting balance in {reporting}: the return statistics need one")
    else:
        found.update(
            _return_statistics(curve, start, span), total_return=float(found["total_pnl"] / start)
        )
    return Statistics(currency=reporting, notes=tuple(dict.fromkeys(notes)), **found)


@dataclass(frozen=True)
class MarkedEquity:
    """Equity at chosen times (finer than the statistics' daily marks, e.g. for a chart):
    ``frame`` has ``time`` (UTC), ``realized`` (starting balance + realized PnL net of fees),
    ``unrealized`` (open positions at the mid) and ``equity``, as floats in ``currency``.
    ``marked`` False: equity is realized only, ``problem`` says why."""

    currency: str | None
    frame: pl.DataFrame
    marked: bool
    problem: str | None


_MARKED_SCHEMA = pl.Schema(
    {
        "time": pl.Datetime("ns", "UTC"),
        "realized": pl.Float64(),
        "unrealized": pl.Float64(),
        "equity": pl.Float64(),
    }
)


def marked_equity(
    positions: pl.DataFrame,
    fills: pl.DataFrame,
    config: Mapping[str, Any],
    times: Sequence[int],
    *,
    market: MarketData | None,
    currency: str | None = None,
) -> MarkedEquity:
    """The run's equity at each of ``times`` (UNIX ns, ascending), marked to market at the
    run's prices as :func:`compute_statistics` marks its daily equity (the same replay of the
    fills, the same conversion into ``currency``, default the reporting currency)."""
    known = _instruments(config)
    settlement = dict(positions.select("instrument_id", "currency").unique().iter_rows())
    rates = _Rates(known, market)
    ledger = _replay(fills, known, settlement)
    modelled = _reconcile(ledger, positions) <= Decimal("0.001")
    reporting = currency or reporting_currency(config, positions)
    start = starting_balances(config).get(reporting) if reporting is not None else None
    converted = _convert(ledger, reporting, rates) if reporting is not None else None
    if reporting is None or converted is None or converted.missing is not None or start is None:
        why = (
            converted.missing
            if converted is not None and converted.missing is not None
            else "no single reporting currency with a starting balance"
        )
        return MarkedEquity(reporting, _empty(_MARKED_SCHEMA), False, why)
    realized, unrealized, marked, problem = _marks(
        ledger,
        converted.deltas,
        currency=reporting,
        rates=rates,
        market=market if modelled else None,
        ends=list(times),
    )
    if not modelled:
        marked, problem = False, "the fills do not add up to the recorded positions' PnL"
    frame = pl.DataFrame(
        {
            "time": pl.Series(list(times), dtype=pl.Int64).cast(pl.Datetime("ns", "UTC")),
            "realized": [float(start + r) for r in realized],
            "unrealized": [float(u) for u in unrealized],
            "equity": [float(start + r + u) for r, u in zip(realized, unrealized, strict=True)],
        },
        schema=_MARKED_SCHEMA,
    )
    return MarkedEquity(reporting, frame, marked, problem)


def _datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1_000
    )
