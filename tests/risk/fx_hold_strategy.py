"""A real strategy for the FX conversion test: on its first quote it buys ``trade_size`` at the
market and holds the position (its last price for the gate is then a quote's mid)."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class HoldConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    trade_size: Decimal


class Hold(Strategy):
    def __init__(self, config: HoldConfig) -> None:
        super().__init__(config)
        self._bought = False

    def on_start(self) -> None:
        self.subscribe_quote_ticks(self.config.instrument_id)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        if self._bought:
            return
        self._bought = True
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        quantity = instrument.make_qty(self.config.trade_size)
        self.submit_order(
            self.order_factory.market(self.config.instrument_id, OrderSide.BUY, quantity)
        )
