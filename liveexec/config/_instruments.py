"""``instruments``: defined in the config (currency pairs, perpetuals, futures, equities) or
provided at run time by the catalog or the venue."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import AwareDatetime, Field, model_validator

from liveexec.config._base import (
    Check,
    CurrencyCode,
    FrozenModel,
    InstrumentId,
    MoneyStr,
    NonNegativeDecimal,
    PositiveDecimal,
    Precision,
    duplicates,
    is_simulated,
    venue_of,
)
from liveexec.errors import ConfigIssue

if TYPE_CHECKING:
    from liveexec.config._models import LiveexecConfig

__all__ = [
    "INSTRUMENT_CHECKS",
    "CryptoPerpetualSpec",
    "CurrencyPairSpec",
    "DefinedInstrumentSpec",
    "EquitySpec",
    "FuturesContractSpec",
    "InstrumentSpec",
    "ProvidedInstrumentsSpec",
    "settlement_currency",
]


class _ListedInstrument(FrozenModel):
    """What every instrument defined in the config has, whatever its kind."""

    id: InstrumentId = Field(description="NautilusTrader instrument id, 'SYMBOL.VENUE'.")
    raw_symbol: str | None = Field(
        default=None, description="Venue symbol; defaults to the id's symbol."
    )
    price_precision: Precision = Field(description="Decimal places of a price.")
    price_increment: PositiveDecimal | None = Field(
        default=None, description="Defaults to 10^-price_precision."
    )
    tick_scheme: str | None = Field(default=None, description="e.g. 'FOREX_3DECIMAL'.")
    maker_fee: Decimal = Field(
        default=Decimal(0),
        description="Fee rate of a fill that adds liquidity, a fraction of its notional "
        "(0.0002 = 2 bps; negative: a rebate).",
    )
    taker_fee: Decimal = Field(
        default=Decimal(0),
        description="Fee rate of a fill that takes liquidity, a fraction of its notional.",
    )
    margin_init: NonNegativeDecimal = Field(
        default=Decimal(0), description="Initial margin, a fraction of the notional."
    )
    margin_maint: NonNegativeDecimal = Field(
        default=Decimal(0), description="Maintenance margin, a fraction of the notional."
    )

    @property
    def venue(self) -> str:
        return venue_of(self.id)


class _InstrumentDefinition(_ListedInstrument):
    """A pair of currencies (spot or perpetual), traded in fractional sizes."""

    base_currency: CurrencyCode = Field(description="The currency bought or sold, e.g. 'BTC'.")
    quote_currency: CurrencyCode = Field(description="The currency of the price, e.g. 'USDT'.")
    size_precision: Precision = Field(description="Decimal places of a quantity.")
    size_increment: PositiveDecimal | None = Field(
        default=None, description="Defaults to 10^-size_precision."
    )
    lot_size: PositiveDecimal | None = Field(default=None, description="Round lot size.")
    min_quantity: PositiveDecimal | None = Field(
        default=None, description="Smallest quantity of an order."
    )
    max_quantity: PositiveDecimal | None = Field(
        default=None, description="Largest quantity of an order."
    )
    min_notional: MoneyStr | None = Field(
        default=None, description="Smallest notional of an order, e.g. '5 USDT'."
    )
    max_notional: MoneyStr | None = Field(
        default=None, description="Largest notional of an order, e.g. '1000000 USDT'."
    )


class CurrencyPairSpec(_InstrumentDefinition):
    """A spot or FX currency pair, e.g. BTCUSDT.BINANCE or USD/JPY.SIM."""

    kind: Literal["currency_pair"] = Field(description="The instrument's kind.")


class CryptoPerpetualSpec(_InstrumentDefinition):
    """A perpetual swap, e.g. BTCUSDT-PERP.BINANCE."""

    kind: Literal["crypto_perpetual"] = Field(description="The instrument's kind.")
    settlement_currency: CurrencyCode = Field(
        description="The currency margin and PnL settle in, e.g. 'USDT'."
    )
    is_inverse: bool = Field(
        default=False,
        description="An inverse contract: sized in the quote currency, valued and settled in "
        "the base currency.",
    )


AssetClass = Literal["FX", "EQUITY", "COMMODITY", "DEBT", "INDEX", "CRYPTOCURRENCY", "ALTERNATIVE"]
WholeUnits = Annotated[int, Field(ge=1)]


class FuturesContractSpec(_ListedInstrument):
    """A dated futures contract (NautilusTrader ``FuturesContract``), traded in whole contracts,
    e.g. ESZ5.XCME."""

    kind: Literal["futures_contract"] = Field(description="The instrument's kind.")
    currency: CurrencyCode = Field(description="Quote and settlement currency, e.g. 'USD'.")
    underlying: str = Field(min_length=1, description="The underlying's symbol, e.g. 'ES'.")
    asset_class: AssetClass = Field(description="Asset class of the underlying, e.g. 'INDEX'.")
    multiplier: PositiveDecimal = Field(
        default=Decimal(1), description="Contract multiplier (value of one point per contract)."
    )
    lot_size: WholeUnits = Field(default=1, description="Contracts per round lot.")
    activation: AwareDatetime = Field(description="First trading time (UTC or with an offset).")
    expiration: AwareDatetime = Field(description="Expiry time (UTC or with an offset).")
    exchange: str | None = Field(
        default=None, min_length=1, description="ISO 10383 MIC of the exchange, e.g. 'XCME'."
    )

    @model_validator(mode="after")
    def _activation_before_expiration(self) -> Self:
        if self.activation >= self.expiration:
            msg = f"activation ({self.activation}) must be before expiration ({self.expiration})"
            raise ValueError(msg)
        return self


class EquitySpec(_ListedInstrument):
    """A share (NautilusTrader ``Equity``), traded in whole shares, e.g. AAPL.XNAS."""

    kind: Literal["equity"] = Field(description="The instrument's kind.")
    currency: CurrencyCode = Field(description="Quote currency, e.g. 'USD'.")
    lot_size: WholeUnits = Field(default=1, description="Shares per round lot.")
    min_quantity: WholeUnits | None = Field(default=None, description="Fewest shares of an order.")
    max_quantity: WholeUnits | None = Field(default=None, description="Most shares of an order.")
    isin: str | None = Field(
        default=None, pattern=r"[A-Z]{2}[A-Z0-9]{9}[0-9]", description="e.g. 'US0378331005'."
    )


class ProvidedInstrumentsSpec(FrozenModel):
    """Instruments loaded at run time from the data catalog or from the venue's own provider."""

    kind: Literal["provided"] = Field(description="The instrument's kind.")
    source: Literal["catalog", "venue"] = Field(
        description="catalog: the definitions stored in data.catalog (backtest, paper replay); "
        "venue: the venue adapter's instrument provider (live, paper on venue data)."
    )
    ids: tuple[InstrumentId, ...] = Field(
        min_length=1, description="The instrument ids to load, 'SYMBOL.VENUE'."
    )


