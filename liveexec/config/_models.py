"""The liveexec configuration tree: one frozen, typed object describes a whole run in any mode."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SecretStr,
    model_validator,
)

__all__ = [
    "ActorSpec",
    "BinanceLiveConfig",
    "BybitLiveConfig",
    "CatalogConfig",
    "CryptoPerpetualSpec",
    "CurrencyPairSpec",
    "DataConfig",
    "DataStreamConfig",
    "DatabaseConfig",
    "DefinedInstrumentSpec",
    "EquitySpec",
    "ExecAlgorithmSpec",
    "FeeModelConfig",
    "FillModelConfig",
    "FuturesContractSpec",
    "InstrumentSpec",
    "KillSwitchConfig",
    "LiveConfig",
    "LiveexecConfig",
    "LoggingConfig",
    "Mode",
    "OkxLiveConfig",
    "ProvidedInstrumentsSpec",
    "RiskConfig",
    "SemanticIssues",
    "StrategySpec",
    "VenueConfig",
]

Mode = Literal["backtest", "paper", "live"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def _pattern(regex: str, what: str, example: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            msg = f"{value!r} is not a valid {what} (expected something like {example!r})"
            raise ValueError(msg)
        return value

    return AfterValidator(check)


TraderId = Annotated[str, _pattern(r"[A-Za-z0-9_]+-[A-Za-z0-9_]+", "trader id", "TRADER-001")]
VenueName = Annotated[str, _pattern(r"[A-Z][A-Z0-9_]*", "venue name", "BINANCE")]
InstrumentId = Annotated[
    str, _pattern(r"[^\s.][^\s]*\.[A-Z][A-Z0-9_]*", "instrument id", "BTCUSDT.BINANCE")
]
CurrencyCode = Annotated[str, _pattern(r"[A-Z0-9]{2,10}", "currency code", "USDT")]
ImportPath = Annotated[
    str,
    _pattern(
        r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*",
        "import path",
        "nautilus_trader.examples.strategies.ema_cross:EMACross",
    ),
]
MONEY_PATTERN = r"(-?\d+(?:\.\d+)?) ([A-Z0-9]{2,10})"  # amount, currency
MoneyStr = Annotated[str, _pattern(MONEY_PATTERN, "money amount", "1000000 USD")]
RateStr = Annotated[str, _pattern(r"\d+/\d{2}:\d{2}:\d{2}", "rate limit", "100/00:00:01")]
Precision = Annotated[int, Field(ge=0, le=16)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]
NonNegativeDecimal = Annotated[Decimal, Field(ge=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
# No venue offers more; a larger number is a typo (an extra zero), not a strategy.
MAX_LEVERAGE = 1000


# --- components (the shape of NautilusTrader's Importable*Config) ---------------------------


class _ComponentSpec(_Frozen):
    path: ImportPath = Field(description="Import path of the component class, 'module:Class'.")
    config_path: ImportPath = Field(
        description="Import path of the component's NautilusTrader config class, 'module:Class'."
    )
    config: dict[str, JsonValue] = Field(
        default_factory=dict, description="Parameters passed to the config class."
    )


class StrategySpec(_ComponentSpec):
    """A NautilusTrader strategy, by import path, with its config parameters."""


class ExecAlgorithmSpec(_ComponentSpec):
    """A NautilusTrader execution algorithm (TWAP, VWAP, Iceberg, ...), by import path."""


class ActorSpec(_ComponentSpec):
    """A NautilusTrader actor, by import path."""


# --- venues -----------------------------------------------------------------------------------


class FeeModelConfig(_Frozen):
    kind: Literal["maker_taker", "fixed"] = Field(
        default="maker_taker",
        description=(
            "'maker_taker' uses the instrument's maker/taker fees; 'fixed' a commission per fill."
        ),
    )
    commission: MoneyStr | None = Field(
        default=None, description="Per-fill commission for 'fixed'."
    )

    @model_validator(mode="after")
    def _fixed_needs_commission(self) -> Self:
        if self.kind == "fixed" and self.commission is None:
            raise ValueError("fee model 'fixed' needs 'commission' (e.g. '2.50 USD')")
        return self


class FillModelConfig(_Frozen):
    prob_fill_on_limit: Probability = 1.0
    prob_slippage: Probability = 0.0
    random_seed: int | None = None


class VenueConfig(_Frozen):
    """A trading venue: simulated in backtest and paper mode, real in live mode."""

    name: VenueName
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    account_type: Literal["CASH", "MARGIN"] = "MARGIN"
    base_currency: CurrencyCode | None = Field(
        default=None,
        description="Single-currency account in this currency; None for multi-currency.",
    )
    starting_balances: tuple[MoneyStr, ...] = Field(
        default=(), description="Simulated starting balances, e.g. ['1000000 USD']."
    )
    default_leverage: Annotated[Decimal, Field(gt=0, le=MAX_LEVERAGE)] = Field(
        default=Decimal(1),
        description=f"Leverage of a margin account, above 0 and at most {MAX_LEVERAGE}.",
    )
    book_type: Literal["L1_MBP", "L2_MBP", "L3_MBO"] = "L1_MBP"
    bar_execution: bool = True
    fee_model: FeeModelConfig = FeeModelConfig()
    fill_model: FillModelConfig = FillModelConfig()


# --- instruments --------------------------------------------------------------------------------


class _ListedInstrument(_Frozen):
    """What every instrument defined in the config has, whatever its kind."""

    id: InstrumentId
    raw_symbol: str | None = Field(
        default=None, description="Venue symbol; defaults to the id's symbol."
    )
    price_precision: Precision
    price_increment: PositiveDecimal | None = Field(
        default=None, description="Defaults to 10^-price_precision."
    )
    tick_scheme: str | None = Field(default=None, description="e.g. 'FOREX_3DECIMAL'.")
    maker_fee: Decimal = Decimal(0)
    taker_fee: Decimal = Decimal(0)
    margin_init: NonNegativeDecimal = Decimal(0)
    margin_maint: NonNegativeDecimal = Decimal(0)

    @property
    def venue(self) -> str:
        return self.id.rsplit(".", 1)[1]


class _InstrumentDefinition(_ListedInstrument):
    """A pair of currencies (spot or perpetual), traded in fractional sizes."""

    base_currency: CurrencyCode
    quote_currency: CurrencyCode
    size_precision: Precision
    size_increment: PositiveDecimal | None = Field(
        default=None, description="Defaults to 10^-size_precision."
    )
    lot_size: PositiveDecimal | None = None
    min_quantity: PositiveDecimal | None = None
    max_quantity: PositiveDecimal | None = None
    min_notional: MoneyStr | None = None
    max_notional: MoneyStr | None = None


class CurrencyPairSpec(_InstrumentDefinition):
    """A spot or FX currency pair, e.g. BTCUSDT.BINANCE or USD/JPY.SIM."""

    kind: Literal["currency_pair"]


class CryptoPerpetualSpec(_InstrumentDefinition):
    """A perpetual swap, e.g. BTCUSDT-PERP.BINANCE."""

    kind: Literal["crypto_perpetual"]
    settlement_currency: CurrencyCode
    is_inverse: bool = False


AssetClass = Literal["FX", "EQUITY", "COMMODITY", "DEBT", "INDEX", "CRYPTOCURRENCY", "ALTERNATIVE"]
WholeUnits = Annotated[int, Field(ge=1)]


class FuturesContractSpec(_ListedInstrument):
    """A dated futures contract (NautilusTrader ``FuturesContract``), traded in whole contracts,
    e.g. ESZ5.XCME."""

    kind: Literal["futures_contract"]
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

    kind: Literal["equity"]
    currency: CurrencyCode = Field(description="Quote currency, e.g. 'USD'.")
    lot_size: WholeUnits = Field(default=1, description="Shares per round lot.")
    min_quantity: WholeUnits | None = None
    max_quantity: WholeUnits | None = None
    isin: str | None = Field(
        default=None, pattern=r"[A-Z]{2}[A-Z0-9]{9}[0-9]", description="e.g. 'US0378331005'."
    )


class ProvidedInstrumentsSpec(_Frozen):
    """Instruments loaded at run time from the data catalog or from the venue's own provider."""

    kind: Literal["provided"]
    source: Literal["catalog", "venue"]
    ids: tuple[InstrumentId, ...] = Field(min_length=1)


