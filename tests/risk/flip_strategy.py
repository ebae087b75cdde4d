"""A real strategy for the flip margin test: on its first bar it buys ``trade_size`` at the
market; once that position is open it sells twice ``trade_size`` (a flip to short). With
``open_short`` it sells twice ``trade_size`` from flat on its first bar instead."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import PositionOpened
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class FlipConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    open_short: bool = False


class Flip(Strategy):
    def __init__(self, config: FlipConfig) -> None:
        super().__init__(config)
        self._started = False
        self._flipped = False

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def _market(self, side: OrderSide, size: Decimal) -> None:
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        self.submit_order(
            self.order_factory.market(self.config.instrument_id, side, instrument.make_qty(size))
        )

    def on_bar(self, bar: Bar) -> None:
        if self._started:
            return
        self._started = True
        if self.config.open_short:
            self._market(OrderSide.SELL, 2 * self.config.trade_size)
        else:
            self._market(OrderSide.BUY, self.config.trade_size)

    def on_position_opened(self, event: PositionOpened) -> None:
        if self._flipped or self.config.open_short:
            return
        self._flipped = True
        self._market(OrderSide.SELL, 2 * self.config.trade_size)
