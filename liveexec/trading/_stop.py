"""What a paper or live node does to its orders and positions when it is asked to stop.

Applied by the run's driver on the node's event loop, before ``node.stop_async()`` (which then
runs the strategies' own ``on_stop``), for a stop request (``liveexec stop``), Ctrl-C or
SIGTERM; not at the end of a paper run's data, which ends as a backtest does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from liveexec.config import StopConfig

__all__ = ["StopActions", "apply_stop_policy"]


@dataclass
class StopActions:
    """What the policy did (kept for the run's note and for tests)."""

    canceled: list[str] = field(default_factory=list)  # instrument ids, per strategy
    flattened: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.canceled:
            parts.append(f"open orders canceled on {', '.join(self.canceled)}")
        if self.flattened:
            parts.append(f"positions closed on {', '.join(self.flattened)}")
        return "; ".join(parts) or "no open orders or positions acted on"


def apply_stop_policy(node: Any, policy: StopConfig) -> StopActions:  # noqa: ANN401 (TradingNode)
    """Cancel each strategy's open orders (``open_orders: cancel``) and close its open positions
    (``flatten_positions``) through the strategy itself, so the risk engine and the recorder
    see every command and event as they would any other."""
    actions = StopActions()
    cache = node.kernel.cache
    for strategy in node.trader.strategies():
        if policy.open_orders == "cancel":
            instruments = sorted(
                {order.instrument_id for order in cache.orders_open(strategy_id=strategy.id)},
                key=str,
            )
            for instrument_id in instruments:
                strategy.cancel_all_orders(instrument_id)
                actions.canceled.append(f"{strategy.id}:{instrument_id}")
        if policy.flatten_positions:
            instruments = sorted(
                {p.instrument_id for p in cache.positions_open(strategy_id=strategy.id)},
                key=str,
            )
            for instrument_id in instruments:
                strategy.close_all_positions(instrument_id)
                actions.flattened.append(f"{strategy.id}:{instrument_id}")
    return actions
