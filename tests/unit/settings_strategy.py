"""A strategy whose config class does not follow NautilusTrader's naming (``Quiet`` is
configured by ``QuietSettings``, not ``QuietConfig``): its config must give config_path."""

from __future__ import annotations

from nautilus_trader.config import StrategyConfig
from nautilus_trader.trading.strategy import Strategy


class QuietSettings(StrategyConfig, frozen=True):
    pass


class Quiet(Strategy):
    """Does nothing."""

    def __init__(self, config: QuietSettings) -> None:
        super().__init__(config)
