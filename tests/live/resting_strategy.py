"""A real strategy for the stop-policy tests: on its first bar it opens a position with a market
order and rests a limit order far from the market; its ``on_stop`` does nothing, so what happens
to that order and that position at a stop is liveexec's stop policy alone."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class RestingOrderConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal


class RestingOrder(Strategy):
    def __init__(self, config: RestingOrderConfig) -> None:
        super().__init__(config)
        self._placed = False

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        if self._placed:
            return
        self._placed = True
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        quantity = instrument.make_qty(self.config.trade_size)
        self.submit_order(
            self.order_factory.market(self.config.instrument_id, OrderSide.BUY, quantity)
        )
        far = instrument.make_price(bar.close.as_double() * 0.5)
        self.submit_order(
            self.order_factory.limit(self.config.instrument_id, OrderSide.BUY, quantity, far)
        )

    def on_stop(self) -> None:
        pass  # leaves everything to liveexec's stop policy
