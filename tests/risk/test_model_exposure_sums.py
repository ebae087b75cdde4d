"""The trader's gross and net exposure sums kept per instrument (``RiskModel._exposure_fast``,
from 16 instruments held) decide as the pass over every instrument does: orders well inside the
caps are approved from the kept sums, and an order whose figure only the pass's rounding puts
above a cap is left to the pass (``tests/risk/test_model_differential.py`` drives both against
the reference model over random sequences)."""

from __future__ import annotations

from decimal import Decimal
from unittest.mock import patch

from liveexec.risk import InstrumentInfo, OrderIntent, RiskLimits, RiskModel, _model


class PassOnly(RiskModel):
    """The model with the kept sums never trusted: every order summed over every instrument."""

    def _exposure_fast(self, order: OrderIntent, qty: Decimal) -> bool:
        return False


class Counting(RiskModel):
    trusted = 0

    def _exposure_fast(self, order: OrderIntent, qty: Decimal) -> bool:
        certain = super()._exposure_fast(order, qty)
        self.trusted += certain
        return certain


def _portfolio(model: RiskModel, instruments: int) -> list[str]:
    ids = [f"I-{n}.SIM" for n in range(instruments)]
    for n, iid in enumerate(ids):
        model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.01"), "USDT"))
        model.set_price(iid, Decimal(100 + n), 0)
        assert model.submit(OrderIntent(f"P-{n}", "S-1", iid, n % 2 == 0, Decimal(3)), 0) is None
        model.on_fill(f"P-{n}", Decimal(3))
    return ids


def test_fifty_instruments_decide_as_the_pass_and_most_orders_skip_it() -> None:
    kept, passed = Counting(RiskLimits(), "USDT"), PassOnly(RiskLimits(), "USDT")
    ids = _portfolio(kept, 50)
    assert _portfolio(passed, 50) == ids
    # gross 18,675 and net about 0 now: caps that some orders break and most do not
    limits = RiskLimits(max_gross_exposure=Decimal(20_000), max_net_exposure=Decimal(2_000))
    kept.limits = passed.limits = limits
    trusted = kept.trusted
    denied = 0
    for step in range(400):
        iid = ids[step * 7 % 50]
        order = OrderIntent(f"O-{step}", "S-1", iid, step % 2 == 0, Decimal(step % 9 + 1) / 2)
        decisions = []
        for model in (kept, passed):
            model.set_price(iid, Decimal(95 + step % 13), step)
            decisions.append(model.submit(order, step))
            # the first half cancels what it placed, the second fills a buy and a sell in four
            # (positions grow until the gross cap binds)
            if decisions[-1] is None and step >= 200 and step % 4 < 2:
                model.on_fill(order.client_order_id, order.quantity)
            elif decisions[-1] is None:
                model.on_order_closed(order.client_order_id)
        assert decisions[0] == decisions[1], (step, decisions)
        assert kept.exposures() == passed.exposures()
        denied += decisions[0] is not None
    assert 20 < denied < 380, denied  # the caps bind sometimes
    assert kept.trusted - trusted > 100, kept.trusted  # the kept sums decided many orders


def test_a_figure_only_rounding_puts_above_the_cap_is_left_to_the_pass() -> None:
    # 10**27 has 28 digits: 10**27 + 0.5 rounds to 10**27 (half to even), 10**27 + 0.8 to
    # 10**27 + 1. With 0.5 held in SMALL the pass sums 10**27 + 0.8 for a further 0.6 there:
    # above a cap of 10**27 + 0.5, and above the 10**27 before it. The kept sum went
    # (10**27 + 0.5 -> 10**27) + 0.8 - 0.5, which rounds to 10**27: not above the cap, so
    # only the rounding margin keeps it from approving.
    cap = Decimal("1000000000000000000000000000.5")
    limits = RiskLimits(max_gross_exposure=cap)
    with patch.object(_model, "_FAST_EXPOSURE_FROM", 0):
        for model in (Counting(limits, "USDT"), PassOnly(limits, "USDT")):
            for iid, price in (("BIG.SIM", Decimal(10) ** 18), ("SMALL.SIM", Decimal("0.5"))):
                model.set_instrument(iid, InstrumentInfo(Decimal(1), Decimal("0.1"), "USDT"))
                model.set_price(iid, price, 0)
            assert (
                model.submit(OrderIntent("B-1", "S-1", "BIG.SIM", True, Decimal(10) ** 9), 0)
                is None
            )
            assert model.submit(OrderIntent("S-1", "S-1", "SMALL.SIM", True, Decimal(1)), 0) is None
            reason = model.submit(OrderIntent("S-2", "S-1", "SMALL.SIM", True, Decimal("0.6")), 0)
            assert reason == (
                f"max_gross_exposure {cap} USDT (trader): worst-case gross exposure "
                "1000000000000000000000000001 USDT"
            )
