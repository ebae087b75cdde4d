"""One number format for people: money in its currency's precision with the currency named,
fractions as percentages, ratios with two decimals; the data keeps exact values."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from liveexec.runs import STATISTIC_FIELDS, Statistics, format_money
from liveexec.runs._format import duration, percent, ratio


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("-0.00011152", "BTC", "-0.00011152 BTC"),  # the '-0.0001'
        ("46624.000000000000000000", "USDT", "46,624.00000000 USDT"),
        ("-248201", "JPY", "-248,201 JPY"),
        ("-3245.12", "USD", "-3,245.12 USD"),
        ("-0.001", "USD", "0.00 USD"),  # rounds to zero: no '-0.00'
        ("0.125", "USD", "0.12 USD"),  # half to even, as the amount is kept
    ],
)
def test_money_in_its_currencys_precision(amount: str, currency: str, shown: str) -> None:
    assert format_money(Decimal(amount), currency) == shown


def test_money_without_a_currency_is_exact() -> None:
    assert format_money(Decimal("-4318.839240000000000000"), None) == "-4,318.83924"
    assert format_money(None, "USD") == "n/a"


def test_fractions_ratios_and_durations() -> None:
    assert percent(-0.0431883924) == "-4.32 %"
    assert percent(-0.00001) == "0.00 %"
    assert percent(None) == "n/a"
    assert ratio(-18.4307) == "-18.43"
    assert duration(timedelta(days=31, hours=6, minutes=30)) == "31 d 06 h 30 min"
    assert duration(timedelta(hours=7, minutes=29, seconds=10)) == "7 h 29 min"
    assert duration(timedelta(minutes=21, seconds=46)) == "21 min 46 s"
    assert duration(timedelta(seconds=45.4)) == "45 s"


def test_statistics_keep_exact_values_and_show_them_formatted() -> None:
    stats = Statistics(
        currency="BTC",
        total_pnl=Decimal("-0.00011152"),
        total_return=-0.0000111,
        max_drawdown_duration=timedelta(hours=2),
        trades=3,
    )
    assert stats.total_pnl == Decimal("-0.00011152")  # the data: exact
    assert stats["total_pnl"] == -0.00011152  # the mapping: numbers for thresholds and JSON
    assert stats["max_drawdown_duration_s"] == 7200.0
    assert len(stats) == len(STATISTIC_FIELDS) == len(dict(stats))
    shown = dict(stats.formatted())
    assert shown["total PnL (realized, net of fees)"] == "-0.00011152 BTC"
    assert shown["total return"] == "0.00 %"
    assert shown["max drawdown duration"] == "2 h 00 min"
    assert shown["trades (closed positions)"] == "3"
    assert shown["Sharpe (annualised)"] == "n/a"
