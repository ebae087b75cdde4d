"""The risk gate's value types: limits, what an order and an instrument look like to the
checks, the trading states and what the loss limits record. Plain Decimals and ints: no
NautilusTrader object in here."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "InstrumentInfo",
    "InstrumentLimits",
    "LossMark",
    "OrderIntent",
    "RiskLimits",
    "StateChange",
    "StrategyLimits",
    "TradingState",
]


class TradingState(enum.IntEnum):
    """Ordered by severity: the trader's state is the most severe of its causes."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


@dataclass(frozen=True, slots=True)
class InstrumentLimits:
    max_order_qty: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_position_qty: Decimal | None = None
    max_position_notional: Decimal | None = None
    price_band_bps: Decimal | None = None
    price_band_ticks: int | None = None


@dataclass(frozen=True, slots=True)
class StrategyLimits:
    max_order_notional: Decimal | None = None
    max_position_qty: Decimal | None = None
    max_position_notional: Decimal | None = None
    max_open_orders: int | None = None
    max_orders_per_second: int | None = None
    max_orders_per_minute: int | None = None


@dataclass(frozen=True, slots=True)
class RiskLimits:
    instruments: Mapping[str, InstrumentLimits] = field(default_factory=dict)
    strategies: Mapping[str, StrategyLimits] = field(default_factory=dict)
    max_open_orders: int | None = None
    max_gross_exposure: Decimal | None = None
    max_net_exposure: Decimal | None = None
    max_daily_loss: Decimal | None = None
    max_drawdown: Decimal | None = None
    loss_action: TradingState = TradingState.REDUCING
    max_price_age_ns: int | None = None


@dataclass(frozen=True, slots=True)
class InstrumentInfo:
    """What valuing an instrument needs: value = quantity * price * multiplier, in
    ``currency``; ``tick`` is its price increment."""

    multiplier: Decimal
    tick: Decimal
    currency: str


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 µs more to build per order
class OrderIntent:
    """One order as the checks see it. ``price`` is the limit price, ``trigger`` the stop
    price (either may be None); ``is_market`` for orders that take the market price.
    ``group``: the key shared by the members of a one-cancels-other (or one-updates-other)
    group, of which at most one fills: the group adds only its largest member on each side to
    the worst case."""

    client_order_id: str
    strategy_id: str
    instrument_id: str
    is_buy: bool
    quantity: Decimal
    price: Decimal | None = None
    trigger: Decimal | None = None
    is_market: bool = False
    reduce_only: bool = False
    group: str | None = None


@dataclass(frozen=True, slots=True)
class LossMark:
    """PnL against the loss limits: ``drawdown`` below the peak, ``daily_loss`` below the
    start of UTC day ``day`` (days since 1970), at node time ``ts_ns``."""

    drawdown: Decimal
    day: int
    daily_loss: Decimal
    ts_ns: int


@dataclass(frozen=True, slots=True)
class StateChange:
    previous: TradingState
    state: TradingState
    reason: str
    ts_ns: int