DefinedInstrumentSpec = CurrencyPairSpec | CryptoPerpetualSpec | FuturesContractSpec | EquitySpec
InstrumentSpec = Annotated[
    DefinedInstrumentSpec | ProvidedInstrumentsSpec, Field(discriminator="kind")
]


def settlement_currency(spec: DefinedInstrumentSpec) -> str | None:
    """The currency an instrument's value and PnL are in (None: inverse, valued in its base)."""
    if isinstance(spec, CryptoPerpetualSpec):
        return None if spec.is_inverse else spec.settlement_currency
    if isinstance(spec, CurrencyPairSpec):
        return spec.quote_currency
    return spec.currency


def _venues_of(spec: DefinedInstrumentSpec | ProvidedInstrumentsSpec) -> list[str]:
    if isinstance(spec, ProvidedInstrumentsSpec):
        return [venue_of(iid) for iid in spec.ids]
    return [spec.venue]


# --- cross-field checks -------------------------------------------------------------------------


def _validate_instrument_ids_unique(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for iid in duplicates(cfg.instrument_ids):
        yield ConfigIssue(
            "instruments",
            f"instrument {iid!r} is defined more than once",
            "keep one definition or one provided id per instrument",
        )


def _validate_simulated_run_has_instruments(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if is_simulated(cfg) and not cfg.instruments:
        yield ConfigIssue(
            "instruments",
            f"{cfg.mode} mode needs at least one instrument",
            "define one, or list the catalog's with kind: provided, source: catalog",
        )


def _validate_instrument_venues_simulated(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not is_simulated(cfg):
        return  # live mode: see the live section's checks
    venue_names = [venue.name for venue in cfg.venues]
    for index, spec in enumerate(cfg.instruments):
        for venue_name in _venues_of(spec):
            if venue_name not in venue_names:
                yield ConfigIssue(
                    f"instruments[{index}]",
                    f"venue {venue_name!r} is not in 'venues' (defined: {sorted(venue_names)})",
                    f"add a venue named {venue_name!r} or use an instrument of a defined venue",
                )


def _validate_fee_and_margin_rates(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    for index, spec in enumerate(cfg.instruments):
        for name, low, high in (
            ("maker_fee", -1, 1),
            ("taker_fee", -1, 1),
            ("margin_init", 0, 1),
            ("margin_maint", 0, 1),
        ):
            rate = getattr(spec, name, None)
            if isinstance(rate, Decimal) and not (low <= rate <= high):
                yield ConfigIssue(
                    f"instruments[{index}].{name}",
                    f"{rate} is a rate (0.0005 is 5 bps); it must lie between {low} and {high}",
                    "write the rate as a fraction, not in percent or bps",
                )


def _validate_perpetuals_on_margin(cfg: LiveexecConfig) -> Iterator[ConfigIssue]:
    if not is_simulated(cfg):
        return
    accounts = {venue.name: venue.account_type for venue in cfg.venues}
    for index, spec in enumerate(cfg.instruments):
        if isinstance(spec, CryptoPerpetualSpec) and accounts.get(spec.venue) == "CASH":
            yield ConfigIssue(
                f"instruments[{index}]",
                f"a perpetual trades on margin: venue {spec.venue!r} needs account_type MARGIN",
                f"set account_type: MARGIN on venue {spec.venue!r}",
            )


INSTRUMENT_CHECKS: tuple[Check, ...] = (
    _validate_instrument_ids_unique,
    _validate_simulated_run_has_instruments,
    _validate_instrument_venues_simulated,
    _validate_fee_and_margin_rates,
    _validate_perpetuals_on_margin,
)
