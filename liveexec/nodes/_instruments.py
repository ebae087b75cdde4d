"""NautilusTrader instruments from the config's instrument definitions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import asset_class_from_str
from nautilus_trader.model.identifiers import InstrumentId, Symbol
from nautilus_trader.model.instruments import (
    CryptoPerpetual,
    CurrencyPair,
    Equity,
    FuturesContract,
    Instrument,
)
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from liveexec.config import (
    CryptoPerpetualSpec,
    CurrencyPairSpec,
    DefinedInstrumentSpec,
    EquitySpec,
    FuturesContractSpec,
    LiveexecConfig,
)

__all__ = ["build_instrument", "defined_instruments"]


def _increment(value: Decimal | None, precision: int) -> Decimal:
    return value if value is not None else Decimal(1).scaleb(-precision)


def _qty(value: Decimal | int | None, precision: int) -> Quantity | None:
    return None if value is None else Quantity(value, precision)


def _money(value: str | None) -> Money | None:
    return None if value is None else Money.from_str(value)


def _ns(moment: datetime) -> int:
    # Exact integer arithmetic: a float timestamp would lose the microseconds.
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    utc_offset = moment.utcoffset()
    assert utc_offset is not None, "the config only accepts aware datetimes"
    delta -= utc_offset
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _listed(spec: DefinedInstrumentSpec) -> dict[str, Any]:
    """Arguments every NautilusTrader instrument class takes under the same name."""
    instrument_id = InstrumentId.from_str(spec.id)
    return {
        "instrument_id": instrument_id,
        "raw_symbol": Symbol(spec.raw_symbol or instrument_id.symbol.value),
        "price_precision": spec.price_precision,
        "price_increment": Price(
            _increment(spec.price_increment, spec.price_precision), spec.price_precision
        ),
        "margin_init": spec.margin_init,
        "margin_maint": spec.margin_maint,
        "maker_fee": spec.maker_fee,
        "taker_fee": spec.taker_fee,
        "tick_scheme_name": spec.tick_scheme,
        # Definitions hold for the whole history: stamped at 0, so every data window sees them.
        "ts_event": 0,
        "ts_init": 0,
    }


def _pair_arguments(spec: CurrencyPairSpec | CryptoPerpetualSpec) -> dict[str, Any]:
    return {
        **_listed(spec),
        "base_currency": Currency.from_str(spec.base_currency),
        "quote_currency": Currency.from_str(spec.quote_currency),
        "size_precision": spec.size_precision,
        "size_increment": Quantity(
            _increment(spec.size_increment, spec.size_precision), spec.size_precision
        ),
        "lot_size": _qty(spec.lot_size, spec.size_precision),
        "max_quantity": _qty(spec.max_quantity, spec.size_precision),
        "min_quantity": _qty(spec.min_quantity, spec.size_precision),
        "max_notional": _money(spec.max_notional),
        "min_notional": _money(spec.min_notional),
        "max_price": None,
        "min_price": None,
    }


def build_instrument(spec: DefinedInstrumentSpec) -> Instrument:
    """The NautilusTrader instrument a config definition describes."""
    if isinstance(spec, CurrencyPairSpec):
        return CurrencyPair(**_pair_arguments(spec))
    if isinstance(spec, CryptoPerpetualSpec):
        return CryptoPerpetual(
            settlement_currency=Currency.from_str(spec.settlement_currency),
            is_inverse=spec.is_inverse,
            **_pair_arguments(spec),
        )
    if isinstance(spec, FuturesContractSpec):
        return FuturesContract(
            asset_class=asset_class_from_str(spec.asset_class),
            currency=Currency.from_str(spec.currency),
            multiplier=Quantity.from_str(f"{spec.multiplier.normalize():f}"),
            lot_size=Quantity(spec.lot_size, 0),
            underlying=spec.underlying,
            activation_ns=_ns(spec.activation),
            expiration_ns=_ns(spec.expiration),
            exchange=spec.exchange,
            **_listed(spec),
        )
    assert isinstance(spec, EquitySpec)
    return Equity(
        currency=Currency.from_str(spec.currency),
        lot_size=Quantity(spec.lot_size, 0),
        min_quantity=_qty(spec.min_quantity, 0),
        max_quantity=_qty(spec.max_quantity, 0),
        isin=spec.isin,
        **_listed(spec),
    )


def defined_instruments(cfg: LiveexecConfig) -> list[Instrument]:
    """The instruments the config defines itself (``provided`` ones come from a catalog/venue)."""
    return [
        build_instrument(spec)
        for spec in cfg.instruments
        if isinstance(
            spec, (CurrencyPairSpec, CryptoPerpetualSpec, FuturesContractSpec, EquitySpec)
        )
    ]
