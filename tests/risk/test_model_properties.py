"""Property-based tests of the pure limits model: random sequences of orders, fills, cancels
and prices never take positions, open orders or exposure past a limit."""

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
    TradingState,
)

INSTRUMENTS = ("BTCUSDT-PERP.SIM", "ETHUSDT-PERP.SIM")
STRATEGIES = ("A-000", "B-001")
POS_LIMIT = Decimal(5)
STRAT_POS_LIMIT = Decimal(3)
OPEN_LIMIT = 6
GROSS_LIMIT = Decimal(600)
NET_LIMIT = Decimal(400)

quantities = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 10)
prices = st.integers(min_value=50, max_value=150).map(Decimal)
submit = st.tuples(
    st.just("submit"),
    st.sampled_from(STRATEGIES),
    st.sampled_from(INSTRUMENTS),
    st.booleans(),
    quantities,
    st.booleans(),
)
fill = st.tuples(st.just("fill"), st.integers(0, 50), st.integers(1, 10))
cancel = st.tuples(st.just("cancel"), st.integers(0, 50))
price = st.tuples(st.just("price"), st.sampled_from(INSTRUMENTS), prices)
operations = st.lists(st.one_of(submit, submit, fill, cancel, price), max_size=80)


def new_model(**overrides: object) -> RiskModel:
    limits = RiskLimits(
        instruments={iid: InstrumentLimits(max_position_qty=POS_LIMIT) for iid in INSTRUMENTS},
        strategies={sid: StrategyLimits(max_position_qty=STRAT_POS_LIMIT) for sid in STRATEGIES},
        max_open_orders=OPEN_LIMIT,
        max_gross_exposure=GROSS_LIMIT,
        max_net_exposure=NET_LIMIT,
        **overrides,  # type: ignore[arg-type]  # test-only keyword overrides
    )
    model = RiskModel(limits, "USDT")
    for iid in INSTRUMENTS:
        model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
        model.set_price(iid, Decimal(100), 0)
    return model


def run(
    model: RiskModel,
    ops: list[tuple[object, ...]],
    on_submit: object = None,
    working: dict[str, Decimal] | None = None,
    prefix: str = "O",
) -> int:
    """Apply ``ops``; returns the number of approved orders. Checks the invariants after each
    step."""
    working = {} if working is None else working
    approved = 0
    for step, op in enumerate(ops):
        now = step * 1_000_000
        kind = op[0]
        if kind == "submit":
            _, sid, iid, is_buy, qty, reduce_only = op
            assert isinstance(qty, Decimal) and isinstance(sid, str) and isinstance(iid, str)
            before = model.exposures()
            before_pos = model.strategy_book(sid, iid)
            order = OrderIntent(
                f"{prefix}-{step}", sid, iid, bool(is_buy), qty, reduce_only=bool(reduce_only)
            )
            reason = model.submit(order, now)
            if reason is None:
                approved += 1
                working[order.client_order_id] = qty
                after = model.exposures()
                assert not isinstance(after, str) and not isinstance(before, str)
                assert after[0] <= GROSS_LIMIT or after[0] <= before[0]
                if callable(on_submit):
                    on_submit(model, before_pos, order)
        elif kind == "fill" and working:
            _, index, tenths = op
            assert isinstance(index, int) and isinstance(tenths, int)
            key = sorted(working)[index % len(working)]
            qty = min(working[key], Decimal(tenths) / 10)
            model.on_fill(key, qty)
            working[key] -= qty
            if working[key] <= 0:
                del working[key]
        elif kind == "cancel" and working:
            _, index = op
            assert isinstance(index, int)
            key = sorted(working)[index % len(working)]
            model.on_order_closed(key)
            del working[key]
        elif kind == "price":
            _, iid, px = op
            assert isinstance(iid, str) and isinstance(px, Decimal)
            model.set_price(iid, px, now)
        assert model.open_orders == len(working) <= OPEN_LIMIT
        for iid in INSTRUMENTS:
            position, buys, sells = model.instrument_book(iid)
            assert abs(position) <= POS_LIMIT
            assert position + buys <= POS_LIMIT and position - sells >= -POS_LIMIT
            for sid in STRATEGIES:
                position, buys, sells = model.strategy_book(sid, iid)
                assert position + buys <= STRAT_POS_LIMIT
                assert position - sells >= -STRAT_POS_LIMIT
    return approved


