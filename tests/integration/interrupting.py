"""An actor that presses Ctrl-C in the middle of a backtest (for the interrupted-run test)."""

from __future__ import annotations

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.model.data import Bar, BarType


class InterruptConfig(ActorConfig, frozen=True):
    bar_type: str
    after_bars: int


class InterruptingActor(Actor):
    def __init__(self, config: InterruptConfig) -> None:
        super().__init__(config)
        self._seen = 0
        self._limit = config.after_bars
        self._bar_type = BarType.from_str(config.bar_type)

    def on_start(self) -> None:
        self.subscribe_bars(self._bar_type)

    def on_bar(self, bar: Bar) -> None:
        self._seen += 1
        if self._seen == self._limit:
            raise KeyboardInterrupt
