"""Order velocity: the times of each strategy's approved orders in the last minute and the last
second, in two deques (the first pass rescanned the last second per order: O(n) at high
rates). The model's order path trims them and counts (``max_orders_per_second`` /
``max_orders_per_minute``)."""

from __future__ import annotations

from collections import deque

from liveexec.risk._types import RiskLimits

__all__ = ["Velocity"]


class Velocity:
    """Per strategy, the times of its approved orders: ``minute`` (the last minute) and
    ``second`` (the last second), oldest first. A strategy's deques, once made, are never
    removed (the model's per-order plans keep them)."""

    __slots__ = ("minute", "second")

    def __init__(self) -> None:
        self.minute: dict[str, deque[int]] = {}
        self.second: dict[str, deque[int]] = {}

    @staticmethod
    def needed(limits: RiskLimits) -> bool:
        """Whether any strategy has an order rate limit (else no times are kept)."""
        return any(
            s.max_orders_per_second is not None or s.max_orders_per_minute is not None
            for s in limits.strategies.values()
        )

    def times(self, strategy_id: str) -> tuple[deque[int], deque[int]]:
        """The strategy's (minute, second) deques, made on first use."""
        minute = self.minute.get(strategy_id)
        if minute is None:
            minute = self.minute[strategy_id] = deque()
            self.second[strategy_id] = deque()
        return minute, self.second[strategy_id]

    def withdraw(self, strategy_id: str, now_ns: int) -> None:
        """Take back the entry of an order accepted at ``now_ns`` (the newest)."""
        for recent in (self.minute.get(strategy_id), self.second.get(strategy_id)):
            if recent and recent[-1] == now_ns:
                recent.pop()

    def tracked(self) -> int:
        """Entries held in all."""
        return sum(len(times) for times in self.minute.values()) + sum(
            len(times) for times in self.second.values()
        )
