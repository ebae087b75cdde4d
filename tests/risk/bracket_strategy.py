"""A real strategy for the order-list test: on its first bar it submits two brackets at once
(entry at the market, stop-loss and take-profit around the bar's close): the first with its
take-profit ``far_tp_bps`` from the close, the second with both exits ``near_bps`` from it."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

_BPS = Decimal(10_000)


class BracketsConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    far_tp_bps: Decimal
    near_bps: Decimal


class Brackets(Strategy):
    def __init__(self, config: BracketsConfig) -> None:
        super().__init__(config)
        self._sent = False

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def _bracket(self, close: Decimal, tp_bps: Decimal, sl_bps: Decimal) -> None:
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        self.submit_order_list(
            self.order_factory.bracket(
                self.config.instrument_id,
                OrderSide.BUY,
                instrument.make_qty(self.config.trade_size),
                tp_price=instrument.make_price(close * (1 + tp_bps / _BPS)),
                sl_trigger_price=instrument.make_price(close * (1 - sl_bps / _BPS)),
            )
        )

    def on_bar(self, bar: Bar) -> None:
        if self._sent:
            return
        self._sent = True
        close = bar.close.as_decimal()
        self._bracket(close, self.config.far_tp_bps, self.config.near_bps)
        self._bracket(close, self.config.near_bps, self.config.near_bps)
