"""A real strategy for the modify path of the database-wide exposure check: on its first bar it
rests a limit buy far below the market, on its second bar it asks to raise the quantity."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderModifyRejected
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.trading.strategy import Strategy


class RaiseQuantityConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    raised_size: Decimal


class RaiseQuantity(Strategy):
    def __init__(self, config: RaiseQuantityConfig) -> None:
        super().__init__(config)
        self._order: LimitOrder | None = None
        self._bars = 0
        self.rejections: list[str] = []

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        self._bars += 1
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        if self._bars == 1:
            far = instrument.make_price(bar.close.as_double() * 0.5)
            self._order = self.order_factory.limit(
                self.config.instrument_id,
                OrderSide.BUY,
                instrument.make_qty(self.config.trade_size),
                far,
            )
            self.submit_order(self._order)
        elif self._bars == 2 and self._order is not None:
            self.modify_order(self._order, quantity=instrument.make_qty(self.config.raised_size))

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        self.rejections.append(event.reason)
