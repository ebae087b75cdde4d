"""A real strategy for the restart-resume tests: its decisions depend only on the bars and on
what the node's cache holds (its open orders, its position), never on memory of its own, so a
node restarted from the database must make exactly the decisions the uninterrupted node made
-- if, and only if, its open orders and position were restored.

On each bar: with no open order of its own, it rests a limit order (a buy below the close when
flat or short, a sell above it when long), which later bars fill or leave resting; every
``cancel_every`` bars it cancels what rests. At start it appends what it sees in the cache (its
open orders, its open position, the account's balances) as one JSON line to ``seen_path``: the
resumed node's own view, checked by the tests.

``hold_path`` (tests that kill a node while it stops): if that file exists when the strategy
stops, it creates ``hold_path + ".held"`` and waits (the node's loop blocked, at most two
minutes) until the file is removed -- a kill point between the end of the replay and the run's
closed row that a test can land on for certain. Without the file it does nothing.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Venue
from nautilus_trader.trading.strategy import Strategy


class LadderConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal
    offset_bps: int = 5
    cancel_every: int = 7
    seen_path: str = ""
    hold_path: str = ""


class Ladder(Strategy):
    def __init__(self, config: LadderConfig) -> None:
        super().__init__(config)
        self._bars = 0

    def on_start(self) -> None:
        if self.config.seen_path:
            account = self.cache.account_for_venue(Venue(self.config.instrument_id.venue.value))
            seen = {
                "open_orders": sorted(
                    o.client_order_id.value for o in self.cache.orders_open(strategy_id=self.id)
                ),
                "positions": sorted(
                    f"{p.id.value}:{p.signed_qty}"
                    for p in self.cache.positions_open(strategy_id=self.id)
                ),
                "balances": sorted(str(b.total) for b in account.balances().values())
                if account is not None
                else [],
            }
            with Path(self.config.seen_path).open("a") as file:
                file.write(json.dumps(seen) + "\n")
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        # Bar count from the data itself (minutes since midnight), not from memory: a resumed
        # node counts the same.
        minute = bar.ts_event // 60_000_000_000
        instrument = self.cache.instrument(self.config.instrument_id)
        assert instrument is not None
        working = self.cache.orders_open(strategy_id=self.id)
        if working and minute % self.config.cancel_every == 0:
            self.cancel_all_orders(self.config.instrument_id)
            return
        if working:
            return
        position = self.cache.positions_open(strategy_id=self.id)
        long = any(p.signed_qty > 0 for p in position)
        close = bar.close.as_double()
        offset = close * self.config.offset_bps / 10_000
        side = OrderSide.SELL if long else OrderSide.BUY
        price = instrument.make_price(close + offset if long else close - offset)
        self.submit_order(
            self.order_factory.limit(
                self.config.instrument_id,
                side,
                instrument.make_qty(self.config.trade_size),
                price,
            )
        )

    def on_stop(self) -> None:
        # What rests stays: the tables show it.
        hold = Path(self.config.hold_path) if self.config.hold_path else None
        if hold is not None and hold.exists():
            Path(f"{hold}.held").touch()
            deadline = time.monotonic() + 120
            while hold.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
