"""A run's statistics computed without liveexec's code, to test liveexec's against.

Rows are read from the database with plain SQL, prices from the catalog with NautilusTrader's own
``ParquetDataCatalog`` (its objects, exact ``Decimal`` prices), and everything is computed with
plain Python and ``Decimal`` by other means than liveexec's:

* marked-to-market equity by cash flows (starting balance, minus what each fill paid, minus its
  commission, plus the open quantity at the mark), where liveexec replays average open prices;
* equity in a converted currency from NautilusTrader's own account balances (its AccountState
  events) plus the open position valued from the recorded positions table;
* a fill's PnL in another currency from the recorded position it closed (its realized PnL plus
  the commissions of its two fills), where liveexec replays the fills.

This module imports nothing of liveexec (a test checks it).
"""

from __future__ import annotations

import bisect
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from nautilus_trader.persistence.catalog import ParquetDataCatalog
from sqlalchemy import create_engine, text

DAYS = 365  # the annualisation liveexec documents


@dataclass(frozen=True)
class RawFill:
    ts: int
    client_order_id: str
    position_id: str
    instrument_id: str
    side: str
    qty: Decimal
    px: Decimal
    commission: Decimal
    commission_currency: str


@dataclass(frozen=True)
class RawPosition:
    position_id: str
    opening_order_id: str
    closing_order_id: str | None
    instrument_id: str
    side: str
    peak_qty: Decimal
    avg_px_open: Decimal
    realized_pnl: Decimal
    currency: str
    opened_ns: int
    closed_ns: int | None


@dataclass(frozen=True)
class RawRun:
    config: dict[str, Any]
    fills: list[RawFill]
    positions: list[RawPosition]


def _ns(value: Any) -> int:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def read_run(url: str, run_id: str) -> RawRun:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            (config,) = connection.execute(
                text("SELECT config FROM runs WHERE run_id = :r"), {"r": run_id}
            ).one()
            events = connection.execute(
                text(
                    "SELECT payload FROM order_events WHERE run_id = :r "
                    "AND event_type = 'OrderFilled' ORDER BY id"
                ),
                {"r": run_id},
            ).all()
            positions = connection.execute(
                text(
                    "SELECT position_id, opening_order_id, closing_order_id, instrument_id, "
                    "side, peak_qty, avg_px_open, realized_pnl, currency, opened_at, closed_at "
                    "FROM unified_positions WHERE run_id = :r ORDER BY id"
                ),
                {"r": run_id},
            ).all()
            sides = dict(
                connection.execute(
                    text("SELECT client_order_id, side FROM unified_orders WHERE run_id = :r"),
                    {"r": run_id},
                ).all()
            )
    finally:
        engine.dispose()
    fills = []
    for (payload,) in events:
        event = json.loads(payload) if isinstance(payload, str) else payload
        amount, currency = event["commission"].split()
        fills.append(
            RawFill(
                ts=int(event["ts_event"]),
                client_order_id=event["client_order_id"],
                position_id=event["position_id"],
                instrument_id=event["instrument_id"],
                side=event["order_side"],
                qty=Decimal(event["last_qty"]),
                px=Decimal(event["last_px"]),
                commission=Decimal(amount),
                commission_currency=currency,
            )
        )
    fills.sort(key=lambda f: f.ts)  # stable: the event log's order within one time
    raw_positions = [
        RawPosition(
            position_id=row[0],
            opening_order_id=row[1],
            closing_order_id=row[2],
            instrument_id=row[3],
            side=sides[row[1]],  # the opening order's side: BUY opened a long
            peak_qty=Decimal(str(row[5])),
            avg_px_open=Decimal(str(row[6])),
            realized_pnl=Decimal(str(row[7])),
            currency=row[8],
            opened_ns=_ns(row[9]),
            closed_ns=_ns(row[10]) if row[10] is not None else None,
        )
        for row in positions
    ]
    cfg = json.loads(config) if isinstance(config, str) else config
    return RawRun(cfg, fills, raw_positions)


