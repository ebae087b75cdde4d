"""The database-wide exposure check (``risk.database_exposure``): gross and net exposure of
every trader sharing the database, in the reporting currency.

Other traders' part: the working orders (leaves quantity, per side) and open positions (net
quantity) of their *running* paper/live runs, per instrument, in one statement (one snapshot).
On PostgreSQL it sums ``run_exposure`` (migration 0009: per run and instrument, kept by
triggers in the same transaction as the order and position rows) over the running runs, a few
rows each; on SQLite it reads the rows themselves (partial indexes of migration 0007) and Python
sums them exactly. Backtests never count, nor this trader's own rows. :class:`ExposureWatcher`
runs it at start and then every ``refresh_interval_s`` of wall time on a thread of its own, so
no database call sits in the order path; an order is denied while the last successful read is
older than ``max_staleness_s``, counted from the read's start (fail closed, as
:class:`~liveexec.risk.HaltWatcher`), or when no read has finished yet (a database that hangs
at start does not hang the start: it is waited for ``max_staleness_s`` at most).

This trader's part: the gate's in-memory books (:class:`~liveexec.risk.RiskModel`), current to
the order. Per instrument, everyone's position and working buys/sells are netted together and
the worst case is taken as the model does for one trader (long: position + working buys,
short: position - working sells); each instrument is valued at the gate's last price (an
instrument only others hold and this gate has no price for denies the order: fail closed).
An order is denied only when the figure after it is above the limit and above the figure
before it, so an order that reduces exposure never is.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, Engine, text
from sqlalchemy.sql.elements import TextClause

from liveexec.db import WORKING_STATUSES, PeriodicThread
from liveexec.risk._model import RiskModel
from liveexec.risk._state_store import plain_decimal
from liveexec.risk._types import OrderIntent

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "DatabaseExposureCheck",
    "DatabaseExposureLimits",
    "ExposureWatcher",
    "OtherBooks",
    "books_from_rows",
    "combined_exposure_reason",
    "exposure_statement",
    "order_rows_statement",
    "read_other_exposure",
]

_ZERO = Decimal(0)
_MODES = ("paper", "live")
# instrument id -> (net position, working buys, working sells) of the other traders
OtherBooks = Mapping[str, tuple[Decimal, Decimal, Decimal]]


@dataclass(frozen=True, slots=True)
class DatabaseExposureLimits:
    max_gross: Decimal | None
    max_net: Decimal | None
    modes: tuple[str, ...] = _MODES
    refresh_interval_s: float = 0.25
    max_staleness_s: float = 2.0


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _check_modes(modes: tuple[str, ...]) -> None:
    unknown = set(modes) - set(_MODES)
    if unknown:  # the config allows only these: a programming error
        raise ValueError(f"modes {sorted(unknown)} cannot count (only {_MODES})")


def _running_others(modes: tuple[str, ...]) -> str:
    return f"r.status = 'running' AND r.mode IN ({_quoted(modes)}) AND r.trader_id <> :me"


@functools.cache  # one per dialect and modes: built once, not at every read
def exposure_statement(dialect: str, modes: tuple[str, ...]) -> TextClause:
    """The one statement (one snapshot of the database) reading the other traders' books:
    rows of (instrument, net position, working buys, working sells). Modes and statuses are
    literals, as in the indexes' predicates, so the planner can match them whatever plan it
    caches; only the trader id is a parameter. PostgreSQL: the running runs' ids
    (``ix_runs_running``), then their ``run_exposure`` rows in one scan of its primary key,
    summed exactly (``numeric``).
    SQLite: :func:`order_rows_statement` (its rows are summed in Python)."""
    if dialect != "postgresql":
        return order_rows_statement(dialect, modes)
    _check_modes(modes)
    # One bitmap scan of run_exposure's key for the running runs all together (= ANY of their
    # ids): each heap page is visited once, however the triggers' updates spread a run's rows
    # over the pages (measured, 38 runs of 50 instruments: 71 heap blocks instead of 857 with
    # a probe per run, statement p50 0.90 vs 1.34 ms). Rows of ended runs (positions they left
    # open) grow with the history and are never read: only the running runs' keys are.
    # trim_scale: the sums without their 18 decimals' trailing zeros, as plain_decimal would
    # make them (~0.15 ms of Python per read saved).
    return text(
        "SELECT e.instrument_id, trim_scale(sum(e.net_qty)), trim_scale(sum(e.working_buys)), "
        "trim_scale(sum(e.working_sells)) FROM run_exposure e WHERE e.run_id = ANY (ARRAY("
        f"SELECT r.run_id FROM runs r WHERE {_running_others(modes)})) GROUP BY e.instrument_id"
    )


@functools.cache
def order_rows_statement(dialect: str, modes: tuple[str, ...]) -> TextClause:
    """The same books from the order and position rows themselves (partial indexes of migration
    0007): rows of (instrument, side or ``POSITION``, quantity[, filled]). PostgreSQL sums them
    per instrument and side (``numeric``); SQLite keeps the money columns as text (its ``sum``
    would be a float), so there the rows come back and Python sums them. SQLite's check reads
    this; on PostgreSQL it is what ``run_exposure`` is proven and measured against."""
    _check_modes(modes)
    runs = (
        "FROM runs r JOIN {table} {alias} ON {alias}.run_id = r.run_id "
        f"WHERE {_running_others(modes)} "
    )
    orders = runs.format(table="unified_orders", alias="o") + (
        f"AND o.status IN ({_quoted(WORKING_STATUSES)})"
    )
    positions = runs.format(table="unified_positions", alias="p") + "AND p.status = 'OPEN'"
    if dialect == "postgresql":
        return text(
            "SELECT o.instrument_id, o.side, sum(o.quantity - o.filled_qty) "
            f"{orders} GROUP BY o.instrument_id, o.side "
            "UNION ALL "
            f"SELECT p.instrument_id, 'POSITION', sum(p.net_qty) {positions} "
            "GROUP BY p.instrument_id"
        )
    return text(
        f"SELECT o.instrument_id, o.side, o.quantity, o.filled_qty {orders} "
        "UNION ALL "
        f"SELECT p.instrument_id, 'POSITION', p.net_qty, '0' {positions}"
    )


def books_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Per instrument (net position, working buys, working sells) from the rows of
    :func:`order_rows_statement`, summed exactly."""
    sums: dict[tuple[str, str], Decimal] = {}
    for row in rows:
        quantity = Decimal(row[2]) if len(row) == 3 else Decimal(row[2]) - Decimal(row[3])
        key = (str(row[0]), str(row[1]))
        sums[key] = sums.get(key, _ZERO) + quantity
    books: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    for iid in {iid for iid, _ in sums}:
        books[iid] = (
            plain_decimal(sums.get((iid, "POSITION"), _ZERO)),
            plain_decimal(sums.get((iid, "BUY"), _ZERO)),
            plain_decimal(sums.get((iid, "SELL"), _ZERO)),
        )
    return books


