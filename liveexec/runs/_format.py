"""One number format for people: money in its currency's precision with the currency named,
fractions as percentages, ratios with two decimals, durations in days, hours and minutes.
The data (frames, :class:`~liveexec.runs.Statistics` attributes) keep exact values; only what
is shown is rounded."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache

__all__ = [
    "count",
    "currency_precision",
    "duration",
    "format_value",
    "money",
    "percent",
    "ratio",
    "round_money",
]

NOT_AVAILABLE = "n/a"


@cache
def currency_precision(code: str) -> int:
    """Decimal places of ``code`` as NautilusTrader defines it (USD 2, JPY 0, BTC and USDT 8);
    8 for a code NautilusTrader does not know."""
    # nautilus_pyo3 alone loads in ~0.1 s; nautilus_trader.model would take over a second.
    from nautilus_trader.core.nautilus_pyo3 import Currency  # noqa: PLC0415

    try:
        return int(Currency.from_str(code).precision)
    except Exception:  # an unknown code: as precise as a crypto currency
        return 8


def round_money(value: Decimal, currency: str) -> Decimal:
    """``value`` at ``currency``'s precision (half to even), as a Money of it would hold."""
    return value.quantize(Decimal(1).scaleb(-currency_precision(currency)), ROUND_HALF_EVEN)


def money(value: Decimal | None, currency: str | None) -> str:
    """``-3,245.12 USD``, ``-0.00011152 BTC``, ``-248,201 JPY``; without a currency the exact
    value, grouped."""
    if value is None:
        return NOT_AVAILABLE
    if currency is None:
        return f"{value.normalize():,f}"
    rounded = round_money(value, currency)
    return f"{abs(rounded) if rounded.is_zero() else rounded:,f} {currency}"


def percent(value: float | None) -> str:
    """A fraction as a percentage with two decimals: ``-4.32 %``."""
    if value is None:
        return NOT_AVAILABLE
    text = f"{value * 100:,.2f}"
    return f"{'0.00' if text == '-0.00' else text} %"


def ratio(value: float | None) -> str:
    if value is None:
        return NOT_AVAILABLE
    text = f"{value:,.2f}"
    return "0.00" if text == "-0.00" else text


def count(value: int | None) -> str:
    return NOT_AVAILABLE if value is None else f"{value:,}"


def duration(value: timedelta | None) -> str:
    """``3 d 04 h 12 min``, ``4 h 12 min``, ``35 min``, ``12 s``."""
    if value is None:
        return NOT_AVAILABLE
    seconds = round(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days:,} d {hours:02d} h {minutes:02d} min"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def format_value(value: object, kind: str, currency: str | None) -> str:
    """A statistic as people read it; ``kind`` is ``money``, ``percent``, ``ratio``,
    ``duration`` or ``count``."""
    if kind == "money":
        return money(value if isinstance(value, Decimal) else None, currency)
    if kind == "percent":
        return percent(float(value) if isinstance(value, float | int) else None)
    if kind == "ratio":
        return ratio(float(value) if isinstance(value, float | int) else None)
    if kind == "duration":
        return duration(value if isinstance(value, timedelta) else None)
    return count(value if isinstance(value, int) else None)
