"""The order path's arithmetic shortcuts give what the plain Decimal formulas give.

- A multiplier of exactly ``Decimal(1)`` is not multiplied by: ``x * Decimal(1)`` is ``x``
  itself (value, digits, exponent and sign) for any product ``x``, since a product is already
  rounded to the context. Checked on the identity directly, and on decisions and reasons of the
  model against the Decimal reference (``_reference_model.py``, which multiplies) with
  quantities and prices of many digits, whose products round, at limits set on the products.
- The gate reads the part of an order that closes its strategy's position (a flip's) only
  when the position is on the other side: ``RiskModel.reducible`` is positive only then,
  because working quantities are never negative. Checked on random orders, fills, cancels and
  updates.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from liveexec.risk import (
    InstrumentInfo,
    InstrumentLimits,
    OrderIntent,
    RiskLimits,
    RiskModel,
    StrategyLimits,
)
from tests.risk._reference_model import RiskModel as ReferenceModel

IID = "BTCUSDT-PERP.SIM"
SID = "A-000"

# any finite Decimal: up to 40 digits, exponents far apart, both signs, zeros of both signs
finite = st.decimals(allow_nan=False, allow_infinity=False)
digits = st.integers(min_value=1, max_value=10**40)
exponents = st.integers(min_value=-30, max_value=12)
wide = st.builds(lambda n, e: Decimal(n).scaleb(e), digits, exponents)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(finite, wide), st.one_of(finite, wide))
def test_a_product_times_one_is_the_product(a: Decimal, b: Decimal) -> None:
    product = a * b
    assert (product * Decimal(1)).as_tuple() == product.as_tuple()
    assert (-product * Decimal(1)).as_tuple() == (-product).as_tuple()


def test_only_an_exact_one_is_skipped() -> None:
    """``Decimal("1.0")`` is worth 1 but moves the exponent of what it multiplies (and so the
    reasons' text): it is multiplied by, like any other multiplier."""
    assert str(Decimal("2.5") * Decimal("1.0")) == "2.50"
    limits = RiskLimits(instruments={IID: InstrumentLimits(max_order_notional=Decimal(1))})
    fast, reference = RiskModel(limits), ReferenceModel(limits)
    for model in (fast, reference):
        model.set_instrument(IID, InstrumentInfo(Decimal("1.0"), Decimal("0.1"), "USDT"))
        model.set_price(IID, Decimal(100), 0)
    order = OrderIntent("O-1", SID, IID, True, Decimal("0.5"), price=Decimal("5"))
    reason = fast.submit(order, 1)
    assert reason == reference.submit(order, 1)
    assert reason is not None and reason.endswith("order notional 2.50")


# quantities and prices with up to 20 significant digits: their products need up to 40, so
# the context (28 digits) rounds them
many_digits = st.builds(
    lambda n, e: Decimal(n).scaleb(e),
    st.integers(min_value=1, max_value=10**20),
    st.integers(min_value=-18, max_value=-8),
)


@settings(max_examples=600, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), many_digits, many_digits), min_size=1, max_size=12),
    many_digits,
    st.integers(min_value=0, max_value=3),
)
def test_notionals_with_a_unit_multiplier_decide_as_the_reference(
    orders: list[tuple[bool, Decimal, Decimal]], cap: Decimal, at: int
) -> None:
    """Order and position notionals (strategy and instrument) at caps that the products land
    on or near: every decision and reason as the reference's, which multiplies by 1."""
    _, first_qty, first_px = orders[0]
    at_cap = first_qty * first_px  # a cap exactly at (or around) the first order's notional
    caps = (cap, at_cap, at_cap.next_plus(), at_cap.next_minus())[at]
    limits = RiskLimits(
        instruments={IID: InstrumentLimits(max_order_notional=caps, max_position_notional=caps)},
        strategies={SID: StrategyLimits(max_order_notional=caps, max_position_notional=caps)},
    )
    fast, reference = RiskModel(limits), ReferenceModel(limits)
    for model in (fast, reference):
        model.set_instrument(IID, InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
        model.set_price(IID, first_px, 0)
    for n, (is_buy, qty, px) in enumerate(orders):
        order = OrderIntent(f"O-{n}", SID, IID, is_buy, qty, price=px)
        assert fast.submit(order, n) == reference.submit(order, n), n
        assert fast.strategy_book(SID, IID) == reference.strategy_book(SID, IID)


quantities = st.integers(min_value=1, max_value=30).map(lambda n: Decimal(n) / 10)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.booleans(), quantities, st.booleans()),
        st.tuples(st.just("fill"), st.integers(0, 40), quantities),
        st.tuples(st.just("cancel"), st.integers(0, 40)),
        st.tuples(st.just("update"), st.integers(0, 40), quantities),
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(operations)
def test_a_reducible_part_needs_a_position_on_the_other_side(
    ops: list[tuple[object, ...]],
) -> None:
    model = RiskModel(RiskLimits())
    model.set_instrument(IID, InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
    model.set_price(IID, Decimal(100), 0)
    ids: list[str] = []
    for step, op in enumerate(ops):
        kind = op[0]
        if kind == "submit":
            _, is_buy, qty, grouped = op
            assert isinstance(is_buy, bool) and isinstance(qty, Decimal)
            order = OrderIntent(f"O-{step}", SID, IID, is_buy, qty, group="g" if grouped else None)
            if model.submit(order, step) is None:
                ids.append(order.client_order_id)
        elif ids:
            index = op[1]
            assert isinstance(index, int)
            client_order_id = ids[index % len(ids)]
            if kind == "fill":
                assert isinstance(op[2], Decimal)
                model.on_fill(client_order_id, op[2])
            elif kind == "cancel":
                model.on_order_closed(client_order_id)
            else:
                assert isinstance(op[2], Decimal)
                model.on_order_updated(client_order_id, op[2])
        position, working_buy, working_sell = model.strategy_book(SID, IID)
        assert working_buy >= 0 and working_sell >= 0
        for is_buy in (True, False):
            probe = OrderIntent("probe", SID, IID, is_buy, Decimal(1))
            if model.reducible(probe) > 0:
                assert position < 0 if is_buy else position > 0
