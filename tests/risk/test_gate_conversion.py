"""The gate's cached raw -> Decimal conversion gives exactly what NautilusTrader's
``as_decimal()`` gives (value and exponent, so the reasons read the same), for any precision."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.objects import Money, Price, Quantity

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