@settings(max_examples=300, deadline=None)
@given(operations)
def test_no_sequence_breaks_a_limit(ops: list[tuple[object, ...]]) -> None:
    run(new_model(), ops)


@settings(max_examples=200, deadline=None)
@given(operations, operations)
def test_reducing_never_increases_a_position(
    before: list[tuple[object, ...]], after: list[tuple[object, ...]]
) -> None:
    model = new_model()
    working: dict[str, Decimal] = {}
    run(model, before, working=working)
    model.set_halt(TradingState.REDUCING, "test", 0)

    def only_reduces(
        model: RiskModel, book: tuple[Decimal, Decimal, Decimal], order: OrderIntent
    ) -> None:
        position, buys, sells = book
        new_position, new_buys, new_sells = model.strategy_book(
            order.strategy_id, order.instrument_id
        )
        worst = max(abs(position + buys), abs(position - sells))
        assert max(abs(new_position + new_buys), abs(new_position - new_sells)) <= max(
            worst, abs(position)
        )
        # the order itself goes toward flat and stops there
        assert (order.is_buy and position < 0) or (not order.is_buy and position > 0)

    run(
        model,
        [op for op in after if op[0] != "fill"],
        on_submit=only_reduces,
        working=working,
        prefix="R",
    )


@settings(max_examples=100, deadline=None)
@given(operations)
def test_halted_lets_nothing_through(ops: list[tuple[object, ...]]) -> None:
    model = new_model()
    model.set_halt(TradingState.HALTED, "test", 0)
    assert run(model, ops) == 0


def test_a_reducing_order_is_never_denied_by_a_limit_it_moves_away_from() -> None:
    iid = INSTRUMENTS[0]
    model = RiskModel(RiskLimits(), "USDT")
    model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
    model.set_price(iid, Decimal(100), 0)
    assert model.submit(OrderIntent("O-1", "A-000", iid, True, Decimal(3)), 0) is None
    model.on_fill("O-1", Decimal(3))
    # limits lowered below what is held (e.g. a restart with a new config)
    model.limits = RiskLimits(
        instruments={iid: InstrumentLimits(max_position_qty=Decimal(1))},
        max_gross_exposure=Decimal(10),
        max_net_exposure=Decimal(10),
    )
    reason = model.submit(OrderIntent("O-2", "A-000", iid, True, Decimal("0.5")), 1)
    assert reason is not None and reason.startswith("max_position_qty 1")
    assert model.submit(OrderIntent("O-3", "A-000", iid, False, Decimal("0.5")), 2) is None
    assert model.submit(OrderIntent("O-4", "A-000", iid, False, Decimal("2.5")), 3) is None
    reason = model.submit(OrderIntent("O-5", "A-000", iid, False, Decimal("1.5")), 4)
    assert reason is not None and reason.startswith("max_position_qty 1")


def test_price_band_and_market_order_without_price() -> None:
    limits = RiskLimits(instruments={"X.SIM": InstrumentLimits(price_band_bps=Decimal(50))})
    model = RiskModel(limits)
    model.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USD"))
    reason = model.submit(OrderIntent("O-1", "A-000", "X.SIM", True, Decimal(1), is_market=True), 0)
    assert reason is not None and "no price for X.SIM" in reason
    model.set_price("X.SIM", Decimal(100), 0)
    reason = model.submit(
        OrderIntent("O-2", "A-000", "X.SIM", True, Decimal(1), price=Decimal("100.6")), 0
    )
    assert (
        reason is not None
        and reason.startswith("price_band_bps 50 (X.SIM)")
        and "60.00 bps" in reason
    )
    assert (
        model.submit(
            OrderIntent("O-3", "A-000", "X.SIM", True, Decimal(1), price=Decimal("100.4")), 0
        )
        is None
    )
    aged = RiskModel(RiskLimits(max_price_age_ns=1_000_000_000))
    aged.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USD"))
    aged.set_price("X.SIM", Decimal(100), 0)
    assert (
        aged.submit(
            OrderIntent("O-4", "A-000", "X.SIM", True, Decimal(1), is_market=True), 500_000_000
        )
        is None
    )
    reason = aged.submit(
        OrderIntent("O-5", "A-000", "X.SIM", True, Decimal(1), is_market=True), 2_000_000_000
    )
    assert reason is not None and "2.000 s old" in reason