DefinedInstrumentSpec = CurrencyPairSpec | CryptoPerpetualSpec | FuturesContractSpec | EquitySpec
InstrumentSpec = Annotated[
    DefinedInstrumentSpec | ProvidedInstrumentsSpec, Field(discriminator="kind")
]


# --- data -----------------------------------------------------------------------------------------


class CatalogConfig(_Frozen):
    """A NautilusTrader ParquetDataCatalog: a local path or an fsspec URI (gs://, s3://, ...)."""

    path: str = Field(min_length=1, description="Local path (relative to the config file) or URI.")
    storage_options: dict[str, SecretStr] = Field(
        default_factory=dict, description="fsspec storage options (credentials are kept secret)."
    )

    @property
    def is_remote(self) -> bool:
        return "://" in self.path and not self.path.startswith("file://")


class DataStreamConfig(_Frozen):
    kind: Literal["bars", "quotes", "trades"]
    instrument_id: InstrumentId
    bar_type: str | None = Field(
        default=None,
        description="Required for bars, e.g. 'BTC-PERP.SIM-1-MINUTE-LAST-EXTERNAL'.",
    )

    @model_validator(mode="after")
    def _bar_type_matches(self) -> Self:
        if self.kind == "bars":
            if self.bar_type is None:
                raise ValueError(
                    "bars need 'bar_type' (e.g. 'BTC-PERP.SIM-1-MINUTE-LAST-EXTERNAL')"
                )
            if not self.bar_type.startswith(f"{self.instrument_id}-"):
                msg = f"bar_type {self.bar_type!r} does not start with '{self.instrument_id}-'"
                raise ValueError(msg)
        elif self.bar_type is not None:
            raise ValueError(f"'bar_type' is only allowed for bars, not {self.kind}")
        return self


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LAST_NS_TIME = datetime(2262, 4, 11, tzinfo=UTC)


