"""Resuming a paper run whose process died (SIGKILL, power loss): its state from the tables.

Semantics: ``liveexec paper CONFIG`` for a trader id whose latest paper run in the database is
``abandoned`` (its owner died; see :func:`liveexec.runs.reap_abandoned`) reopens *that run*
(same ``run_id``, status back to ``running``, ``resumes`` + 1) instead of starting a new one,
unless ``fresh`` is asked. A config with another ``config_id`` is refused (it would resume a
run of a different strategy). The orders keep their rows (``operation_id`` is per run and
client order id), so the run reads as one run, as if it had not been interrupted.

What is restored, before the node starts, from what the recorder committed:

* every order, rebuilt exactly as NautilusTrader's own cache database rebuilds one: its
  ``OrderInitialized`` event through ``OrderUnpacker``, then every later event applied
  (``order_events`` keeps each event's ``to_dict`` payload);
* every position, rebuilt from its fills as ``CacheDatabaseAdapter.load_position`` does (a
  NETTING position reopened after it closed gets a snapshot of the closed one, as the execution
  engine does);
* each account's balances (``account_balances``), sent by the paper venue as its account state
  instead of the starting balances;
* the paper venue's resting orders (``OrderMatchingEngine.accept_order``, the call that puts an
  accepted order back on the matching core without a new event), after its book is primed with
  the last replayed event of each stream before the checkpoint;
* the node's last prices: the same events go through its data engine before the strategies
  start (into the cache; to liveexec's risk gate and the portfolio, subscribed at build), so a
  run resumed with nothing left to replay still prices its strategies' closing orders;
* the denial streaks left open (``denial_streaks``): the risk gate continues counting them, so
  a run halted across the kill records what an uninterrupted run would have;
* the replay position: the checkpoint the recorder committed in the same transaction as the
  rows (``runs.replay_position``); the replay continues with the event after it, and the
  strategies' historical requests are answered from the events before it (warm indicators).

NautilusTrader's own reconciliation (``generate_order_status_reports`` etc.) is not used for
paper: it would rebuild the orders as ``EXTERNAL`` ones from reports (no strategy, no event
history), while the recorded events give back the very order objects.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import nautilus_trader.model.events as nt_events
from nautilus_trader.core.data import Data
from nautilus_trader.model import Position
from nautilus_trader.model.enums import OmsType, OrderStatus
from nautilus_trader.model.events import OrderFilled, OrderInitialized
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import AccountBalance, Currency, Money
from nautilus_trader.model.orders import Order, OrderUnpacker
from sqlalchemy import Engine, func, select, update

from liveexec.config import LiveexecConfig
from liveexec.db import AccountBalance as BalanceRow
from liveexec.db import DenialStreak, OrderEvent, Run, UnifiedOrder, UnifiedPosition
from liveexec.errors import ConfigError, ConfigIssue
from liveexec.runs import HOST, process_start

__all__ = [
    "ResumeState",
    "find_resumable",
    "last_before",
    "load_state",
    "reopen_run",
    "restore_cache",
]

_RUNS = Run.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_EVENTS = OrderEvent.__table__  # type: ignore[attr-defined]
_ORDERS = UnifiedOrder.__table__  # type: ignore[attr-defined]
_POSITIONS = UnifiedPosition.__table__  # type: ignore[attr-defined]
_BALANCES = BalanceRow.__table__  # type: ignore[attr-defined]
_STREAKS = DenialStreak.__table__  # type: ignore[attr-defined]

# Orders resting at the paper venue at a checkpoint: accepted and not yet touched again (a
# partial fill, a trigger or a pending change settles before the next event, see _replay).
RESTORABLE_OPEN = frozenset({OrderStatus.ACCEPTED})


@dataclass
class ResumeState:
    """What a resumed paper run starts from (see the module docstring)."""

    run_id: str
    replay_position: int  # replayed events whose consequences are committed
    last_seq: int  # the run's highest recorder sequence (the recorder continues after it)
    orders: list[Order] = field(default_factory=list)
    # positions in the order they opened; closed NETTING positions reopened: their snapshots
    positions: list[Position] = field(default_factory=list)
    snapshots: list[Position] = field(default_factory=list)
    balances: dict[str, list[AccountBalance]] = field(default_factory=dict)  # by venue name
    # the denial streaks the run left open (their rows; the recorder continues them)
    open_streaks: list[dict[str, Any]] = field(default_factory=list)
    streak_seq: int = 0  # the highest decision number of the run's denial streaks

    def open_orders(self, venue: str) -> list[Order]:
        """The venue's open orders; raises if one is in a state the venue cannot take back."""
        orders = [
            order
            for order in self.orders
            if order.instrument_id.venue.value == venue and order.is_open
        ]
        for order in orders:
            if order.status not in RESTORABLE_OPEN:
                raise RuntimeError(
                    f"cannot resume run {self.run_id}: order {order.client_order_id} is "
                    f"{order.status_string()} at the checkpoint (only accepted orders can be put "
                    "back on the paper venue; emulated or in-flight orders are not supported)"
                )
        return orders