def read_other_exposure(
    database: Engine | Connection, trader_id: str, modes: tuple[str, ...] = _MODES
) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """Per instrument: (net position, working buys, working sells) of every trader but
    ``trader_id`` in its running runs of ``modes`` (through ``database``: an engine, or a
    connection kept open by the caller)."""
    if isinstance(database, Engine):
        with database.connect() as connection:
            return read_other_exposure(connection, trader_id, modes)
    dialect = database.dialect.name
    if dialect == "postgresql":
        return _read_postgresql(database, trader_id, modes)
    statement = exposure_statement(dialect, modes)
    return books_from_rows(database.execute(statement, {"me": trader_id}).all())


@functools.cache
def _driver_sql(modes: tuple[str, ...]) -> str:
    """:func:`exposure_statement` for PostgreSQL in psycopg's own parameter style."""
    return str(exposure_statement("postgresql", modes)).replace(":me", "%(me)s")


def _read_postgresql(
    connection: Connection, trader_id: str, modes: tuple[str, ...]
) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    """The PostgreSQL read through psycopg itself, prepared on the server (its plan kept by
    the session): the rows are ~50 tuples of text and ``Decimal`` that psycopg already makes,
    so SQLAlchemy's statement and result handling is only overhead here (~0.1 ms and the
    objects of a result per read, measured in ``benchmarks/risk_cross_trader.py``)."""
    driver = cast("psycopg.Connection[Any]", connection.connection.dbapi_connection)
    with driver.cursor() as cursor:
        cursor.execute(_driver_sql(modes), {"me": trader_id}, prepare=True)
        return {iid: (net, buys, sells) for iid, net, buys, sells in cursor.fetchall()}