class DataConfig(_Frozen):
    catalog: CatalogConfig
    streams: tuple[DataStreamConfig, ...] = Field(min_length=1)
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        for name in ("start", "end"):
            moment = getattr(self, name)
            # NautilusTrader keeps time as unsigned 64-bit nanoseconds since 1970.
            if moment is not None and not (_EPOCH <= moment < _LAST_NS_TIME):
                raise ValueError(f"{name} ({moment}) must lie between 1970 and 2262")
        if self.start is not None and self.end is not None and self.start >= self.end:
            raise ValueError(f"start ({self.start}) must be before end ({self.end})")
        return self


# --- database, risk, live, logging ------------------------------------------------------------


class DatabaseConfig(_Frozen):
    url: SecretStr | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL (sqlite:///... or postgresql+psycopg://...). Default: a SQLite file in "
            "the user data directory. LIVEEXEC_DATABASE_URL overrides it."
        ),
    )
    echo: bool = False


class KillSwitchConfig(_Frozen):
    enabled: bool = True
    max_drawdown_pct: Annotated[Decimal, Field(gt=0, le=100)] | None = None
    max_consecutive_rejects: Annotated[int, Field(ge=1)] | None = None
    flatten_on_trigger: bool = Field(
        default=True, description="Cancel open orders and close positions when triggered."
    )


class RiskConfig(_Frozen):
    """Pre-trade limits.

    ``bypass``, the two rates and ``max_notional_per_order`` configure NautilusTrader's own risk
    engine in every node. The other limits belong to liveexec's pre-trade risk engine (ROADMAP
    phase 5); until it lands, a config that sets them is refused rather than run unguarded.
    """

    bypass: bool = Field(
        default=False, description="Skip NautilusTrader's pre-trade checks (rate limits stay)."
    )
    max_order_submit_rate: RateStr = Field(
        default="100/00:00:01", description="Submit commands per interval, 'count/HH:MM:SS'."
    )
    max_order_modify_rate: RateStr = Field(
        default="100/00:00:01", description="Modify commands per interval, 'count/HH:MM:SS'."
    )
    max_notional_per_order: dict[InstrumentId, PositiveDecimal] = Field(
        default_factory=dict,
        description="Per instrument, in its quote currency; larger orders are denied.",
    )
    max_position_notional: dict[InstrumentId, PositiveDecimal] = Field(
        default_factory=dict, description="Not enforced yet (ROADMAP phase 5): refused if set."
    )
    max_open_orders: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="Not enforced yet (ROADMAP phase 5): refused if set."
    )
    max_daily_loss: PositiveDecimal | None = Field(
        default=None, description="Not enforced yet (ROADMAP phase 5): refused if set."
    )
    kill_switch: KillSwitchConfig = Field(
        default=KillSwitchConfig(),
        description="Not enforced yet (ROADMAP phase 5): refused if changed from the default.",
    )

    def unenforced(self) -> list[str]:
        """The fields set to something no node enforces yet."""
        return [
            name
            for name in (
                "max_position_notional",
                "max_open_orders",
                "max_daily_loss",
                "kill_switch",
            )
            if getattr(self, name)
            != type(self).model_fields[name].get_default(call_default_factory=True)
        ]


class _VenueCredentials(_Frozen):
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None

    def missing_credentials(self) -> list[str]:
        return [name for name in ("api_key", "api_secret") if getattr(self, name) is None]