@dataclass(frozen=True)
class Prices:
    """One instrument's prices from NautilusTrader's catalog, by ``ts_init``."""

    times: list[int]
    bids: list[Decimal]
    asks: list[Decimal]

    def at(self, ns: int) -> tuple[Decimal, Decimal]:
        index = bisect.bisect_right(self.times, ns) - 1
        assert index >= 0, "no price yet"
        return self.bids[index], self.asks[index]

    def mid(self, ns: int) -> Decimal:
        bid, ask = self.at(ns)
        return (bid + ask) / 2


def quotes(catalog: str, instrument_id: str) -> Prices:
    ticks = ParquetDataCatalog(catalog).quote_ticks(instrument_ids=[instrument_id])
    return Prices(
        [t.ts_init for t in ticks],
        [t.bid_price.as_decimal() for t in ticks],
        [t.ask_price.as_decimal() for t in ticks],
    )


def bars(catalog: str, bar_type: str) -> Prices:
    found = ParquetDataCatalog(catalog).bars(bar_types=[bar_type])
    closes = [b.close.as_decimal() for b in found]
    return Prices([b.ts_init for b in found], closes, closes)


def day_ends(first: int, last: int) -> list[tuple[date, int]]:
    """Each UTC day of [first, last] with the time its equity is marked: the day's last
    nanosecond, the last day at ``last``."""
    out = []
    day = datetime.fromtimestamp(first / 1e9, tz=UTC).date()
    final = datetime.fromtimestamp(last / 1e9, tz=UTC).date()
    while day <= final:
        next_midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        out.append((day, min(_ns(next_midnight) - 1, last)))
        day += timedelta(days=1)
    return out


def cash_flow_equity(
    run: RawRun, prices: dict[str, Prices], start: Decimal, ends: Sequence[int]
) -> list[Decimal]:
    """Equity at each end by cash flows: what the fills paid and received, their commissions,
    and the open quantity at the mid (for linear instruments settled in the account's
    currency: quote currency = settlement currency, multiplier 1)."""
    out = []
    for end in ends:
        cash = start
        held: dict[str, Decimal] = {}
        for fill in run.fills:
            if fill.ts > end:
                break
            sign = 1 if fill.side == "BUY" else -1
            cash -= sign * fill.qty * fill.px + fill.commission
            held[fill.instrument_id] = held.get(fill.instrument_id, Decimal(0)) + sign * fill.qty
        value = sum(
            (qty * prices[iid].mid(end) for iid, qty in held.items() if qty),
            Decimal(0),
        )
        out.append(cash + value)
    return out


def converted_pnl_per_fill(
    run: RawRun, rates: Prices, target: str, precision: int
) -> tuple[Decimal, Decimal]:
    """(PnL net of fees, fees) in ``target`` of positions settled in the pair's quote currency
    (e.g. JPY of USD/JPY into USD), converted fill by fill as NautilusTrader's account does: a
    sell at 1 / ask, a buy at 1 / bid of the pair's quote at the fill, each amount rounded.
    Each position here is closed by one fill, whose gross PnL is the recorded realized PnL plus
    the commissions of the position's two fills."""
    quantum = Decimal(1).scaleb(-precision)
    by_order = {fill.client_order_id: fill for fill in run.fills}
    total = Decimal(0)
    fees = Decimal(0)

    def rate(fill: RawFill) -> Decimal:
        bid, ask = rates.at(fill.ts)
        return 1 / (ask if fill.side == "SELL" else bid)

    for fill in run.fills:
        if fill.commission_currency == target:
            fee = fill.commission
        else:
            fee = (fill.commission * rate(fill)).quantize(quantum, ROUND_HALF_EVEN)
        fees += fee
        total -= fee
    for position in run.positions:
        if position.currency == target or position.closing_order_id is None:
            if position.currency == target:
                total += position.realized_pnl + sum(
                    f.commission
                    for f in run.fills
                    if f.client_order_id in (position.opening_order_id, position.closing_order_id)
                )
            continue
        opening, closing = by_order[position.opening_order_id], by_order[position.closing_order_id]
        gross = position.realized_pnl + opening.commission + closing.commission
        total += (gross * rate(closing)).quantize(quantum, ROUND_HALF_EVEN)
    return total, fees


