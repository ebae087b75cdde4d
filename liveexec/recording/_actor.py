"""The recorder: a NautilusTrader actor that sends every order and position event to the tables.

It is added to the node's trader as an instance (not through an importable config), so the
database URL and any secret never enter NautilusTrader's config or logs. It subscribes on the
message bus as soon as it is attached and stays subscribed until the node is disposed, so it sees
the orders strategies submit when they start and the closing orders they submit when they stop.

Events are grouped: every ``order_flush_every`` changed orders (and at :meth:`flush`) the
events since the last group go to the buffer together with the state rows of the orders they
changed, built once from the cache, and the accounts' balances. The buffer never commits part
of a group, so after a crash at any moment every recorded event has its order's row.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, datetime
from typing import Any, Protocol

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.events import (
    AccountState,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    PositionEvent,
)
from nautilus_trader.model.identifiers import ClientOrderId

from liveexec.recording._buffer import Kind, RecorderError, RowBuffer
from liveexec.recording._convert import (
    balance_rows,
    event_row,
    fill_entry,
    order_row,
    position_row,
)
from liveexec.recording._signals import interrupts_deferred

__all__ = ["DenialCounter", "RecorderActor"]


class DenialCounter(Protocol):
    """What the recorder asks of the risk gate's denial streaks (``liveexec.risk``)."""

    def take(self, client_order_id: str, *, can_skip: bool) -> bool:
        """True: the denied order is only counted; write none of its rows."""
        ...

    def changed_rows(self) -> list[dict[str, Any]]:
        """The ``denial_streaks`` rows changed since the last call."""
        ...


ORDER_TOPIC = "events.order.*"
POSITION_TOPIC = "events.position.*"
ACCOUNT_TOPIC = "events.account.*"