class BinanceLiveConfig(_VenueCredentials):
    testnet: bool = False
    account_type: Literal["SPOT", "MARGIN", "USDT_FUTURES", "COIN_FUTURES"] = "SPOT"


class BybitLiveConfig(_VenueCredentials):
    testnet: bool = False
    product_types: tuple[Literal["SPOT", "LINEAR", "INVERSE", "OPTION"], ...] = ("LINEAR",)


class OkxLiveConfig(_VenueCredentials):
    api_passphrase: SecretStr | None = None
    is_demo: bool = False
    instrument_types: tuple[Literal["SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"], ...] = ("SWAP",)

    def missing_credentials(self) -> list[str]:
        missing = super().missing_credentials()
        return [*missing, "api_passphrase"] if self.api_passphrase is None else missing


class LiveConfig(_Frozen):
    """Per-venue adapter settings for live trading."""

    binance: BinanceLiveConfig | None = None
    bybit: BybitLiveConfig | None = None
    okx: OkxLiveConfig | None = None
    reconciliation: bool = True
    timeout_connection_s: Annotated[float, Field(gt=0)] = 30.0
    timeout_post_stop_s: Annotated[float, Field(ge=0)] = 10.0

    def configured(self) -> dict[str, _VenueCredentials]:
        venues: dict[str, _VenueCredentials | None] = {
            "binance": self.binance,
            "bybit": self.bybit,
            "okx": self.okx,
        }
        return {name: cfg for name, cfg in venues.items() if cfg is not None}


class LoggingConfig(_Frozen):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"


# --- the root ------------------------------------------------------------------------------------


# pydantic turns a ValueError into a validation error; users never see this class.
class SemanticIssues(ValueError):  # noqa: N818
    """Cross-field problems found after the shape validated; each has its own field path."""

    def __init__(self, issues: list[tuple[str, str]]) -> None:
        self.issues = issues
        super().__init__("; ".join(f"{path}: {message}" for path, message in issues))


class LiveexecConfig(_Frozen):
    """One run of one trader in any mode: what the backtest and the live nodes are built from."""

    trader_id: TraderId = "TRADER-001"
    mode: Mode = "backtest"
    strategies: tuple[StrategySpec, ...] = ()
    exec_algorithms: tuple[ExecAlgorithmSpec, ...] = ()
    actors: tuple[ActorSpec, ...] = ()
    venues: tuple[VenueConfig, ...] = ()
    instruments: tuple[InstrumentSpec, ...] = ()
    data: DataConfig | None = None
    database: DatabaseConfig = DatabaseConfig()
    risk: RiskConfig = RiskConfig()
    live: LiveConfig = LiveConfig()
    logging: LoggingConfig = LoggingConfig()

    @property
    def instrument_ids(self) -> list[str]:
        ids: list[str] = []
        for spec in self.instruments:
            ids.extend(spec.ids if isinstance(spec, ProvidedInstrumentsSpec) else (spec.id,))
        return ids

    @property
    def config_id(self) -> str:
        from liveexec.config._identity import config_id  # noqa: PLC0415 (cycle: identity reads this model)

        return config_id(self)

    @model_validator(mode="after")
    def _cross_field(self) -> Self:
        issues = _semantic_issues(self)
        if issues:
            raise SemanticIssues(issues)
        return self


def _duplicates(values: list[str]) -> list[str]:
    return sorted(value for value, count in Counter(values).items() if count > 1)


