"""A real strategy for the modify path of the database-wide exposure check: on its first bar it
rests a limit buy far below the market, on its second bar it asks to raise the quantity."""

from __future__ import annotations

import sqlite3
import time
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


class ModifyWhileUnreadableConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    raised_size: Decimal
    database_path: str  # the run's SQLite file
    unreadable_s: float  # how long the other traders' exposure is left unreadable


class ModifyWhileUnreadable(Strategy):
    """On its first bar it buys twice ``trade_size`` at market and rests a limit buy of
    ``trade_size`` far below the market; on its second bar it rests a limit sell of
    ``trade_size`` far above (it only reduces the long). On its third bar it makes the
    database-wide exposure read fail (a real fault: the positions table is renamed away, so
    the exposure statement errors), waits ``unreadable_s`` of wall time, moves the resting
    buy's price only, asks to raise the buy to ``raised_size`` and the sell to ``trade_size``
    more (the sell still only closes the long), then puts the table back."""

    def __init__(self, config: ModifyWhileUnreadableConfig) -> None:
        super().__init__(config)
        self.buy: LimitOrder | None = None
        self.sell: LimitOrder | None = None
        self._bars = 0
        self.rejections: list[str] = []
        self.moved_to: str | None = None

    def on_start(self) -> None:
        self.subscribe_bars(self.config.bar_type)

    def _rename(self, old: str, new: str) -> None:
        connection = sqlite3.connect(self.config.database_path, timeout=30)
        try:
            connection.execute(f"ALTER TABLE {old} RENAME TO {new}")
            connection.commit()
        finally:
            connection.close()

    def on_bar(self, bar: Bar) -> None:
        self._bars += 1
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        size = instrument.make_qty(self.config.trade_size)
        close = bar.close.as_double()
        if self._bars == 1:
            self.submit_order(
                self.order_factory.market(
                    self.config.instrument_id,
                    OrderSide.BUY,
                    instrument.make_qty(2 * size.as_decimal()),
                )
            )
            self.buy = self.order_factory.limit(
                self.config.instrument_id, OrderSide.BUY, size, instrument.make_price(close * 0.5)
            )
            self.submit_order(self.buy)
        elif self._bars == 2:
            self.sell = self.order_factory.limit(
                self.config.instrument_id, OrderSide.SELL, size, instrument.make_price(close * 2)
            )
            self.submit_order(self.sell)
        elif self._bars == 3 and self.buy is not None and self.sell is not None:
            self._rename("unified_positions", "unified_positions_away")
            try:
                time.sleep(self.config.unreadable_s)
                moved = instrument.make_price(close * 0.6)
                self.moved_to = str(moved)
                self.modify_order(self.buy, price=moved)
                self.modify_order(self.buy, quantity=instrument.make_qty(self.config.raised_size))
                self.modify_order(self.sell, quantity=instrument.make_qty(2 * size.as_decimal()))
            finally:
                self._rename("unified_positions_away", "unified_positions")

    def on_order_modify_rejected(self, event: OrderModifyRejected) -> None:
        self.rejections.append(event.reason)
