"""One-cancels-other groups in the worst case: a bracket's take-profit and stop-loss can fill at
most one of the two, so they count once, not twice; random sequences never let a position
past its limit when fills follow OCO rules (a fill of one member cancels the others)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import TradeTick
from nautilus_trader.model.enums import AccountType, AggressorSide, OmsType, OrderSide
from nautilus_trader.model.identifiers import TradeId, TraderId, Venue
from nautilus_trader.model.objects import Money, Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

from liveexec.risk import (
    InstrumentInfo,
    InstrumentLimits,
    OrderIntent,
    RiskGate,
    RiskLimits,
    RiskModel,
)

IID = "BTCUSDT-PERP.SIM"
SID = "EMACrossBracket-000"
LIMIT = Decimal(1)


def new_model(limit: Decimal = LIMIT) -> RiskModel:
    model = RiskModel(RiskLimits(instruments={IID: InstrumentLimits(max_position_qty=limit)}))
    model.set_instrument(IID, InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
    model.set_price(IID, Decimal(100), 0)
    return model


def order(
    coid: str, is_buy: bool, qty: str, group: str | None = None, price: str = "100"
) -> OrderIntent:
    return OrderIntent(coid, SID, IID, is_buy, Decimal(qty), price=Decimal(price), group=group)


def test_a_bracket_counts_its_take_profit_and_stop_loss_once() -> None:
    model = new_model()
    assert model.submit(order("O-1", True, "1"), 0) is None  # entry
    assert model.submit(order("O-2", False, "1", group="O-2", price="110"), 0) is None  # TP
    # counted on its own, the stop-loss would make the worst short -2 (the first pass denied
    # it): as the take-profit's OCO sibling it adds nothing
    assert model.submit(order("O-3", False, "1", group="O-2", price="90"), 0) is None
    assert model.instrument_book(IID) == (Decimal(0), Decimal(1), Decimal(1))
    # a third sell outside the group is still counted in full
    reason = model.submit(order("O-4", False, "0.5"), 0)
    assert reason == (
        f"max_position_qty 1 (instrument {IID}): position 0 - working 1 - order 0.5 = -1.5"
    )
    # a larger member adds only what it adds to the group's largest
    assert model.submit(order("O-5", False, "1.5", group="O-2"), 0) is not None
    model.on_fill("O-1", Decimal(1))  # the entry fills: long 1, the pair can close it
    assert model.instrument_book(IID) == (Decimal(1), Decimal(0), Decimal(1))
    model.on_fill("O-2", Decimal("0.4"))  # the take-profit fills in part
    # the stop-loss can at most fill what the group has left (1 - 0.4), not its own 1
    assert model.instrument_book(IID) == (Decimal("0.6"), Decimal(0), Decimal("0.6"))
    model.on_order_closed("O-3")  # NautilusTrader cancels the OCO sibling
    assert model.instrument_book(IID) == (Decimal("0.6"), Decimal(0), Decimal("0.6"))
    model.on_fill("O-2", Decimal("0.6"))
    assert model.instrument_book(IID) == (Decimal(0), Decimal(0), Decimal(0))
    assert model.open_orders == 0


def test_a_member_joining_a_group_that_filled_counts_in_full() -> None:
    model = new_model(Decimal(2))
    assert model.submit(order("O-1", False, "1", group="G"), 0) is None
    model.on_fill("O-1", Decimal("0.5"))
    assert model.submit(order("O-2", False, "1", group="G"), 0) is None  # its own group now
    assert model.instrument_book(IID) == (Decimal("-0.5"), Decimal(0), Decimal("1.5"))
    reason = model.submit(order("O-3", False, "0.6", group="G"), 0)
    assert reason is not None and reason.endswith("= -2.6")


def test_restored_members_of_a_group_count_once_as_before_the_restart() -> None:
    """A node restarted with a bracket's exits working (restored from the database or
    reconciled) counts them as their group, as the uninterrupted node did: a further sell of
    the limit's size still fits (counted in full, the two exits made it -2 and denied it)."""
    uninterrupted = new_model()
    assert uninterrupted.submit(order("O-1", True, "1"), 0) is None
    uninterrupted.on_fill("O-1", Decimal(1))
    assert uninterrupted.submit(order("O-2", False, "1", group="O-2", price="110"), 0) is None
    assert uninterrupted.submit(order("O-3", False, "1", group="O-2", price="90"), 0) is None
    restarted = new_model()
    restarted.restore_position(SID, IID, Decimal(1))
    restarted.restore_working(order("O-2", False, "1", group="O-2", price="110"))
    restarted.restore_working(order("O-3", False, "1", group="O-2", price="90"))
    for model in (uninterrupted, restarted):
        assert model.instrument_book(IID) == (Decimal(1), Decimal(0), Decimal(1))
        assert model.strategy_book(SID, IID) == (Decimal(1), Decimal(0), Decimal(1))
        assert model.open_orders == 2
        assert model.submit(order("O-4", False, "1"), 0) is None
        reason = model.submit(order("O-5", False, "0.5"), 0)
        assert reason == (
            f"max_position_qty 1 (instrument {IID}): position 1 - working 2 - order 0.5 = -1.5"
        )
        # the take-profit fills: the group has nothing left to fill, its stop-loss adds nothing
        model.on_fill("O-2", Decimal(1))
        assert model.instrument_book(IID) == (Decimal(0), Decimal(0), Decimal(1))