class ExposureWatcher:
    """Reads the other traders' exposure every ``interval_s`` seconds on a daemon thread.

    :meth:`current` never touches the database: it returns the last read's books and their
    age in seconds, or why there are none to use (not read yet, or no read succeeded for
    ``max_staleness_s``: fail closed).
    """

    def __init__(
        self,
        engine: Engine,
        trader_id: str,
        *,
        modes: tuple[str, ...] = _MODES,
        interval_s: float = 0.25,
        max_staleness_s: float = 2.0,
    ) -> None:
        self._engine = engine
        self._trader_id = trader_id
        self._modes = modes
        self._max_staleness = max_staleness_s
        self._loop = PeriodicThread(
            self._poll_and_signal,
            interval_s,
            f"liveexec-exposure-{trader_id}",
            first_at_start=True,  # the read at start runs on the thread: start() waits for it
            on_exit=self._close,  # the thread's connection, closed by the thread
        )
        self._first_done = threading.Event()
        # (books, monotonic time of the read): replaced whole, read whole (no lock needed)
        self._snapshot: tuple[OtherBooks, float] | None = None
        self._error = "not read yet"
        # One connection of the thread's own, in autocommit: no pool checkout, ping or
        # transaction per read (measured: ~3 ms of the ~4 ms a read cost through the pool).
        self._connection: Connection | None = None
        self.reads = 0

    def poll_once(self) -> None:
        began = time.monotonic()  # the data is as old as the statement's snapshot, taken now
        try:
            if self._connection is None:
                self._connection = self._engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            books = read_other_exposure(self._connection, self._trader_id, self._modes)
        except Exception as exc:  # any driver failure: fail closed, say why, keep polling
            self._error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            self._close()
            return
        self._snapshot = (books, began)
        self.reads += 1

    def _poll_and_signal(self) -> None:
        try:
            self.poll_once()
        finally:
            self._first_done.set()

    def current(self) -> tuple[OtherBooks, float] | str:
        snapshot = self._snapshot
        if snapshot is None:
            return f"other traders' exposure not read yet ({self._error}; fail closed)"
        age = time.monotonic() - snapshot[1]
        if age > self._max_staleness:
            return (
                f"other traders' exposure last read {age:.2f} s ago, over max_staleness_s "
                f"{self._max_staleness:g} ({self._error}; fail closed)"
            )
        return snapshot[0], age

    def start(self) -> None:
        """Reads the others' exposure before any order, waiting for it ``max_staleness_s`` at
        most: a database that does not answer by then leaves the check failing closed (it
        keeps trying on the thread) instead of hanging the node's start."""
        self._first_done.clear()
        self._loop.start()
        if not self._first_done.wait(self._max_staleness):
            self._error = (
                f"the first read has not finished after max_staleness_s {self._max_staleness:g}"
            )

    def stop(self) -> None:
        # A thread still inside a read (a hung database) closes its connection itself when the
        # read returns: closing it from here could break a call in progress on it.
        if self._loop.stop():
            self._close()

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()  # a broken one must not go back to the pool
                connection.close()
            except Exception as exc:  # already broken: say so, a new one is opened next read
                self._error += f"; closing it: {type(exc).__name__}"


