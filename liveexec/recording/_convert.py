"""NautilusTrader orders, events and positions as rows of liveexec's tables."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import (
    PositionSide,
    account_type_to_str,
    order_side_to_str,
    order_status_to_str,
    order_type_to_str,
    position_side_to_str,
    time_in_force_to_str,
)
from nautilus_trader.model.events import (
    AccountState,
    OrderDenied,
    OrderEvent,
    OrderFilled,
    PositionEvent,
)
from nautilus_trader.model.orders import Order

__all__ = [
    "balance_rows",
    "event_row",
    "fill_entry",
    "ns_to_datetime",
    "operation_id",
    "order_row",
    "position_row",
]

_NAMESPACE = uuid.UUID("6f1b3c1e-5d0a-4b8e-9a51-2f7c8e4d9b60")
_MAX_DECIMALS = Decimal(10) ** -18


@functools.lru_cache(maxsize=1 << 16)  # computed per event otherwise
def operation_id(run_id: str, client_order_id: str) -> str:
    """Deterministic, so replaying a run's events upserts the same rows."""
    return str(uuid.uuid5(_NAMESPACE, f"{run_id}/{client_order_id}"))


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // 1_000_000_000, tz=UTC).replace(
        microsecond=(ns % 1_000_000_000) // 1000
    )


def _float_decimal(value: float) -> Decimal:
    """A float price (NautilusTrader's averages) as its shortest decimal, 18 places at most."""
    number = Decimal(repr(value))
    exponent = number.as_tuple().exponent
    return (
        number.quantize(_MAX_DECIMALS) if isinstance(exponent, int) and exponent < -18 else number
    )


def fill_entry(event: OrderFilled) -> dict[str, Any]:
    return {
        "trade_id": event.trade_id.value,
        "last_qty": str(event.last_qty),
        "last_px": str(event.last_px),
        "commission": str(event.commission),
        "liquidity_side": event.liquidity_side.name,
        "ts_event": event.ts_event,
    }


def order_row(
    order: Order,
    *,
    run_id: str,
    mode: str,
    fills: list[dict[str, Any]],
    last_event_ns: int,
    last_event_seq: int,
    risk_approved: bool = False,
) -> dict[str, Any]:
    """``risk_approved``: liveexec's risk gate approved the order (a denial, by the gate or
    by NautilusTrader's risk engine after it, is the order's ``OrderDenied``)."""
    price = getattr(order, "price", None)
    denied = order.last_event if isinstance(order.last_event, OrderDenied) else None
    trigger = getattr(order, "trigger_price", None)
    commissions: dict[str, Decimal] = {}
    for money in order.commissions():
        code = money.currency.code
        commissions[code] = commissions.get(code, Decimal(0)) + money.as_decimal()
    return {
        "operation_id": operation_id(run_id, order.client_order_id.value),
        "run_id": run_id,
        "trader_id": order.trader_id.value,
        "strategy_id": order.strategy_id.value,
        "mode": mode,
        "instrument_id": order.instrument_id.value,
        "venue": order.instrument_id.venue.value,
        "client_order_id": order.client_order_id.value,
        "venue_order_id": order.venue_order_id.value if order.venue_order_id else None,
        "parent_order_id": order.parent_order_id.value if order.parent_order_id else None,
        "exec_spawn_id": order.exec_spawn_id.value if order.exec_spawn_id else None,
        "exec_algorithm_id": order.exec_algorithm_id.value if order.exec_algorithm_id else None,
        "side": order_side_to_str(order.side),
        "order_type": order_type_to_str(order.order_type),
        "time_in_force": time_in_force_to_str(order.time_in_force),
        "quantity": order.quantity.as_decimal(),
        "price": price.as_decimal() if price is not None else None,
        "trigger_price": trigger.as_decimal() if trigger is not None else None,
        "filled_qty": order.filled_qty.as_decimal(),
        "avg_px": _float_decimal(order.avg_px) if order.filled_qty.as_double() > 0 else None,
        "status": order_status_to_str(order.status),
        "fills": fills,
        "commissions": {code: str(amount) for code, amount in commissions.items()},
        # The denial (liveexec's gate or NautilusTrader's risk engine), with the check that
        # failed, is the order's risk decision; else the gate's approval, if a gate ran.
        "risk_decision": "denied"
        if denied is not None
        else ("approved" if risk_approved else None),
        "risk_reason": str(denied.reason) if denied is not None else None,
        "route": None,
        "tags": list(order.tags or []),
        "created_at": ns_to_datetime(order.ts_init),
        "updated_at": ns_to_datetime(order.ts_last),
        "ts_last_event": ns_to_datetime(last_event_ns),
        "last_event_ns": last_event_ns,
        "last_event_seq": last_event_seq,
    }


def event_row(event: OrderEvent, *, run_id: str, recorded_at: datetime) -> dict[str, Any]:
    return {
        "event_id": event.id.value,
        "run_id": run_id,
        "operation_id": operation_id(run_id, event.client_order_id.value),
        "client_order_id": event.client_order_id.value,
        "strategy_id": event.strategy_id.value,
        "instrument_id": event.instrument_id.value,
        "event_type": type(event).__name__,
        "ts_event": event.ts_event,
        "ts_init": event.ts_init,
        "payload": type(event).to_dict(event),  # str, int, bool and None values only
        "recorded_at": recorded_at,
    }


def position_row(event: PositionEvent, *, run_id: str, seq: int) -> dict[str, Any]:
    quantity = event.quantity.as_decimal()
    signed = -quantity if event.side == PositionSide.SHORT else quantity
    closed = event.ts_closed if getattr(event, "ts_closed", 0) else None
    return {
        "run_id": run_id,
        "trader_id": event.trader_id.value,
        "strategy_id": event.strategy_id.value,
        "instrument_id": event.instrument_id.value,
        "position_id": event.position_id.value,
        "opening_order_id": event.opening_order_id.value,
        "side": position_side_to_str(event.side),
        "net_qty": signed if event.side != PositionSide.FLAT else Decimal(0),
        "peak_qty": event.peak_qty.as_decimal(),
        "avg_px_open": _float_decimal(event.avg_px_open),
        "avg_px_close": _float_decimal(event.avg_px_close) if event.avg_px_close else None,
        "realized_pnl": event.realized_pnl.as_decimal() if event.realized_pnl else Decimal(0),
        "unrealized_pnl": event.unrealized_pnl.as_decimal() if event.unrealized_pnl else None,
        "currency": event.currency.code,
        "status": "CLOSED" if closed else "OPEN",
        "opened_at": ns_to_datetime(event.ts_opened),
        "closed_at": ns_to_datetime(closed) if closed else None,
        "updated_at": ns_to_datetime(event.ts_event),
        "closing_order_id": closing.value if (closing := event.closing_order_id) else None,
        "last_event_ns": event.ts_event,
        "last_event_seq": seq,
    }


def balance_rows(state: AccountState, *, run_id: str, seq: int) -> list[dict[str, Any]]:
    """One row per currency of an account state."""
    base = state.base_currency.code if state.base_currency is not None else None
    return [
        {
            "run_id": run_id,
            "account_id": state.account_id.value,
            "account_type": account_type_to_str(state.account_type),
            "base_currency": base,
            "currency": balance.currency.code,
            "total": balance.total.as_decimal(),
            "locked": balance.locked.as_decimal(),
            "free": balance.free.as_decimal(),
            "last_event_ns": state.ts_event,
            "last_event_seq": seq,
            "updated_at": ns_to_datetime(state.ts_event),
        }
        for balance in state.balances
    ]
