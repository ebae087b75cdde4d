"""The fast path decides exactly as before: ``RiskModel`` and the Decimal reference
(``_reference_model.py``, the model before its memoised band thresholds and loss-evaluation
shortcut) are driven with the same generated limits and sequences of orders (limit, stop,
market, one-cancels-other members, reduce-only), fills, cancels, modifications, prices (that
age past ``max_price_age_s``), position events (PnL against the loss limits), halts and day
changes; every decision, reason and the state, exposures and PnL after each step must be equal.

The reference predates conversion to the reporting currency: it added a position's PnL in its
own currency to the total (the config refused such instruments then). Position events in an
instrument valued in another currency than the reporting one are therefore left out here
(``test_gate_fx.py`` covers them); its orders, and their fail-closed exposure, are not.

The same sequences also run with the kept sums from the first instrument (exposure) and the
first position (PnL), checking after every step that what is kept equals what is derived afresh,
and over 24 instruments with up to 30 positions held from the start (the kept sums switching on
at their thresholds, or kept from the start).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest.mock import patch

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
    _model,
    _valuation,
)
from liveexec.risk._pnl_sums import PnlSums
from tests.risk._reference_model import RiskModel as ReferenceModel

INSTRUMENTS = ("BTCUSDT-PERP.SIM", "ETHUSDT-PERP.SIM", "EURUSD.SIM")
STRATEGIES = ("A-000", "B-001")
SECOND = 1_000_000_000
DAY = 86_400 * SECOND


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), values)


# coarse steps, so that values often land exactly on a limit (where > and >= differ)
decimals = st.integers(min_value=1, max_value=40).map(lambda n: Decimal(n) / 2)
notionals = st.integers(min_value=1, max_value=60).map(lambda n: Decimal(n * 25))
instrument_limits = st.builds(
    InstrumentLimits,
    max_order_qty=_maybe(decimals),
    max_order_notional=_maybe(notionals),
    max_position_qty=_maybe(decimals),
    max_position_notional=_maybe(notionals),
    price_band_bps=_maybe(st.sampled_from((10, 50, 100, 200, 500)).map(Decimal)),
    price_band_ticks=_maybe(st.sampled_from((1, 5, 10, 20, 40))),
)
strategy_limits = st.builds(
    StrategyLimits,
    max_order_notional=_maybe(notionals),
    max_position_qty=_maybe(decimals),
    max_position_notional=_maybe(notionals),
    max_open_orders=_maybe(st.integers(1, 8)),
    max_orders_per_second=_maybe(st.integers(1, 5)),
    max_orders_per_minute=_maybe(st.integers(1, 20)),
)
limits = st.builds(
    RiskLimits,
    instruments=st.dictionaries(st.sampled_from(INSTRUMENTS), instrument_limits),
    strategies=st.dictionaries(st.sampled_from(STRATEGIES), strategy_limits),
    max_open_orders=_maybe(st.integers(1, 10)),
    max_gross_exposure=_maybe(notionals),
    max_net_exposure=_maybe(notionals),
    max_daily_loss=_maybe(st.integers(1, 600).map(Decimal)),
    max_drawdown=_maybe(st.integers(1, 600).map(Decimal)),
    loss_action=st.sampled_from((TradingState.REDUCING, TradingState.HALTED)),
    max_price_age_ns=_maybe(st.integers(1, 30).map(lambda s: s * SECOND)),
)
prices = st.integers(min_value=190, max_value=210).map(lambda n: Decimal(n) / 2)
order_prices = _maybe(prices)
submit = st.tuples(
    st.just("submit"),
    st.sampled_from(STRATEGIES),
    st.sampled_from(INSTRUMENTS),
    st.booleans(),  # buy
    decimals,
    order_prices,  # limit price
    order_prices,  # trigger
    st.booleans(),  # reduce-only
    _maybe(st.sampled_from(("g1", "g2"))),  # one-cancels-other group
)
operations = st.lists(
    st.one_of(
        submit,
        submit,
        submit,
        submit,
        st.tuples(st.just("fill"), st.integers(0, 50), st.integers(1, 40)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("update"), st.integers(0, 50), decimals),
        st.tuples(st.just("increase"), st.integers(0, 50), decimals, order_prices),
        st.tuples(st.just("price"), st.sampled_from(INSTRUMENTS), prices),
        st.tuples(st.just("position"), st.sampled_from(INSTRUMENTS), st.integers(-30, 30)),
        st.tuples(
            st.just("halt"),
            st.sampled_from((TradingState.ACTIVE,) * 4 + tuple(TradingState)),
            st.sampled_from(("x", "y")),
        ),
        st.tuples(st.just("wait"), st.sampled_from((SECOND // 2, 5 * SECOND, 40 * SECOND, DAY))),
        st.tuples(st.just("evaluate")),
        st.tuples(
            st.just("instrument"),
            st.sampled_from(INSTRUMENTS),
            st.sampled_from((Decimal("0.05"), Decimal("0.1"), Decimal("0.5"), Decimal(2))),
        ),
    ),
    min_size=25,
    max_size=80,
)


def _snapshot(model: Any, instruments: tuple[str, ...] = INSTRUMENTS) -> tuple[object, ...]:
    return (
        model.state,
        model.state_reason,
        [(c.previous, c.state, c.reason, c.ts_ns) for c in model.changes],
        model.exposures(),
        model.total_pnl(),
        model.open_orders,
        model.loss_mark(),
        [model.instrument_book(iid) for iid in instruments],
        [model.strategy_book(sid, iid) for sid in STRATEGIES for iid in instruments],
    )


@settings(max_examples=400, deadline=None)
@given(limits, operations, st.sampled_from(("USDT", None)))
def test_fast_path_decides_as_the_reference(
    risk_limits: RiskLimits, ops: list[tuple[Any, ...]], currency: str | None
) -> None:
    _drive(risk_limits, ops, currency)


@settings(max_examples=400, deadline=None)
@given(limits, operations, st.sampled_from(("USDT", None)))
def test_kept_exposure_sums_decide_as_the_reference(
    risk_limits: RiskLimits, ops: list[tuple[Any, ...]], currency: str | None
) -> None:
    """The same with the trader's exposure sums kept per instrument from the first instrument
    on (``RiskModel._exposure_fast``; by default from 16 instruments held)."""
    with patch.object(_model, "_FAST_EXPOSURE_FROM", 0):
        _drive(risk_limits, ops, currency, kept_sums=True)


@settings(max_examples=400, deadline=None)
@given(limits, operations, st.sampled_from(("USDT", None)))
def test_kept_pnl_sums_decide_as_the_reference(
    risk_limits: RiskLimits, ops: list[tuple[Any, ...]], currency: str | None
) -> None:
    """The same with the PnL kept as a sum from the first position on (``PnlSums``; by
    default from 8 positions held) and the exposure sums from the first instrument."""
    with (
        patch.object(_valuation, "_FAST_PNL_FROM", 0),
        patch.object(_model, "_FAST_EXPOSURE_FROM", 0),
    ):
        _drive(risk_limits, ops, currency, kept_sums=True, kept_pnl=True)


MANY = tuple(f"I{n:02d}.SIM" for n in range(24))
MANY_INFOS = {
    iid: InstrumentInfo(
        (Decimal(1), Decimal("0.01"), Decimal(10), Decimal("0.5"), Decimal("1.0"))[n % 5],
        (Decimal("0.1"), Decimal("0.05"))[n % 2],
        "EUR" if n % 6 == 5 else "USDT",
    )
    for n, iid in enumerate(MANY)
}
# avg_px_open of many digits too (as Decimal(repr(float)) gives them): terms of many exponents
open_prices = st.one_of(
    prices, st.integers(min_value=9_000_000, max_value=11_000_000).map(lambda n: Decimal(n) / 10**5)
)
portfolio = st.lists(
    st.tuples(st.sampled_from(MANY), st.integers(-30, 30), open_prices), min_size=8, max_size=30
)
many_submit = st.tuples(
    st.just("submit"),
    st.sampled_from(STRATEGIES),
    st.sampled_from(MANY),
    st.booleans(),
    decimals,
    order_prices,
    order_prices,
    st.booleans(),
    _maybe(st.sampled_from(("g1", "g2"))),
)
many_operations = st.lists(
    st.one_of(
        many_submit,
        many_submit,
        many_submit,
        st.tuples(st.just("fill"), st.integers(0, 50), st.integers(1, 40)),
        st.tuples(st.just("cancel"), st.integers(0, 50)),
        st.tuples(st.just("update"), st.integers(0, 50), decimals),
        st.tuples(st.just("price"), st.sampled_from(MANY), prices),
        st.tuples(st.just("price"), st.sampled_from(MANY), prices),
        st.tuples(
            st.just("position"),
            st.sampled_from(MANY),
            st.integers(-30, 30),
            open_prices,
            st.sampled_from(("", "-2")),  # a second position in the instrument (hedging)
        ),
        st.tuples(
            st.just("halt"),
            st.sampled_from((TradingState.ACTIVE,) * 4 + tuple(TradingState)),
            st.sampled_from(("x", "y")),
        ),
        st.tuples(st.just("wait"), st.sampled_from((SECOND // 2, 5 * SECOND, 40 * SECOND, DAY))),
        st.tuples(st.just("evaluate")),
        st.tuples(
            st.just("instrument"),
            st.sampled_from(MANY),
            st.sampled_from((Decimal("0.05"), Decimal("0.1"), Decimal("0.5"), Decimal(2))),
        ),
    ),
    min_size=25,
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(limits, portfolio, many_operations, st.sampled_from(("USDT", None)), st.booleans())
def test_many_instruments_held_decide_as_the_reference(
    risk_limits: RiskLimits,
    held: list[tuple[str, int, Decimal]],
    ops: list[tuple[Any, ...]],
    currency: str | None,
    from_the_first: bool,
) -> None:
    """24 instruments, up to 30 positions held from the start: the kept sums switch on at
    their thresholds (8 positions, 16 instruments) or are kept from the start."""
    start = 0 if from_the_first else None
    with (
        patch.object(_valuation, "_FAST_PNL_FROM", start or _valuation._FAST_PNL_FROM),
        patch.object(_model, "_FAST_EXPOSURE_FROM", start or _model._FAST_EXPOSURE_FROM),
    ):
        _drive(
            risk_limits,
            ops,
            currency,
            kept_sums=True,
            kept_pnl=True,
            instruments=MANY,
            infos=MANY_INFOS,
            portfolio=held,
        )


def _assert_kept_pnl_current(model: RiskModel) -> None:
    """The kept PnL terms, their exact sum and counts equal the ones derived afresh from every
    position (no change to a position, price, rate or instrument went unmarked), and the PnL
    they give, where they give one, is the pass's, digit for digit."""
    valuation = model._valuation
    sums = valuation.sums
    if sums is None:
        return
    sums.refresh()
    fresh = PnlSums(valuation)
    fresh.refresh()

    def kept(of: PnlSums) -> tuple[object, ...]:
        return (
            {pid: (t[0].as_tuple(), *t[1:]) for pid, t in of.terms.items()},
            {iid: (t[0].as_tuple(), *t[1:]) for iid, t in of.fx.items()},
            of.bad_positions,
            of.bad_fx,
            of.total,  # the value: its exponent may keep a removed term's
            of.exponents,
            of.magnitudes,
            of.held,
            of.where,
        )

    assert kept(sums) == kept(fresh)
    pnl = sums.pnl()
    if pnl is not None:
        total, oldest = valuation.total_pnl()
        assert not isinstance(total, str), total
        assert pnl[0].as_tuple() == total.as_tuple()
        assert (pnl[1] is None) == (oldest is None)
        assert pnl[1] is None or oldest is None or pnl[1] <= oldest


