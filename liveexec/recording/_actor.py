"""The recorder: a NautilusTrader actor that sends every order and position event to the tables.

It is added to the node's trader as an instance (not through an importable config), so the
database URL and any secret never enter NautilusTrader's config or logs. It subscribes on the
message bus as soon as it is attached and stays subscribed until the node is disposed, so it sees
the orders strategies submit when they start and the closing orders they submit when they stop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.events import OrderEvent, OrderFilled, PositionEvent

from liveexec.recording._buffer import RecordBuffer
from liveexec.recording._convert import event_row, fill_entry, order_row, position_row

__all__ = ["RecorderActor"]

ORDER_TOPIC = "events.order.*"
POSITION_TOPIC = "events.position.*"


class RecorderActor(Actor):  # type: ignore[misc]  # NautilusTrader's Actor is an untyped Cython class
    def __init__(self, buffer: RecordBuffer, *, run_id: str, mode: str) -> None:
        super().__init__(ActorConfig(component_id="LiveexecRecorder"))
        self._buffer = buffer
        self._run_id = run_id
        self._mode = mode
        self._fills: dict[str, list[dict[str, Any]]] = {}
        self.events_seen = 0

    def attach(self) -> None:
        """Subscribe to every order and position event (call once the actor is registered)."""
        self.msgbus.subscribe(topic=ORDER_TOPIC, handler=self._on_order_event)
        self.msgbus.subscribe(topic=POSITION_TOPIC, handler=self._on_position_event)

    def detach(self) -> None:
        self.msgbus.unsubscribe(topic=ORDER_TOPIC, handler=self._on_order_event)
        self.msgbus.unsubscribe(topic=POSITION_TOPIC, handler=self._on_position_event)

    def _on_order_event(self, event: OrderEvent) -> None:
        self.events_seen += 1
        now = datetime.now(UTC)
        self._buffer.submit("event", event_row(event, run_id=self._run_id, recorded_at=now))
        key = event.client_order_id.value
        fills = self._fills.setdefault(key, [])
        if isinstance(event, OrderFilled):
            fills.append(fill_entry(event))
        order = self.cache.order(event.client_order_id)
        if order is None:  # e.g. a denied order never reached the cache
            return
        row = order_row(
            order,
            run_id=self._run_id,
            mode=self._mode,
            fills=list(fills),
            last_event_ns=event.ts_event,
        )
        self._buffer.submit("order", row)

    def _on_position_event(self, event: PositionEvent) -> None:
        self._buffer.submit("position", position_row(event, run_id=self._run_id))