qty = st.integers(min_value=1, max_value=12).map(lambda n: Decimal(n) / 10)
single = st.tuples(st.just("single"), st.booleans(), qty)
pair = st.tuples(st.just("pair"), st.booleans(), st.booleans(), qty, qty)
fill = st.tuples(st.just("fill"), st.integers(0, 40), st.integers(1, 12))
cancel = st.tuples(st.just("cancel"), st.integers(0, 40))
updated = st.tuples(st.just("update"), st.integers(0, 40), st.integers(0, 12))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(single, pair, fill, cancel, updated), max_size=60))
def test_no_sequence_with_oco_groups_breaks_the_position_limit(
    ops: list[tuple[object, ...]],
) -> None:
    model = new_model()
    leaves: dict[str, Decimal] = {}  # working orders (venue view)
    side: dict[str, bool] = {}
    groups: dict[str, list[str]] = {}  # group -> members ever submitted
    group_of: dict[str, str] = {}
    position = Decimal(0)
    for step, op in enumerate(ops):
        if op[0] == "single":
            _, is_buy, size = op
            assert isinstance(size, Decimal)
            coid = f"O-{step}"
            if model.submit(order(coid, bool(is_buy), str(size)), step) is None:
                leaves[coid], side[coid] = size, bool(is_buy)
        elif op[0] == "pair":
            _, buy_a, buy_b, size_a, size_b = op
            assert isinstance(size_a, Decimal) and isinstance(size_b, Decimal)
            key = f"G-{step}"
            for n, (is_buy, size) in enumerate(((buy_a, size_a), (buy_b, size_b))):
                coid = f"O-{step}-{n}"
                if model.submit(order(coid, bool(is_buy), str(size), group=key), step) is None:
                    leaves[coid], side[coid] = size, bool(is_buy)
                    groups.setdefault(key, []).append(coid)
                    group_of[coid] = key
        elif op[0] in ("fill", "cancel", "update") and leaves:
            index = op[1]
            assert isinstance(index, int)
            coid = sorted(leaves)[index % len(leaves)]
            if op[0] == "cancel":
                model.on_order_closed(coid)
                del leaves[coid]
            elif op[0] == "update":  # a modify that lowers the quantity (never raises it)
                tenths = op[2]
                assert isinstance(tenths, int)
                new = min(leaves[coid], Decimal(tenths) / 10)
                model.on_order_updated(coid, new)
                if new <= 0:
                    del leaves[coid]
                else:
                    leaves[coid] = new
            else:
                tenths = op[2]
                assert isinstance(tenths, int)
                size = min(leaves[coid], Decimal(tenths) / 10)
                model.on_fill(coid, size)
                position += size if side[coid] else -size
                leaves[coid] -= size
                if leaves[coid] <= 0:
                    del leaves[coid]
                # OCO: a fill cancels the other members (as NautilusTrader's order manager)
                for sibling in groups.get(group_of.get(coid, ""), []):
                    if sibling != coid and sibling in leaves:
                        model.on_order_closed(sibling)
                        del leaves[sibling]
        # what could still fill: ungrouped leaves in full, one member per group at most
        worst_long = worst_short = position
        seen: set[str] = set()
        for coid, left in leaves.items():
            member_of = group_of.get(coid)
            if member_of is None:
                if side[coid]:
                    worst_long += left
                else:
                    worst_short -= left
            elif member_of not in seen:
                seen.add(member_of)
                members = [m for m in groups[member_of] if m in leaves]
                worst_long += max((leaves[m] for m in members if side[m]), default=Decimal(0))
                worst_short -= max((leaves[m] for m in members if not side[m]), default=Decimal(0))
        assert -LIMIT <= position <= LIMIT
        book_position, buys, sells = model.instrument_book(IID)
        assert book_position == position
        # the model's worst case bounds the real one and stays within the limit
        assert worst_long <= book_position + buys <= LIMIT
        assert worst_short >= book_position - sells >= -LIMIT
        assert model.open_orders == len(leaves)