def combined_exposure_reason(
    limits: DatabaseExposureLimits,
    model: RiskModel,
    order: OrderIntent,
    others: OtherBooks,
    *,
    snapshot_age_s: float = 0.0,
) -> str | None:
    """Why ``order`` breaks a database-wide limit, or None: everyone's books per instrument
    (the model's own plus ``others``), the order added on its side, valued at the model's last
    prices; denied only if the figure after the order is above the limit and above the one
    before it. Call after ``model.check`` approved the order (the model's clock is the
    order's)."""
    target = order.instrument_id
    add = model.added(order)  # a one-cancels-other member adds only its excess
    is_buy = order.is_buy
    gross_before = net_before = _ZERO
    target_terms = (_ZERO, _ZERO, _ZERO, _ZERO)  # the target's gross and net, before / after
    for iid in sorted({*model.instruments, *others, target}):
        position, buys, sells = model.instrument_book(iid)
        other = others.get(iid)
        if other is not None:
            position, buys, sells = position + other[0], buys + other[1], sells + other[2]
        long_q, short_q = position + buys, position - sells
        if iid == target:
            long_a, short_a = (long_q + add, short_q) if is_buy else (long_q, short_q - add)
            if long_a == _ZERO and short_a == _ZERO and long_q == _ZERO and short_q == _ZERO:
                continue
        elif long_q == _ZERO and short_q == _ZERO:
            continue
        unit = model.unit_value(iid)  # the model's valuation in the reporting currency
        if isinstance(unit, str):
            return f"database_exposure: {unit}"
        gross = max(abs(long_q), abs(short_q)) * unit
        net = (long_q if is_buy else short_q) * unit
        gross_before += gross
        net_before += net
        if iid == target:
            target_terms = (
                gross,
                net,
                max(abs(long_a), abs(short_a)) * unit,
                (long_a if is_buy else short_a) * unit,
            )
    # Only the target's terms change with the order.
    gross_after = gross_before - target_terms[0] + target_terms[2]
    net_after = net_before - target_terms[1] + target_terms[3]
    currency = model.reporting_currency or ""
    scope = (
        f"(this trader and the other traders' running {'/'.join(limits.modes)} runs, read "
        f"{snapshot_age_s:.2f} s ago)"
    )
    if (
        limits.max_gross is not None
        and gross_after > limits.max_gross
        and gross_after > gross_before
    ):
        return (
            f"database_exposure.max_gross {limits.max_gross} {currency} {scope}: worst-case "
            f"gross exposure {gross_after} {currency}"
        )
    if (
        limits.max_net is not None
        and abs(net_after) > limits.max_net
        and abs(net_after) > abs(net_before)
    ):
        return (
            f"database_exposure.max_net {limits.max_net} {currency} {scope}: worst-case net "
            f"exposure {net_after} {currency}"
        )
    return None


class DatabaseExposureCheck:
    """What the gate calls: :meth:`start` / :meth:`stop` with the node, :meth:`reason` for an
    order that passed the gate's own checks and does not only reduce."""

    def __init__(
        self, limits: DatabaseExposureLimits, engine: Engine | None, trader_id: str
    ) -> None:
        self.limits = limits
        self.watcher = (
            ExposureWatcher(
                engine,
                trader_id,
                modes=limits.modes,
                interval_s=limits.refresh_interval_s,
                max_staleness_s=limits.max_staleness_s,
            )
            if engine is not None
            else None
        )

    def start(self) -> None:
        if self.watcher is not None:
            self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()

    def reason(self, model: RiskModel, order: OrderIntent) -> str | None:
        if self.watcher is None:
            return "database_exposure: the run has no database to read (fail closed)"
        current = self.watcher.current()
        if isinstance(current, str):
            return f"database_exposure: {current}"
        others, age = current
        return combined_exposure_reason(self.limits, model, order, others, snapshot_age_s=age)