def test_velocity_per_second_and_minute() -> None:
    limits = RiskLimits(
        strategies={"A-000": StrategyLimits(max_orders_per_second=2, max_orders_per_minute=3)}
    )
    model = RiskModel(limits)
    model.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USD"))
    model.set_price("X.SIM", Decimal(100), 0)

    def order(n: int) -> OrderIntent:
        return OrderIntent(f"O-{n}", "A-000", "X.SIM", True, Decimal(1), is_market=True)

    second = 1_000_000_000
    assert model.submit(order(1), 0) is None
    assert model.submit(order(2), 1) is None
    reason = model.submit(order(3), 2)
    assert reason is not None and reason.startswith("max_orders_per_second 2")
    assert model.submit(order(4), 2 * second) is None
    reason = model.submit(order(5), 3 * second)
    assert reason is not None and reason.startswith("max_orders_per_minute 3")
    assert model.submit(order(6), 61 * second) is None


def test_drawdown_moves_to_reducing_with_a_state_change() -> None:
    model = RiskModel(RiskLimits(max_drawdown=Decimal(50)), "USDT")
    model.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
    model.set_price("X.SIM", Decimal(100), 0)
    assert model.submit(OrderIntent("O-1", "A-000", "X.SIM", True, Decimal(2)), 0) is None
    model.on_fill("O-1", Decimal(2))
    model.on_position(
        "P-1",
        "X.SIM",
        signed_qty=Decimal(2),
        avg_px_open=Decimal(100),
        realized_pnl=Decimal(0),
        ts_ns=1,
    )
    model.set_price("X.SIM", Decimal(120), 2)  # +40
    assert (
        model.submit(OrderIntent("O-2", "A-000", "X.SIM", True, Decimal(1), is_market=True), 3)
        is None
    )
    model.on_order_closed("O-2")
    model.set_price("X.SIM", Decimal(90), 4)  # -20: 60 below the peak of +40
    reason = model.submit(OrderIntent("O-3", "A-000", "X.SIM", True, Decimal(1), is_market=True), 5)
    assert reason is not None and reason.startswith("trading state REDUCING (max_drawdown 50 USDT")
    assert [(c.previous, c.state) for c in model.changes] == [
        (TradingState.ACTIVE, TradingState.REDUCING)
    ]
    assert (
        model.submit(OrderIntent("O-4", "A-000", "X.SIM", False, Decimal(2), is_market=True), 6)
        is None
    )


def test_loss_limits_that_cannot_be_valued_deny_what_does_not_reduce() -> None:
    """A held instrument's price aged past ``max_price_age_s``: the PnL cannot be valued, so
    the loss limits cannot say the trader is within them; an order that adds risk elsewhere
    is denied with the reason (fail closed, as without an exchange rate), one that only
    reduces the position passes, and a fresh price lifts it."""
    second = 1_000_000_000
    model = RiskModel(RiskLimits(max_drawdown=Decimal(10), max_price_age_ns=5 * second), "USDT")
    for iid in ("A.SIM", "B.SIM"):
        model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
    model.set_price("A.SIM", Decimal(100), second)
    assert model.submit(OrderIntent("O-1", "S-1", "A.SIM", True, Decimal(10)), second) is None
    model.on_fill("O-1", Decimal(10))
    model.on_position(
        "P-1",
        "A.SIM",
        signed_qty=Decimal(10),
        avg_px_open=Decimal(100),
        realized_pnl=Decimal(0),
        ts_ns=second,
    )
    model.set_price("B.SIM", Decimal(50), 10 * second)  # A's price is now 9 s old
    buy_b = OrderIntent("O-2", "S-1", "B.SIM", True, Decimal(1), price=Decimal(50))
    assert model.check(buy_b, 10 * second) == (
        "loss limits: last price of A.SIM is 9.000 s old (max_price_age_s 5; fail closed)"
    )
    sell_a = OrderIntent("O-3", "S-1", "A.SIM", False, Decimal(4), price=Decimal(100))
    assert model.check(sell_a, 10 * second) is None
    model.set_price("A.SIM", Decimal(100), 10 * second)
    assert model.check(buy_b, 10 * second) is None