def _assert_kept_sums_current(model: RiskModel) -> None:
    """The kept terms and sums equal the ones derived afresh from every book: no change to a
    book, price, rate or instrument went unmarked (a stale term would differ here even where
    no decision is near a cap)."""
    sums = model._exposure
    for iid in sums.dirty:
        sums.refresh(iid)
    sums.dirty.clear()
    kept = (dict(sums.terms), sums.sums, set(sums.bad))
    sums.terms.clear()
    sums.bad.clear()
    sums.sums = (Decimal(0),) * 4
    for iid in model._instrument_books:
        sums.refresh(iid)
    assert (sums.terms, sums.sums, sums.bad) == kept


def _drive(
    risk_limits: RiskLimits,
    ops: list[tuple[Any, ...]],
    currency: str | None,
    *,
    kept_sums: bool = False,
    kept_pnl: bool = False,
    instruments: tuple[str, ...] = INSTRUMENTS,
    infos: dict[str, InstrumentInfo] | None = None,
    portfolio: list[tuple[str, int, Decimal]] | None = None,
) -> None:
    fast, reference = RiskModel(risk_limits, currency), ReferenceModel(risk_limits, currency)
    models: tuple[Any, ...] = (fast, reference)
    if infos is None:
        infos = {
            INSTRUMENTS[0]: InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"),
            INSTRUMENTS[1]: InstrumentInfo(Decimal("0.01"), Decimal("0.05"), "USDT"),
            INSTRUMENTS[2]: InstrumentInfo(Decimal(10), Decimal("0.1"), "EUR"),
        }
    for model in models:
        for iid, info in infos.items():
            model.set_instrument(iid, info)
        model.set_price(INSTRUMENTS[0], Decimal(100), 0)
        if portfolio is not None:  # every instrument priced
            for n, iid in enumerate(instruments):
                model.set_price(iid, Decimal(95 + n % 11), 0)
        for n, (iid, qty, avg_px) in enumerate(portfolio or ()):
            if currency is None or infos[iid].currency == currency:
                model.on_position(
                    f"H-{n}",
                    iid,
                    signed_qty=Decimal(qty) / 10,
                    avg_px_open=avg_px,
                    realized_pnl=Decimal(qty),
                    ts_ns=0,
                )
    orders: list[OrderIntent] = []
    now = 0
    for step, op in enumerate(ops):
        now += SECOND // 10
        kind = op[0]
        results: list[object] = []
        for model in models:
            if kind == "submit":
                _, sid, iid, is_buy, qty, px, trigger, reduce_only, group = op
                order = OrderIntent(
                    f"O-{step}",
                    sid,
                    iid,
                    is_buy,
                    qty,
                    price=px,
                    trigger=trigger,
                    is_market=px is None and trigger is None,
                    reduce_only=reduce_only,
                    group=group,
                )
                results.append(model.submit(order, now))
                if model is fast and results[-1] is None:
                    orders.append(order)
            elif kind in ("fill", "cancel", "update", "increase") and orders:
                order = orders[op[1] % len(orders)]
                if kind == "fill":
                    model.on_fill(order.client_order_id, Decimal(op[2]) / 10)
                elif kind == "cancel":
                    model.on_order_closed(order.client_order_id)
                elif kind == "update":
                    model.on_order_updated(order.client_order_id, op[2])
                else:
                    increase = OrderIntent(
                        order.client_order_id,
                        order.strategy_id,
                        order.instrument_id,
                        order.is_buy,
                        op[2],
                        price=op[3],
                    )
                    results.append(model.check_increase(increase, now))
            elif kind == "price":
                model.set_price(op[1], op[2], now)
            elif kind == "position":
                iid = op[1]
                if currency is not None and infos[iid].currency != currency:
                    continue  # converted now, summed unconverted by the reference
                model.on_position(
                    f"P-{iid}{op[4] if len(op) > 4 else ''}",
                    iid,
                    signed_qty=Decimal(op[2]) / 10,
                    avg_px_open=op[3] if len(op) > 3 else Decimal(100),
                    realized_pnl=Decimal(op[2] * 3),
                    ts_ns=now,
                )
            elif kind == "halt":
                model.set_halt(op[1], op[2], now)
            elif kind == "evaluate":
                model.evaluate_losses(now)
            elif kind == "instrument":
                info = infos[op[1]]
                model.set_instrument(op[1], InstrumentInfo(info.multiplier, op[2], info.currency))
        if kind == "wait":  # time passes with no event (prices age, a UTC day may end)
            now += op[1]
        if len(results) == 2:
            assert results[0] == results[1], (step, op)
        assert _snapshot(fast, instruments) == _snapshot(reference, instruments), (step, op)
        if kept_sums and fast._exposure.track:
            _assert_kept_sums_current(fast)
        if kept_pnl:
            _assert_kept_pnl_current(fast)