def _semantic_issues(cfg: LiveexecConfig) -> list[tuple[str, str]]:
    issues: list[tuple[str, str]] = []
    venue_names = [venue.name for venue in cfg.venues]
    for name in _duplicates(venue_names):
        issues.append(("venues", f"venue {name!r} is defined more than once"))
    instrument_ids = cfg.instrument_ids
    for iid in _duplicates(instrument_ids):
        issues.append(("instruments", f"instrument {iid!r} is defined more than once"))
    known = set(instrument_ids)
    simulated = cfg.mode in ("backtest", "paper")

    if not cfg.strategies and not cfg.actors:
        issues.append(("strategies", "a run needs at least one strategy or actor"))
    if simulated:
        if not cfg.venues:
            issues.append(("venues", f"{cfg.mode} mode needs at least one simulated venue"))
        if not cfg.instruments:
            issues.append(("instruments", f"{cfg.mode} mode needs at least one instrument"))
        for index, venue in enumerate(cfg.venues):
            if not venue.starting_balances:
                issues.append(
                    (
                        f"venues[{index}].starting_balances",
                        "a simulated venue needs a starting balance",
                    )
                )
        for index, spec in enumerate(cfg.instruments):
            venues = (
                [spec.venue]
                if not isinstance(spec, ProvidedInstrumentsSpec)
                else [iid.rsplit(".", 1)[1] for iid in spec.ids]
            )
            for venue_name in venues:
                if venue_name not in venue_names:
                    issues.append(
                        (
                            f"instruments[{index}]",
                            f"venue {venue_name!r} is not in 'venues' "
                            f"(defined: {sorted(venue_names)})",
                        )
                    )
    if cfg.mode == "backtest" and cfg.data is None:
        issues.append(("data", "backtest mode needs a 'data' section (catalog and streams)"))
    if cfg.data is not None and known:
        for index, stream in enumerate(cfg.data.streams):
            if stream.instrument_id not in known:
                issues.append(
                    (
                        f"data.streams[{index}].instrument_id",
                        f"{stream.instrument_id!r} is not among the instruments {sorted(known)}",
                    )
                )
    for name in cfg.risk.unenforced():
        issues.append(
            (
                f"risk.{name}",
                "not enforced by this version of liveexec (the pre-trade risk engine is ROADMAP "
                "phase 5); remove it rather than trade believing it is",
            )
        )
    for index, venue in enumerate(cfg.venues):
        for position, balance in enumerate(venue.starting_balances):
            if Decimal(balance.split()[0]) <= 0:
                issues.append(
                    (
                        f"venues[{index}].starting_balances[{position}]",
                        f"{balance!r}: a starting balance must be positive",
                    )
                )
        currencies = [balance.split()[1] for balance in venue.starting_balances]
        for currency in _duplicates(currencies):
            issues.append(
                (
                    f"venues[{index}].starting_balances",
                    f"currency {currency} is given more than once",
                )
            )
        if venue.base_currency is not None and currencies and currencies != [venue.base_currency]:
            issues.append(
                (
                    f"venues[{index}].starting_balances",
                    f"a single-currency account in {venue.base_currency} takes one balance in "
                    f"{venue.base_currency}, not {currencies}",
                )
            )
    for section in ("max_notional_per_order", "max_position_notional"):
        limits: dict[str, Decimal] = getattr(cfg.risk, section)
        for iid in limits:
            if known and iid not in known:
                issues.append(
                    (
                        f"risk.{section}.{iid}",
                        f"{iid!r} is not among the instruments {sorted(known)}",
                    )
                )
    for index, spec in enumerate(cfg.instruments):
        for name, low, high in (
            ("maker_fee", -1, 1),
            ("taker_fee", -1, 1),
            ("margin_init", 0, 1),
            ("margin_maint", 0, 1),
        ):
            rate = getattr(spec, name, None)
            if isinstance(rate, Decimal) and not (low <= rate <= high):
                issues.append(
                    (
                        f"instruments[{index}].{name}",
                        f"{rate} is a rate (0.0005 is 5 bps); it must lie between {low} and {high}",
                    )
                )
    accounts = {venue.name: venue.account_type for venue in cfg.venues}
    for iid in cfg.risk.max_notional_per_order:
        if accounts.get(iid.rsplit(".", 1)[1]) == "MARGIN":
            issues.append(
                (
                    f"risk.max_notional_per_order.{iid}",
                    "NautilusTrader 1.231's risk engine skips this check for MARGIN accounts, so "
                    "it would not be enforced; remove it (liveexec's own pre-trade limits are "
                    "ROADMAP phase 5) or trade on a CASH venue",
                )
            )
    if simulated:
        for index, venue in enumerate(cfg.venues):
            if venue.book_type != "L1_MBP":
                issues.append(
                    (
                        f"venues[{index}].book_type",
                        f"{venue.book_type} needs order book data, which liveexec does not "
                        "import yet; use L1_MBP (top of book from quotes, trades or bars)",
                    )
                )
        for index, spec in enumerate(cfg.instruments):
            if isinstance(spec, CryptoPerpetualSpec) and accounts.get(spec.venue) == "CASH":
                issues.append(
                    (
                        f"instruments[{index}]",
                        f"a perpetual trades on margin: venue {spec.venue!r} needs "
                        "account_type MARGIN",
                    )
                )
    if cfg.mode == "live":
        configured = cfg.live.configured()
        if not configured:
            issues.append(("live", "live mode needs at least one venue: binance, bybit or okx"))
        for name, venue_cfg in configured.items():
            for field_name in venue_cfg.missing_credentials():
                issues.append(
                    (f"live.{name}.{field_name}", "required in live mode (use ${ENV_VAR})")
                )
    return issues