def test_positions_and_working_orders_at_start_count_as_if_approved() -> None:
    """What a node starts with (restored or reconciled): a 0.5 long and a working buy of 0.5
    leave no room under ``max_position_qty`` 1, a sell of the position reduces, the working
    buy's fill moves it into the position, and no velocity entry was made for it."""
    model = RiskModel(
        RiskLimits(
            strategies={
                "S-1": StrategyLimits(max_position_qty=Decimal(1), max_orders_per_minute=1)
            },
            max_open_orders=2,
        )
    )
    model.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
    model.set_price("X.SIM", Decimal(100), 0)
    model.restore_position("S-1", "X.SIM", Decimal("0.5"))
    model.restore_working(OrderIntent("O-0", "S-1", "X.SIM", True, Decimal("0.5"), Decimal(99)))
    assert model.open_orders == 1
    buy = OrderIntent("O-1", "S-1", "X.SIM", True, Decimal("0.1"), Decimal(99))
    assert model.check(buy, 1) == (
        "max_position_qty 1 (strategy S-1 in X.SIM): position 0.5 + working 0.5 + order 0.1 = 1.1"
    )
    sell = OrderIntent("O-2", "S-1", "X.SIM", False, Decimal("0.5"), Decimal(101))
    assert model.reduces(sell) and model.submit(sell, 1) is None  # the minute's first order
    assert model.check(buy, 2) == "max_open_orders 2 (trader): 2 working + this order"
    model.on_fill("O-0", Decimal("0.5"))
    assert model.strategy_book("S-1", "X.SIM") == (Decimal(1), Decimal(0), Decimal("0.5"))


def test_the_bps_band_around_a_zero_or_negative_last_price() -> None:
    """Spreads and some futures trade at zero or below: the band is ``price_band_bps`` of the
    price's size, an order at the last price passes, and a last price of 0 (no band in bps)
    denies any other price with the reason instead of raising."""
    model = RiskModel(
        RiskLimits(instruments={"X.SIM": InstrumentLimits(price_band_bps=Decimal(50))})
    )
    model.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USD"))

    def limit_buy(n: int, price: str) -> str | None:
        return model.check(
            OrderIntent(f"O-{n}", "S-1", "X.SIM", True, Decimal(1), Decimal(price)), n
        )

    model.set_price("X.SIM", Decimal(-40), 0)
    assert limit_buy(1, "-40") is None
    assert limit_buy(2, "-40.2") is None  # 50 bps of 40
    assert limit_buy(3, "-40.3") == (
        "price_band_bps 50 (X.SIM): price -40.3 is 75.00 bps from last price -40"
    )
    model.set_price("X.SIM", Decimal(0), 4)
    assert limit_buy(5, "0") is None
    assert limit_buy(6, "0.01") == (
        "price_band_bps 50 (X.SIM): price 0.01 against last price 0, which has no band in bps "
        "(fail closed)"
    )


def test_a_withdrawn_order_leaves_no_trace_in_the_limits() -> None:
    """A member of a denied order list was accepted, then withdrawn: its working quantity, its
    open-order count and its velocity entry are all taken back (it never left)."""
    limits = RiskLimits(
        max_open_orders=1,
        strategies={"A-000": StrategyLimits(max_orders_per_second=1, max_position_qty=Decimal(1))},
    )
    model = RiskModel(limits)
    model.set_instrument("X.SIM", InstrumentInfo(Decimal(1), Decimal("0.01"), "USD"))
    model.set_price("X.SIM", Decimal(100), 0)

    def order(n: int) -> OrderIntent:
        return OrderIntent(f"O-{n}", "A-000", "X.SIM", True, Decimal(1), price=Decimal(100))

    assert model.submit(order(1), 0) is None  # checked and accepted
    model.withdraw("O-1", 0)
    # Velocity (1/s), open orders (1) and position (1, counting working buys) would each deny
    # this one had O-1 stayed counted.
    assert model.submit(order(2), 1) is None
    reason = model.submit(order(3), 2)  # O-2 did leave: it counts
    assert reason is not None