def open_value(run: RawRun, instrument_id: str, mark: Decimal, ns: int) -> Decimal:
    """Unrealized PnL (settlement currency) at ``ns`` of the positions open then, from the
    recorded positions (opened and not yet closed; each built by one fill)."""
    value = Decimal(0)
    for p in run.positions:
        if p.instrument_id != instrument_id or p.opened_ns > ns:
            continue
        if p.closed_ns is not None and p.closed_ns <= ns:
            continue
        signed = p.peak_qty if p.side == "BUY" else -p.peak_qty
        value += signed * (mark - p.avg_px_open)
    return value


def returns(equity: Sequence[Decimal], start: Decimal) -> list[float]:
    out = []
    previous = start
    for value in equity:
        out.append(float(value / previous - 1))
        previous = value
    return out


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def stdev(values: Sequence[float]) -> float:
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def sharpe(values: Sequence[float]) -> float:
    return mean(values) / stdev(values) * math.sqrt(DAYS)


def sortino(values: Sequence[float]) -> float:
    downside = math.sqrt(math.fsum(min(v, 0.0) ** 2 for v in values) / len(values))
    return mean(values) / downside * math.sqrt(DAYS)


def volatility(values: Sequence[float]) -> float:
    return stdev(values) * math.sqrt(DAYS)


def drawdown(
    equity: Sequence[Decimal], times: Sequence[int], start: Decimal, start_ns: int
) -> tuple[float, int]:
    """(deepest fall below the running peak as a fraction, longest ns from the last moment at a
    peak to the first moment back at it, or to the end for a fall never recovered)."""
    points = [(start, start_ns), *zip(equity, times, strict=True)]
    deepest = Decimal(0)
    longest = 0
    peak_index = 0
    for i, (value, _ns) in enumerate(points):
        peak = points[peak_index][0]
        if value >= peak:
            peak_index = i
            continue
        deepest = min(deepest, value / peak - 1)
        back = next((j for j in range(i, len(points)) if points[j][0] >= peak), len(points) - 1)
        longest = max(longest, points[back][1] - points[peak_index][1])
    return float(deepest), longest


def cagr(final: Decimal, start: Decimal, first_ns: int, last_ns: int) -> float:
    days = (last_ns - first_ns) / 86_400e9
    return float(final / start) ** (DAYS / days) - 1


def exposure(run: RawRun, first: int, last: int) -> float:
    """The share of [first, last] covered by at least one open position (a sweep over the
    open/close times)."""
    changes: list[tuple[int, int]] = []
    for p in run.positions:
        opened, closed = max(p.opened_ns, first), min(p.closed_ns or last, last)
        if closed > opened:
            changes += [(opened, 1), (closed, -1)]
    covered = 0
    depth = 0
    since = first
    for ns, step in sorted(changes):
        if depth > 0:
            covered += ns - since
        depth += step
        since = ns
    return covered / (last - first)


def monthly(days: Sequence[date], equity: Sequence[Decimal], start: Decimal) -> dict[str, float]:
    """Per 'YYYY-MM': the month's last equity over the previous month's last (or the start)."""
    ends: dict[str, Decimal] = {}
    for day, value in zip(days, equity, strict=True):
        ends[f"{day:%Y-%m}"] = value
    out = {}
    previous = start
    for month, value in ends.items():
        out[month] = float(value / previous - 1)
        previous = value
    return out
