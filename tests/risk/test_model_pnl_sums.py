"""The PnL kept as a sum (``PnlSums``, from 8 positions held) gives the PnL pass's value digit
for digit, or declines and leaves it to the pass: with 50 positions most valuations skip the
pass and the loss limits decide as the pass does; at the precision's edge, where the pass's
additions round, the kept sum declines; over random positions of many digits, in other
currencies at rates, realized PnL awaiting a rate, closed, forgotten and reopened positions,
whatever it gives is the pass's (``test_model_differential.py`` drives it against the
reference model)."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, localcontext
from typing import Any
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from liveexec.risk import InstrumentInfo, OrderIntent, RiskLimits, RiskModel, TradingState
from liveexec.risk import _valuation as valuation_module
from liveexec.risk._pnl_sums import PnlSums, exponent


class Counting(PnlSums):
    given = 0  # valuations the kept sum gave

    def pnl(self) -> tuple[Decimal, int | None] | None:
        found = super().pnl()
        Counting.given += found is not None
        return found


def _holding(model: RiskModel, positions: int) -> list[str]:
    ids = [f"I-{n}.SIM" for n in range(positions)]
    for n, iid in enumerate(ids):
        model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
        model.set_price(iid, Decimal(100 + n), 0)
        model.on_position(
            f"P-{n}",
            iid,
            signed_qty=Decimal(3 if n % 2 else -2),
            avg_px_open=Decimal("100.25"),
            realized_pnl=Decimal(0),
            ts_ns=0,
        )
    return ids


def test_fifty_positions_decide_as_the_pass_and_most_valuations_skip_it() -> None:
    limits = RiskLimits(
        max_drawdown=Decimal(400), max_daily_loss=Decimal(300), loss_action=TradingState.REDUCING
    )
    kept, passed = RiskModel(limits, "USDT"), RiskModel(limits, "USDT")
    Counting.given = 0
    with patch.object(valuation_module, "PnlSums", Counting):
        ids = _holding(kept, 50)
    with patch.object(valuation_module, "_FAST_PNL_FROM", 10**9):  # never kept: the pass
        assert _holding(passed, 50) == ids
        for step in range(400):
            iid = ids[step * 7 % 50]
            price = Decimal(95 + step % 13) + Decimal(step % 4) / 4
            order = OrderIntent(f"O-{step}", "S-1", iid, step % 2 == 0, Decimal(1))
            decisions = []
            for model in (kept, passed):
                model.set_price(iid, price, step)
                decisions.append(model.submit(order, step))
                model.on_order_closed(order.client_order_id)
                if step == 300:  # a position closes and is forgotten, another opens
                    model.on_position(
                        "P-7",
                        ids[7],
                        signed_qty=Decimal(0),
                        avg_px_open=Decimal(0),
                        realized_pnl=Decimal("-12.5"),
                        ts_ns=step,
                    )
                    model.forget_position("P-7")
            assert decisions[0] == decisions[1], (step, decisions)
            assert kept.loss_mark() == passed.loss_mark()
            assert str(kept.loss_mark()) == str(passed.loss_mark())  # digit for digit
            assert kept.state == passed.state
    assert kept.changes and [c.reason for c in kept.changes] == [c.reason for c in passed.changes]
    assert passed._valuation.sums is None
    assert Counting.given > 350, Counting.given  # the kept sum valued nearly every order


def test_where_the_pass_rounds_the_kept_sum_declines() -> None:
    # 10**27 + 0.5 has 29 digits: the pass rounds it to 10**27 (half to even); the exact sum
    # would be 10**27 + 0.5. The kept sum must leave it to the pass.
    with patch.object(valuation_module, "_FAST_PNL_FROM", 0):
        model = RiskModel(RiskLimits(max_drawdown=Decimal(10)), "USDT")
        model.set_instrument("A.SIM", InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
        model.set_price("A.SIM", Decimal("100.5"), 0)
        model.on_position(
            "P-0",
            "A.SIM",
            signed_qty=Decimal(1),
            avg_px_open=Decimal(100),
            realized_pnl=Decimal(10) ** 27,
            ts_ns=0,
        )
        valuation = model._valuation
        assert valuation.sums is not None
        assert valuation.sums.pnl() is None
        pnl = valuation.pnl_now()
        assert str(pnl) == "1000000000000000000000000000"  # 28 digits: the 0.5 rounded away
        # one digit less the pass is exact, but the bound (a digit for the count of operands)
        # does not show it: declined, the pass decides
        for realized, kept_gives in ((26, None), (25, "10000000000000000000000000.5")):
            model.on_position(
                "P-0",
                "A.SIM",
                signed_qty=Decimal(1),
                avg_px_open=Decimal(100),
                realized_pnl=Decimal(10) ** realized,
                ts_ns=realized,
            )
            kept = valuation.sums.pnl()
            assert (None if kept is None else str(kept[0])) == kept_gives
            valuation.pnl_cache = None
            pnl = valuation.pnl_now()
            assert str(pnl) == str(Decimal(10) ** realized + Decimal("0.5"))
        with localcontext() as context:  # a context that rounds toward -inf: the pass decides
            context.rounding = ROUND_FLOOR
            assert valuation.sums.pnl() is None


def test_the_exponent_of_a_decimal_from_its_text() -> None:
    for text in ("12345.678", "1E+5", "0E-7", "-0.00000001234", "123", "-1.5E-20", "0", "1.0"):
        value = Decimal(text)
        assert exponent(value) == value.as_tuple().exponent, text


# quantities and prices of up to 20 significant digits: products up to 40, rounded to 28
many_digits = st.builds(
    lambda n, e: Decimal(n).scaleb(e),
    st.integers(min_value=1, max_value=10**20),
    st.integers(min_value=-18, max_value=-4),
)
few_digits = st.integers(min_value=-400, max_value=400).map(lambda n: Decimal(n) / 4)
values = st.one_of(few_digits, few_digits, many_digits, many_digits.map(lambda d: -d))
INSTRUMENTS = ("A.SIM", "B.SIM", "C.SIM", "JPY.SIM")
steps = st.lists(
    st.one_of(
        st.tuples(st.just("price"), st.sampled_from(INSTRUMENTS), values),
        st.tuples(st.just("price"), st.sampled_from(INSTRUMENTS), values),
        st.tuples(
            st.just("position"),
            st.sampled_from(INSTRUMENTS),
            st.integers(0, 3),  # which of the instrument's positions
            st.one_of(st.just(Decimal(0)), values),  # 0: closed
            values,
            values,
        ),
        st.tuples(
            st.just("position"),
            st.sampled_from(INSTRUMENTS),
            st.integers(0, 3),  # which of the instrument's positions
            st.one_of(st.just(Decimal(0)), values),  # 0: closed
            values,
            values,
        ),
        st.tuples(
            st.just("position"),
            st.sampled_from(INSTRUMENTS),
            st.integers(0, 3),  # which of the instrument's positions
            st.one_of(st.just(Decimal(0)), values),  # 0: closed
            values,
            values,
        ),
        st.tuples(st.just("forget"), st.sampled_from(INSTRUMENTS), st.integers(0, 3)),
        st.tuples(
            st.just("rate"),
            st.one_of(st.none(), st.sampled_from((Decimal("0.0066612345678901234"), Decimal(2)))),
        ),
        st.tuples(st.just("multiplier"), st.sampled_from(INSTRUMENTS), values),
        st.tuples(st.just("wait"), st.sampled_from((1, 10**9, 10**10))),
    ),
    min_size=5,
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(steps)
def test_the_kept_sum_gives_the_pass_or_declines(ops: list[tuple[Any, ...]]) -> None:
    with patch.object(valuation_module, "_FAST_PNL_FROM", 0):
        model = RiskModel(RiskLimits(max_drawdown=Decimal(10), max_price_age_ns=5 * 10**9), "USD")
        for n, iid in enumerate(INSTRUMENTS):
            currency = "JPY" if iid == "JPY.SIM" else "USD"
            model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), currency))
            model.set_price(iid, Decimal(100 + n), 0)
        model.set_rate("JPY.SIM", Decimal("0.0066"))
        valuation = model._valuation
        now = 0
        for op in ops:
            now += 1
            kind = op[0]
            if kind == "price":
                model.set_price(op[1], op[2], now)
            elif kind == "position":
                _, iid, which, qty, avg_px, realized = op
                model.on_position(
                    f"{iid}-{which}",
                    iid,
                    signed_qty=qty,
                    avg_px_open=avg_px,
                    realized_pnl=realized,
                    ts_ns=now,
                )
            elif kind == "forget":
                model.forget_position(f"{op[1]}-{op[2]}")
            elif kind == "rate":
                model.set_rate("JPY.SIM", op[1])
            elif kind == "multiplier":
                model.set_instrument(
                    op[1], InstrumentInfo(abs(op[2]) or Decimal(1), Decimal(1), "USD")
                )
            else:
                now += op[1]
            valuation.now_ns = now
            total, oldest = valuation.total_pnl()
            valuation.pnl_cache = None
            now_pnl = valuation.pnl_now()  # from the kept sum where it gives one, else the pass
            sums = valuation.sums
            assert sums is not None
            kept = sums.pnl()
            if kept is not None:
                assert not isinstance(total, str), total
                assert kept[0].as_tuple() == total.as_tuple(), (kept, total)
                assert oldest is None or (kept[1] is not None and kept[1] <= oldest)
            if isinstance(total, str):
                assert now_pnl == total
            else:
                assert not isinstance(now_pnl, str)
                assert now_pnl.as_tuple() == total.as_tuple()
        # bounded: the kept entries are the open positions' only
        assert len(sums.terms) + len(sums.bad_positions) == sum(
            1 for position in valuation.positions.values() if position.signed_qty
        )


def test_terms_are_derived_again_in_a_changed_decimal_context() -> None:
    """Terms kept from a 12-digit context are not the pass's in a 28-digit one (the pass
    computes its terms in the context of the moment): they are derived again."""
    with patch.object(valuation_module, "_FAST_PNL_FROM", 0):
        model = RiskModel(RiskLimits(max_drawdown=Decimal(10**6)), "USDT")
        valuation = model._valuation
        with localcontext() as context:
            context.prec = 12
            model.set_instrument("A.SIM", InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
            model.set_price("A.SIM", Decimal("101.234567890123"), 0)  # 15 digits
            model.on_position(  # valued here: the term kept has 12 digits
                "P-0",
                "A.SIM",
                signed_qty=Decimal(1),
                avg_px_open=Decimal(100),
                realized_pnl=Decimal(0),
                ts_ns=0,
            )
        for precision, text in ((28, "1.234567890123"), (12, "1.23456789012")):
            with localcontext() as context:
                context.prec = precision
                valuation.pnl_cache = None
                pnl = valuation.pnl_now()
                total, _ = valuation.total_pnl()
                assert not isinstance(pnl, str) and not isinstance(total, str)
                assert pnl.as_tuple() == total.as_tuple(), (precision, pnl, total)
                assert str(pnl) == text
