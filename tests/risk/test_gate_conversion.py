"""The gate's cached raw -> Decimal conversion gives exactly what NautilusTrader's
``as_decimal()`` gives (value and exponent, so the reasons read the same), for any precision;
its memoised price attributes read what ``getattr`` reads, for every order type."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from liveexec.risk import OrderIntent, RiskGate, RiskLimits
from liveexec.risk._gate import _decimal

precisions = st.integers(min_value=0, max_value=9)


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=10**12), precisions, precisions)
def test_cached_conversion_equals_as_decimal(units: int, size_prec: int, price_prec: int) -> None:
    cache: dict[int, Decimal] = {}
    quantity = Quantity(units / 10**size_prec, size_prec)
    price = Price(units / 10**price_prec * (-1 if units % 3 == 0 else 1), price_prec)
    money = Money(units / 100, USDT)
    for value in (quantity, price, money):
        for _ in range(2):  # computed, then from the cache
            converted = _decimal(cache, value.raw)
            assert converted == value.as_decimal()
            assert str(converted) == str(value.as_decimal())


def test_the_gate_reads_each_order_types_prices_as_getattr_does() -> None:
    """The gate memoises which price attributes an order type has instead of calling
    ``getattr(order, "price", None)``: for every NautilusTrader order type (with and without
    its prices set) it reads what getattr reads, into the intent and for the margin check."""
    engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("TESTER-001")))
    try:
        instrument = TestInstrumentProvider.btcusdt_perp_binance()
        engine.add_venue(
            Venue("BINANCE"), OmsType.NETTING, AccountType.MARGIN, [Money(1_000_000, USDT)]
        )
        engine.add_instrument(instrument)
        strategy = Strategy()
        engine.add_strategy(strategy)
        gate = RiskGate(RiskLimits(), trader_id="TESTER-001", mode="backtest")
        engine.add_actor(gate)
        iid, qty = instrument.id, Quantity.from_str("0.010")
        px, trigger = Price.from_str("50000.1"), Price.from_str("49000.2")
        factory = strategy.order_factory
        offset = Decimal("10.0")
        orders = [
            factory.market(iid, OrderSide.BUY, qty),
            factory.limit(iid, OrderSide.SELL, qty, px),
            factory.stop_market(iid, OrderSide.SELL, qty, trigger),
            factory.stop_limit(iid, OrderSide.BUY, qty, px, trigger),
            factory.market_to_limit(iid, OrderSide.BUY, qty),
            factory.market_if_touched(iid, OrderSide.SELL, qty, trigger),
            factory.limit_if_touched(iid, OrderSide.BUY, qty, px, trigger),
            factory.trailing_stop_market(iid, OrderSide.SELL, qty, offset),
            factory.trailing_stop_market(iid, OrderSide.SELL, qty, offset, trigger_price=trigger),
            factory.trailing_stop_limit(iid, OrderSide.BUY, qty, offset, offset),
            factory.trailing_stop_limit(
                iid, OrderSide.BUY, qty, offset, offset, price=px, trigger_price=trigger
            ),
        ]
        kinds = set()
        for order in orders * 2:  # the attributes found, then memoised
            expected = (getattr(order, "price", None), getattr(order, "trigger_price", None))
            intent = gate._intent(order)
            assert isinstance(intent, OrderIntent)
            assert gate._order_prices == expected, type(order).__name__
            assert intent.price == (expected[0].as_decimal() if expected[0] else None)
            assert intent.trigger == (expected[1].as_decimal() if expected[1] else None)
            assert intent.is_market == (expected == (None, None))
            kinds.add(type(order))
        assert len(kinds) == 9  # every order type NautilusTrader's factory makes
    finally:
        engine.dispose()