def test_the_gate_groups_a_nautilus_bracket_take_profit_with_its_stop_loss() -> None:
    """NautilusTrader's own bracket (OrderFactory.bracket: entry, take-profit and stop-loss
    linked OUO) through the gate's whole path: with a position limit of one bracket's size the
    list is approved (the first pass counted the two exits as two sells and denied it)."""
    engine = BacktestEngine(BacktestEngineConfig(trader_id=TraderId("TESTER-001")))
    try:
        instrument = TestInstrumentProvider.btcusdt_perp_binance()
        engine.add_venue(
            Venue("BINANCE"), OmsType.NETTING, AccountType.MARGIN, [Money(1_000_000, USDT)]
        )
        engine.add_instrument(instrument)
        strategy = Strategy()
        engine.add_strategy(strategy)
        iid = instrument.id.value
        gate = RiskGate(
            RiskLimits(instruments={iid: InstrumentLimits(max_position_qty=Decimal(1))}),
            trader_id="TESTER-001",
            mode="backtest",
        )
        engine.add_actor(gate)
        gate.attach(engine.kernel.risk_engine)
        gate._on_trade(  # a last price for the market entry
            TradeTick(
                instrument.id,
                Price.from_str("50000.0"),
                Quantity.from_str("1"),
                AggressorSide.BUYER,
                TradeId("T-1"),
                0,
                0,
            )
        )
        gate._sync_prices()  # as each command does before its checks
        bracket = strategy.order_factory.bracket(
            instrument.id,
            OrderSide.BUY,
            Quantity.from_str("1.000"),
            tp_price=Price.from_str("51000.0"),
            sl_trigger_price=Price.from_str("49000.0"),
        )
        intents = [gate._intent(order) for order in bracket.orders]
        assert all(isinstance(intent, OrderIntent) for intent in intents)
        groups = [intent.group for intent in intents if isinstance(intent, OrderIntent)]
        assert groups[0] is None and groups[1] == groups[2] is not None
        assert [gate._decide(order, 1) for order in bracket.orders] == [None, None, None]
        assert gate.model.instrument_book(iid) == (Decimal(0), Decimal(1), Decimal(1))
        # a second bracket would go past the limit on both sides: its entry is denied
        second = strategy.order_factory.bracket(
            instrument.id,
            OrderSide.BUY,
            Quantity.from_str("1.000"),
            tp_price=Price.from_str("51000.0"),
            sl_trigger_price=Price.from_str("49000.0"),
        )
        reason = gate._decide(second.orders[0], 2)
        assert reason is not None and reason.startswith("max_position_qty 1")
    finally:
        engine.dispose()