def find_resumable(engine: Engine, cfg: LiveexecConfig, source: str) -> str | None:
    """The run to resume: the trader id's latest paper run, if it was abandoned (else None).

    Raises :class:`ConfigError` if that run has another ``config_id``."""
    query = (
        select(_RUNS.c.run_id, _RUNS.c.status, _RUNS.c.config_id)
        .where(_RUNS.c.trader_id == cfg.trader_id, _RUNS.c.mode == "paper")
        .order_by(_RUNS.c.started_at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None or row.status != "abandoned":
        return None
    for index, venue in enumerate(cfg.venues):
        if venue.oms_type == "HEDGING":
            # The paper venue numbers its position ids from 1 again after a restart: a new
            # HEDGING position would take the id of a restored one.
            raise ConfigError(
                source,
                [
                    ConfigIssue(
                        f"venues[{index}].oms_type",
                        f"the last paper run of trader id {cfg.trader_id!r} ({row.run_id}) died; "
                        "resuming is supported for NETTING venues only",
                        "start a new run with `liveexec paper CONFIG --fresh`",
                    )
                ],
            )
    if row.config_id != cfg.config_id:
        raise ConfigError(
            source,
            [
                ConfigIssue(
                    "config_id",
                    f"the last paper run of trader id {cfg.trader_id!r} ({row.run_id}) died and "
                    f"would be resumed, but it ran config_id {row.config_id[:12]}, not "
                    f"{cfg.config_id[:12]}",
                    "resume it with the same config, or start a new run with "
                    "`liveexec paper CONFIG --fresh`",
                )
            ],
        )
    return str(row.run_id)


def reopen_run(engine: Engine, run_id: str) -> None:
    """The abandoned run is running again, owned by this process."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        done = connection.execute(
            update(_RUNS)
            .where(_RUNS.c.run_id == run_id, _RUNS.c.status == "abandoned")
            .values(
                status="running",
                error=None,
                ended_at=None,
                owner_host=HOST,
                owner_pid=os.getpid(),
                owner_start=process_start(os.getpid()),
                heartbeat_at=now,
                resumes=func.coalesce(_RUNS.c.resumes, 0) + 1,
            )
        )
        if not done.rowcount:
            raise RuntimeError(f"run {run_id} is no longer abandoned: another process resumed it")


def _event(event_type: str, payload: dict[str, Any]) -> Any:  # noqa: ANN401 (a NautilusTrader event)
    cls = getattr(nt_events, event_type, None)
    if cls is None:
        raise RuntimeError(f"cannot rebuild an order from a recorded {event_type!r} event")
    return cls.from_dict(payload)


def load_state(
    engine: Engine, run_id: str, instruments: dict[InstrumentId, Instrument]
) -> ResumeState:
    """The run's committed state, rebuilt into NautilusTrader objects."""
    with engine.connect() as connection:
        run = connection.execute(
            select(_RUNS.c.replay_position).where(_RUNS.c.run_id == run_id)
        ).one()
        events = connection.execute(
            select(_EVENTS.c.client_order_id, _EVENTS.c.event_type, _EVENTS.c.payload)
            .where(_EVENTS.c.run_id == run_id)
            .order_by(_EVENTS.c.id)
        ).all()
        seqs = [
            connection.execute(
                select(func.max(table.c.last_event_seq)).where(table.c.run_id == run_id)
            ).scalar()
            for table in (_ORDERS, _POSITIONS, _BALANCES)
        ]
        streak_seq = connection.execute(
            select(func.max(_STREAKS.c.last_event_seq)).where(_STREAKS.c.run_id == run_id)
        ).scalar()
        open_streaks = [
            dict(row._mapping)
            for row in connection.execute(
                select(_STREAKS).where(_STREAKS.c.run_id == run_id, _STREAKS.c.open.is_(True))
            )
        ]
        balances = connection.execute(
            select(
                _BALANCES.c.account_id,
                _BALANCES.c.currency,
                _BALANCES.c.total,
                _BALANCES.c.locked,
                _BALANCES.c.free,
            )
            .where(_BALANCES.c.run_id == run_id)
            .order_by(_BALANCES.c.account_id, _BALANCES.c.currency)
        ).all()
    state = ResumeState(
        run_id=run_id,
        replay_position=int(run.replay_position or 0),
        last_seq=max((int(s) for s in seqs if s is not None), default=0),
        open_streaks=open_streaks,
        streak_seq=int(streak_seq or 0),
    )
    orders: dict[str, Order] = {}
    fills: list[OrderFilled] = []
    for client_order_id, event_type, payload in events:
        event = _event(event_type, dict(payload))
        if isinstance(event, OrderInitialized):
            if client_order_id in orders:
                raise RuntimeError(f"order {client_order_id} initialized twice in run {run_id}")
            orders[client_order_id] = OrderUnpacker.from_init(event)
            continue
        order = orders.get(client_order_id)
        if order is None:
            raise RuntimeError(f"{event_type} of {client_order_id} before its OrderInitialized")
        order.apply(event)
        if isinstance(event, OrderFilled):
            fills.append(event)
    state.orders = list(orders.values())
    positions: dict[Any, Position] = {}
    for fill in fills:
        position = positions.get(fill.position_id)
        if position is None or position.is_closed:
            if position is not None:
                state.snapshots.append(position)
            positions[fill.position_id] = Position(instruments[fill.instrument_id], fill)
        else:
            position.apply(fill)
    state.positions = list(positions.values())
    by_account: dict[str, list[AccountBalance]] = defaultdict(list)
    for row in balances:
        code = Currency.from_str(row.currency)
        by_account[str(row.account_id).rsplit("-", 1)[0]].append(
            AccountBalance(
                total=Money(Decimal(row.total), code),
                locked=Money(Decimal(row.locked), code),
                free=Money(Decimal(row.free), code),
            )
        )
    state.balances = dict(by_account)
    return state


def restore_cache(cache: Any, state: ResumeState, oms_types: dict[str, OmsType]) -> None:  # noqa: ANN401
    """Put the rebuilt orders and positions into the node's cache (before the node starts: the
    portfolio initializes from the cache when it starts)."""
    for order in state.orders:
        cache.add_order(order)  # no position yet: adding a position indexes its opening order
        cache.update_order(order)
    for snapshot in state.snapshots:
        cache.snapshot_position(snapshot)
    for position in state.positions:
        cache.add_position(position, oms_types[position.instrument_id.venue.value])
        if position.is_closed:
            cache.update_position(position)
    for order in state.orders:
        # The order -> position index, as the execution engine keeps it on each fill.
        if order.position_id is not None and cache.position_id(order.client_order_id) is None:
            cache.add_position_id(
                order.position_id,
                order.instrument_id.venue,
                order.client_order_id,
                order.strategy_id,
            )


def last_before(data: list[Data], position: int) -> list[Data]:
    """The last event of each stream among the first ``position`` events, in replay order:
    what a resumed run primes the paper venue's books with (before the resting orders go back
    on them) and the node's cache, risk gate and portfolio (``ReplayDataClient._prime``)."""
    last: dict[Any, int] = {}
    for index in range(position):
        item = data[index]
        key = (type(item), getattr(item, "bar_type", None) or item.instrument_id)
        last[key] = index
    return [data[index] for index in sorted(last.values())]