class RecorderActor(Actor):  # type: ignore[misc]  # NautilusTrader's Actor is an untyped Cython class
    def __init__(
        self,
        buffer: RowBuffer,
        *,
        run_id: str,
        mode: str,
        order_flush_every: int = 512,
        risk_approved: Container[str] | None = None,
        first_seq: int = 0,
        denials: DenialCounter | None = None,
    ) -> None:
        """``first_seq``: the run's highest recorded sequence (a resumed run continues it).
        ``denials``: the risk gate's denial streaks (``liveexec.risk``): which denied orders
        are only counted, and the streak rows to write with the next group."""
        super().__init__(ActorConfig(component_id="LiveexecRecorder"))
        self._buffer = buffer
        self._run_id = run_id
        self._mode = mode
        self._fills: dict[str, list[dict[str, Any]]] = {}
        # order -> (ts_event, sequence) of its latest event
        self._dirty: dict[ClientOrderId, tuple[int, int]] = {}
        # Every order, position and account event of the run, numbered as it arrives: with the
        # event time, the order in which states are newest (replays cannot reorder it).
        self._seq = first_seq
        self._flush_every = order_flush_every
        # Client order ids liveexec's risk gate approved (None: no gate in this node).
        self._risk_approved = risk_approved
        # The newest state of each account since the last flush: balances are state, not history.
        self._accounts: dict[str, tuple[AccountState, int]] = {}
        # Since the last flush: order events (order, ts_event, sequence, row, fill entry), and
        # position rows; committed with the order rows they lead to.
        self._events: list[
            tuple[ClientOrderId, int, int, dict[str, Any], dict[str, Any] | None]
        ] = []
        self._group: list[tuple[Kind, dict[str, Any]]] = []
        self.events_seen = 0
        self._denials = denials
        # Orders with no event but their OrderInitialized yet: held back from a flush that is
        # not a checkpoint's (the node idle) or the last, so that a denied order the gate only
        # counts can be left out whole, whenever its OrderDenied arrives (a live node queues it).
        self._fresh: set[ClientOrderId] = set()
        self._skipped: set[ClientOrderId] = set()  # denied orders left out (counted)
        # A failed write inside the message bus would surface as the strategy's error (with
        # NautilusTrader's traceback in the log): it is kept here instead, recording stops, and
        # the run's owner reports it when the node returns (see :meth:`raise_failure`).
        self.failure: RecorderError | None = None

    def on_start(self) -> None:
        """Nothing to start: the recorder subscribes in :meth:`attach`, before the strategies
        start (defined so NautilusTrader does not warn about a missing handler)."""

    def on_stop(self) -> None:
        """Nothing to stop: the run's owner flushes the recorder after the node stops."""

    def attach(self) -> None:
        """Subscribe to every order, position and account event (call once the actor is
        registered)."""
        self.msgbus.subscribe(topic=ORDER_TOPIC, handler=self._on_order_event)
        self.msgbus.subscribe(topic=POSITION_TOPIC, handler=self._on_position_event)
        self.msgbus.subscribe(topic=ACCOUNT_TOPIC, handler=self._on_account_state)

    def detach(self) -> None:
        self.msgbus.unsubscribe(topic=ORDER_TOPIC, handler=self._on_order_event)
        self.msgbus.unsubscribe(topic=POSITION_TOPIC, handler=self._on_position_event)
        self.msgbus.unsubscribe(topic=ACCOUNT_TOPIC, handler=self._on_account_state)

    def flush(self, *, final: bool = False, checkpoint: tuple[int, int] | None = None) -> None:
        """Commit the events since the last flush together with the state they led to: each
        changed order's row and each account's balances (one group: never split by a commit).

        Call on the engine's thread (in a backtest, after the run: the engine is idle then);
        ``final`` at the end of the run, when nothing waits for a later group. ``checkpoint``
        (replayed events, data time of the last): every consequence of those events is in this
        group or an earlier one; it is committed with the group (paper runs resume from it).
        """
        with interrupts_deferred():  # a group goes to the buffer whole, or not at all
            self._flush(final=final, checkpoint=checkpoint)

    def _flush(self, *, final: bool, checkpoint: tuple[int, int] | None = None) -> None:
        events, self._events = self._events, []
        group, self._group = self._group, []
        dirty, self._dirty = self._dirty, {}
        accounts, self._accounts = self._accounts, {}
        if self._skipped:  # denials counted in their streak: none of their rows are written
            events = [item for item in events if item[0] not in self._skipped]
            for client_order_id in self._skipped:
                dirty.pop(client_order_id, None)
            self._skipped.clear()
        # The orders to write are those of the events in this group (an event handler that was
        # interrupted before recording its event may also have marked its order: that order's
        # row is written too, from the cache, which is always whole).
        for client_order_id, ts_event, seq, _row, _fill in events:
            # The latest event by arrival (its sequence), not by time: see _writer._newest.
            dirty[client_order_id] = max(
                dirty.get(client_order_id, (0, 0)), (ts_event, seq), key=lambda m: m[1]
            )
        waiting: set[ClientOrderId] = set()
        orders: dict[ClientOrderId, Any] = {}
        for client_order_id in dirty:
            order = self.cache.order(client_order_id)
            if order is None:
                # OrderInitialized is published before the strategy's order reaches the cache:
                # its events wait for the next group, with the order's row. At the end (a run
                # stopped inside the strategy's submit) such an order never existed: no row, so
                # none of its events either.
                waiting.add(client_order_id)
            elif client_order_id in self._fresh and not final and checkpoint is None:
                waiting.add(client_order_id)  # held back until its next event (see __init__)
            else:
                orders[client_order_id] = order
        for item in events:
            client_order_id, _ts, _seq, row, fill = item
            if client_order_id in waiting:
                if not final:
                    self._events.append(item)
                continue
            group.append(("event", row))
            if fill is not None:
                fills = self._fills.get(client_order_id.value)
                if fills is None:
                    fills = self._fills[client_order_id.value] = _earlier_fills(
                        orders[client_order_id], fill
                    )
                fills.append(fill)
        for client_order_id in waiting:
            moment = dirty.pop(client_order_id)
            if not final:
                self._dirty[client_order_id] = moment
        for client_order_id, order in orders.items():
            last_event_ns, last_event_seq = dirty[client_order_id]
            row = order_row(
                order,
                run_id=self._run_id,
                mode=self._mode,
                fills=list(self._fills.get(client_order_id.value, [])),
                last_event_ns=last_event_ns,
                last_event_seq=last_event_seq,
                risk_approved=self._risk_approved is not None
                and client_order_id.value in self._risk_approved,
            )
            group.append(("order", row))
            if order.is_closed:
                # Its row now carries every fill: the list is dropped, so the recorder's memory
                # holds the working orders only, however long the node runs.
                self._fills.pop(client_order_id.value, None)
        for state, seq in accounts.values():
            group.extend(
                ("balance", row) for row in balance_rows(state, run_id=self._run_id, seq=seq)
            )
        if self._denials is not None:
            group.extend(("denial_streak", row) for row in self._denials.changed_rows())
        if final or checkpoint is not None:
            self._fresh.clear()  # written (or, at the end, never to be)
        if checkpoint is not None and not self._events:  # nothing of them waits for later
            position, ts_ns = checkpoint
            group.append(
                (
                    "checkpoint",
                    {"run_id": self._run_id, "replay_position": position, "replay_ts_ns": ts_ns},
                )
            )
        self._buffer.submit_group(group)

    def _on_order_event(self, event: OrderEvent) -> None:
        self.events_seen += 1
        if self.failure is not None:
            return  # recording stopped; the run will be marked failed
        try:
            self._record_order_event(event)
        except RecorderError as exc:
            self.failure = exc
        except Exception as exc:  # never into NautilusTrader's message bus: the run fails
            self.failure = RecorderError(f"recording {type(event).__name__} failed: {exc!r}")

    def _record_order_event(self, event: OrderEvent) -> None:
        row = event_row(event, run_id=self._run_id, recorded_at=datetime.now(UTC))
        fill = fill_entry(event) if isinstance(event, OrderFilled) else None
        self._seq += 1
        # One append records everything about the event (its row, its fill, its place in the
        # run): a Ctrl-C between two statements here cannot leave a fill without its event.
        client_order_id = event.client_order_id
        self._events.append((client_order_id, event.ts_event, self._seq, row, fill))
        self._dirty[client_order_id] = (event.ts_event, self._seq)
        if isinstance(event, OrderInitialized):
            self._fresh.add(client_order_id)
        else:
            fresh = client_order_id in self._fresh
            self._fresh.discard(client_order_id)
            if (
                isinstance(event, OrderDenied)
                and self._denials is not None
                and self._denials.take(client_order_id.value, can_skip=fresh)
            ):
                self._skipped.add(client_order_id)
        if len(self._dirty) >= self._flush_every:
            self.flush()

    def raise_failure(self) -> None:
        """Raise the write failure that stopped recording during the run, if any."""
        if self.failure is not None:
            raise self.failure

    def _on_position_event(self, event: PositionEvent) -> None:
        if self.failure is not None:
            return
        try:
            row = position_row(event, run_id=self._run_id, seq=self._seq + 1)
        except Exception as exc:  # never into NautilusTrader's message bus: the run fails
            self.failure = RecorderError(f"recording {type(event).__name__} failed: {exc!r}")
            return
        self._seq += 1
        self._group.append(("position", row))

    def _on_account_state(self, event: AccountState) -> None:
        if self.failure is not None:
            return
        self._seq += 1
        self._accounts[event.account_id.value] = (event, self._seq)


def _earlier_fills(order: Any, fill: dict[str, Any]) -> list[dict[str, Any]]:  # noqa: ANN401
    """The fills an order had before ``fill``, when the recorder holds no list for it: none for
    a new order; for an order whose list was dropped when it closed (a fill can still come after
    a cancel on a real venue), its earlier fills, from the cached order's events."""
    earlier: list[dict[str, Any]] = []
    for event in order.events:
        if isinstance(event, OrderFilled):
            if event.trade_id.value == fill["trade_id"]:
                break
            earlier.append(fill_entry(event))
    return earlier
