"""The recorder: a NautilusTrader actor that sends every order and position event to the tables.

It is added to the node's trader as an instance (not through an importable config), so the
database URL and any secret never enter NautilusTrader's config or logs. It subscribes on the
message bus as soon as it is attached and stays subscribed until the node is disposed, so it sees
the orders strategies submit when they start and the closing orders they submit when they stop.

Every event is recorded as it comes. An order's state row is built from the cache once for a
group of events (every ``order_flush_every`` events and at :meth:`flush`), not once per event:
the state after the group is what the table keeps anyway, and the engine thread does less work.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.events import OrderEvent, OrderFilled, PositionEvent
from nautilus_trader.model.identifiers import ClientOrderId

from liveexec.recording._buffer import RecordBuffer
from liveexec.recording._convert import event_row, fill_entry, order_row, position_row

__all__ = ["RecorderActor"]

ORDER_TOPIC = "events.order.*"
POSITION_TOPIC = "events.position.*"


class RecorderActor(Actor):  # type: ignore[misc]  # NautilusTrader's Actor is an untyped Cython class
    def __init__(
        self, buffer: RecordBuffer, *, run_id: str, mode: str, order_flush_every: int = 512
    ) -> None:
        super().__init__(ActorConfig(component_id="LiveexecRecorder"))
        self._buffer = buffer
        self._run_id = run_id
        self._mode = mode
        self._fills: dict[str, list[dict[str, Any]]] = {}
        self._dirty: dict[ClientOrderId, int] = {}  # order -> ts_event of its latest event
        self._flush_every = order_flush_every
        self.events_seen = 0

    def attach(self) -> None:
        """Subscribe to every order and position event (call once the actor is registered)."""
        self.msgbus.subscribe(topic=ORDER_TOPIC, handler=self._on_order_event)
        self.msgbus.subscribe(topic=POSITION_TOPIC, handler=self._on_position_event)

    def detach(self) -> None:
        self.msgbus.unsubscribe(topic=ORDER_TOPIC, handler=self._on_order_event)
        self.msgbus.unsubscribe(topic=POSITION_TOPIC, handler=self._on_position_event)

    def flush(self) -> None:
        """Hand the state of every order changed since the last flush to the buffer.

        Call on the engine's thread (in a backtest, after the run: the engine is idle then).
        """
        dirty, self._dirty = self._dirty, {}
        for client_order_id, last_event_ns in dirty.items():
            order = self.cache.order(client_order_id)
            if order is None:  # an order the cache never held
                continue
            fills = self._fills.get(client_order_id.value, [])
            row = order_row(
                order,
                run_id=self._run_id,
                mode=self._mode,
                fills=list(fills),
                last_event_ns=last_event_ns,
            )
            self._buffer.submit("order", row)

    def _on_order_event(self, event: OrderEvent) -> None:
        self.events_seen += 1
        now = datetime.now(UTC)
        self._buffer.submit("event", event_row(event, run_id=self._run_id, recorded_at=now))
        if isinstance(event, OrderFilled):
            self._fills.setdefault(event.client_order_id.value, []).append(fill_entry(event))
        self._dirty[event.client_order_id] = event.ts_event
        if len(self._dirty) >= self._flush_every:
            self.flush()

    def _on_position_event(self, event: PositionEvent) -> None:
        self._buffer.submit("position", position_row(event, run_id=self._run_id))
