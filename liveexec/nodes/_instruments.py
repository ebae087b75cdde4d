"""NautilusTrader instruments from the config's instrument definitions."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import CryptoPerpetual, CurrencyPair, Instrument
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from liveexec.config import CryptoPerpetualSpec, CurrencyPairSpec, LiveexecConfig

__all__ = ["build_instrument", "defined_instruments"]


def _increment(value: Decimal | None, precision: int) -> Decimal:
    return value if value is not None else Decimal(1).scaleb(-precision)


def _qty(value: Decimal | None, precision: int) -> Quantity | None:
    return None if value is None else Quantity(value, precision)


def _money(value: str | None) -> Money | None:
    return None if value is None else Money.from_str(value)


def build_instrument(spec: CurrencyPairSpec | CryptoPerpetualSpec) -> Instrument:
    instrument_id = InstrumentId.from_str(spec.id)
    raw_symbol = Symbol(spec.raw_symbol or instrument_id.symbol.value)
    common = {
        "instrument_id": instrument_id,
        "raw_symbol": raw_symbol,
        "base_currency": Currency.from_str(spec.base_currency),
        "quote_currency": Currency.from_str(spec.quote_currency),
        "price_precision": spec.price_precision,
        "size_precision": spec.size_precision,
        "price_increment": Price(
            _increment(spec.price_increment, spec.price_precision), spec.price_precision
        ),
        "size_increment": Quantity(
            _increment(spec.size_increment, spec.size_precision), spec.size_precision
        ),
        "max_quantity": _qty(spec.max_quantity, spec.size_precision),
        "min_quantity": _qty(spec.min_quantity, spec.size_precision),
        "max_notional": _money(spec.max_notional),
        "min_notional": _money(spec.min_notional),
        "max_price": None,
        "min_price": None,
        "margin_init": spec.margin_init,
        "margin_maint": spec.margin_maint,
        "maker_fee": spec.maker_fee,
        "taker_fee": spec.taker_fee,
        "ts_event": 0,
        "ts_init": 0,
    }
    if isinstance(spec, CurrencyPairSpec):
        return CurrencyPair(
            lot_size=_qty(spec.lot_size, spec.size_precision),
            tick_scheme_name=spec.tick_scheme,
            **common,
        )
    return CryptoPerpetual(
        settlement_currency=Currency.from_str(spec.settlement_currency),
        is_inverse=spec.is_inverse,
        lot_size=_qty(spec.lot_size, spec.size_precision),
        **common,
    )


def defined_instruments(cfg: LiveexecConfig) -> list[Instrument]:
    """The instruments the config defines itself (``provided`` ones come from a catalog/venue)."""
    return [
        build_instrument(spec)
        for spec in cfg.instruments
        if isinstance(spec, (CurrencyPairSpec, CryptoPerpetualSpec))
    ]
